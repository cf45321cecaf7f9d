"""The agreed glossary (stages and SLA) and the metric catalog, read-only."""

import streamlit as st

from ui import data
from ui.glossary import catalog_table, sla_summary, stage_table

st.title("Glossary & metric catalog")
st.caption("What both teams agreed. Every number in Handoff comes from one of these "
           "definitions, and says which version produced it.")

st.subheader("Stages")
st.dataframe(stage_table(), hide_index=True, column_config={
    "Definition": st.column_config.TextColumn(width="large")})

st.subheader("Follow-up SLA")
st.markdown(sla_summary())

st.subheader("Metrics")
defs = data.definitions()
table = catalog_table(defs)
st.dataframe(table, hide_index=True, column_config={
    "Description": st.column_config.TextColumn(width="large")}, key="catalog")
st.download_button("Download CSV", table.to_csv(index=False).encode(), "metric-catalog.csv",
                   "text/csv", icon=":material/download:")

name = st.selectbox("Show the SQL of", sorted(defs, key=lambda n: defs[n].label),
                    format_func=lambda n: f"{defs[n].label} ({n})", key="definition")
defn = defs[name]
st.markdown(f"**{defn.label}** · `{name}` v{defn.version} · owners {', '.join(defn.owners)} · "
            f"kind {defn.kind} · anchor `{defn.anchor}`")
st.text(defn.description)
st.code(defn.text, language="sql", line_numbers=True)
