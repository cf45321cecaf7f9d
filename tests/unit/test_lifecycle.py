"""The derived per-lead lifecycle table and the SLA business clock."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metrics.model import load_model
from metrics.sla import business_deadline, business_hours_between


@pytest.fixture(scope="module")
def lifecycle(tiny):
    frame = tiny.execute("SELECT * FROM lead_lifecycle ORDER BY lead_id")
    return frame.set_index("lead_id")


def test_first_stage_times_ignore_event_order(lifecycle):
    l2 = lifecycle.loc["L2"]
    assert l2["first_mql_at"] == pd.Timestamp("2025-01-13 15:00")
    assert pd.isna(l2["first_sal_at"])  # skipped
    assert l2["first_lost_at"] == pd.Timestamp("2025-03-10 15:00")


def test_recycled_lead_keeps_its_first_mql_and_counts_both(lifecycle):
    l4 = lifecycle.loc["L4"]
    assert l4["first_mql_at"] == pd.Timestamp("2025-02-04 15:00") and l4["mql_count"] == 2
    assert l4["rejection_stage"] == "recycled" and l4["rejection_reason"] == "Not now - timing"


@pytest.mark.parametrize(("lead", "deadline", "response_hours"), [
    ("L1", "2025-01-07 22:00", 2.0),    # Tue 09:00 NY + 8 h = 17:00 NY
    ("L2", "2025-01-13 19:00", 5.0),    # Enterprise: Mon 10:00 NY + 4 h
    ("L4", "2025-02-05 15:00", 31.0),   # Tue 10:00 -> Wed 10:00 NY; touched Saturday
    ("L5", "2025-02-11 22:00", 7.5),    # MQL 17:00 NY: clock starts Tue 09:00
    ("L6", "2025-03-31 18:00", None),   # Fri 14:00 NY (daylight time) -> Mon 14:00 NY
])
def test_sla_deadline_and_business_hours(lifecycle, lead, deadline, response_hours):
    row = lifecycle.loc[lead]
    assert row["sla_deadline_at"] == pd.Timestamp(deadline)
    if response_hours is None:
        assert pd.isna(row["response_business_hours"])
    else:
        assert row["response_business_hours"] == pytest.approx(response_hours)


def test_non_mql_leads_have_no_sla(lifecycle):
    assert lifecycle.loc[["L3", "L7"], "sla_deadline_at"].isna().all()


def test_opportunity_influence_only_counts_touches_before_close(tiny):
    opps = tiny.execute("SELECT opportunity_id, marketing_influenced FROM opportunity_lifecycle")
    assert dict(zip(opps["opportunity_id"], opps["marketing_influenced"])) == {
        "O1": True, "O2": True, "O3": False}


def test_campaign_cost_is_spread_over_its_days_and_sums_to_the_cost(tiny):
    spend = tiny.execute("SELECT campaign_id, count(*) AS days, sum(cost) AS cost "
                         "FROM campaign_spend GROUP BY ALL ORDER BY 1")
    assert spend.to_dict("records") == [
        {"campaign_id": "C1", "days": 31, "cost": pytest.approx(3100)},
        {"campaign_id": "C2", "days": 28, "cost": pytest.approx(2800)},
    ]


def _utc(*values: str) -> np.ndarray:
    return np.array(values, dtype="datetime64[us]")


def test_business_clock_skips_weekends_and_nights():
    policy = load_model().sla
    # Friday 16:00 NY -> Monday 10:00 NY is 2 business hours.
    assert business_hours_between(_utc("2024-01-05T21:00"), _utc("2024-01-08T15:00"), policy)[0] == 2
    # Saturday noon -> Saturday evening is no business time at all.
    assert business_hours_between(_utc("2024-01-06T17:00"), _utc("2024-01-06T23:00"), policy)[0] == 0


def test_deadline_landing_on_closing_time_stays_on_that_day():
    policy = load_model().sla
    # Monday 09:00 NY + 8 h = Monday 17:00 NY (22:00 UTC), not Tuesday 09:00.
    got = business_deadline(_utc("2024-01-08T14:00"), np.array([8.0]), policy)[0]
    assert got == np.datetime64("2024-01-08T22:00")


def test_missing_times_give_missing_results():
    policy = load_model().sla
    assert np.isnan(business_hours_between(_utc("NaT"), _utc("2024-01-08T15:00"), policy)[0])
    assert np.isnat(business_deadline(_utc("NaT"), np.array([8.0]), policy)[0])


def test_an_open_warehouse_picks_up_a_swapped_file_without_restart(tmp_path):
    import shutil

    import metrics
    from tiny_warehouse import build_tiny_warehouse

    path = build_tiny_warehouse(tmp_path / "warehouse.duckdb")
    wh = metrics.open_warehouse(path)
    assert wh.query("new_leads", grain="total")["value"][0] == 7
    # A new load writes a new file and renames it over the old one, as ingest does.
    from metrics.build import build_warehouse

    def fill(con):
        con.execute("INSERT INTO leads (lead_id, created_at) VALUES ('X1', TIMESTAMP '2025-03-01')")

    build_warehouse(tmp_path / "next.duckdb", fill, source="swap test")
    shutil.move(tmp_path / "next.duckdb", path)
    assert wh.query("new_leads", grain="total")["value"][0] == 1
    assert wh.source == "swap test"
    wh.close()
