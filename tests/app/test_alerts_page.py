"""The Alerts page: history with deliveries, acknowledgement and subscriptions, as a user.

The alerts are recorded by a real run of the rules (the hand-made SLA rules of
tests/alert_warehouse.py on its warehouse, email not set up so every email delivery says so);
the page reads them from the app's catalog.
"""

from __future__ import annotations

import pytest

import metrics
from alert_warehouse import SLA_RULES, build_alert_warehouse, write_rules
from metrics.alert_run import run_alerts
from metrics.alert_store import open_alert_store
from metrics.delivery import DeliveryConfig

PAGE = "views/alerts.py"


@pytest.fixture
def store(demo_env, tmp_path, monkeypatch):
    path = tmp_path / "catalog.sqlite"
    monkeypatch.setenv("METRICS_CATALOG", str(path))
    monkeypatch.delenv("HANDOFF_LOCAL_MODE", raising=False)
    catalog = metrics.open_catalog(path)
    wh = metrics.open_warehouse(build_alert_warehouse(tmp_path / "alerts.duckdb"))
    try:
        run_alerts(wh, catalog, config=DeliveryConfig(None, {}),
                   rules_dir=write_rules(tmp_path / "rules", SLA_RULES))
    finally:
        wh.close()
    return open_alert_store(catalog)


def _open(app, user: str | None = None):
    at = app(PAGE, **({"as": user} if user else {}))
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _history(at):
    return next(d.value for d in at.dataframe if "Acknowledged by" in d.value.columns)


def test_the_page_lists_the_alerts_and_why_an_email_could_not_go(app, store):
    at = _open(app, "vp.sales@example.com")
    history = _history(at)
    assert len(history) == 6  # 2 warnings and 4 breaches, counted in tests/alert_warehouse.py
    assert set(history["What"]) == {"SLA deadline close", "SLA breached"}
    assert {m.label: m.value for m in at.metric}["Not acknowledged"] == "6"
    deliveries = next(d.value for d in at.dataframe if "Attempt log" in d.value.columns)
    assert "not deliverable" in set(deliveries["Status"])
    assert deliveries["Problem"].str.contains("email is not set up").any()
    rules = next(d.value for d in at.dataframe if "Watches" in d.value.columns)
    assert "sql/alerts/sla_breach.toml" in set(rules["File"])


def test_acknowledging_records_who_and_the_note(app, store):
    at = _open(app, "vp.sales@example.com")
    alert_id = next(h["id"] for h in store.history() if h["subject"] == "A2")
    at.selectbox(key="alerts-picked").set_value(alert_id).run()
    at.text_input(key="ack-note").input("Called; demo booked <Thursday>").run()
    at.button(key="ack").click().run()
    assert not at.exception
    acknowledged = store.alert(alert_id)
    assert acknowledged["acknowledged_by"] == "vp.sales@example.com"
    assert acknowledged["acknowledge_note"] == "Called; demo booked <Thursday>"
    assert any("Acknowledged" in s.value for s in at.success)
    assert {m.label: m.value for m in at.metric}["Not acknowledged"] == "5"


def test_a_subscription_toggle_is_stored_for_the_user(app, store):
    at = _open(app, "cmo@example.com")
    at.toggle(key="subscribe-sla_breach").set_value(True).run()
    assert store.subscriptions("cmo@example.com") == {"sla_breach"}
    at.toggle(key="subscribe-sla_breach").set_value(False).run()
    assert store.subscriptions("cmo@example.com") == set()


def test_nobody_signed_in_can_look_but_not_acknowledge(app, store):
    at = _open(app)
    assert at.button(key="ack").disabled
    assert any("to acknowledge this alert" in i.value for i in at.info)
    assert not [t for t in at.toggle if t.key and t.key.startswith("subscribe-")]
