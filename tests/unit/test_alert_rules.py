"""Alert rules against the hand-made warehouse of tests/alert_warehouse.py (counted there)."""

from __future__ import annotations

import datetime as dt

import pytest

import metrics
from alert_warehouse import (
    AS_OF,
    BREACHES,
    SLA_RULES,
    WARNINGS_AT_3_HOURS,
    WARNINGS_AT_6_HOURS,
    RECIPIENTS,
    build_alert_warehouse,
)
from metrics.alert_rules import (
    ALERTS_DIR,
    load_recipients,
    load_rules,
    parse_recipients,
    parse_rule,
)
from metrics.alerts import AlertContext, digest_slot, evaluate_rules
from metrics.definitions import load_definition_files
from metrics.errors import DefinitionError
from metrics.model import load_model


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    wh = metrics.open_warehouse(build_alert_warehouse(
        tmp_path_factory.mktemp("alerts") / "warehouse.duckdb"))
    yield wh
    wh.close()


def context(wh, *, targets=None, now=AS_OF) -> AlertContext:
    return AlertContext(warehouse=wh, model=load_model(), recipients=parse_recipients(RECIPIENTS),
                        targets=targets or {}, now=now)


def rules(**texts: str):
    return {name: parse_rule(name, text) for name, text in texts.items()}


def by_rule(evaluation, rule: str) -> dict[str, object]:
    return {a.subject: a for a in evaluation.alerts if a.rule == rule}


def test_the_shipped_rule_files_parse_and_name_metrics_that_exist():
    shipped = load_rules(ALERTS_DIR)
    assert {r.kind for r in shipped.values()} == {"sla_warning", "sla_breach", "target",
                                                  "metric_shift", "digest"}
    known = set(load_definition_files())
    for rule in shipped.values():
        assert set(rule.metrics) <= known, rule.name
    book = load_recipients(ALERTS_DIR)
    assert book.team("sales").lead and book.team("marketing").email


@pytest.mark.parametrize("hours_left, expected", [(6, WARNINGS_AT_6_HOURS),
                                                   (3, WARNINGS_AT_3_HOURS)])
def test_sla_warnings_are_the_untouched_mqls_close_to_their_deadline(warehouse, hours_left,
                                                                      expected):
    text = SLA_RULES["sla_warning"].replace("hours_left = 6", f"hours_left = {hours_left}")
    found = by_rule(evaluate_rules(rules(sla_warning=text), context(warehouse)), "sla_warning")
    assert set(found) == expected


def test_sla_warning_counts_business_hours_left_in_new_york_time(warehouse):
    found = by_rule(evaluate_rules(rules(sla_warning=SLA_RULES["sla_warning"]),
                                   context(warehouse)), "sla_warning")
    # A1: MQL Wed 10:00 NY, deadline Thu 10:00; at 14:00 three hours remain today, one Thursday.
    assert dict(found["A1"].facts)["Business hours left"] == "4.0"
    assert dict(found["A7"].facts)["Business hours left"] == "2.0"
    assert found["A1"].recipients[0].email == "ana.ruiz@example.com"
    assert found["A1"].period == "2025-03-20T14:00:00"  # the deadline, in UTC


def test_sla_breaches_are_the_waiting_mqls_past_their_deadline_within_the_lookback(warehouse):
    found = by_rule(evaluate_rules(rules(sla_breach=SLA_RULES["sla_breach"]),
                                   context(warehouse)), "sla_breach")
    assert set(found) == BREACHES
    # A10's clock stopped for the weekend: Mon 1 h + Tue 8 h + Wed 5 h late.
    assert dict(found["A10"].facts)["Business hours late"] == "14.0"
    assert [r.email for r in found["A2"].recipients] == ["ben.okafor@example.com",
                                                         "vp.sales@example.com"]
    # R9 has no address: the alert reaches the sales lead, and says why.
    nobody = found["A9"].recipients
    assert {r.email for r in nobody} == {"vp.sales@example.com"}
    assert "R9 has no address" in nobody[0].why


def test_a_longer_lookback_reaches_the_old_breach(warehouse):
    text = SLA_RULES["sla_breach"].replace("lookback_days = 7", "lookback_days = 60")
    found = by_rule(evaluate_rules(rules(sla_breach=text), context(warehouse)), "sla_breach")
    assert set(found) == BREACHES | {"A8"}


TARGET_RULE = """label = "Off target"
kind = "target"
owners = ["marketing", "sales"]
notify = ["owners"]
metrics = ["mqls", "sla_first_touch_compliance"]
grain = "month"
"""


def test_targets_are_judged_at_month_end_and_mid_month(warehouse):
    evaluation = evaluate_rules(rules(t=TARGET_RULE), context(
        warehouse, targets={"mqls": 20, "sla_first_touch_compliance": 0.85}))
    keys = {a.dedup_key for a in evaluation.alerts}
    # February: 2 MQLs < 20, compliance 1/2 = 50 % < 85 %. March so far: 9 MQLs after 60 % of
    # the month, on course for about 15 < 20; compliance 1 of 6 due.
    assert keys == {"t|mqls|2025-02-01/month/end", "t|mqls|2025-03-01/month/mid",
                    "t|sla_first_touch_compliance|2025-02-01/month/end",
                    "t|sla_first_touch_compliance|2025-03-01/month/mid"}
    alerts = {a.dedup_key: a for a in evaluation.alerts}
    feb = dict(alerts["t|sla_first_touch_compliance|2025-02-01/month/end"].facts)
    assert (feb["Value"], feb["Target"]) == ("50.0%", "85.0%")
    assert feb["Metric"] == "SLA first-touch compliance (sla_first_touch_compliance v1)"
    assert dict(alerts["t|mqls|2025-03-01/month/mid"].facts)["Value"] == "9"
    # "owners": the teams owning the metric (mqls: marketing only).
    assert {r.email for r in alerts["t|mqls|2025-02-01/month/end"].recipients} == {
        "marketing@example.com"}


