"""Targets by period: the plan's CSV, which target a period gets, two-team agreement for joint
metrics, and attainment per period on the tiny warehouse.

Hand count (tests/tiny_warehouse.py): leads first became MQLs in January 2025 (L1, L2), February
(L4, L5) and March (L6): 2, 2 and 1 MQLs, 5 in Q1.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

import metrics
import tiny_warehouse
from metrics.catalog import PermissionDeniedError, open_catalog
from metrics.errors import CatalogError
from metrics.paths import METRICS_DIR, REPO_ROOT
from metrics.review import build_review
from metrics.selection import LeadFilter, Selection
from metrics.period_targets import (
    parse_period,
    read_targets_csv,
    target_for_period,
    window_target,
    with_period_targets,
)

ROLES = {"users": {
    "cmo@example.com": {"teams": ["marketing"], "role": "approver"},
    "vp.sales@example.com": {"teams": ["sales"], "role": "approver"},
    "marketing.ops@example.com": {"teams": ["marketing"], "role": "editor"},
}}
CMO, VP_SALES, EDITOR = "cmo@example.com", "vp.sales@example.com", "marketing.ops@example.com"
Q1 = dt.date(2025, 1, 1)


@pytest.mark.parametrize("text, expected", [
    ("2026-Q1", ("quarter", dt.date(2026, 1, 1))), ("2026q4", ("quarter", dt.date(2026, 10, 1))),
    ("2026-03", ("month", dt.date(2026, 3, 1))), ("2026-03-01", ("month", dt.date(2026, 3, 1))),
])
def test_periods(text, expected):
    assert parse_period(text) == expected


@pytest.mark.parametrize("text", ["2026-03-15", "March", "2026-Q5", "2026-13"])
def test_bad_periods_say_how_to_write_one(text):
    with pytest.raises(CatalogError, match="2026-Q1"):
        parse_period(text)


def test_plan_csv_reads_percent_and_refuses_a_bad_line():
    rows = read_targets_csv("metric,period,value\nmqls,2025-Q1,9000\n"
                            "mql_to_sal_rate,2025-02,70%\n\n")
    assert rows == [("mqls", "quarter", Q1, 9000.0),
                    ("mql_to_sal_rate", "month", dt.date(2025, 2, 1), 0.7)]
    with pytest.raises(CatalogError, match="line 3 of the targets file: 'lots' is not a number"):
        read_targets_csv("metric,period,value\nmqls,2025-Q1,9000\nmqls,2025-Q2,lots\n")
    with pytest.raises(CatalogError, match="lacks value"):
        read_targets_csv("metric,period\nmqls,2025-Q1\n")


QUARTER = [{"grain": "quarter", "period_start": "2025-01-01", "value": 9.0}]
MONTHS = [{"grain": "month", "period_start": f"2025-0{m}-01", "value": v}
          for m, v in ((1, 2.0), (2, 2.0), (3, 3.0))]


@pytest.mark.parametrize("plan, kind, grain, period, expected", [
    (QUARTER, "count", "month", dt.date(2025, 2, 1), 3.0),      # a third of the quarter
    (QUARTER, "ratio", "month", dt.date(2025, 2, 1), 9.0),      # a rate keeps its level
    (QUARTER, "count", "quarter", Q1, 9.0),
    (QUARTER, "count", "month", dt.date(2025, 4, 1), None),     # no plan for Q2
    (MONTHS, "count", "quarter", Q1, 7.0),                      # the months add up
    (MONTHS, "ratio", "quarter", Q1, 7.0 / 3),                  # rates average
    (MONTHS[:2], "count", "quarter", Q1, None),                 # a month missing: no target
])
def test_which_target_a_period_gets(plan, kind, grain, period, expected):
    found = target_for_period(plan, kind, grain, period)
    assert (found is None) if expected is None else found == pytest.approx(expected)


@pytest.fixture
def place(tmp_path):
    catalog = open_catalog(tmp_path / "catalog.sqlite", ROLES, definitions_dir=METRICS_DIR)
    wh = metrics.open_warehouse(tiny_warehouse.build_tiny_warehouse(tmp_path / "wh.duckdb"),
                                catalog=catalog)
    yield wh, catalog
    wh.close()


def test_a_joint_metric_target_counts_once_both_teams_signed_it(place):
    _, catalog = place
    row = ("mql_to_sal_rate", "quarter", Q1, 0.7)
    assert catalog.set_period_targets([row], user=CMO)[0]["waiting_for"] == ["sales"]
    assert catalog.period_targets("mql_to_sal_rate") == []
    assert catalog.set_period_targets([row], user=VP_SALES)[0]["agreed"] is True
    assert [r["value"] for r in catalog.period_targets("mql_to_sal_rate")] == [0.7]
    # Another value starts over: sales alone has signed 0.75.
    changed = catalog.set_period_targets([("mql_to_sal_rate", "quarter", Q1, 0.75)],
                                         user=VP_SALES)
    assert changed[0]["waiting_for"] == ["marketing"]
    assert catalog.period_targets("mql_to_sal_rate") == []
    # A marketing-only metric is agreed by marketing alone.
    assert catalog.set_period_targets([("mqls", "quarter", Q1, 9)], user=CMO)[0]["agreed"]
    with pytest.raises(PermissionDeniedError, match="only approvers and admins of marketing"):
        catalog.set_period_targets([("mqls", "quarter", Q1, 1)], user=EDITOR)
    with pytest.raises(PermissionDeniedError, match="of sales set the targets of win_rate"):
        # All or nothing: the good first row is not kept when the second is refused.
        catalog.set_period_targets([("mqls", "month", Q1, 3), ("win_rate", "month", Q1, 0.3)],
                                   user=CMO)
    assert [r["grain"] for r in catalog.period_targets("mqls")] == ["quarter"]
    assert catalog.audit()[0]["action"] == "set_period_target"


def test_attainment_uses_the_target_of_each_period(place):
    wh, catalog = place
    catalog.set_period_targets([("mqls", "quarter", Q1, 9)], user=CMO)
    frame = wh.query("mqls", start="2025-01-01", end="2025-04-01", grain="month")
    planned = with_period_targets(frame, catalog.period_targets("mqls"), kind="count",
                                  grain="month", direction="up")
    assert planned["value"].tolist() == [2, 2, 1]
    assert planned["target"].tolist() == [3.0, 3.0, 3.0]
    assert planned["attainment"].tolist() == pytest.approx([2 / 3, 2 / 3, 1 / 3])

    catalog.set_period_targets([("mqls", "month", dt.date(2025, m, 1), v)
                                for m, v in ((1, 2), (2, 4), (3, 1))], user=CMO)
    plan = catalog.period_targets("mqls")
    monthly = with_period_targets(frame, plan, kind="count", grain="month", direction="up")
    assert monthly["attainment"].tolist() == pytest.approx([1.0, 0.5, 1.0])
    # A quarter: its own target (9) wins over the sum of the months (7).
    quarter = wh.query("mqls", start="2025-01-01", end="2025-04-01", grain="quarter")
    assert with_period_targets(quarter, plan, kind="count", grain="quarter",
                               direction="up")["attainment"].tolist() == pytest.approx([5 / 9])


def test_targets_import_cli(place, tmp_path):
    _, catalog = place
    plan = tmp_path / "plan.csv"
    plan.write_text("metric,period,value\nmqls,2025-Q1,9\nmql_to_sal_rate,2025-Q1,70%\n")
    result = subprocess.run([sys.executable, "-m", "metrics", "targets", "import", str(plan),
                             "--user", CMO, "--catalog", str(catalog.path)],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "imported 2 targets; 1 agreed" in result.stdout
    assert "mql_to_sal_rate 2025-01-01: waits for sales" in result.stdout
    refused = subprocess.run([sys.executable, "-m", "metrics", "targets", "import", str(plan),
                              "--user", EDITOR, "--catalog", str(catalog.path)],
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "only approvers and admins" in refused.stderr


@pytest.mark.parametrize("kind, end, expected", [
    ("count", dt.datetime(2025, 4, 1), 9.0),        # Q1: three thirds of 9
    ("count", dt.datetime(2025, 2, 1), 3.0),        # January alone
    ("ratio", dt.datetime(2025, 4, 1), 9.0),        # a rate: the mean of the months' levels
    ("count", dt.datetime(2025, 5, 1), None),       # April has no target: no plan target
])
def test_the_plan_target_of_a_window(kind, end, expected):
    found = window_target(QUARTER, kind, dt.datetime(2025, 1, 1), end)
    assert (found is None) if expected is None else found == pytest.approx(expected)


def test_a_frozen_tile_uses_the_plan_of_its_window(place):
    wh, catalog = place
    for user in (CMO, VP_SALES):
        catalog.set_period_targets([("mql_to_sal_rate", "quarter", Q1, 0.5)], user=user)
    selection = Selection(dt.datetime(2025, 1, 1), dt.datetime(2025, 4, 1), "month",
                          LeadFilter(), "Custom", as_of=wh.as_of)
    payload = build_review(wh, selection, targets={"mql_to_sal_rate": 0.7, "mqls": 3000})
    tile = next(t for t in payload["scorecard"] if t["name"] == "mql_to_sal_rate")
    assert (tile["target"], tile["target_from_plan"]) == (0.5, True)
    assert tile["attainment"] == pytest.approx(0.2 / 0.5)
    other = next(t for t in payload["scorecard"] if t["name"] == "revenue_per_mql")
    assert other["target_from_plan"] is False
