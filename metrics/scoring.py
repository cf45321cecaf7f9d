"""The math behind lead scoring: calibration by score band, gains, threshold what-ifs, lift.

Sales readiness is settled with evidence both teams can read, so nothing here is a black box:
every rate is a count over a count, with a Wilson 95 % interval, and a group too small to judge
says so instead of showing a rate.

The MQL rule itself is a jointly owned definition, `sql/metrics/mql_rule.sql` (a count metric
whose SELECT returns the leads the rule qualifies), versioned and signed off like any metric.
Its leads are compared here with the MQLs the CRM recorded.

Population: leads created in [start, end) that match the lead filter (the sidebar's Selection).
Outcomes: a lead reached SAL / opportunity / won when an event of that stage exists, as the
conversion-rate metrics count (DESIGN.md §8).

Censoring, as in the cohort views (metrics.analysis.cohort_progress): a lead is judged on an
outcome only when its creation month ended at least the outcome's maturity window before the
data's as-of time (the `maturity_days` of mql_to_sal_rate, mql_to_opportunity_rate and
mql_to_won_rate). Younger leads are still converting: they are counted as `immature`, never as
failures.

Every function reads lead_lifecycle in one scan and aggregates in DuckDB; pandas only combines
the small aggregates (one row per score value or per group).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlglot
from sqlglot import exp

from metrics.analysis import NONE_LABEL, Where, _span
from metrics.definitions import MetricDefinition
from metrics.errors import DefinitionError, QueryError
from metrics.model import load_model
from metrics.warehouse import Warehouse

RULE_NAME = "mql_rule"
OUTCOMES = ("sal", "opportunity", "won")
OUTCOME_LABELS = {"sal": "SAL", "opportunity": "Opportunity", "won": "Won"}
# The cohort metric whose maturity window says when a lead can be judged on each outcome.
MATURITY_METRICS = {"sal": "mql_to_sal_rate", "opportunity": "mql_to_opportunity_rate",
                    "won": "mql_to_won_rate"}
DEFAULT_MATURITY_DAYS = {"sal": 30, "opportunity": 90, "won": 180}
# Below this many judged leads a group's rate is too noisy to compare: with 30 leads a 95 %
# interval around a 20 % rate already spans about 10 % to 37 %.
MIN_GROUP_LEADS = 30
BAND_WIDTH = 10
Z_95 = 1.959964  # two-sided 95 % quantile of the standard normal
# Lead columns a lift table can group by (all on lead_lifecycle).
ATTRIBUTES = {"segment": "Segment", "industry": "Industry", "region": "Region",
              "source_channel": "Channel", "sourced_by": "Sourced by"}
# Behaviour is counted in a fixed window after creation, the same for every lead, so a lead
# that converted (and was then nurtured) does not look more engaged only because it converted.
BEHAVIOUR_DAYS = 30
BEHAVIOURS = {"touch_count": f"Marketing touches in the first {BEHAVIOUR_DAYS} days",
              "touch_kind": f"Marketing touch kinds in the first {BEHAVIOUR_DAYS} days"}
TOUCH_BUCKETS = ((0, "no touch"), (1, "1 touch"), (2, "2 touches"), (3, "3 touches"),
                 (4, "4 or more touches"))


# -- statistics ------------------------------------------------------------------------------

def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (NaN, NaN when there are no trials).

    Implemented here rather than pulling in scipy/statsmodels for two lines: centre
    (p + z²/2n) / (1 + z²/n), half-width z·sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n). Unlike the
    normal approximation it stays inside [0, 1] and is honest for small counts and rates near 0.

    >>> [round(x, 4) for x in wilson_interval(8, 10)]
    [0.4902, 0.9433]
    >>> [round(x, 4) for x in wilson_interval(0, 20)]
    [0.0, 0.1611]
    """
    if trials <= 0:
        return (math.nan, math.nan)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def _rates(reached: pd.Series, judged: pd.Series, min_leads: int) -> pd.DataFrame:
    """rate, ci_low, ci_high and too_small for aligned counts; no rate where too small."""
    intervals = [wilson_interval(int(r), int(n)) for r, n in zip(reached, judged)]
    too_small = judged < min_leads
    rate = (reached / judged.where(judged > 0)).where(~too_small)
    return pd.DataFrame({
        "rate": rate.astype(float),
        "ci_low": pd.Series([i[0] for i in intervals], index=judged.index).where(~too_small),
        "ci_high": pd.Series([i[1] for i in intervals], index=judged.index).where(~too_small),
        "too_small": too_small.astype(bool),
    }, index=judged.index)


