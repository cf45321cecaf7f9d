"""Review inbox: proposed definition and alert rule changes waiting for my team's sign-off."""

import streamlit as st

from metrics.catalog import is_rule_key
from ui import auth, data, definition_view as view, filters, rule_editor
from ui.format import escape_markdown

selection = filters.current()
user = auth.current_user()
person = auth.current_person()
catalog = data.get_catalog()

st.title("Review inbox")
st.caption("Changes to a shared definition or alert rule go live only when every owning team "
           "has approved them, and never by their author. Impact previews use the period and "
           "filters in the sidebar (an alert rule's dry run judges the warehouse as it is now): "
           f"{selection.label}, {selection.describe()}, "
           f"{filters.describe_filters(selection)}.")
view.show_flash()

waiting = catalog.pending(for_user=user) if user else []
if not user:
    st.info(view.who_can_act(user, "see what waits for you"), icon=":material/person:")
elif not person.may_approve:
    st.info(escape_markdown(f"{person.email} is {person.role} and approves nothing; "
                            "approvers of each team review proposals. The open ones are listed "
                            "below."), icon=":material/visibility:")
elif not waiting:
    st.success("Nothing is waiting for your sign-off.", icon=":material/inbox:")
else:
    st.markdown(f"**{len(waiting)}** proposal{'s' if len(waiting) != 1 else ''} waiting for "
                f"{' or '.join(person.teams)}:")
for item in waiting:
    if is_rule_key(item["name"]):
        rule_editor.show_rule_proposal(item, user)
    else:
        view.show_proposal(item, selection, user)

mine = view.own_proposals(user)
if mine:
    st.subheader("Your own proposals")
    st.caption("Nobody approves their own proposal: these wait for approvers of the other "
               "owning teams (or of your team, other than you).")
    st.dataframe(view.pending_table(mine), hide_index=True, key="own-pending")

st.subheader("All open proposals")
everything = catalog.pending()
if everything:
    st.dataframe(view.pending_table(everything), hide_index=True, key="all-pending",
                 column_config={"Reason": st.column_config.TextColumn(width="large")})
else:
    st.caption("No proposal is open.")
