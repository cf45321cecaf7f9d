"""A metric whose input the data lacks has no value and says which input, never 0 % or 100 %.

Exports lack inputs in real life: Olist's closed-deals file has no touch, no lost deal, no
campaign cost and an amount for 45 of 842 deals. Each case below is the tiny warehouse with one
input taken away, so the right answer is known: the metric that reads it has no value and a
sentence; the metrics that do not read it keep their hand-counted values.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest

import metrics
import tiny_warehouse as tiny_data
from metrics import analysis
from metrics.profile import PROFILE_TABLE, count_profile, uncovered_comparison, window_coverage

START, END = dt.datetime(2025, 1, 1), dt.datetime(2025, 4, 1)


def _warehouse(path, **replace):
    """The tiny warehouse with some tables' rows replaced."""
    return metrics.open_warehouse(tiny_data.build_tiny_warehouse(path, **replace))


def _total(wh, name):
    frame = wh.query(name, start=START, end=END, grain="total")
    return frame["value"].iloc[0], frame.attrs


def test_the_profile_counts_what_the_tiny_warehouse_holds(tiny):
    profile = tiny.profile
    # Counted by hand from tests/tiny_warehouse.py.
    assert profile.stage_events["mql"] == 6 and profile.stage_events["won"] == 2
    assert profile.touches_by_team == {"marketing": 4, "sales": 5}
    assert (profile.opportunities, profile.opportunities_with_amount) == (3, 3)
    assert (profile.won, profile.lost) == (2, 1)
    assert profile.campaign_costs == 2
    assert profile.data_starts == dt.datetime(2025, 1, 6, 10)


def test_the_profile_is_stored_at_build_and_equals_a_fresh_count(tiny):
    con = tiny._open.con
    assert con.execute(f"SELECT COUNT(*) FROM {PROFILE_TABLE}").fetchone()[0] > 0
    assert count_profile(con) == tiny.profile


def test_complete_data_gives_every_hand_counted_value_and_no_missing_note(tiny):
    for name in ("sla_first_touch_compliance", "win_rate", "marketing_influenced_revenue_share",
                 "pipeline_to_spend"):
        value, attrs = _total(tiny, name)
        assert not math.isnan(value), name
        assert not attrs["missing_inputs"], (name, attrs["notes"])
    # win rate: O1, O3 won, O2 lost.
    assert _total(tiny, "win_rate")[0] == pytest.approx(2 / 3)


def test_no_touches_no_sla_compliance_and_no_influence(tmp_path):
    wh = _warehouse(tmp_path / "w.duckdb", touches=[])
    for name, words in (("sla_first_touch_compliance", "no sales touches"),
                        ("marketing_influenced_revenue_share", "no marketing touches"),
                        ("median_hours_to_first_touch", "no sales touches")):
        value, attrs = _total(wh, name)
        assert math.isnan(value), name
        assert attrs["missing_inputs"] and words in " ".join(attrs["notes"]), attrs["notes"]
    # MQLs read no touch: still the 5 first MQLs of January to March (L1, L2, L4, L5, L6).
    value, attrs = _total(wh, "mqls")
    assert value == 5 and not attrs["missing_inputs"]


def test_only_marketing_touches_leave_influence_but_not_sla(tmp_path):
    marketing_only = [t for t in tiny_data.TOUCHES if t[3] == "marketing"]
    wh = _warehouse(tmp_path / "w.duckdb", touches=marketing_only)
    assert math.isnan(_total(wh, "sla_first_touch_compliance")[0])
    value, attrs = _total(wh, "marketing_influenced_revenue_share")
    assert not attrs["missing_inputs"] and not math.isnan(value)


def _wins_only(count: int) -> list[tuple]:
    """`count` won deals of L1 and L3 closed in February, none lost (a closed-won export)."""
    return [(f"W{i}", ("L1", "L3")[i % 2], tiny_data.ts("2025-01-20 10:00"),
             tiny_data.ts("2025-02-20 10:00"), 1000.0, "won") for i in range(count)]


