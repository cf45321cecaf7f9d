"""Import: upload CRM or marketing-automation exports, check them, then load them."""

import streamlit as st

from metrics.errors import MetricError
from metrics.ingest import ingest, preview_ingest
from metrics.paths import default_warehouse_path
from ui import data
from ui.import_view import mapping_choices, progress_callback, save_uploads

st.title("Import data")
st.caption("Upload one file per table (leads.csv, lead_events.csv, … or a Salesforce / HubSpot "
           "export with its mapping). Nothing changes until you load: first see what would be "
           "loaded and what would be quarantined, and why. See docs/IMPORT.md for the format.")

choices = mapping_choices()
mapping = st.selectbox("Format of the files", list(choices), format_func=choices.get,
                       key="mapping")
timezone = st.text_input("Time zone of timestamps without an offset", value="UTC",
                         help="IANA name such as UTC or America/New_York; offsets in the data "
                              "always win. Everything is stored in UTC.")
files = st.file_uploader("Export files", type=["csv", "parquet"], accept_multiple_files=True,
                         key="uploads")

if files and st.button("Check the files", icon=":material/fact_check:", type="primary"):
    folder = save_uploads(files)
    try:
        report = preview_ingest(folder, mapping=mapping or None, timezone=timezone or None,
                                progress=progress_callback("Checking"))
    except MetricError as exc:
        st.error(str(exc), icon=":material/error:")
        st.session_state.pop("import_checked", None)
    else:
        st.session_state["import_checked"] = (str(folder), mapping, timezone, report)

checked = st.session_state.get("import_checked")
if checked:
    folder, checked_mapping, checked_zone, report = checked
    st.subheader("What the load would do")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Rows read", f"{report.rows_read:,}", border=True)
    c2.metric("Would load", f"{report.rows_loaded:,}", border=True)
    c3.metric("Quarantined", f"{report.rows_quarantined:,}", border=True)
    c4.metric("Warnings", f"{report.warnings:,}", border=True)
    st.dataframe(report.to_frame(), hide_index=True)
    if report.rows_quarantined:
        st.markdown("**Quarantined rows** (kept with their reason, never silently dropped)")
        st.dataframe(report.quarantined, hide_index=True)
        st.download_button("Download quarantined rows (CSV)",
                           report.quarantined.to_csv(index=False).encode(), "quarantine.csv",
                           "text/csv", icon=":material/download:")
    target = default_warehouse_path()
    st.warning(f"Loading replaces the warehouse at `{target}` for everyone. The current one "
               "keeps serving until the new one is complete.", icon=":material/warning:")
    if st.button("Load into the warehouse", icon=":material/upload:"):
        try:
            loaded = ingest(folder, target, mapping=checked_mapping or None,
                            timezone=checked_zone or None, progress=progress_callback("Loading"))
        except MetricError as exc:
            st.error(f"Nothing was changed: {exc}", icon=":material/error:")
        else:
            st.session_state.pop("import_checked", None)
            st.cache_data.clear()
            data.get_warehouse()
            st.success(f"Loaded {loaded.rows_loaded:,} rows ({loaded.rows_quarantined:,} "
                       f"quarantined) at {loaded.rows_per_second:,.0f} rows/s; data as of "
                       f"{loaded.as_of:%d %b %Y %H:%M} UTC.", icon=":material/check_circle:")
