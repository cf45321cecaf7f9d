"""Edit a metric definition: live validation, the draft's numbers, its impact, then propose it."""

import streamlit as st

from metrics.scoring import RULE_NAME
from ui import auth, data, definition_view as view, filters
from ui.scoring_view import show_rule_impact
from ui.format import escape_markdown
from ui.impact import check_draft, text_diff

selection = filters.current()
user = auth.current_user()
defs = data.definitions()

st.title("Edit a metric definition")
st.caption("Edits become a new version that goes live only when every owning team has approved "
           "it. Nothing you type here changes a number on screen until then.")
view.show_flash()

name = view.pick_metric(defs, key="editor-metric")
active = defs[name]
next_version = view.next_version(name)
st.markdown(f"Active version: **v{active.version}** · owned by {', '.join(active.owners)} · "
            f"changes need sign-off by {' and '.join(active.owners)}")
for waiting in view.open_proposals(name):
    st.caption(f":material/pending: {escape_markdown(waiting)}")

editor, preview = st.columns(2)
with editor:
    text = st.text_area("Definition file (header, then one SELECT)", value=active.text,
                        height=460, key=view.text_key(name, active.version),
                        help="The '-- key: value' header, then exactly one SELECT returning "
                             "lead_id, the anchor column and numerator/denominator or value. "
                             "Checked on every change (Ctrl+Enter or click outside).")
with preview:
    st.caption("Preview")
    st.code(text or "", language="sql", line_numbers=True, wrap_lines=True, height=460)

check = check_draft(text, name=name, schema=data.get_warehouse().schema,
                    active_text=active.text, version=next_version)
view.show_check(check, text)

preview_refusal = view.draft_refusal(user, name)
engine_block = None  # the sentence when another engine gives the draft another number
if check.valid and not check.unchanged:
    st.subheader("Impact preview")
    if preview_refusal:
        st.caption("The impact preview runs the draft on the warehouse, so it is shown to the "
                   f"people who may propose changes to {name}.")
    else:
        st.caption(f"{selection.label}: {selection.describe()} · "
                   f"{filters.describe_filters(selection)} · by {selection.grain} · change the "
                   "period and filters in the sidebar")
        draft = view.draft_results(check.definition, selection, user)
        view.show_impact(view.version_results(name, active.version, selection), draft,
                         defn=check.definition, old_name=f"v{active.version}", new_name="draft",
                         new_role="", selection=selection, key="editor")
        engine_block = view.show_engine_checks(check.definition, selection, draft[1])
        if name == RULE_NAME:
            show_rule_impact(active, check.definition, selection,
                             old_name=f"v{active.version} (active)", new_name="Draft")
        with st.expander("The draft's rows on these filters", icon=":material/table:"):
            view.show_result_preview(draft[0], key="editor-draft")

    st.subheader("Changes to the text")
    view.show_diff(text_diff(active.text, text, old_label=f"{name} v{active.version} (active)",
                             new_label=f"{name} draft"))

st.subheader("Propose")
refusal = view.who_can_act(user, "propose a change") or preview_refusal
duplicate = view.already_proposed(name, text) if check.proposable else None
if refusal:
    # Someone who may not propose is told who may, and is not shown a form they cannot use.
    st.warning(escape_markdown(refusal), icon=":material/lock:")
else:
    if duplicate:
        st.info(f"This exact text is already proposed as v{duplicate}; it waits in the review "
                "inbox.", icon=":material/pending:")
    with st.form("propose", border=False):
        st.text_input("Reason for the change", key="propose-reason",
                      placeholder="e.g. Sales agreed to count a lead as accepted only once a rep "
                                  "touched it")
        st.form_submit_button(
            f"Propose v{next_version}", type="primary", icon=":material/send:",
            disabled=bool(duplicate) or bool(engine_block) or not check.proposable,
            on_click=view.propose,
            args=(name, user, view.text_key(name, active.version), "propose-reason"))
    if not check.proposable:
        st.caption("Propose is available once the draft is valid and differs from the active "
                   "version.")
    elif engine_block:
        st.caption("Propose is available once the draft gives the same number on every "
                   "configured engine (see the impact preview above).")
