"""Reviews: freeze the meeting's numbers, reopen a frozen review, compare it with live, and
keep what was decided."""

import streamlit as st

from metrics.errors import MetricError
from metrics.review import load_review
from ui import annotations, auth, data, filters, review_view as view
from ui.definition_view import show_flash
from ui.format import escape_markdown

selection = filters.current()
user = auth.current_user()
person = auth.current_person()
catalog = data.get_catalog()

st.title("Reviews")
filters.page_caption(selection, "a review freezes what these pages show for this period and "
                     "these filters")
show_flash()

left, right = st.columns([3, 2])
with left:
    view.freeze_form(selection, user)
with right:
    st.markdown("**Open action items**")
    open_actions = catalog.open_actions()
    if open_actions:
        view.action_list(open_actions, user, person.may_edit, key="open")
    else:
        st.caption("No action item is open.")

with st.expander("Events on the trend charts", icon=":material/push_pin:"):
    annotations.events_editor(user, person.may_edit)
with st.expander("Targets by period (the plan)", icon=":material/flag:"):
    view.plan_editor(user, person.may_approve)

saved = catalog.snapshots()
if not saved:
    st.info("No review is frozen yet. Set the period and filters in the sidebar, then "
            "**Freeze this review**.", icon=":material/ac_unit:")
    st.stop()

chosen = view.review_picker(saved)
if chosen is None:
    st.stop()
try:
    review = load_review(catalog, chosen)
except MetricError as exc:
    st.error(escape_markdown(str(exc)), icon=":material/error:")
    st.stop()

view.frozen_header(review)
view.pack_button(review)
carried = catalog.open_actions(before=review.id)
if carried:
    with st.container(border=True):
        st.markdown("**Still open from earlier reviews**")
        view.action_list(carried, user, person.may_edit, key="carried")
view.compare_with_live(review)
view.frozen_scorecard(review)
view.review_items(review, user, person.may_edit)
view.frozen_sections(review)
