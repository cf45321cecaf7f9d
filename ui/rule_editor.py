"""Editing an alert rule in the app: the editor with live validation, the dry run of the active
rule against the draft, proposing, the rule's history, and a proposed rule in the review inbox.

A rule's versions live in the catalog under `alert_rule:<rule>` and go through the same
sign-off as a metric definition (metrics/catalog.py), so proposing, approving, rejecting and
rolling back reuse ui.definition_view's callbacks. Everything a person wrote (the TOML, labels,
reasons) is shown as code, plain text or table cells, never as Markdown or HTML.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from metrics.alert_rules import AlertRule, parse_rule
from metrics.alert_run import preview_rule
from metrics.catalog import rule_key, rule_name, subject
from metrics.errors import MetricError
from ui import data, definition_view as view
from ui.components import show_grid, show_table
from ui.format import escape_markdown
from ui.impact import text_diff


@dataclass(frozen=True)
class RuleCheck:
    """A draft rule's text checked by the rule parser: the rule, or the first error."""

    rule: AlertRule | None
    error: MetricError | None = None
    unchanged: bool = False

    @property
    def proposable(self) -> bool:
        return self.rule is not None and not self.unchanged


def check_rule(name: str, text: str, active_text: str) -> RuleCheck:
    """Parse the draft exactly as the catalog will when it is proposed."""
    try:
        rule = parse_rule(name, text, source=f"{name}.toml (draft)")
    except MetricError as exc:
        return RuleCheck(None, exc)
    return RuleCheck(rule, unchanged=text == active_text)


def show_rule_check(check: RuleCheck, text: str) -> None:
    """'Valid' in green, or the parser's sentence with its line and the lines around it."""
    if check.error is not None:
        view.show_text_error(check.error, text)
    elif check.unchanged:
        st.info("The draft is the active version's text; change something to propose it.",
                icon=":material/info:")
    else:
        st.success("Valid rule: the run would accept it.", icon=":material/check_circle:")


# -- who may change a rule -------------------------------------------------------------------
def who_may_propose(owners: tuple[str, ...] | list[str]) -> str:
    """'Who may propose a change (editors, approvers and admins of sales or marketing):
    a@x · b@y' (the addresses end the line, so no punctuation sticks to one)."""
    roles = data.get_catalog().roles
    people = sorted(email for email, person in roles.people.items()
                    if person.may_edit and (person.role == "admin" or set(person.teams)
                                            & set(owners)))
    teams = " or ".join(owners)
    if not people:
        return (f"Editors, approvers and admins of {teams} may propose a change; nobody in "
                f"{roles.source} is one yet.")
    return (f"Who may propose a change (editors, approvers and admins of {teams}): "
            + " · ".join(people))


def rule_refusal(user: str | None, rule: AlertRule) -> str | None:
    """None when `user` may propose a change to the rule, else the sentence why not."""
    roles = data.get_catalog().roles
    return view.who_can_act(user, "change a rule") or roles.why_not_propose(
        user, rule.owners, metric=subject(rule_key(rule.name)))


# -- dry run -----------------------------------------------------------------------------------
@st.cache_data(ttl=data.CACHE_TTL, max_entries=200, show_spinner=False)
def _preview(stamp, name: str, text: str) -> dict:
    rule = parse_rule(name, text, source=f"{name}.toml")
    found = preview_rule(data.get_warehouse(), data.get_catalog(), rule)
    return {"alerts": len(found.alerts), "recipients": found.recipients,
            "titles": [a.title for a in found.alerts], "failures": list(found.failures)}


def dry_run(name: str, text: str) -> dict:
    """What the rule with this text finds against the warehouse now (cached per data load)."""
    return _preview(data.warehouse_stamp(), name, text)


