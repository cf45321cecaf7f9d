"""Every version of a metric: who changed what, who signed it off, diffs, rollback, audit log."""

import streamlit as st

from ui import auth, data, definition_view as view
from ui.components import show_table
from ui.format import escape_markdown

user = auth.current_user()
catalog = data.get_catalog()
defs = data.definitions()

st.title("Definition history")
st.caption("Versions are immutable: an edit or a rollback is a new version, and the audit log "
           "records every action.")
view.show_flash()

name = view.pick_metric(defs, key="history-metric")
history = catalog.history(name)
active = defs[name].version
st.markdown(f"**{view.safe_label(defs[name])}** · `{name}` · active version **v{active}** · "
            f"{len(history)} version{'s' if len(history) != 1 else ''}")
st.dataframe(view.versions_table(history), hide_index=True, key="versions", column_config={
    "Reason": st.column_config.TextColumn(width="medium"),
    "Approvals": st.column_config.TextColumn(width="large")})

st.subheader("Compare two versions")
numbers = [v["version"] for v in history]
status = {v["version"]: v["status"] for v in history}
left, right = st.columns(2)
old = left.selectbox("From", numbers, index=max(0, len(numbers) - 2), key="diff-from",
                     format_func=lambda v: f"v{v} ({status[v]})")
new = right.selectbox("To", numbers, index=len(numbers) - 1, key="diff-to",
                      format_func=lambda v: f"v{v} ({status[v]})")
view.show_diff(catalog.diff(name, old, new), empty=f"v{old} and v{new} have the same text.")
with st.expander(f"Full text of v{new}", icon=":material/code:"):
    st.code(catalog.text(name, new), language="sql", line_numbers=True)

st.subheader("Roll back")
earlier = [v["version"] for v in history if v["activated_at"] and v["version"] != active]
if not earlier:
    st.caption(f"Only v{active} has ever been live, so there is nothing to roll back to.")
else:
    refusal = view.who_can_act(user, "roll back") or catalog.roles.why_not_propose(
        user, defs[name].owners, metric=name)
    if refusal:
        st.warning(escape_markdown(refusal), icon=":material/lock:")
    else:
        view.rollback_form(name, user, earlier, key="rollback", label="Go back to",
                           placeholder="e.g. v3 double-counts recycled leads")
    st.caption("A rollback is a new version with the earlier text: it needs the same sign-off "
               "as any change.")

st.subheader("Audit log")
show_table(view.audit_table(catalog.audit(name)), file_name=f"{name}-audit-log", key="audit")
