"""Lead scoring math on the hand-made warehouse of tests/scoring_warehouse.py, counted by hand.

Leads S01-S13 are judged on every outcome; S14 and S15 (December 2025) are too recent.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil

import pytest

import metrics
from metrics import scoring
from metrics.catalog import PermissionDeniedError, open_catalog
from metrics.definitions import parse_definition
from metrics.errors import DefinitionError, QueryError
from metrics.paths import METRICS_DIR

START, END = dt.datetime(2025, 1, 1), dt.datetime(2026, 1, 1)
RULE_FILE = METRICS_DIR / "mql_rule.sql"


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    from scoring_warehouse import build_scoring_warehouse

    warehouse = metrics.open_warehouse(build_scoring_warehouse(
        tmp_path_factory.mktemp("scoring") / "warehouse.duckdb"))
    yield warehouse
    warehouse.close()


@pytest.fixture(scope="module")
def rule(wh):
    return wh.definition(scoring.RULE_NAME)


def _rule_text(where: str) -> str:
    """The rule file with another WHERE clause (header unchanged)."""
    text = RULE_FILE.read_text(encoding="utf-8")
    return text.replace("WHERE lead_score >= 60", f"WHERE {where}")


@pytest.fixture(scope="module")
def profile(wh, rule):
    return scoring.score_profile(wh, start=START, end=END, rules={"rule": rule})


# -- statistics ------------------------------------------------------------------------------

@pytest.mark.parametrize("successes, trials, low, high", [
    (8, 10, 0.4902, 0.9433),    # Wilson (1927); the textbook example
    (0, 20, 0.0, 0.1611),       # no success: the interval still has width
    (20, 20, 0.8389, 1.0),
    (1, 2, 0.0945, 0.9055),
])
def test_wilson_interval(successes, trials, low, high):
    got = scoring.wilson_interval(successes, trials)
    assert got == pytest.approx((low, high), abs=1e-4)


def test_wilson_interval_without_trials_has_no_value():
    assert all(math.isnan(x) for x in scoring.wilson_interval(0, 0))


# -- the rule is a definition, and its leads are the ones plain Python picks -----------------

def test_the_rule_file_is_a_jointly_owned_count_definition(rule):
    assert rule.owners == ("marketing", "sales") and rule.kind == "count"
    assert scoring.rule_threshold(rule) == 60


@pytest.mark.parametrize("where, pick", [
    ("lead_score >= 60", lambda r, touches: r[2] is not None and r[2] >= 60),
    ("lead_score > 80 OR (segment = 'SMB' AND marketing_touches >= 1)",
     lambda r, touches: (r[2] is not None and r[2] > 80) or (r[3] == "SMB" and touches >= 1)),
    ("lead_score >= 50 AND industry = 'Software'",
     lambda r, touches: r[2] is not None and r[2] >= 50 and r[4] == "Software"),
])
def test_rule_qualification_equals_an_independent_computation(wh, where, pick):
    from scoring_warehouse import ROWS

    defn = parse_definition(_rule_text(where), source="test rule")
    # Independently: plain Python over the hand-written rows (marketing touches at any time).
    expected = {r[0] for r in ROWS if pick(r, len(r[8]))}
    crm = {r[0] for r in ROWS if r[5]}
    agreement = scoring.rule_agreement(wh, defn, start=START, end=END).set_index("cell")
    assert agreement.loc["both", "leads"] == len(expected & crm)
    assert agreement.loc["rule_only", "leads"] == len(expected - crm)
    assert agreement.loc["crm_only", "leads"] == len(crm - expected)
    assert agreement.loc["neither", "leads"] == len(ROWS) - len(expected | crm)
    disagreements = scoring.rule_disagreements(wh, defn, start=START, end=END)
    assert set(disagreements["lead_id"]) == expected ^ crm
    only_rule = set(disagreements.loc[disagreements["disagreement"] == "only the rule", "lead_id"])
    assert only_rule == expected - crm


def test_a_rule_counts_the_leads_its_own_count_counts(wh, rule):
    # A null value is not counted by the metric, so it does not qualify the lead either.
    text = _rule_text("lead_score IS NOT NULL OR lead_score IS NULL").replace(
        "1 AS value", "CASE WHEN lead_score >= 60 THEN 1 END AS value")
    cased = parse_definition(text, source="cased rule")
    assert (scoring.rule_agreement(wh, cased, start=START, end=END)["leads"].tolist()
            == scoring.rule_agreement(wh, rule, start=START, end=END)["leads"].tolist())
    assert wh.query(cased, grain="total")["value"].iloc[0] == 9  # S01-S07, S13, S14


def test_a_rule_that_is_not_a_count_is_refused_in_words(wh):
    ratio = parse_definition(_rule_text("lead_score >= 60").replace(
        "-- kind: count", "-- kind: ratio").replace(
        "1 AS value", "1 AS numerator, 1 AS denominator"), source="ratio rule")
    with pytest.raises(DefinitionError, match="must be a count definition returning one row "
                                              "per qualified lead"):
        scoring.rule_agreement(wh, ratio, start=START, end=END)


def test_rule_against_crm_counts_and_outcomes(wh, rule):
    cells = scoring.rule_agreement(wh, rule, start=START, end=END, min_leads=1).set_index("cell")
    # Rule (score >= 60): S01-S07, S13, S14. CRM MQLs: S01-S08, S14.
    assert cells["leads"].to_dict() == {"both": 8, "rule_only": 1, "crm_only": 1, "neither": 5}
    # Of the 7 judged 'both' leads (S14 too recent), S01, S02, S03, S04, S06 reached SAL.
    assert (cells.loc["both", "judged_sal"], cells.loc["both", "reached_sal"]) == (7, 5)
    # S08, the hand-raise the rule misses, was won.
    assert cells.loc["crm_only", "won_rate"] == 1.0
    rows = scoring.rule_disagreements(wh, rule, start=START, end=END).set_index("lead_id")
    assert rows.loc["S08", "furthest"] == "won" and rows.loc["S13", "furthest"] == "lead"


def test_threshold_is_read_from_the_sql():
    assert scoring.rule_threshold(parse_definition(_rule_text("lead_score > 49"))) == 50
    assert scoring.rule_threshold(parse_definition(_rule_text("segment = 'SMB'"))) is None
    two = parse_definition(_rule_text("lead_score >= 70 OR (lead_score >= 40 AND "
                                      "segment = 'Enterprise')"))
    assert scoring.rule_threshold(two) is None


# -- bands -----------------------------------------------------------------------------------

def test_score_bands_counted_by_hand(profile):
    bands = scoring.score_bands(profile, min_leads=2).set_index("band")
    assert list(bands.index) == ["20–29", "30–39", "40–49", "50–59", "60–69", "70–79", "80–89",
                                 "90–100", "(no score)"]
    assert bands["leads"].to_dict() == {"20–29": 1, "30–39": 2, "40–49": 1, "50–59": 1,
                                        "60–69": 2, "70–79": 2, "80–89": 3, "90–100": 2,
                                        "(no score)": 1}
    # 80-89: S03, S04 judged (S14 too recent); both reached SAL, S04 won.
    assert bands.loc["80–89", ["judged_sal", "reached_sal", "reached_won"]].tolist() == [2, 2, 1]
    assert bands.loc["80–89", "rate_sal"] == 1.0
    assert bands.loc["90–100", "rate_won"] == 0.5
    # 70-79: S05 disqualified, S13 never passed: 0 of 2; S13 did not pass, so 1 of 2 passed.
    assert bands.loc["70–79", "rate_sal"] == 0.0 and bands.loc["70–79", "passed_share"] == 0.5
    # 60-69: S06 accepted, S07 recycled: sales accepted 1 of its 2 passed leads.
    assert bands.loc["60–69", "sal_acceptance"] == 0.5
    # Below two judged leads a band is too small: 50-59 (S08) has no rate, though S08 won.
    assert bands.loc["50–59", "too_small_won"] and math.isnan(bands.loc["50–59", "rate_won"])
    # 30-39: S10 judged, S15 too recent.
    assert bands.loc["30–39", "judged_sal"] == 1
    low, high = scoring.wilson_interval(1, 2)
    assert (bands.loc["90–100", "ci_low_won"], bands.loc["90–100", "ci_high_won"]) == (
        pytest.approx(low), pytest.approx(high))


def test_censoring_leaves_recent_leads_out(wh, profile):
    summary = scoring.censoring_summary(wh, profile).set_index("outcome")
    assert summary["immature"].to_dict() == {"sal": 2, "opportunity": 2, "won": 2}
    assert summary["judged"].to_dict() == {"sal": 13, "opportunity": 13, "won": 13}
    assert summary.loc["won", "maturity_days"] == 180


def test_a_december_lead_is_judged_on_sal_once_30_days_have_passed(tmp_path):
    from scoring_warehouse import build_scoring_warehouse

    # The same rows seen on 2 Feb 2026: December's cohort ended 32 days before, so S14 and S15
    # can be judged on SAL (30 days) but not yet on opportunity (90) or won (180).
    later = metrics.open_warehouse(build_scoring_warehouse(tmp_path / "later.duckdb",
                                                           as_of=dt.datetime(2026, 2, 2)))
    try:
        summary = scoring.censoring_summary(later, scoring.score_profile(later))
        assert summary.set_index("outcome")["immature"].to_dict() == {
            "sal": 0, "opportunity": 2, "won": 2}
    finally:
        later.close()


def test_an_outcome_the_data_never_records_has_no_rate(tmp_path):
    from scoring_warehouse import build_scoring_warehouse

    # A CRM without a SAL stage (HubSpot): conversion to SAL is unknown, never 0 %.
    no_sal = metrics.open_warehouse(build_scoring_warehouse(tmp_path / "no_sal.duckdb",
                                                            without_stages=("sal",)))
    try:
        profile = scoring.score_profile(no_sal, start=START, end=END)
        bands = scoring.score_bands(profile, min_leads=1).set_index("band")
        assert bands["rate_sal"].isna().all() and bands["sal_acceptance"].isna().all()
        assert bands.loc["90–100", "rate_won"] == 0.5  # won is still recorded
        look = scoring.outlook(profile, scoring.threshold_counts(profile, 60), months=12,
                               capacity=scoring.sales_capacity(no_sal))
        assert math.isnan(look["sal_acceptance"])
        assert look["mql_to_won"] == pytest.approx((2 * 0.5 + 3 * 0.5) / 9)
        lift = scoring.lift_table(no_sal, "segment", outcome="sal", start=START, end=END)
        assert lift.attrs["unrecorded"] and lift["rate"].isna().all()
    finally:
        no_sal.close()


# -- gains -----------------------------------------------------------------------------------

def test_gains_curve_counted_by_hand(profile):
    curve = scoring.gains_curve(profile, outcome="won")
    # 12 scored judged leads; wins among them S01 (95), S04 (81), S08 (55); S12 won unscored.
    assert curve.attrs["judged"] == 12 and curve.attrs["reached"] == 3
    assert curve.attrs["unscored"] == 1
    points = curve.set_index("threshold")
    assert points.loc[95, "leads_share"] == pytest.approx(1 / 12)
    assert points.loc[95, "outcome_share"] == pytest.approx(1 / 3)
    # Pipeline of scored judged leads: 50,000 + 10,000 + 20,000 + 5,000 = 85,000.
    assert points.loc[92, "pipeline_share"] == pytest.approx(60 / 85)
    assert points.loc[81, "outcome_share"] == pytest.approx(2 / 3)
    assert points.loc[55, ["leads_share", "outcome_share", "pipeline_share"]].tolist() == [
        pytest.approx(9 / 12), 1.0, 1.0]
    assert curve.iloc[0][["leads_share", "outcome_share"]].tolist() == [0.0, 0.0]
    assert curve["leads_share"].is_monotonic_increasing


# -- what a threshold would mean -------------------------------------------------------------

def test_threshold_outlook_counted_by_hand(wh, profile):
    capacity = scoring.sales_capacity(wh)
    assert capacity.reps == 2 and capacity.working_days_per_month == pytest.approx(65 / 3)
    months = scoring.months_between(START, END)
    at_60 = scoring.outlook(profile, scoring.threshold_counts(profile, 60), months=months,
                            capacity=capacity)
    # S01-S07, S13, S14 score 60 or more.
    assert at_60["leads"] == 9 and at_60["per_month"] == pytest.approx(9 / months)
    # Per band, acceptance of the passed judged leads: 90s 2/2, 80s 2/2, 70s 0/1, 60s 1/2,
    # weighted by the 2, 3, 2, 2 leads the threshold passes.
    assert at_60["sal_acceptance"] == pytest.approx((2 * 1 + 3 * 1 + 2 * 0 + 2 * 0.5) / 9)
    # MQL -> won per band: 90s 1/2, 80s 1/2, 70s 0/1, 60s 0/2.
    assert at_60["mql_to_won"] == pytest.approx((2 * 0.5 + 3 * 0.5) / 9)
    assert at_60["covered"] == 1.0
    # 10 sales touches on the 8 passed judged leads; 2 reps x 65/3 working days a month.
    assert at_60["touches_per_lead"] == pytest.approx(10 / 8)
    assert at_60["first_touches_per_rep_day"] == pytest.approx(9 / months / (2 * 65 / 3))
    assert at_60["touches_per_rep_day"] == pytest.approx(9 / months * 1.25 / (2 * 65 / 3))
    at_50 = scoring.outlook(profile, scoring.threshold_counts(profile, 50), months=months,
                            capacity=capacity)
    assert at_50["leads"] == 10 and at_50["sal_acceptance"] == pytest.approx(0.7)
    # The 40s band (S09) has no lead sales saw: 10 of the 11 leads carry the estimate.
    at_40 = scoring.outlook(profile, scoring.threshold_counts(profile, 40), months=months,
                            capacity=capacity)
    assert at_40["covered"] == pytest.approx(10 / 11)
    assert at_40["sal_acceptance"] == pytest.approx(0.7)


def test_compare_rules_side_by_side(wh, rule):
    lower = parse_definition(_rule_text("lead_score >= 50"), source="draft")
    frame = scoring.compare_rules(wh, rule, lower, start=START, end=END).set_index("measure")
    months = scoring.months_between(START, END)
    assert frame.loc["per_month", "old"] == pytest.approx(9 / months)
    assert frame.loc["per_month", "new"] == pytest.approx(10 / months)
    assert frame.loc["per_month", "crm"] == pytest.approx(9 / months)  # S01-S08, S14
    assert frame.loc["sal_acceptance", "new"] == pytest.approx(0.7)
    assert frame.loc["sal_acceptance", "change"] == pytest.approx(0.7 - 6 / 9)
    assert frame.attrs["reps"] == 2


# -- lift ------------------------------------------------------------------------------------

def test_lift_by_segment_counted_by_hand(wh):
    table = scoring.lift_table(wh, "segment", outcome="sal", start=START, end=END, min_leads=3)
    # 13 judged leads, 7 reached SAL (S01, S02, S03, S04, S06, S08, S12).
    assert table.attrs["base_rate"] == pytest.approx(7 / 13)
    assert table.attrs["immature"] == 2
    rows = table.set_index("value")
    assert rows.loc["SMB", ["leads", "reached"]].tolist() == [9, 5]
    assert rows.loc["SMB", "lift"] == pytest.approx((5 / 9) / (7 / 13))
    low, high = scoring.wilson_interval(5, 9)
    assert rows.loc["SMB", "lift_low"] == pytest.approx(low / (7 / 13))
    assert rows.loc["SMB", "lift_high"] == pytest.approx(high / (7 / 13))
    # Enterprise (S01, S07) and Mid-Market (S04, S11): 2 leads each, too small to judge.
    assert rows.loc["Enterprise", "too_small"] and math.isnan(rows.loc["Enterprise", "lift"])
    assert rows.loc["Mid-Market", "leads"] == 2 and rows.loc["Mid-Market", "too_small"]
    assert list(table["value"])[0] == "SMB"  # judged groups first, too small ones last


def test_lift_by_behaviour_counts_the_first_30_days(wh):
    kinds = scoring.lift_table(wh, "touch_kind", outcome="sal", start=START, end=END,
                               min_leads=1).set_index("value")
    # Webinar in the first 30 days: S01, S02, S04, S08 (S09's came on day 40, S14 too recent).
    assert kinds.loc["webinar", ["leads", "reached"]].tolist() == [4, 4]
    assert kinds.loc["webinar", "lift"] == pytest.approx(1 / (7 / 13))
    assert kinds.loc["ad_click", ["leads", "reached"]].tolist() == [4, 2]  # S03 S04 S05 S10
    assert kinds.loc["email_open", ["leads", "reached"]].tolist() == [2, 1]  # S01 S07
    assert "call" not in kinds.index  # sales touches are not marketing behaviour
    counts = scoring.lift_table(wh, "touch_count", outcome="sal", start=START, end=END,
                                min_leads=1).set_index("value")
    assert counts["leads"].to_dict() == {"no touch": 5, "1 touch": 6, "2 touches": 2}
    assert counts["reached"].to_dict() == {"no touch": 2, "1 touch": 3, "2 touches": 2}


def test_lift_follows_the_lead_filter(wh):
    table = scoring.lift_table(wh, "industry", outcome="won", start=START, end=END,
                               where={"segment": ["SMB"]}, min_leads=1).set_index("value")
    # SMB judged: S02 S03 S05 S06 S08 S09 S10 S12 S13; Software: S02 S06 S08 S12 S13 (won: S08,
    # S12); Retail: S03 S05 S09 S10 (none won).
    assert table.loc["Software", ["leads", "reached"]].tolist() == [5, 2]
    assert table.loc["Retail", ["leads", "reached"]].tolist() == [4, 0]


def test_lift_refuses_an_unknown_dimension(wh):
    with pytest.raises(QueryError, match="cannot measure lift by 'owner_id'"):
        scoring.lift_table(wh, "owner_id")


# -- the sign-off path of the rule -------------------------------------------------------------

ROLES = {"users": {
    "cmo@example.com": {"teams": ["marketing"], "role": "approver"},
    "vp.sales@example.com": {"teams": ["sales"], "role": "approver"},
    "marketing.ops@example.com": {"teams": ["marketing"], "role": "editor"},
}}


def test_a_new_threshold_goes_live_only_when_both_teams_approve(tmp_path, wh):
    definitions = tmp_path / "defs"
    definitions.mkdir()
    shutil.copy(RULE_FILE, definitions / RULE_FILE.name)
    catalog = open_catalog(tmp_path / "catalog.sqlite", roles=ROLES, definitions_dir=definitions,
                           schema=wh.schema)
    wh_cat = metrics.open_warehouse(wh.path, catalog=catalog)
    try:
        version = catalog.propose(scoring.RULE_NAME, _rule_text("lead_score >= 50"),
                                  author="marketing.ops@example.com",
                                  reason="Sales has capacity for the 50s")
        with pytest.raises(PermissionDeniedError, match="yourself"):
            catalog.approve(scoring.RULE_NAME, version, user="marketing.ops@example.com")
        assert catalog.approve(scoring.RULE_NAME, version, user="cmo@example.com") == "proposed"
        # Still v1 in force: the page computes with the active rule.
        active = wh_cat.definition(scoring.RULE_NAME)
        assert active.version == 1 and scoring.rule_threshold(active) == 60
        assert catalog.approve(scoring.RULE_NAME, version, user="vp.sales@example.com") == "active"
        active = wh_cat.definition(scoring.RULE_NAME)
        assert (active.version, scoring.rule_threshold(active)) == (2, 50)
        cells = scoring.rule_agreement(wh_cat, active, start=START, end=END).set_index("cell")
        assert cells.loc["crm_only", "leads"] == 0  # S08 (55) now qualifies
        history = catalog.history(scoring.RULE_NAME)
        assert [v["status"] for v in history] == ["superseded", "active"]
        assert {a["team"] for a in history[1]["approvals"]} == {"marketing", "sales"}
    finally:
        wh_cat.close()