# -- the rule --------------------------------------------------------------------------------

def rule_threshold(defn: MetricDefinition) -> float | None:
    """The score threshold of a rule: N of its `lead_score >= N` (N + 1 for `> N`), or None
    when the rule has no such comparison or several different ones.

    >>> from metrics.definitions import parse_definition
    >>> head = ("-- name: mql_rule\\n-- label: R\\n-- owners: marketing, sales\\n-- kind: count\\n"
    ...         "-- unit: count\\n-- direction: up\\n-- anchor: created_at\\n-- description: R.\\n")
    >>> rule_threshold(parse_definition(head + "SELECT lead_id, created_at, 1 AS value "
    ...     "FROM lead_lifecycle WHERE lead_score >= 65 AND segment = 'SMB'"))
    65.0
    """
    try:
        statements = sqlglot.parse(defn.sql, read="duckdb")
    except sqlglot.errors.ParseError:
        return None
    found: set[float] = set()
    for statement in statements:
        if statement is None:
            continue
        for node in statement.find_all(exp.GTE, exp.GT):
            column, literal = node.this, node.expression
            if (isinstance(column, exp.Column) and column.name.lower() == "lead_score"
                    and isinstance(literal, exp.Literal) and not literal.is_string):
                value = float(literal.this)
                found.add(value + 1 if isinstance(node, exp.GT) else value)
    return found.pop() if len(found) == 1 else None


def _rule_leads_sql(wh: Warehouse, defn: MetricDefinition) -> str:
    """SELECT DISTINCT lead_id of the leads a rule definition returns (validated SQL), or a
    DefinitionError when the definition is not a count of qualified leads."""
    if defn.kind != "count":
        raise DefinitionError(f"{defn.name} must be a count definition returning one row per "
                              f"qualified lead (kind: count), not a {defn.kind}.",
                              source=defn.source)
    query = wh.prepare(defn).query.copy()
    # A count metric counts the rows whose value is not null (the compiler's COUNT(value)), so
    # the leads the rule qualifies are exactly the ones its own count counts.
    select = (exp.select(exp.column("lead_id", table="r")).distinct()
              .from_(query.subquery("r"))
              .where(exp.column("lead_id", table="r").is_(exp.null()).not_())
              .where(exp.column("value", table="r").is_(exp.null()).not_()))
    return select.sql("duckdb")


# -- the per-lead base and its one-scan aggregate -------------------------------------------

def unrecorded_outcomes(wh: Warehouse) -> tuple[str, ...]:
    """Outcomes the data has no event of at all (HubSpot records no SAL): their rates are
    unknown, not 0 %."""
    return tuple(o for o in OUTCOMES if not wh.stage_events.get(o))


def maturity_days(wh: Warehouse) -> dict[str, int]:
    """Days after the end of a lead's creation month before each outcome can be judged."""
    days = dict(DEFAULT_MATURITY_DAYS)
    defs = wh.definitions()
    for outcome, name in MATURITY_METRICS.items():
        if name in defs and defs[name].maturity_days:
            days[outcome] = defs[name].maturity_days
    return days