def preview_table(old: dict, new: dict, old_label: str, new_label: str) -> pd.DataFrame:
    """Alerts in total, then alerts per recipient, for both versions and the change."""
    who = list(dict.fromkeys([*old["recipients"], *new["recipients"]]))
    rows = [("All alerts", old["alerts"], new["alerts"])] + [
        (w, old["recipients"].get(w, 0), new["recipients"].get(w, 0)) for w in who]
    frame = pd.DataFrame(rows, columns=["Goes to", old_label, new_label])
    frame["Change"] = frame[new_label] - frame[old_label]
    return frame


def _more_or_fewer(old: int, new: int) -> str:
    if new == old:
        return "the same number"
    return f"{abs(new - old):,} {'more' if new > old else 'fewer'}"


def show_dry_run(name: str, old_text: str, new_text: str, *, old_label: str, new_label: str,
                 key: str) -> None:
    """The findings of two versions of a rule against the warehouse now, side by side."""
    with st.spinner("Running both versions of the rule on the warehouse…"):
        old, new = dry_run(name, old_text), dry_run(name, new_text)
    for label, result in ((old_label, old), (new_label, new)):
        for failure in result["failures"]:
            st.error(escape_markdown(f"{label} could not be judged: {failure}"),
                     icon=":material/error:")
    as_of = data.get_warehouse().as_of
    st.info(escape_markdown(
        f"On the data as of {as_of:%Y-%m-%d %H:%M} UTC, {old_label} finds {old['alerts']:,} "
        f"alert{'s' if old['alerts'] != 1 else ''} and {new_label} {new['alerts']:,} "
        f"({_more_or_fewer(old['alerts'], new['alerts'])}). A dry run: nothing is recorded or "
        "sent, and alerts already sent are counted too."), icon=":material/compare_arrows:")
    show_table(preview_table(old, new, old_label, new_label), file_name=f"{name}-dry-run",
               key=f"{key}-dry-run",
               column_config={"Change": st.column_config.NumberColumn(format="%+d")})
    only_new = [t for t in new["titles"] if t not in set(old["titles"])]
    gone = [t for t in old["titles"] if t not in set(new["titles"])]
    if only_new or gone:
        with st.expander(f"Alerts that change: {len(only_new)} new, {len(gone)} no longer",
                         icon=":material/difference:"):
            show_grid(pd.DataFrame([*(("new", t) for t in only_new),
                                    *(("no longer", t) for t in gone)],
                                   columns=["With the change", "Alert"]), key=f"{key}-changed")


# -- the editor --------------------------------------------------------------------------------
def show_rule_editor(rule: AlertRule, user: str | None) -> None:
    """Edit one rule: who may, the TOML with live validation, the dry run, the reason, propose."""
    name = rule_key(rule.name)
    st.markdown(escape_markdown(
        f"Active version: v{rule.version} · owned by {' and '.join(rule.owners)} · a change "
        f"needs sign-off by {' and '.join(rule.owners)}, never by its author"))
    for waiting in view.open_proposals(name):
        st.caption(f":material/pending: {escape_markdown(waiting)}")
    refusal = rule_refusal(user, rule)
    if refusal:
        # Someone who may not propose is told who may, and is not shown a form they cannot use.
        st.warning(escape_markdown(refusal), icon=":material/lock:")
        st.markdown(escape_markdown(who_may_propose(rule.owners)))
        with st.expander("The rule's active text", icon=":material/code:"):
            st.code(rule.text, language="toml", line_numbers=True)
        return
    text_key = view.text_key(name, rule.version)
    text = st.text_area(f"{rule.name}.toml", value=rule.text, height=300, key=text_key,
                        help="label, kind, owners, notify, channels and the kind's settings "
                             "(docs/ALERTS.md). Checked on every change (Ctrl+Enter or click "
                             "outside).")
    check = check_rule(rule.name, text, rule.text)
    show_rule_check(check, text)
    if check.proposable:
        st.markdown("**What the change would do**")
        show_dry_run(rule.name, rule.text, text, old_label=f"v{rule.version} (active)",
                     new_label="Draft", key="rule-editor")
        view.show_diff(text_diff(rule.text, text, old_label=f"{rule.name} v{rule.version}",
                                 new_label=f"{rule.name} draft"))
    duplicate = view.already_proposed(name, text) if check.proposable else None
    if duplicate:
        st.info(f"This exact text is already proposed as v{duplicate}; it waits in the review "
                "inbox.", icon=":material/pending:")
    with st.form("propose-rule", border=False):
        st.text_input("Reason for the change", key="rule-reason",
                      placeholder="e.g. Sales leads want to hear of breaches from the last month")
        st.form_submit_button(f"Propose v{view.next_version(name)}", type="primary",
                              icon=":material/send:", key="rule-propose",
                              disabled=bool(duplicate) or not check.proposable,
                              on_click=view.propose, args=(name, user, text_key, "rule-reason"))
    if not check.proposable:
        st.caption("Propose is available once the draft is valid and differs from the active "
                   "version.")


