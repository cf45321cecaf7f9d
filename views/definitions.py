"""The agreed glossary (stages and SLA) and the metric catalog, read-only."""

import streamlit as st

from ui import data
from ui.format import escape_markdown
from ui.glossary import catalog_table, sla_summary, stage_table

st.title("Glossary & metric catalog")
st.caption("What both teams agreed. Every number in Handoff comes from one of these "
           "definitions, and says which version produced it.")

st.subheader("Stages")
# Tall rows: the grid wraps long text there instead of cutting it at the column's edge.
stages = stage_table()
st.dataframe(stages, hide_index=True, row_height=78, height=78 * len(stages) + 40, column_config={
    "Stage": st.column_config.TextColumn(width=170),
    "Name": st.column_config.TextColumn(width=100),
    "Kind": st.column_config.TextColumn(width=70),
    "Definition": st.column_config.TextColumn(width=470)})

st.subheader("Follow-up SLA")
st.markdown(sla_summary())

st.subheader("Metrics")
defs = data.definitions()
table = catalog_table(defs)
# The columns a reader needs to find a metric, sized to fit 1280 px so the description wraps
# instead of being cut; the download (and the SQL below) has everything else.
st.dataframe(table, hide_index=True, row_height=100, height=100 * len(table) + 40,
             column_order=["Metric", "Version", "Owners", "Description"],
             column_config={"Metric": st.column_config.TextColumn(width=190),
                            "Version": st.column_config.NumberColumn(width=70),
                            "Owners": st.column_config.TextColumn(width=120),
                            "Description": st.column_config.TextColumn(width=430)},
             key="catalog")
st.download_button("Download CSV", table.to_csv(index=False).encode(), "metric-catalog.csv",
                   "text/csv", icon=":material/download:")

name = st.selectbox("Show the SQL of", sorted(defs, key=lambda n: defs[n].label),
                    format_func=lambda n: f"{defs[n].label} ({n})", key="definition")
defn = defs[name]
st.markdown(f"**{escape_markdown(defn.label)}** · `{name}` v{defn.version} · owners "
            f"{', '.join(defn.owners)} · kind {defn.kind} · anchor `{defn.anchor}`")
st.text(defn.description)
st.code(defn.text, language="sql", line_numbers=True)