def _base_sql(wh: Warehouse, *, start, end, where: Where,
              rules: Mapping[str, MetricDefinition]) -> tuple[str, dict]:
    """A WITH clause ending in `base`: one row per lead of the population with its score,
    whether the CRM passed it (an MQL event), whether each rule qualifies it, and per outcome
    whether it is mature and reached."""
    condition, params = _span(wh, "created_at", start, end, where)
    ctes, joins, flags = [], [], []
    for i, (key, defn) in enumerate(rules.items()):
        ctes.append(f"rule_{i} AS ({_rule_leads_sql(wh, defn)})")
        joins.append(f"LEFT JOIN rule_{i} ON rule_{i}.lead_id = l.lead_id")
        flags.append(f"rule_{i}.lead_id IS NOT NULL AS rule_{key}")
    mature, reached = [], []
    for outcome, days in maturity_days(wh).items():
        # The cohort month must have ended `days` before as_of (cohort_progress' rule).
        mature.append(f"date_trunc('month', l.created_at) + INTERVAL 1 MONTH "
                      f"+ to_days(CAST($mature_{outcome} AS INTEGER)) <= $as_of "
                      f"AS mature_{outcome}")
        reached.append(f"l.first_{outcome}_at IS NOT NULL AS reached_{outcome}")
        params[f"mature_{outcome}"] = days
    params["as_of"] = wh.as_of
    ctes.append("""sales_work AS (
            SELECT lead_id, COUNT(*) AS sales_touches FROM touches WHERE team = 'sales'
            GROUP BY lead_id)""")
    ctes.append(f"""base AS (
            SELECT l.lead_id, l.created_at, l.lead_score,
                   CAST(floor(l.lead_score) AS INTEGER) AS score,
                   l.first_mql_at IS NOT NULL AS passed,
                   {''.join(f + ', ' for f in flags)}{', '.join(mature)}, {', '.join(reached)},
                   COALESCE(l.pipeline_amount, 0) AS pipeline,
                   COALESCE(l.won_amount, 0) AS won_amount,
                   COALESCE(w.sales_touches, 0) AS sales_touches
            FROM lead_lifecycle l
            LEFT JOIN sales_work w ON w.lead_id = l.lead_id
            {' '.join(joins)}
            WHERE {condition})""")
    return "WITH " + ",\n".join(ctes), params


def score_profile(wh: Warehouse, *, start=None, end=None, where: Where = None,
                  rules: Mapping[str, MetricDefinition] | None = None) -> pd.DataFrame:
    """One row per score value (NaN: no score), the aggregate every other view is built from.

    Columns: score, leads, passed (the CRM recorded an MQL), one `rule_<key>` count per rule
    given, and per outcome o: judged_o (mature leads), reached_o (of those), passed_judged_o,
    passed_reached_o (the same among passed leads); pipeline and won_amount of leads judged on
    won; passed_sales_touches and passed_judged_sal (sales work on passed leads judged on SAL).
    """
    rules = dict(rules or {})
    with_clause, params = _base_sql(wh, start=start, end=end, where=where, rules=rules)
    parts = ["COUNT(*) AS leads", "COUNT(*) FILTER (WHERE passed) AS passed"]
    parts += [f"COUNT(*) FILTER (WHERE rule_{key}) AS rule_{key}" for key in rules]
    for o in OUTCOMES:
        parts += [f"COUNT(*) FILTER (WHERE mature_{o}) AS judged_{o}",
                  f"COUNT(*) FILTER (WHERE mature_{o} AND reached_{o}) AS reached_{o}",
                  f"COUNT(*) FILTER (WHERE mature_{o} AND passed) AS passed_judged_{o}",
                  f"COUNT(*) FILTER (WHERE mature_{o} AND passed AND reached_{o}) "
                  f"AS passed_reached_{o}"]
    parts += ["COALESCE(SUM(pipeline) FILTER (WHERE mature_won), 0) AS pipeline",
              "COALESCE(SUM(won_amount) FILTER (WHERE mature_won), 0) AS won_amount",
              "COALESCE(SUM(sales_touches) FILTER (WHERE passed AND mature_sal), 0) "
              "AS passed_sales_touches"]
    frame = wh.execute(f"{with_clause} SELECT score, {', '.join(parts)} FROM base "
                       "GROUP BY score ORDER BY score NULLS LAST", params, label="score profile")
    counts = [c for c in frame.columns if c != "score"]
    frame[counts] = frame[counts].astype("int64")
    frame["score"] = frame["score"].astype(float)
    frame.attrs["unrecorded"] = unrecorded_outcomes(wh)
    return frame


