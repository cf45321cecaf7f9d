"""Alerts: what the agreed alert rules found and sent, to whom, who is on it, changing a rule
(with the two-team sign-off), and my subscriptions."""

import streamlit as st

from ui import alerts_view as view, auth, rule_editor
from ui.components import empty_state, show_grid, show_table
from ui.definition_view import show_flash, who_can_act
from ui.format import escape_markdown

user = auth.current_user()
store = view.get_store()
rules = view.rules()
labels = {name: rule.label for name, rule in rules.items()}

st.title("Alerts")
st.caption("`python -m metrics alerts run` judges the rules below against the warehouse (from "
           "cron every few minutes and after each load) and sends each finding once, by email "
           "and webhook. Everything it found and every delivery attempt is kept here.")
show_flash()

st.subheader("Alert history")
left, right = st.columns([2, 1])
rule = left.selectbox("Rule", [None, *rules], key="alerts-rule",
                      format_func=lambda r: "All rules" if r is None else labels[r])
open_only = right.toggle("Only unacknowledged", key="alerts-open")
history = store.history(rule=rule, unacknowledged=open_only)
counts = view.summary(history)
tiles = st.columns(4)
tiles[0].metric("Alerts", f"{counts['alerts']:,}", border=True)
tiles[1].metric("Not acknowledged", f"{counts['unacknowledged']:,}", border=True)
tiles[2].metric("Deliveries waiting for a retry", f"{counts['waiting']:,}", border=True)
tiles[3].metric("Deliveries not possible", f"{counts['undelivered']:,}", border=True,
                help="No address, no webhook URL, email not set up, or refused by the receiver.")
if not history:
    empty_state("No alert yet for this choice: the rules found nothing, or "
                "`python -m metrics alerts run` has not run on this catalog.")
else:
    show_table(view.history_table(history, labels), file_name="alert-history", key="history",
               column_config={"Alert": st.column_config.TextColumn(width="large")})

    choices = view.alert_choice(history)
    picked = st.selectbox("Alert", list(choices), key="alerts-picked",
                          format_func=lambda i: choices[i])
    alert = store.alert(picked)
    with st.container(border=True):
        st.markdown(f"**{escape_markdown(alert['title'])}**")
        st.text(alert["summary"])
        st.caption(f"Rule `{alert['rule']}` · key `{alert['dedup_key']}`")
        show_grid(view.deliveries_table(store.deliveries(picked)), key="deliveries")
        if alert["acknowledged_by"]:
            st.success(escape_markdown(
                f"Acknowledged by {alert['acknowledged_by']} on {view.when(alert['acknowledged_at'])}"
                + (f": {alert['acknowledge_note']}" if alert["acknowledge_note"] else ".")),
                icon=":material/task_alt:")
        else:
            refusal = who_can_act(user, "acknowledge this alert")
            if refusal:
                st.info(refusal, icon=":material/person:")
            st.text_input("Note (optional)", key="ack-note", disabled=bool(refusal),
                          placeholder="e.g. called the lead, meeting booked for Thursday")
            st.button("Acknowledge", key="ack", icon=":material/task_alt:",
                      disabled=bool(refusal), on_click=view.acknowledge,
                      args=(user, "alerts-picked", "ack-note"))
        with st.expander("The message as sent", icon=":material/mail:"):
            st.text(alert["message"]["text"])

st.subheader("Rules in force")
show_grid(view.rules_table(rules), key="rules",
          column_config={"Watches": st.column_config.TextColumn(width="large")})
st.caption("Rules are files in `sql/alerts/` beside the metric definitions (version 1 of each "
           "rule), with the address book in `sql/alerts/recipients.toml`. A change made here is "
           "a new version that goes live only when every team in *Agreed by* has approved it, "
           "never by its author; until then the run keeps using the version shown.")

st.subheader("Change a rule")
edited = st.selectbox("Rule to open", list(rules), key="rule-edit",
                      format_func=lambda r: f"{labels[r]} ({r})")
for problem in view.rule_problems():
    st.warning(escape_markdown(problem), icon=":material/warning:")
if rules[edited].version is None:
    st.info(f"`{edited}` is judged from its file: the catalog has no version of it yet, so it "
            "cannot be changed here until the file is imported (see the warning above).",
            icon=":material/info:")
else:
    rule_editor.show_rule_editor(rules[edited], user)
    st.markdown(f"**History of `{edited}`**")
    rule_editor.show_rule_history(rules[edited], user)

st.subheader("My subscriptions")
if not user:
    st.info(who_can_act(user, "subscribe to alerts"), icon=":material/person:")
else:
    mine = store.subscriptions(user)
    st.caption(f"Also email me, {escape_markdown(user)}, every alert of these rules (on top of "
               "the people each rule notifies).")
    for name, rule_ in rules.items():
        st.toggle(rule_.label, value=name in mine, key=f"subscribe-{name}",
                  on_change=view.set_subscription, args=(user, name, f"subscribe-{name}"))