def test_thirty_wins_and_no_lost_deal_give_no_win_rate_instead_of_100_percent(tmp_path):
    events = [e for e in tiny_data.EVENTS if e[2] != "lost"]
    wh = _warehouse(tmp_path / "w.duckdb", opportunities=_wins_only(30), lead_events=events)
    value, attrs = _total(wh, "win_rate")
    assert math.isnan(value)
    assert "no lost deal" in attrs["notes"][0] and "not 100 %" in attrs["notes"][0]
    velocity = analysis.pipeline_velocity(wh, start=START, end=END)
    assert math.isnan(velocity["win_rate"].iloc[0])
    assert math.isnan(velocity["velocity_per_day"].iloc[0])
    assert any("no lost deal" in note for note in velocity.attrs["notes"])


def test_a_few_wins_and_no_loss_are_a_win_rate_of_100_percent(tmp_path):
    # 29 wins without a loss can be a good quarter: the win rate stands.
    events = [e for e in tiny_data.EVENTS if e[2] != "lost"]
    wh = _warehouse(tmp_path / "w.duckdb", opportunities=_wins_only(29), lead_events=events)
    value, attrs = _total(wh, "win_rate")
    assert value == 1.0 and not attrs["missing_inputs"]


def test_amounts_known_for_a_handful_of_deals_give_no_revenue_metrics(tmp_path):
    # One amount of three known (33 %, under half): sums of amounts would describe one deal.
    rows = [(o[0], o[1], o[2], o[3], o[4] if o[0] == "O1" else None, o[5])
            for o in tiny_data.OPPORTUNITIES]
    wh = _warehouse(tmp_path / "w.duckdb", opportunities=rows)
    for name in ("revenue_per_mql", "pipeline_created", "marketing_sourced_pipeline_share"):
        value, attrs = _total(wh, name)
        assert math.isnan(value), name
        assert "known for only 1 of 3 opportunities" in " ".join(attrs["notes"]), attrs["notes"]
    assert _total(wh, "win_rate")[0] == pytest.approx(2 / 3)  # counts deals, not amounts
    velocity = analysis.pipeline_velocity(wh, start=START, end=END)
    assert math.isnan(velocity["average_deal"].iloc[0])


def test_no_campaign_cost_no_cac_and_no_pipeline_to_spend(tmp_path):
    no_cost = [(*c[:3], None, *c[4:]) for c in tiny_data.CAMPAIGNS]
    wh = _warehouse(tmp_path / "w.duckdb", campaigns=no_cost)
    for name in ("marketing_cac", "pipeline_to_spend"):
        value, attrs = _total(wh, name)
        assert math.isnan(value) and "no campaign costs" in " ".join(attrs["notes"])


def test_a_warehouse_built_before_the_profile_is_counted_when_opened(tmp_path):
    path = tiny_data.build_tiny_warehouse(tmp_path / "old.duckdb")
    import duckdb

    with duckdb.connect(str(path)) as con:
        con.execute(f"DROP TABLE {PROFILE_TABLE}")
    wh = metrics.open_warehouse(path)
    assert wh.profile.touches_by_team == {"marketing": 4, "sales": 5}
    assert not math.isnan(_total(wh, "sla_first_touch_compliance")[0])


@pytest.mark.parametrize("start, end, covered", [
    (dt.datetime(2024, 6, 1), dt.datetime(2025, 6, 1), False),   # 5 of 12 months covered
    (dt.datetime(2025, 1, 6), dt.datetime(2025, 4, 1), True),    # starts with the data
    (dt.datetime(2025, 1, 1), dt.datetime(2026, 1, 1), True),    # 5 days missing of 365
    (dt.datetime(2024, 1, 1), dt.datetime(2025, 1, 1), False),   # entirely before the data
])
def test_a_comparison_window_before_the_data_begins_is_not_compared(start, end, covered):
    data_starts = dt.datetime(2025, 1, 6)
    assert (uncovered_comparison(start, end, data_starts) is None) is covered
    assert 0.0 <= window_coverage(start, end, data_starts) <= 1.0
    if not covered:
        assert uncovered_comparison(start, end, data_starts) == "the data begins on 06 Jan 2025"
