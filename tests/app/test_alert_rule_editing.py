"""Changing an alert rule in the app: an editor proposes, both owning teams approve in the
review inbox, the run's rule becomes the new version; a viewer is told who may change it.

The app runs on the hand-made warehouse of tests/alert_warehouse.py, with the shipped rules
and address book (sql/alerts/). The shipped book has no address for its reps R1, R2 and R9,
so every breach reaches the VP Sales (the team lead, and the owner's stand-in): with the
shipped 7-day lookback the breaches are A2, A3, A9 and A10 (4), with a 60-day one A8 too (5).
"""

from __future__ import annotations

import pytest

import metrics
from alert_warehouse import build_alert_warehouse
from metrics.catalog import rule_key
from ui.definition_view import text_key, widget_key

PAGE = "views/alerts.py"
BREACH = rule_key("sla_breach")


@pytest.fixture
def catalog(demo_env, tmp_path, monkeypatch):
    path = tmp_path / "catalog.sqlite"
    monkeypatch.setenv("METRICS_CATALOG", str(path))
    monkeypatch.setenv("METRICS_WAREHOUSE",
                       str(build_alert_warehouse(tmp_path / "alerts.duckdb")))
    monkeypatch.delenv("HANDOFF_LOCAL_MODE", raising=False)
    return metrics.open_catalog(path)


def _open(app, page: str, user: str):
    at = app(page, **{"as": user})
    assert not at.exception, [e.value for e in at.exception]
    return at


def _texts(at, *kinds: str) -> str:
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind)).replace("\\", "")


def _frame(at, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_an_editor_proposes_both_teams_approve_and_the_rule_in_force_changes(app, catalog):
    at = _open(app, PAGE, "sales.ops@example.com")
    at.selectbox(key="rule-edit").set_value("sla_breach").run()
    area = at.text_area(key=text_key(BREACH, 1))
    area.set_value(area.value.replace("lookback_days = 7", "lookback_days = 60")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Valid rule" in _texts(at, "success")
    dry_run = _frame(at, "Goes to").set_index("Goes to")
    assert dry_run.loc["All alerts", "v1 (active)"] == 4
    assert dry_run.loc["All alerts", "Draft"] == 5
    assert dry_run.loc["vp.sales@example.com", "Draft"] == 5
    assert "v1 (active) finds 4 alerts and Draft 5 (1 more)" in _texts(at, "info")

    at.text_input(key="rule-reason").input("Sales leads want the older breaches too")
    at.button(key="rule-propose").click().run()
    assert "Proposed v2 of the alert rule sla_breach" in _texts(at, "success")
    assert catalog.history(BREACH)[-1]["status"] == "proposed"
    assert catalog.rule("sla_breach").version == 1

    approve = widget_key("approve", BREACH, 2)
    at = _open(app, "views/inbox.py", "cmo@example.com")
    assert "Sales leads want the older breaches too" in [t.value for t in at.text]
    assert "v1 (active) finds 4 alerts and v2 (proposed) 5 (1 more)" in _texts(at, "info")
    at.button(key=approve).click().run()
    assert "now waits for sales" in _texts(at, "success")
    assert catalog.rule("sla_breach").version == 1

    at = _open(app, "views/inbox.py", "vp.sales@example.com")
    at.button(key=approve).click().run()
    assert "v2 of the alert rule sla_breach is now active" in _texts(at, "success")
    assert catalog.rule("sla_breach").setting("lookback_days") == 60

    at = _open(app, PAGE, "vp.sales@example.com")
    rules = _frame(at, "Watches").set_index("File")
    assert rules.loc["sql/alerts/sla_breach.toml", "Version"] == "v2"
    assert "last 60 days" in rules.loc["sql/alerts/sla_breach.toml", "Watches"]
    at.selectbox(key="rule-edit").set_value("sla_breach").run()
    versions = _frame(at, "Approvals")
    assert list(versions["Status"]) == ["active", "superseded"]


def test_a_viewer_is_told_who_may_change_the_rule_and_gets_no_form(app, catalog):
    at = _open(app, PAGE, "analyst@example.com")
    at.selectbox(key="rule-edit").set_value("sla_breach").run()
    refusal = _texts(at, "warning").replace("`", "")
    assert "analyst@example.com is a viewer and cannot propose changes" in refusal
    who = _texts(at, "markdown").replace("`", "")
    assert "Who may propose a change (editors, approvers and admins of sales or marketing)" in who
    assert "sales.ops@example.com · vp.sales@example.com" in who
    assert not [a for a in at.text_area if a.key == text_key(BREACH, 1)]
    assert not [b for b in at.button if b.key == "rule-propose"]


def test_an_approver_rejects_a_rule_change_in_the_inbox_with_a_comment(app, catalog):
    catalog.active_rules()
    text = catalog.text(BREACH).replace('notify = ["owner", "team_lead"]', 'notify = ["owner"]')
    version = catalog.propose(BREACH, text, author="sales.ops@example.com",
                              reason="leads are told by their reps")
    at = _open(app, "views/inbox.py", "cmo@example.com")
    # Without the team lead only the owners hear: R1, R2 and R9 have no address in the shipped
    # book, so each breach still reaches the VP Sales as the owner's stand-in (4 and 4).
    assert "v1 (active) finds 4 alerts and v2 (proposed) 4 (the same number)" in _texts(at, "info")
    at.text_input(key=widget_key("comment", BREACH, version)).input("leads must hear of breaches")
    at.button(key=widget_key("reject", BREACH, version)).click().run()
    assert "Rejected v2 of the alert rule sla_breach" in _texts(at, "info")
    assert catalog.history(BREACH)[-1]["status"] == "rejected"
    assert catalog.rule("sla_breach").version == 1
