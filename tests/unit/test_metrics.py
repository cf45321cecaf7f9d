"""Every v1 metric against the tiny warehouse; each expected value is counted in the comment.

See tests/tiny_warehouse.py for the story of each lead.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from metrics.definitions import load_definition_files

JAN, FEB, MAR = dt.date(2025, 1, 1), dt.date(2025, 2, 1), dt.date(2025, 3, 1)

# (metric, expected total, expected {month: value}) -- None = no value (0 ÷ 0).
CASES = [
    # L1..L7; by created_at: Jan L1 L2 L3 L7, Feb L4 L5, Mar L6.
    ("new_leads", 7, {JAN: 4, FEB: 2, MAR: 1}),
    # First MQLs: Jan L1 L2, Feb L4 L5 (L4's second MQL in March not counted again), Mar L6.
    ("mqls", 5, {JAN: 2, FEB: 2, MAR: 1}),
    # Created-month cohorts: Jan 2 of 4 (L1 L2; not L3 L7), Feb 2/2, Mar 1/1.
    ("mql_rate", 5 / 7, {JAN: 0.5, FEB: 1.0, MAR: 1.0}),
    # The MQL rule (score >= 60), by created month: Jan L1 (80) L2 (60), Feb L5 (70), Mar L6 (90);
    # not L3 (no score), L4 (40), L7 (50).
    ("mql_rule", 4, {JAN: 2, FEB: 1, MAR: 1}),
    # Scores: Jan 80 60 50 (L3 has none), Feb 40 70, Mar 90.
    ("avg_lead_score", 390 / 6, {JAN: 190 / 3, FEB: 55.0, MAR: 90.0}),
    # MQL cohort L1 L2 L4 L5 L6; only L1 has a SAL event (L2 skipped it).
    ("mql_to_sal_rate", 1 / 5, {JAN: 0.5, FEB: 0.0, MAR: 0.0}),
    ("mql_to_sql_rate", 2 / 5, {JAN: 1.0, FEB: 0.0, MAR: 0.0}),  # L1, L2
    ("mql_to_opportunity_rate", 2 / 5, {JAN: 1.0, FEB: 0.0, MAR: 0.0}),  # L1, L2
    ("mql_to_won_rate", 1 / 5, {JAN: 0.5, FEB: 0.0, MAR: 0.0}),  # L1
    # Won amount of the MQL cohort: L1's 10,000 (L3 won 20,000 but was never an MQL).
    ("revenue_per_mql", 10000 / 5, {JAN: 5000.0, FEB: 0.0, MAR: 0.0}),
    # L4 recycled and L5 disqualified after their MQL.
    ("mql_rejection_rate", 2 / 5, {JAN: 0.0, FEB: 1.0, MAR: 0.0}),
    # In SLA: L1 (2 h), L5 (7.5 h). Breached: L2 (5 h > 4 h Enterprise), L4 (Saturday).
    # L6 untouched with its deadline after as_of: not in the denominator.
    ("sla_first_touch_compliance", 2 / 4, {JAN: 0.5, FEB: 0.5, MAR: None}),
    # Clock hours to first touch: L1 2, L2 5, L4 95 (Tue 15:00 -> Sat 14:00), L5 23.5.
    ("median_hours_to_first_touch", (5 + 23.5) / 2, {JAN: 3.5, FEB: (95 + 23.5) / 2}),
    # Closed: O1 won Feb, O3 won Feb, O2 lost Mar.
    ("win_rate", 2 / 3, {FEB: 1.0, MAR: 0.0}),
    # Won cycles: O1 36 days, O3 31 days, both closed in Feb.
    ("sales_cycle_days", 33.5, {FEB: 33.5}),
    # L1: first MQL 7 Jan 14:00 -> won 20 Feb 15:00 = 44 days and 1 hour.
    ("days_mql_to_won", 44 + 1 / 24, {JAN: 44 + 1 / 24}),
    # All three opportunities were created in January.
    ("pipeline_created", 80000.0, {JAN: 80000.0}),
    # Marketing-sourced: O1 10,000 + O2 50,000 of 80,000.
    ("marketing_sourced_pipeline_share", 0.75, {JAN: 0.75}),
    # Won 30,000; O3's only marketing touch came after its close: 10,000 influenced.
    ("marketing_influenced_revenue_share", 1 / 3, {FEB: 1 / 3}),
    # Marketing-sourced pipeline 60,000 (Jan) over spend 3,100 (Jan) + 2,800 (Feb).
    ("pipeline_to_spend", 60000 / 5900, {JAN: 60000 / 3100, FEB: 0.0}),
    # Spend 5,900 over one marketing-sourced win (O1, Feb); January has cost and no win.
    ("marketing_cac", 5900.0, {JAN: None, FEB: 2800.0}),
]


def _same(actual, expected) -> bool:
    if expected is None:
        return actual is None or (isinstance(actual, float) and math.isnan(actual)) or pd.isna(actual)
    return actual == pytest.approx(expected, rel=1e-9)


def test_every_catalog_metric_has_a_hand_counted_case():
    assert {name for name, _, _ in CASES} == set(load_definition_files())


@pytest.mark.parametrize(("name", "total", "monthly"), CASES, ids=[c[0] for c in CASES])
def test_metric_total(tiny, name, total, monthly):
    frame = tiny.query(name, grain="total")
    assert len(frame) == 1
    assert _same(frame["value"].iloc[0], total)
    assert frame.attrs["metric"] == name and frame.attrs["version"] == 1


@pytest.mark.parametrize(("name", "total", "monthly"), CASES, ids=[c[0] for c in CASES])
def test_metric_by_month(tiny, name, total, monthly):
    frame = tiny.query(name, grain="month")
    got = dict(zip(frame["period"], frame["value"]))
    assert set(got) == set(monthly)
    for period, expected in monthly.items():
        assert _same(got[period], expected), (period, got[period], expected)


def test_ratio_returns_numerator_and_denominator(tiny):
    frame = tiny.query("sla_first_touch_compliance", grain="total")
    assert list(frame.columns) == ["value", "numerator", "denominator"]
    assert (frame["numerator"].iloc[0], frame["denominator"].iloc[0]) == (2, 4)


def test_breakdown_keeps_null_segment_as_its_own_group(tiny):
    frame = tiny.query("mqls", grain="total", by="segment")
    got = {(None if pd.isna(k) else k): v for k, v in zip(frame["segment"], frame["value"])}
    assert got == {"SMB": 3, "Enterprise": 1, None: 1}  # L1 L5 L6 / L2 / L4


def test_where_filters_on_a_lead_column_and_values_combine_as_any(tiny):
    assert tiny.query("new_leads", grain="total", where={"region": "EMEA"})["value"][0] == 2
    both = tiny.query("new_leads", grain="total", where={"segment": ["SMB", "Enterprise"]})
    assert both["value"][0] == 4  # L1 L5 L6 + L2


def test_start_is_inclusive_and_end_exclusive(tiny):
    # MQLs on 4 Feb (L4) and 10 Feb (L5); 7 Jan (L1) and 28 Mar (L6) outside.
    frame = tiny.query("mqls", grain="total", start="2025-02-04 15:00", end="2025-03-28 18:00")
    assert frame["value"][0] == 2


def test_metric_dimension_rejection_reason(tiny):
    frame = tiny.query("mql_rejection_rate", grain="total", by="rejection_reason")
    got = {(None if pd.isna(k) else k): n for k, n in zip(frame["rejection_reason"], frame["numerator"])}
    assert got == {"No budget": 1, "Not now - timing": 1, None: 0}


def test_cost_is_not_dropped_by_a_lead_filter_and_the_result_says_so(tiny):
    frame = tiny.query("pipeline_to_spend", grain="total", where={"segment": "SMB"})
    # SMB pipeline: O1 10,000; campaign cost is not split by segment: 5,900 in full.
    assert frame["numerator"][0] == 10000 and frame["denominator"][0] == 5900
    assert any("not split by segment" in note for note in frame.attrs["notes"])


def test_channel_filter_applies_to_cost_rows_too(tiny):
    frame = tiny.query("pipeline_to_spend", grain="total", where={"source_channel": "webinars"})
    assert frame["numerator"][0] == 60000 and frame["denominator"][0] == 3100
    assert frame.attrs["notes"] == []


def test_week_and_quarter_grains(tiny):
    weeks = tiny.query("new_leads", grain="week")
    assert weeks["value"].sum() == 7
    assert all(p.weekday() == 0 for p in weeks["period"])  # weeks start on Monday
    quarters = tiny.query("new_leads", grain="quarter")
    assert list(quarters["period"]) == [JAN] and quarters["value"][0] == 7


def test_recent_cohorts_are_flagged_incomplete(tiny):
    frame = tiny.query("mql_to_won_rate", grain="month")  # 180 days to mature
    assert frame.attrs["incomplete_periods"] == [JAN, FEB, MAR]
    counts = tiny.query("new_leads", grain="month")  # no maturity: only the unfinished month
    assert counts.attrs["incomplete_periods"] == [MAR]


def test_empty_selection_returns_no_rows(tiny):
    frame = tiny.query("mqls", grain="month", start="2030-01-01")
    assert frame.empty and list(frame.columns) == ["period", "value"]


def test_unknown_cost_is_not_zero_cost(tiny):
    # Webinars: C1 spent 3,100 in January; O1 (webinar lead) was won in February, a month with
    # no webinar spend. February's CAC is unknown, not $0; the total is 3,100 per win.
    frame = tiny.query("marketing_cac", grain="month", where={"source_channel": "webinars"})
    got = dict(zip(frame["period"], frame["value"]))
    assert pd.isna(got[FEB]) and pd.isna(got[JAN])  # Jan: cost but no win; Feb: win, no cost
    total = tiny.query("marketing_cac", grain="total", where={"source_channel": "webinars"})
    assert total["value"][0] == 3100
