"""The page analyses against the tiny warehouse; each expectation counted from its story."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from metrics import analysis
from metrics.errors import QueryError


def test_funnel_is_monotonic_and_counts_skipped_stages_as_passed(tiny):
    funnel = analysis.funnel(tiny).set_index("stage")
    assert funnel["leads"].is_monotonic_decreasing
    # SAL or later: L1 (SAL), L2 (skipped SAL, reached SQL), L3 (SAL): 3; recorded SAL: L1, L3.
    assert funnel.loc["sal", "leads"] == 3 and funnel.loc["sal", "recorded"] == 2
    assert funnel.loc["won", "leads"] == 2  # L1, L3
    assert funnel.loc["won", "conversion_from_first"] == pytest.approx(2 / 7)


def test_funnel_filters_by_segment_and_period(tiny):
    smb = analysis.funnel(tiny, where={"segment": ["SMB"]}).set_index("stage")
    assert smb.loc["lead", "leads"] == 3  # L1 L5 L6
    feb = analysis.funnel(tiny, start=pd.Timestamp("2025-02-01"), end=pd.Timestamp("2025-03-01"))
    assert feb.set_index("stage").loc["lead", "leads"] == 2  # L4 L5


def test_cohort_progress_leaves_unobservable_weeks_empty(tiny):
    cohorts = analysis.cohort_progress(tiny, stages=("sal",), max_weeks=8)
    january = cohorts[pd.to_datetime(cohorts["cohort"]) == pd.Timestamp("2025-01-01")]
    share = january.set_index("weeks_since_mql")["share"]
    # L1 accepted 25 hours after its MQL (so within 1 week, not at week 0); L2 never.
    assert share[0] == 0.0 and share[1] == 0.5 and share[8] == 0.5
    march = cohorts[pd.to_datetime(cohorts["cohort"]) == pd.Timestamp("2025-03-01")]
    assert march["share"].isna().all() and not march["observable"].any()


def test_stage_velocity_uses_exact_durations(tiny):
    velocity = analysis.stage_velocity(tiny).set_index("label")
    # Opportunity -> won: O1 36 days, O3 31 days.
    assert velocity.loc["Opportunity → Won", "median_days"] == pytest.approx(33.5)
    assert velocity.loc["MQL → SAL", "median_days"] == pytest.approx(25 / 24)  # L1: 25 hours


def test_pipeline_velocity(tiny):
    row = analysis.pipeline_velocity(tiny).iloc[0]
    # 3 opportunities × 2/3 win rate × 15,000 average won deal ÷ 33.5 days.
    assert row["velocity_per_day"] == pytest.approx(3 * (2 / 3) * 15000 / 33.5)


def test_sla_by_rep_and_distribution(tiny):
    reps = analysis.sla_by_rep(tiny).set_index("rep_id")
    assert reps.loc["R1", ["mqls_due", "in_sla", "breaches"]].tolist() == [2, 1, 1]  # L1 / L4
    assert reps.loc["R2", ["mqls_due", "in_sla", "breaches"]].tolist() == [2, 1, 1]  # L5 / L2
    buckets = analysis.sla_response_distribution(tiny).set_index("bucket")["mqls"]
    assert buckets["2–4 h"] == 1 and buckets["4–8 h"] == 2 and buckets["16–40 h"] == 1
    assert buckets["not touched yet"] == 1 and buckets.sum() == 5


def test_untouched_mqls_right_now(tiny):
    waiting = analysis.untouched_mqls(tiny)
    assert waiting["lead_id"].tolist() == ["L6"]
    assert waiting["waiting_hours"].iloc[0] == pytest.approx(54.0)
    assert not waiting["overdue"].iloc[0]
    summary = analysis.untouched_summary(tiny).iloc[0]
    assert (summary["waiting"], summary["overdue"], summary["never_touched_older"]) == (1, 0, 0)
    # With a one-day window L6 (two and a quarter days old) is counted as older, not listed.
    assert analysis.untouched_mqls(tiny, max_age_days=1).empty
    assert analysis.untouched_summary(tiny, max_age_days=1).iloc[0]["never_touched_older"] == 1


def test_rejection_reasons(tiny):
    reasons = analysis.rejection_reasons(tiny).set_index("reason")
    assert reasons.loc["No budget", "stage"] == "disqualified"
    assert reasons["share_of_mqls"].tolist() == [0.2, 0.2]


def test_campaign_performance(tiny):
    campaigns = analysis.campaign_performance(tiny).set_index("campaign_id")
    c1 = campaigns.loc["C1"]
    assert (c1["cost"], c1["leads"], c1["mqls"], c1["sourced_pipeline"]) == (3100, 2, 2, 60000)
    assert c1["won_revenue"] == 10000 and c1["pipeline_to_spend"] == pytest.approx(60000 / 3100)
    assert campaigns.loc["C2", "pipeline_to_spend"] == 0
    january = analysis.campaign_performance(tiny, start=pd.Timestamp("2025-01-01"),
                                            end=pd.Timestamp("2025-02-01")).set_index("campaign_id")
    assert "C2" not in january.index or january.loc["C2", "cost"] == 0


def test_channel_performance_keeps_channels_without_cost(tiny):
    channels = analysis.channel_performance(tiny).set_index("channel")
    assert channels.loc["outbound", "won_revenue"] == 20000
    assert math.isnan(channels.loc["outbound", "pipeline_to_spend"])


def test_lead_journey_is_in_time_order_whatever_the_storage_order(tiny):
    journey = analysis.lead_journey(tiny, "L2")
    assert journey["occurred_at"].is_monotonic_increasing
    assert journey["what"].tolist()[:3] == ["Lead", "Email open", "MQL"]
    with pytest.raises(QueryError, match="no lead 'nope'"):
        analysis.lead_journey(tiny, "nope")


def test_campaign_leads_by_furthest_stage_say_how_many_there_are(tiny):
    won = analysis.campaign_leads(tiny, "C1", reached="won")
    assert won["lead_id"].tolist() == ["L1"] and won.attrs["total"] == 1
    capped = analysis.campaign_leads(tiny, "C1", limit=1)
    assert capped["lead_id"].tolist() == ["L2"] and capped.attrs["total"] == 2
    with pytest.raises(QueryError, match="no funnel stage 'winning'"):
        analysis.campaign_leads(tiny, "C1", reached="winning")


def test_campaign_leads_and_filter_options(tiny):
    leads = analysis.campaign_leads(tiny, "C1")
    assert leads["lead_id"].tolist() == ["L2", "L1"]
    assert leads.set_index("lead_id").loc["L1", "stage_reached"] == "Won"
    options = analysis.filter_options(tiny)
    assert ("C1", "Webinar January (webinars)") in options["campaign_id"]
    assert [v for v, _ in options["segment"]] == ["Enterprise", "Mid-Market", "SMB"]
