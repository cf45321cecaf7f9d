"""Import: ops upload exports, check them, confirm what they replace and load; or restore."""

import streamlit as st

from metrics.backups import kept_count, list_backups
from metrics.data_sets import summarize_open
from metrics.errors import MetricError
from metrics.ingest import preview_ingest
from metrics.loads import AuditLogError, data_history, load_files, restore_warehouse
from ui import auth, data
from ui.format import escape_markdown
from ui.import_view import (
    as_sentence,
    backups_frame,
    history_frame,
    keeping_sentence,
    mapping_choices,
    progress_callback,
    replacement_frame,
    report_frame,
    save_uploads,
)

DONE_KEY = "import_done"  # the outcome of a load or restore, shown after the rerun it causes
UPLOADS_KEY = "import_uploads"  # bumped by a load: its files are gone, so the uploader empties

st.title("Import data")
st.caption("Upload one file per table (leads.csv, lead_events.csv, … or a Salesforce / HubSpot "
           "export with its mapping). Nothing changes until you confirm: first see what would be "
           "loaded and what would be quarantined, and why. See docs/IMPORT.md for the format.")

if DONE_KEY in st.session_state:
    kind, message = st.session_state.pop(DONE_KEY)
    if kind == "warning":
        st.warning(message, icon=":material/warning:")
    else:
        st.success(message, icon=":material/check_circle:")

wh = data.get_warehouse()
current = summarize_open(wh)
loaded_now = escape_markdown(current.description)
st.markdown(f"**Loaded now:** {loaded_now} · data as of {wh.as_of:%-d %b %Y %H:%M} UTC")

user = auth.current_user()
refusal = auth.roles().why_not_load_data(user)


def finish(message: str, kind: str = "success") -> None:
    """Show the new data everywhere (the sidebar was drawn before this page), then say so."""
    for key in ("import_checked", "import_confirm"):
        st.session_state.pop(key, None)
    st.session_state[UPLOADS_KEY] = st.session_state.get(UPLOADS_KEY, 0) + 1
    st.session_state[DONE_KEY] = (kind, message)
    st.cache_data.clear()
    data.get_warehouse()
    st.rerun()


if refusal:
    st.info(refusal, icon=":material/lock:")
else:
    choices = mapping_choices()
    mapping = st.selectbox("Format of the files", list(choices), format_func=choices.get,
                           key="mapping")
    timezone = st.text_input("Time zone of timestamps without an offset", value="UTC",
                             help="IANA name such as UTC or America/New_York; offsets in the "
                                  "data always win. Everything is stored in UTC.")
    files = st.file_uploader("Export files", type=["csv", "parquet"], accept_multiple_files=True,
                             key=f"uploads-{st.session_state.get(UPLOADS_KEY, 0)}")

    if files and st.button("Check the files", icon=":material/fact_check:", type="primary"):
        st.session_state.pop("import_confirm", None)
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
        st.dataframe(report_frame(report), hide_index=True)
        if report.rows_quarantined:
            st.markdown("**Quarantined rows** (kept with their reason, never silently dropped)")
            st.dataframe(report.quarantined, hide_index=True)
            st.download_button("Download quarantined rows (CSV)",
                               report.quarantined.to_csv(index=False).encode(), "quarantine.csv",
                               "text/csv", icon=":material/download:")
        if st.button("Load into the warehouse…", icon=":material/upload:"):
            st.session_state["import_confirm"] = True

        if st.session_state.get("import_confirm"):
            with st.container(border=True):
                st.markdown("**Replace the data for everyone?** Every page and every person "
                            f"will see these files instead of {loaded_now}.")
                st.dataframe(replacement_frame(current, report), hide_index=True)
                st.caption(keeping_sentence(kept_count()))
                yes, no = st.columns([2, 1])
                confirmed = yes.button("Replace the data for everyone", type="primary",
                                       icon=":material/sync_alt:", key="confirm-load")
                if no.button("Cancel", key="cancel-load"):
                    st.session_state.pop("import_confirm", None)
                    st.rerun()
            if confirmed:
                try:
                    result = load_files(folder, wh.path, user=user, catalog=data.get_catalog(),
                                        roles=auth.roles(), current=current,
                                        mapping=checked_mapping or None,
                                        timezone=checked_zone or None,
                                        progress=progress_callback("Loading"))
                except AuditLogError as exc:
                    finish(as_sentence(exc), kind="warning")
                except MetricError as exc:
                    st.error(f"Nothing was changed: {exc}", icon=":material/error:")
                else:
                    loaded = result.report
                    kept = (" The data it replaced is kept: restore it below if you need to."
                            if result.kept_as else "")
                    finish(f"Loaded {loaded.rows_loaded:,} rows ({loaded.rows_quarantined:,} "
                           f"quarantined) at {loaded.rows_per_second:,.0f} rows/s; data as of "
                           f"{loaded.as_of:%-d %b %Y %H:%M} UTC.{kept}")

    st.subheader("Previous warehouses")
    backups = list_backups(wh.path)
    if not backups:
        st.caption("None kept yet: each load keeps the warehouse it replaces, so it can be put "
                   "back here.")
    else:
        st.caption("Each load keeps the warehouse it replaced. Restoring one puts it back for "
                   "everyone; the warehouse it replaces is kept in turn, so a restore can be "
                   "undone too.")
        st.dataframe(backups_frame(backups), hide_index=True)
        for backup in backups:
            label = f"Restore the data replaced {backup.replaced_at:%-d %b %Y %H:%M} UTC"
            if st.button(label, icon=":material/restore:", key=f"restore-{backup.id}"):
                try:
                    result = restore_warehouse(backup.id, wh.path, user=user,
                                               catalog=data.get_catalog(), roles=auth.roles(),
                                               current=current)
                except AuditLogError as exc:
                    finish(as_sentence(exc), kind="warning")
                except MetricError as exc:
                    st.error(f"Nothing was changed: {exc}", icon=":material/error:")
                else:
                    finish(f"Restored {result.restored.description}. The data it replaced is "
                           "kept in turn.")

history = data_history(data.get_catalog())
if history:
    st.subheader("Recent loads and restores")
    st.dataframe(history_frame(history), hide_index=True)