def show_rule_history(rule: AlertRule, user: str | None) -> None:
    """Every version of the rule with its approvals, the audit log, and a rollback."""
    catalog = data.get_catalog()
    name = rule_key(rule.name)
    history = catalog.history(name)
    st.dataframe(view.versions_table(history), hide_index=True, key="rule-versions",
                 column_config={"Reason": st.column_config.TextColumn(width="medium"),
                                "Approvals": st.column_config.TextColumn(width="large")})
    earlier = [v["version"] for v in history
               if v["activated_at"] and v["version"] != rule.version]
    if earlier and not rule_refusal(user, rule):
        view.rollback_form(name, user, earlier, key="rule-rollback", label="Roll back to",
                           placeholder="e.g. the longer lookback flooded the reps")
        st.caption("A rollback is a new version with the earlier text: it needs the same "
                   "sign-off as any change.")
    with st.expander("Audit log of the rule", icon=":material/receipt_long:"):
        show_table(view.audit_table(catalog.audit(name)), file_name=f"{rule.name}-audit-log",
                   key="rule-audit")


# -- a proposed rule in the review inbox ---------------------------------------------------
def show_rule_proposal(item: dict, user: str | None) -> None:
    """One proposed rule change waiting for the user: who, why, what it would find, decide."""
    catalog = data.get_catalog()
    name, version = item["name"], item["version"]
    rule = rule_name(name)
    approving = catalog.roles.approving_teams(user, item["missing_teams"]) if user else ()
    with st.container(border=True):
        st.subheader(f"Alert rule `{rule}` v{version}")
        view.proposal_facts(item, new_thing="a new rule")
        if item["stale"]:
            st.warning(escape_markdown(view.conflict_sentence(item)),
                       icon=":material/sync_problem:")
        active = item.get("active_version")
        if active is not None:
            with st.expander(f"What it would do: v{active} (active) vs v{version}",
                             expanded=True, icon=":material/compare_arrows:"):
                show_dry_run(rule, catalog.text(name, active), item["text"],
                             old_label=f"v{active} (active)",
                             new_label=f"v{version} (proposed)",
                             key=view.widget_key("rule-impact", name, version))
        with st.expander(f"Changes to the text since v{item['base_version']}",
                         icon=":material/difference:", expanded=True):
            base = item["base_version"]
            view.show_diff(text_diff(catalog.text(name, base), item["text"],
                                     old_label=f"{rule}.toml v{base}",
                                     new_label=f"{rule}.toml v{version}"))
        comment_key = view.widget_key("comment", name, version)
        st.text_input("Comment (required to reject)", key=comment_key)
        buttons = st.container(horizontal=True)
        buttons.button(f"Approve for {approving[0]}" if approving else "Approve", type="primary",
                       icon=":material/check:", key=view.widget_key("approve", name, version),
                       disabled=bool(item["stale"] or not approving), on_click=view.decide,
                       args=(name, version, user, "approve", comment_key))
        buttons.button("Reject", icon=":material/close:",
                       key=view.widget_key("reject", name, version), on_click=view.decide,
                       args=(name, version, user, "reject", comment_key))