# -- calibration by band ---------------------------------------------------------------------

def band_of(score: float, width: int = BAND_WIDTH) -> str:
    """The label of a score's band: '60–69'; the top band includes 100; NaN → '(no score)'.

    >>> band_of(64), band_of(100), band_of(float("nan"))
    ('60–69', '90–100', '(no score)')
    """
    if score is None or (isinstance(score, float) and math.isnan(score)):
        return "(no score)"
    low = min(int(score) // width, 100 // width - 1) * width
    high = 100 if low + width >= 100 else low + width - 1
    return f"{low}–{high}"


def _with_bands(profile: pd.DataFrame, width: int) -> pd.DataFrame:
    frame = profile.copy()
    frame["band"] = [band_of(s, width) for s in frame["score"]]
    frame["band_low"] = [(-1 if math.isnan(s) else min(int(s) // width, 100 // width - 1) * width)
                         for s in frame["score"]]
    return frame


def score_bands(profile: pd.DataFrame, *, width: int = BAND_WIDTH,
                min_leads: int = MIN_GROUP_LEADS) -> pd.DataFrame:
    """Conversion from lead to SAL, opportunity and won per score band, lowest band first,
    '(no score)' last.

    Columns: band, leads, passed, passed_share (passed ÷ leads) and per outcome o: judged_o,
    reached_o, rate_o, ci_low_o, ci_high_o, too_small_o (fewer than `min_leads` judged), and
    sal_acceptance (SAL ÷ passed leads judged on SAL: how sales received the band). Rates of
    an outcome the data never records (profile.attrs['unrecorded']) are missing.
    """
    unrecorded = profile.attrs.get("unrecorded", ())
    frame = _with_bands(profile, width)
    sums = [c for c in frame.columns if c not in ("score", "band", "band_low")]
    grouped = frame.groupby(["band_low", "band"], sort=True)[sums].sum().reset_index()
    grouped = pd.concat([grouped[grouped["band_low"] >= 0], grouped[grouped["band_low"] < 0]],
                        ignore_index=True)
    out = grouped[["band", "leads", "passed"]].copy()
    out["passed_share"] = out["passed"] / out["leads"].where(out["leads"] > 0)
    for o in OUTCOMES:
        out[f"judged_{o}"] = grouped[f"judged_{o}"]
        out[f"reached_{o}"] = grouped[f"reached_{o}"]
        rates = _rates(grouped[f"reached_{o}"], grouped[f"judged_{o}"], min_leads)
        if o in unrecorded:
            rates[["rate", "ci_low", "ci_high"]] = math.nan
        for column in rates.columns:
            out[f"{column}_{o}"] = rates[column]
    acceptance = _rates(grouped["passed_reached_sal"], grouped["passed_judged_sal"], min_leads)
    out["sal_acceptance"] = acceptance["rate"] if "sal" not in unrecorded else math.nan
    out["passed_judged_sal"] = grouped["passed_judged_sal"]
    return out


# -- gains -----------------------------------------------------------------------------------

def gains_curve(profile: pd.DataFrame, *, outcome: str = "won") -> pd.DataFrame:
    """Share of eventual wins (and pipeline) captured when sales gets the top-scored leads.

    One row per threshold, highest first, plus a starting point (0, 0): threshold (pass leads
    scoring at least this), leads_share (share of the judged leads passed), outcome_share
    (share of the judged leads that reached `outcome` that are among them), pipeline_share
    (share of the pipeline of leads judged on won). Only leads judged on `outcome` count (see
    the module's censoring); leads without a score are left out (attrs['unscored']).
    """
    scored = profile[profile["score"].notna()].sort_values("score", ascending=False)
    judged, reached = scored[f"judged_{outcome}"], scored[f"reached_{outcome}"]
    total_judged, total_reached = judged.sum(), reached.sum()
    total_pipeline = scored["pipeline"].sum()
    curve = pd.DataFrame({
        "threshold": scored["score"].to_numpy(),
        "leads_share": (judged.cumsum() / total_judged if total_judged else np.nan),
        "outcome_share": (reached.cumsum() / total_reached if total_reached else np.nan),
        "pipeline_share": (scored["pipeline"].cumsum() / total_pipeline if total_pipeline
                           else np.nan),
    })
    start = pd.DataFrame({"threshold": [np.nan], "leads_share": [0.0],
                          "outcome_share": [0.0 if total_reached else np.nan],
                          "pipeline_share": [0.0 if total_pipeline else np.nan]})
    curve = pd.concat([start, curve], ignore_index=True)
    unscored = profile.loc[profile["score"].isna(), f"judged_{outcome}"].sum()
    curve.attrs.update(unscored=int(unscored),
                       judged=int(total_judged), reached=int(total_reached), outcome=outcome)
    return curve


# -- what a threshold (or a rule) would mean -------------------------------------------------

@dataclass(frozen=True)
class SalesCapacity:
    """What the load on sales is measured against: reps, their working days and the SLA."""

    reps: int
    working_days_per_month: float
    sla_hours: float

    @property
    def known(self) -> bool:
        return self.reps > 0


def sales_capacity(wh: Warehouse) -> SalesCapacity:
    """Sales reps in the data (the reps table, else the people who made sales touches), and
    working days per month and the SLA hours from the stage model."""
    reps = int(wh.execute(
        "SELECT COUNT(*) FROM reps WHERE lower(CAST(team AS VARCHAR)) = 'sales'",
        label="sales reps").iloc[0, 0])
    if reps == 0:
        reps = int(wh.execute("SELECT COUNT(DISTINCT actor_id) FROM touches "
                              "WHERE team = 'sales' AND actor_id IS NOT NULL",
                              label="sales reps").iloc[0, 0])
    policy = load_model().sla
    return SalesCapacity(reps, len(policy.business_days) * 52 / 12, float(policy.hours))


def months_between(start, end) -> float:
    """The length of [start, end) in average months (30.44 days): 365 days are 11.99.

    >>> round(months_between(pd.Timestamp("2024-01-01"), pd.Timestamp("2025-01-01")), 2)
    12.02
    """
    return (pd.Timestamp(end) - pd.Timestamp(start)) / pd.Timedelta(days=365.25 / 12)


def outlook(profile: pd.DataFrame, counts: pd.Series, *, months: float,
            capacity: SalesCapacity, width: int = BAND_WIDTH) -> dict[str, float]:
    """What passing the leads counted in `counts` (aligned with profile, per score) means.

    Expected rates are per score band: the share of the band's passed leads (judged on the
    outcome) that sales accepted / won, weighted by how many of the set's leads fall in each
    band; that is the only evidence about leads sales has actually worked. Leads in a band
    where sales saw no judged lead cannot be estimated: `covered` says what share of the set
    the estimate rests on. Keys: leads, per_month, sal_acceptance, mql_to_won, covered,
    first_touches_per_rep_day, touches_per_rep_day, touches_per_lead.
    """
    frame = _with_bands(profile, width)
    frame["count"] = np.asarray(counts, dtype=float)
    bands = frame.groupby("band_low").agg(
        count=("count", "sum"), passed_judged_sal=("passed_judged_sal", "sum"),
        passed_reached_sal=("passed_reached_sal", "sum"),
        passed_judged_won=("passed_judged_won", "sum"),
        passed_reached_won=("passed_reached_won", "sum"))
    leads = float(frame["count"].sum())

    unrecorded = profile.attrs.get("unrecorded", ())

    def expected(outcome: str) -> tuple[float, float]:
        if outcome in unrecorded:
            return math.nan, math.nan
        judged = bands[f"passed_judged_{outcome}"]
        rate = bands[f"passed_reached_{outcome}"] / judged.where(judged > 0)
        known = bands["count"].where(rate.notna(), 0.0)
        if known.sum() == 0:
            return math.nan, 0.0
        return float((known * rate.fillna(0)).sum() / known.sum()), float(known.sum() / leads)

    acceptance, covered = expected("sal") if leads else (math.nan, 0.0)
    won, _ = expected("won") if leads else (math.nan, 0.0)
    judged_sal = float(frame["passed_judged_sal"].sum())
    touches_per_lead = (float(frame["passed_sales_touches"].sum()) / judged_sal
                        if judged_sal else math.nan)
    per_month = leads / months if months > 0 else math.nan
    per_rep_day = (capacity.reps * capacity.working_days_per_month) if capacity.known else math.nan
    return {
        "leads": leads, "per_month": per_month, "sal_acceptance": acceptance,
        "mql_to_won": won, "covered": covered,
        "first_touches_per_rep_day": per_month / per_rep_day if capacity.known else math.nan,
        "touches_per_rep_day": (per_month * touches_per_lead / per_rep_day
                                if capacity.known else math.nan),
        "touches_per_lead": touches_per_lead,
    }


def threshold_counts(profile: pd.DataFrame, threshold: float) -> pd.Series:
    """Leads per score value that a plain `lead_score >= threshold` rule would pass."""
    return profile["leads"].where(profile["score"] >= threshold, 0)


# -- the rule beside the CRM -----------------------------------------------------------------

AGREEMENT_CELLS = (("both", "Rule and CRM agree: MQL"), ("rule_only", "Only the rule qualifies"),
                   ("crm_only", "Only the CRM recorded an MQL"),
                   ("neither", "Neither: not an MQL"))


def rule_agreement(wh: Warehouse, rule: MetricDefinition, *, start=None, end=None,
                   where: Where = None, min_leads: int = MIN_GROUP_LEADS) -> pd.DataFrame:
    """The leads of the period in four cells: qualified by the rule and/or passed by the CRM.

    Columns: cell, label, leads, share, judged_sal, reached_sal, sal_rate (from lead, so a
    lead sales never saw has not reached SAL), judged_won, reached_won, won_rate.
    """
    with_clause, params = _base_sql(wh, start=start, end=end, where=where,
                                    rules={"rule": rule})
    frame = wh.execute(f"""{with_clause}
        SELECT CASE WHEN rule_rule AND passed THEN 'both' WHEN rule_rule THEN 'rule_only'
                    WHEN passed THEN 'crm_only' ELSE 'neither' END AS cell,
               COUNT(*) AS leads,
               COUNT(*) FILTER (WHERE mature_sal) AS judged_sal,
               COUNT(*) FILTER (WHERE mature_sal AND reached_sal) AS reached_sal,
               COUNT(*) FILTER (WHERE mature_won) AS judged_won,
               COUNT(*) FILTER (WHERE mature_won AND reached_won) AS reached_won
        FROM base GROUP BY cell""", params, label="MQL rule vs CRM")
    cells = pd.DataFrame(AGREEMENT_CELLS, columns=["cell", "label"])
    out = cells.merge(frame, on="cell", how="left").fillna(0)
    counts = ["leads", "judged_sal", "reached_sal", "judged_won", "reached_won"]
    out[counts] = out[counts].astype("int64")
    total = out["leads"].sum()
    out["share"] = out["leads"] / total if total else np.nan
    unrecorded = unrecorded_outcomes(wh)
    for o in ("sal", "won"):
        out[f"{o}_rate"] = (_rates(out[f"reached_{o}"], out[f"judged_{o}"], min_leads)["rate"]
                            if o not in unrecorded else math.nan)
    out = out[["cell", "label", "leads", "share", "judged_sal", "reached_sal", "sal_rate",
               "judged_won", "reached_won", "won_rate"]]
    out.attrs["unrecorded"] = unrecorded
    return out


def rule_disagreements(wh: Warehouse, rule: MetricDefinition, *, start=None, end=None,
                       where: Where = None, limit: int = 500) -> pd.DataFrame:
    """The leads on which the rule and the CRM disagree, newest first (at most `limit`).

    Columns: lead_id, created_at, lead_score, segment, source_channel, disagreement ('only the
    rule' or 'only the CRM'), first_mql_at, furthest (the furthest funnel stage reached).
    """
    with_clause, params = _base_sql(wh, start=start, end=end, where=where,
                                    rules={"rule": rule})
    return wh.execute(f"""{with_clause}
        SELECT b.lead_id, b.created_at, b.lead_score, l.segment, l.source_channel,
               CASE WHEN b.rule_rule THEN 'only the rule' ELSE 'only the CRM' END AS disagreement,
               l.first_mql_at,
               CASE WHEN b.reached_won THEN 'won' WHEN b.reached_opportunity THEN 'opportunity'
                    WHEN b.reached_sal THEN 'sal' WHEN b.passed THEN 'mql' ELSE 'lead' END
                 AS furthest
        FROM base b JOIN lead_lifecycle l ON l.lead_id = b.lead_id
        WHERE b.rule_rule <> b.passed
        ORDER BY b.created_at DESC, b.lead_id LIMIT $limit""",
                      {**params, "limit": int(limit)}, label="MQL rule disagreements")


# -- lift ------------------------------------------------------------------------------------

def lift_table(wh: Warehouse, dimension: str, *, outcome: str = "won", start=None, end=None,
               where: Where = None, min_leads: int = MIN_GROUP_LEADS) -> pd.DataFrame:
    """How much each value of a lead attribute or behaviour lifts conversion to `outcome`.

    `dimension` is a lead column of ATTRIBUTES or a behaviour of BEHAVIOURS. Columns: value,
    leads (judged), reached, rate, ci_low, ci_high (Wilson 95 %), lift (rate ÷ the rate of all
    judged leads), lift_low, lift_high, too_small. Sorted by lift, groups too small to judge
    last. The interval of a lift divides the group's interval by the overall rate, taken as
    known: it rests on every judged lead, far more than any one group. For touch kinds a lead
    counts in every kind it had, so the groups overlap. attrs: base_rate, judged, immature.
    """
    if outcome not in OUTCOMES:
        raise QueryError(f"lift is measured to {', '.join(OUTCOMES)}, not '{outcome}'.")
    if dimension not in ATTRIBUTES and dimension not in BEHAVIOURS:
        raise QueryError(f"cannot measure lift by '{dimension}'; use one of "
                         f"{', '.join([*ATTRIBUTES, *BEHAVIOURS])}.")
    with_clause, params = _base_sql(wh, start=start, end=end, where=where, rules={})
    judged = f"COUNT(*) FILTER (WHERE b.mature_{outcome}) AS leads"
    reached = f"COUNT(*) FILTER (WHERE b.mature_{outcome} AND b.reached_{outcome}) AS reached"
    early = (f"t.team = 'marketing' AND t.occurred_at >= b.created_at "
             f"AND t.occurred_at < b.created_at + INTERVAL {BEHAVIOUR_DAYS} DAY")
    if dimension in ATTRIBUTES:
        value = exp.column(dimension, table="l").sql("duckdb")
        sql = (f"{with_clause} SELECT COALESCE(CAST({value} AS VARCHAR), $none) AS value, "
               f"{judged}, {reached} FROM base b JOIN lead_lifecycle l ON l.lead_id = b.lead_id "
               "GROUP BY 1")
    elif dimension == "touch_count":
        buckets = " ".join(f"WHEN n >= {low} THEN '{label}'"
                           for low, label in reversed(TOUCH_BUCKETS))
        sql = (f"{with_clause}, early AS (SELECT b.lead_id, COUNT(*) AS n FROM base b "
               f"JOIN touches t ON t.lead_id = b.lead_id AND {early} GROUP BY b.lead_id), "
               "counted AS (SELECT b.*, COALESCE(e.n, 0) AS n FROM base b "
               "LEFT JOIN early e ON e.lead_id = b.lead_id) "
               f"SELECT CASE {buckets} END AS value, {judged}, {reached} FROM counted b "
               "GROUP BY 1")
    else:
        sql = (f"{with_clause}, kinds AS (SELECT DISTINCT b.lead_id, "
               f"COALESCE(CAST(t.kind AS VARCHAR), $none) AS kind FROM base b "
               f"JOIN touches t ON t.lead_id = b.lead_id AND {early}) "
               f"SELECT k.kind AS value, {judged}, {reached} FROM kinds k "
               "JOIN base b ON b.lead_id = k.lead_id GROUP BY 1")
    if "$none" in sql:
        params = {**params, "none": NONE_LABEL}
    groups = wh.execute(sql, params, label=f"lift by {dimension}")
    overall = wh.execute(
        f"{with_clause} SELECT COUNT(*) AS all_leads, {judged}, {reached} FROM base b",
        {k: v for k, v in params.items() if k != "none"}, label="lift base").iloc[0]
    all_leads, judged_all, reached_all = (int(overall["all_leads"]), int(overall["leads"]),
                                          int(overall["reached"]))
    base_rate = reached_all / judged_all if judged_all else math.nan
    groups[["leads", "reached"]] = groups[["leads", "reached"]].astype("int64")
    rates = _rates(groups["reached"], groups["leads"], min_leads)
    if outcome in unrecorded_outcomes(wh):
        rates[["rate", "ci_low", "ci_high"]] = math.nan
        base_rate = math.nan
    out = pd.concat([groups[["value", "leads", "reached"]], rates], axis=1)
    divisor = base_rate if base_rate and not math.isnan(base_rate) else math.nan
    out["lift"] = out["rate"] / divisor
    out["lift_low"] = out["ci_low"] / divisor
    out["lift_high"] = out["ci_high"] / divisor
    out = out.sort_values(["too_small", "lift", "leads"], ascending=[True, False, False],
                          na_position="last", kind="stable").reset_index(drop=True)
    out = out[["value", "leads", "reached", "rate", "ci_low", "ci_high", "lift", "lift_low",
               "lift_high", "too_small"]]
    out.attrs.update(base_rate=base_rate, judged=judged_all, immature=all_leads - judged_all,
                     outcome=outcome, dimension=dimension,
                     unrecorded=outcome in unrecorded_outcomes(wh))
    return out


def censoring_summary(wh: Warehouse, profile: pd.DataFrame) -> pd.DataFrame:
    """Per outcome: its maturity window, leads judged and leads still too recent to judge."""
    days = maturity_days(wh)
    leads = int(profile["leads"].sum())
    return pd.DataFrame([{
        "outcome": o, "label": OUTCOME_LABELS[o], "maturity_days": days[o],
        "judged": int(profile[f"judged_{o}"].sum()),
        "immature": leads - int(profile[f"judged_{o}"].sum())} for o in OUTCOMES])


def compare_rules(wh: Warehouse, old: MetricDefinition, new: MetricDefinition, *, start, end,
                  where: Where = None) -> pd.DataFrame:
    """Side by side, what two versions of the MQL rule mean over [start, end): one row per
    measure (MQLs per month, expected SAL acceptance, expected MQL → won, first touches and
    all sales touches per rep per working day, share of leads the estimate rests on), with
    `old`, `new` and `change`. The CRM's recorded MQLs are a third column, `crm`, for scale.
    """
    profile = score_profile(wh, start=start, end=end, where=where,
                            rules={"old": old, "new": new})
    capacity = sales_capacity(wh)
    months = months_between(start, end)
    looks = {key: outlook(profile, profile[column], months=months, capacity=capacity)
             for key, column in (("old", "rule_old"), ("new", "rule_new"), ("crm", "passed"))}
    rows = []
    for measure, label, unit in OUTLOOK_MEASURES:
        row = {"measure": measure, "label": label, "unit": unit,
               **{key: looks[key][measure] for key in looks}}
        row["change"] = row["new"] - row["old"]
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame.attrs.update(reps=capacity.reps, months=months, sla_hours=capacity.sla_hours)
    return frame


OUTLOOK_MEASURES: Sequence[tuple[str, str, str]] = (
    ("per_month", "MQLs per month", "count"),
    ("sal_acceptance", "Expected SAL acceptance", "percent"),
    ("mql_to_won", "Expected win rate (MQL → won)", "percent"),
    ("first_touches_per_rep_day", "First touches per rep per working day (SLA)", "ratio"),
    ("touches_per_rep_day", "All sales touches per rep per working day", "ratio"),
    ("covered", "Share of these leads the estimate rests on", "percent"),
)