def test_a_met_target_raises_nothing_and_a_missing_one_says_so(warehouse):
    evaluation = evaluate_rules(rules(t=TARGET_RULE), context(warehouse, targets={"mqls": 2}))
    assert not evaluation.alerts  # February 2 of 2; March on course for 15 of 2
    assert any("sla_first_touch_compliance has no agreed target" in n for n in evaluation.notes)


def test_a_month_on_month_move_beyond_the_threshold_is_reported_once_per_month(warehouse):
    text = ('label = "Moved"\nkind = "metric_shift"\nowners = ["marketing"]\n'
            'notify = ["team:marketing"]\nmetrics = ["mqls"]\ngrain = "month"\nthreshold = 0.25\n')
    evaluation = evaluate_rules(rules(m=text), context(warehouse))
    (alert,) = evaluation.alerts  # February 2 against January 4: -50 %
    assert alert.dedup_key == "m|mqls|2025-02-01/month"
    assert alert.title == "MQLs: -50% in February 2025"
    calm = evaluate_rules(rules(m=text.replace("0.25", "0.5")), context(warehouse))
    assert not calm.alerts


def test_the_digest_is_due_from_its_hour_in_the_sla_time_zone(warehouse):
    text = ('label = "Digest"\nkind = "digest"\nowners = ["marketing", "sales"]\n'
            'notify = ["team:marketing", "team:sales"]\n'
            'metrics = ["mqls", "sla_first_touch_compliance"]\nweekday = "wed"\nhour = 9\n')
    digest = rules(d=text)
    # Wednesday 09:00 in New York is 13:00 UTC in March 2025 (EDT).
    assert digest_slot(digest["d"], AS_OF, "America/New_York") == dt.datetime(2025, 3, 19, 13)
    early = evaluate_rules(digest, context(warehouse, now=dt.datetime(2025, 3, 19, 12, 59)))
    assert not early.alerts and "due from Wed 19 Mar 2025 13:00 UTC" in early.notes[0]
    (sent,) = evaluate_rules(digest, context(warehouse, now=dt.datetime(2025, 3, 19, 13),
                                             targets={"mqls": 20,
                                                      "sla_first_touch_compliance": 0.85})).alerts
    assert sent.dedup_key == "d|scorecard|2025-W12"
    header, mqls, compliance = sent.table
    assert header[2:4] == ("Feb 2025", "Target")
    assert mqls == ("MQLs", "mqls v1", "2", "20", "off target (10%)", "4")
    assert compliance[1:5] == ("sla_first_touch_compliance v1", "50.0%", "85.0%",
                               "off target (59%)")


@pytest.mark.parametrize("text, message", [
    ('kind = "sla_warning"\nowners = ["sales"]\nnotify = ["owner"]', "label"),
    ('label = "x"\nkind = "sla_panic"\nowners = ["sales"]\nnotify = ["owner"]', "kind must be"),
    ('label = "x"\nkind = "sla_warning"\nowners = ["finance"]\nnotify = ["owner"]', "owners"),
    ('label = "x"\nkind = "sla_warning"\nowners = ["sales"]\nnotify = ["boss"]', "team:<name>"),
    ('label = "x"\nkind = "sla_warning"\nowners = ["sales"]\nnotify = ["owner"]\n'
     'hours_left = -1', "hours_left must be more than 0"),
    ('label = "x"\nkind = "target"\nowners = ["sales"]\nnotify = ["owners"]', "needs metrics"),
    ('label = "x"\nkind = "sla_breach"\nowners = ["sales"]\nnotify = ["owner"]\n'
     'threshold = 2', "has no setting threshold"),
    ('label = "x"\nkind = "digest"\nowners = ["sales"]\nnotify = ["owners"]\n'
     'metrics = ["mqls"]\nhour = 25', "hour must be"),
    ('label = "x" kind', "not valid TOML"),
])
def test_a_bad_rule_file_is_refused_with_its_name_and_what_to_write(text, message):
    with pytest.raises(DefinitionError, match=message) as raised:
        parse_rule("bad_rule", text, source="sql/alerts/bad_rule.toml")
    assert "sql/alerts/bad_rule.toml" in str(raised.value)


def test_a_webhook_url_in_the_address_book_is_refused():
    with pytest.raises(DefinitionError, match="not the URL itself"):
        parse_recipients('[teams.sales]\nwebhook = "https://hooks.slack.com/x"')


def test_every_rule_setting_and_delivery_variable_is_documented():
    import re

    from metrics.alert_rules import KINDS, RULE_SETTINGS

    docs = (ALERTS_DIR.parents[1] / "docs" / "ALERTS.md").read_text(encoding="utf-8")
    source = (ALERTS_DIR.parents[1] / "metrics" / "delivery.py").read_text(encoding="utf-8")
    variables = {f"HANDOFF_SMTP_{v}" for v in re.findall(r'\("\w+", "([A-Z]+)"\)', source)}
    assert variables and {"HANDOFF_SECRETS", "HANDOFF_WEBHOOK_"} <= set(
        re.findall(r"HANDOFF_[A-Z_]+", source)) | variables
    for word in [*KINDS, *(k for s in RULE_SETTINGS.values() for k in s), *variables,
                 "HANDOFF_SECRETS", "HANDOFF_WEBHOOK_<NAME>"]:
        assert f"`{word}`" in docs or word in docs, f"{word} is not documented in docs/ALERTS.md"
