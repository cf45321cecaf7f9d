"""Fixed, parameterised analyses for the dashboard pages, beyond single metrics.

Every function takes the warehouse and keyword-only `start`/`end` (naive UTC, end exclusive)
and `where` (a metrics.selection.LeadFilter, or anything LeadFilter.of takes), and returns a
tidy DataFrame ready to chart. Filters become SQL in metrics.selection.lead_condition, the
same function the metric compiler uses (sqlglot expressions with bound parameters); the SQL text
here is fixed, and the only identifiers put into it come from fixed lists or the stage model
(whose names are checked against `^[a-z][a-z0-9_]*$`), so no user value is ever interpolated.

Each analysis reads lead_lifecycle or opportunity_lifecycle in one scan and aggregates in
the warehouse; pandas only reshapes the small aggregated result. The SQL is written as DuckDB
that every engine can run with the same meaning (metrics.engines renders it per engine): no
GROUP BY ALL, UNPIVOT, FIRST(x ORDER BY …) or DuckDB-only functions; subqueries are named;
a sort that picks rows is total.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sqlglot import exp

from metrics import lead_rollup
from metrics.attribution import ROLLUP_TABLE
from metrics.build import REJECTION_STAGES
from metrics.errors import QueryError
from metrics.model import load_model
from metrics.profile import amount_gap, lost_gap
from metrics.selection import LeadFilter, columns_of, lead_condition, time_filter
from metrics.warehouse import Warehouse

Where = LeadFilter | Mapping[str, Sequence[str]] | None

NONE_LABEL = "(none)"
UNASSIGNED = "(unassigned)"
NO_REASON = "(no reason given)"
# Lead columns a funnel can be split by: few distinct values, all on lead_lifecycle.
SPLIT_DIMENSIONS = ("segment", "region", "source_channel", "sourced_by", "industry")
# The lead columns campaign_spend rows carry (a campaign and its channel).
SPEND_DIMENSIONS = ("campaign_id", "source_channel")
# Lead columns whose values filter_options offers in the sidebar.
OPTION_DIMENSIONS = ("segment", "region", "source_channel")
STAGE_LABELS = {"lead": "Lead", "mql": "MQL", "sal": "SAL", "sql": "SQL",
                "opportunity": "Opportunity", "won": "Won"}
# Business-hours response buckets: (upper bound exclusive or None for open-ended, label).
SLA_BUCKETS = ((2, "0–2 h"), (4, "2–4 h"), (8, "4–8 h"), (16, "8–16 h"), (40, "16–40 h"),
               (None, "40 h +"))
SLA_UNTOUCHED_BUCKETS = ("not touched yet", "not touched, overdue")
_WEEK_SECONDS = 7 * 24 * 3600
_SALES_TOUCH_WORDS = {"call": "Sales call", "email": "Sales email", "meeting": "Sales meeting"}


# -- building blocks -------------------------------------------------------------------------

def stage_label(stage: str) -> str:
    """The short display name of a stage.

    >>> stage_label("sql"), stage_label("opportunity"), stage_label("closed_lost")
    ('SQL', 'Opportunity', 'Closed Lost')
    """
    return STAGE_LABELS.get(stage, stage.replace("_", " ").title())


def _funnel_stages() -> tuple[str, ...]:
    return load_model().funnel_stages


def _first_at(stage: str, table: str = "l") -> str:
    """The lead_lifecycle column with a lead's first time at `stage` (created_at for 'lead')."""
    name = "created_at" if stage == "lead" else f"first_{stage}_at"
    return exp.column(name, table=table).sql("duckdb")


def _lead_condition(wh: Warehouse, where: Where, *, table: str = "l",
                    source: str = "lead_lifecycle", prefix: str = "f") -> tuple[exp.Expression, dict]:
    """The lead filter on rows of `source` (as `table`): the lead columns `source` carries are
    read from it, the others are looked up in `leads` by lead_id."""
    resolve = columns_of(table, wh.lead_columns, wh.lead_copies.get(source, frozenset()))
    condition, params, _ = lead_condition(LeadFilter.of(where), resolve, prefix=prefix)
    return condition, params


def _span(wh: Warehouse, column: str, start, end, where: Where, *, table: str = "l",
          prefix: str = "f") -> tuple[str, dict]:
    """SQL text and parameters: lead_lifecycle's `table.column` in [start, end) and the lead
    filter."""
    time_cond, time_params = time_filter(column, table=table, start=start, end=end)
    lead_cond, lead_params = _lead_condition(wh, where, table=table, prefix=prefix)
    return exp.and_(time_cond, lead_cond).sql("duckdb"), {**time_params, **lead_params}


def _in_range(column: str, start, end, *, table: str) -> tuple[str, dict]:
    condition, params = time_filter(column, table=table, start=start, end=end)
    return condition.sql("duckdb"), params


def _opportunities(wh: Warehouse, where: Where, *, prefix: str = "f") -> tuple[str, str, dict]:
    """FROM clause, lead condition and parameters for opportunities of the filtered leads
    (opportunity_lifecycle as o; the lead columns it does not carry are looked up in leads)."""
    condition, params = _lead_condition(wh, where, table="o", source="opportunity_lifecycle",
                                        prefix=prefix)
    return "opportunity_lifecycle o", condition.sql("duckdb"), params


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator ÷ denominator, NaN where the denominator is 0 or missing."""
    denominator = denominator.astype(float)
    return numerator.astype(float) / denominator.where(denominator != 0)


# -- funnel ----------------------------------------------------------------------------------

def _reach_aggregates(stages: Sequence[str]) -> str:
    """COUNT aggregates per stage i: reached_i (that stage or a later one), recorded_i (its own)."""
    parts = []
    for i, stage in enumerate(stages):
        later = " OR ".join(f"{_first_at(s)} IS NOT NULL" for s in stages[i:])
        parts.append(f"COUNT(*) FILTER (WHERE {later}) AS reached_{i}")
        parts.append(f"COUNT(*) FILTER (WHERE {_first_at(stage)} IS NOT NULL) AS recorded_{i}")
    return ", ".join(parts)


def funnel(wh: Warehouse, *, start=None, end=None, where: Where = None) -> pd.DataFrame:
    """The waterfall of leads created in [start, end), one row per funnel stage in model order.

    Columns: stage, label, leads, recorded, conversion_from_previous, conversion_from_first.
    `leads` counts a lead at a stage if it reached that stage or any later funnel stage, so a
    lead that skipped SAL counts as having passed it and the waterfall never rises; `recorded`
    counts only leads with an event of that very stage, as the conversion-rate metrics do.
    Conversions are NaN where the earlier count is 0.
    """
    stages = _funnel_stages()
    rolled = lead_rollup.reach_counts(wh, stages, start=start, end=end, where=where)
    if rolled is not None:
        row = rolled.iloc[0]
    else:
        condition, params = _span(wh, "created_at", start, end, where)
        row = wh.execute(f"SELECT {_reach_aggregates(stages)} FROM lead_lifecycle l "
                         f"WHERE {condition}", params, label="funnel").iloc[0]
    frame = pd.DataFrame({
        "stage": list(stages),
        "label": [stage_label(s) for s in stages],
        "leads": [int(row[f"reached_{i}"]) for i in range(len(stages))],
        "recorded": [int(row[f"recorded_{i}"]) for i in range(len(stages))],
    })
    frame["conversion_from_previous"] = _ratio(frame["leads"], frame["leads"].shift(1))
    frame["conversion_from_first"] = _ratio(frame["leads"],
                                            pd.Series(frame["leads"].iloc[0], index=frame.index))
    return frame[["stage", "label", "leads", "conversion_from_previous", "conversion_from_first",
                  "recorded"]]


def breakdown_funnel(wh: Warehouse, *, dimension: str, start=None, end=None,
                     where: Where = None) -> pd.DataFrame:
    """The funnel of `funnel()` per value of a lead dimension, largest group first.

    Columns: value (missing values shown as "(none)"), stage, stage_label, leads (reached the
    stage or a later one), share_of_first (leads ÷ the group's leads created).
    """
    if dimension not in SPLIT_DIMENSIONS:
        raise QueryError(f"cannot split the funnel by '{dimension}'; use one of "
                         f"{', '.join(SPLIT_DIMENSIONS)}.")
    stages = _funnel_stages()
    wide = lead_rollup.reach_counts(wh, stages, start=start, end=end, where=where, by=dimension,
                                    none_label=NONE_LABEL)
    if wide is None:
        condition, params = _span(wh, "created_at", start, end, where)
        value = exp.column(dimension, table="l").sql("duckdb")
        wide = wh.execute(
            f"SELECT COALESCE(CAST({value} AS VARCHAR), $none) AS value, "
            f"{_reach_aggregates(stages)} FROM lead_lifecycle l WHERE {condition} "
            f"GROUP BY 1 ORDER BY reached_0 DESC, value",
            {**params, "none": NONE_LABEL}, label="funnel split")
    columns = ["value", "stage", "stage_label", "leads", "share_of_first"]
    if wide.empty:
        return pd.DataFrame(columns=columns)
    reached = wide[[f"reached_{i}" for i in range(len(stages))]].to_numpy()
    groups, steps = reached.shape
    long = pd.DataFrame({
        "value": np.repeat(wide["value"].to_numpy(dtype=object), steps),
        "stage": np.tile(np.array(stages, dtype=object), groups),
        "stage_label": np.tile(np.array([stage_label(s) for s in stages], dtype=object), groups),
        "leads": reached.ravel().astype(int),
    })
    first = np.repeat(reached[:, 0], steps).astype(float)
    long["share_of_first"] = long["leads"] / np.where(first > 0, first, np.nan)
    return long[columns]


# -- cohorts and velocity --------------------------------------------------------------------

def cohort_progress(wh: Warehouse, *, start=None, end=None, where: Where = None,
                    stages: Sequence[str] = ("sal", "sql", "opportunity", "won"),
                    max_weeks: int = 26) -> pd.DataFrame:
    """Cumulative share of each MQL-month cohort that reached a stage within N weeks of its MQL.

    Columns: cohort (date, first day of the month of first_mql_at), mqls, stage,
    weeks_since_mql (0..max_weeks), share, observable. Leads are MQLs whose first_mql_at is in
    [start, end). A lead counts at week N when it has an event of the stage (as the
    mql_to_<stage>_rate metrics count; skipped stages are not filled in) no later than exactly
    N × 7 days after its first MQL; a stage reached before the MQL counts from week 0.

    Censoring: a (cohort, N) cell is observable only when the cohort month's end plus N weeks is
    on or before as_of, i.e. every lead of the cohort has been watched for N full weeks.
    Otherwise share is NaN, so recent cohorts show as unfinished rather than as worse.
    """
    funnel_stages = _funnel_stages()
    allowed = funnel_stages[funnel_stages.index("mql") + 1:]
    stages = list(dict.fromkeys(stages))
    unknown = [s for s in stages if s not in allowed]
    if unknown or not stages:
        raise QueryError(f"cohort progress can follow the stages {', '.join(allowed)}, "
                         f"not {', '.join(unknown) or 'none'}.")
    if max_weeks < 0:
        raise QueryError("max_weeks must be zero or more.")
    condition, params = _span(wh, "first_mql_at", start, end, where)
    # Weeks needed = ceil(elapsed / 1 week), clipped to [0, max_weeks + 1]; the top value only
    # means "later than the window", so the aggregate stays small however long the history is.
    # NULL (never reached) stays NULL: GREATEST and LEAST would skip it, hence the CASE.
    weeks = ", ".join(
        f"CASE WHEN {_first_at(s)} IS NOT NULL THEN LEAST(GREATEST(CAST(ceil(date_diff("
        f"'second', l.first_mql_at, {_first_at(s)}) / {_WEEK_SECONDS}.0) AS INTEGER), 0), $cap) "
        f"END AS {s}"
        for s in stages)
    # The pseudo-stage mql (week 0 for every lead) counts the cohort in the same scan.
    raw = wh.execute(f"""
        WITH weeks AS (
            SELECT CAST(date_trunc('month', l.first_mql_at) AS DATE) AS cohort, 0 AS mql, {weeks}
            FROM lead_lifecycle l WHERE l.first_mql_at IS NOT NULL AND {condition})
        SELECT cohort, stage, week, COUNT(*) AS leads
        FROM ({_unpivoted("weeks", ["mql", *stages], "stage", "week")}) AS by_stage
        GROUP BY cohort, stage, week""", {**params, "cap": int(max_weeks) + 1},
        label="MQL cohorts")
    columns = ["cohort", "mqls", "stage", "weeks_since_mql", "share", "observable"]
    if raw.empty:
        return pd.DataFrame(columns=columns)
    raw["cohort"] = pd.to_datetime(raw["cohort"])
    mqls = raw[raw["stage"] == "mql"].groupby("cohort")["leads"].sum()
    grid = pd.MultiIndex.from_product([mqls.index, stages, range(max_weeks + 1)],
                                      names=["cohort", "stage", "weeks_since_mql"])
    per_week = (raw[raw["stage"] != "mql"]
                .rename(columns={"week": "weeks_since_mql"})
                .set_index(["cohort", "stage", "weeks_since_mql"])["leads"]
                .reindex(grid, fill_value=0))
    reached = per_week.groupby(level=["cohort", "stage"], sort=False).cumsum()
    frame = reached.rename("reached").reset_index()
    frame["mqls"] = frame["cohort"].map(mqls).astype(int)
    cohort_end = (frame["cohort"].dt.to_period("M") + 1).dt.to_timestamp()
    frame["observable"] = (cohort_end + pd.to_timedelta(frame["weeks_since_mql"] * 7, unit="D")
                           <= pd.Timestamp(wh.as_of))
    frame["share"] = (frame["reached"] / frame["mqls"]).where(frame["observable"])
    frame["cohort"] = frame["cohort"].dt.date
    return frame[columns]


def _unpivoted(source: str, columns: Sequence[str], name: str, value: str) -> str:
    """SQL: every column of `source` as rows (`name` = the column's name, `value` = its value),
    NULL values left out, as DuckDB's UNPIVOT, in SQL every engine runs: a cross join with the
    column names and a CASE (one scan of `source`)."""
    names = " UNION ALL ".join(f"SELECT '{c}' AS {name}" for c in columns)
    picked = " ".join(f"WHEN '{c}' THEN s.{c}" for c in columns)
    return (f"SELECT * FROM (SELECT s.*, n.{name}, CASE n.{name} {picked} END AS {value} "
            f"FROM {source} s CROSS JOIN ({names}) AS n) AS u WHERE {value} IS NOT NULL")


def stage_velocity(wh: Warehouse, *, start=None, end=None, where: Where = None) -> pd.DataFrame:
    """Days between the first times of consecutive funnel stages (lead → MQL, MQL → SAL, …).

    Columns: from_stage, to_stage, label ("MQL → SAL"), leads, median_days, p75_days. A lead
    counts for a pair when its from-stage time (created_at for 'lead') is in [start, end) and
    it has both times with to >= from; a lead that skipped a stage is in neither pair around
    it. Durations are exact (seconds ÷ 86,400). Pairs no lead made in the period are left out.
    """
    stages = _funnel_stages()
    pairs = list(zip(stages[:-1], stages[1:]))
    condition, params = _lead_condition(wh, where)
    durations, time_params = [], {}
    for i, (a, b) in enumerate(pairs):
        in_range, time_params = _in_range(
            "created_at" if a == "lead" else f"first_{a}_at", start, end, table="l")
        durations.append(
            f"CASE WHEN {in_range} AND {_first_at(b)} >= {_first_at(a)} "
            f"THEN date_diff('second', {_first_at(a)}, {_first_at(b)}) / 86400.0 END AS pair_{i}")
    # One scan: each lead yields one duration per pair it made (NULLs left out), and a
    # grouped median per pair is much cheaper than five filtered medians over every row.
    found = wh.execute(f"""
        WITH durations AS (SELECT {', '.join(durations)} FROM lead_lifecycle l
                           WHERE {condition.sql('duckdb')})
        SELECT CAST(substr(pair, 6) AS INTEGER) AS i, COUNT(*) AS leads,
               MEDIAN(days) AS median_days, QUANTILE_CONT(days, 0.75) AS p75_days
        FROM ({_unpivoted("durations", [f"pair_{i}" for i in range(len(pairs))], "pair", "days")})
             AS by_pair
        GROUP BY pair ORDER BY i""", {**params, **time_params}, label="stage velocity")
    frame = pd.DataFrame({
        "i": range(len(pairs)),
        "from_stage": [a for a, _ in pairs], "to_stage": [b for _, b in pairs],
        "label": [f"{stage_label(a)} → {stage_label(b)}" for a, b in pairs],
    }).merge(found, on="i", how="inner").drop(columns="i")
    frame["leads"] = frame["leads"].astype(int)
    return frame[frame["leads"] > 0].reset_index(drop=True)


def pipeline_velocity(wh: Warehouse, *, start=None, end=None, where: Where = None) -> pd.DataFrame:
    """One row: opportunities × win rate × average won deal ÷ sales cycle days.

    opportunities = created in [start, end); win_rate = won ÷ (won + lost) of those closed in
    the period (as the win_rate metric); average_deal = mean amount of won ones closed in the
    period; cycle_days = median created → closed days of those (as sales_cycle_days);
    velocity_per_day is NaN when any part is missing (nothing closed, no amount, zero cycle).
    """
    source, condition, params = _opportunities(wh, where)
    created, p_created = _in_range("created_at", start, end, table="o")
    closed, p_closed = _in_range("closed_at", start, end, table="o")
    won = f"o.status = 'won' AND o.closed_at IS NOT NULL AND {closed}"
    decided = f"o.status IN ('won', 'lost') AND o.closed_at IS NOT NULL AND {closed}"
    row = wh.execute(f"""
        SELECT COUNT(*) FILTER (WHERE {created}) AS opportunities,
               COUNT(*) FILTER (WHERE {won}) / NULLIF(COUNT(*) FILTER (WHERE {decided}), 0)
                   AS win_rate,
               AVG(o.amount) FILTER (WHERE {won}) AS average_deal,
               MEDIAN(o.cycle_days) FILTER (WHERE {won}) AS cycle_days
        FROM {source} WHERE {condition}""", {**params, **p_created, **p_closed},
        label="pipeline velocity").astype(float)
    # An export with no lost deal (every closed deal a win) or with amounts for a handful of
    # deals gives a velocity that describes the export, not the business: no value, a sentence.
    notes = lost_gap(wh.profile, "Win rate")
    if notes:
        row["win_rate"] = np.nan
    amount_notes = amount_gap(wh.profile, "the average won deal")
    if amount_notes:
        row["average_deal"] = np.nan
    row["velocity_per_day"] = (row["opportunities"] * row["win_rate"] * row["average_deal"]
                               / row["cycle_days"].where(row["cycle_days"] > 0))
    row.attrs["notes"] = notes + amount_notes
    return row


# -- SLA ---------------------------------------------------------------------------------------

def sla_response_distribution(wh: Warehouse, *, start=None, end=None,
                              where: Where = None) -> pd.DataFrame:
    """MQLs (first_mql_at in the period) by business hours to the first sales touch after MQL.

    Columns: bucket, order, mqls, share (of all MQLs in the period). Buckets are
    [lower, upper) business hours; untouched MQLs are "not touched yet" while their SLA deadline
    is after as_of and "not touched, overdue" once it has passed. Every bucket is present.
    """
    labels = [label for _, label in SLA_BUCKETS] + list(SLA_UNTOUCHED_BUCKETS)
    counts = lead_rollup.sla_bucket_counts(wh, start=start, end=end, where=where)
    if counts is not None and counts["bucket"].isin(labels).all():
        counts = pd.DataFrame({"order": counts["bucket"].map(labels.index), "mqls": counts["mqls"]})
    else:  # no rollup, or one built with other buckets
        condition, params = _span(wh, "first_mql_at", start, end, where)
        n = len(SLA_BUCKETS)
        cases = " ".join(f"WHEN l.response_business_hours < {upper} THEN {i}"
                         for i, (upper, _) in enumerate(SLA_BUCKETS) if upper is not None)
        counts = wh.execute(f"""
            SELECT CASE WHEN l.response_business_hours IS NULL AND l.sla_deadline_at > $as_of
                        THEN {n}
                        WHEN l.response_business_hours IS NULL THEN {n + 1}
                        {cases} ELSE {n - 1} END AS "order", COUNT(*) AS mqls
            FROM lead_lifecycle l WHERE l.first_mql_at IS NOT NULL AND {condition}
            GROUP BY 1""", {**params, "as_of": wh.as_of}, label="SLA response distribution")
    if counts.empty:
        return pd.DataFrame(columns=["bucket", "order", "mqls", "share"])
    frame = pd.DataFrame({"bucket": labels, "order": range(len(labels))})
    frame["mqls"] = frame["order"].map(counts.set_index("order")["mqls"]).fillna(0).astype(int)
    frame["share"] = frame["mqls"] / frame["mqls"].sum()
    return frame


def sla_by_rep(wh: Warehouse, *, start=None, end=None, where: Where = None) -> pd.DataFrame:
    """SLA results per lead owner for the MQLs whose first_mql_at is in the period, worst first.

    Columns: rep_id, rep_name, team, region, mqls_due, in_sla, breaches, untouched_overdue,
    compliance, median_response_business_hours. As sla_first_touch_compliance counts them, an
    MQL is due once it was touched or its deadline passed by as_of (untouched MQLs still inside
    their window are left out); in SLA = first sales touch at or before the deadline; a breach
    is every other due MQL, untouched_overdue the breaches never touched. The rep is the lead's
    owner_id; an owner missing from reps is named "(unassigned)". Sorted by breaches, most first.
    """
    condition, params = _span(wh, "first_mql_at", start, end, where)
    return wh.execute(f"""
        WITH due AS (
            SELECT l.owner_id, l.response_business_hours,
                   l.first_sales_touch_at IS NOT NULL AS touched,
                   COALESCE(l.first_sales_touch_at <= l.sla_deadline_at, FALSE) AS in_sla
            FROM lead_lifecycle l
            WHERE l.first_mql_at IS NOT NULL AND {condition}
              AND (l.first_sales_touch_at IS NOT NULL OR l.sla_deadline_at <= $as_of))
        SELECT d.owner_id AS rep_id, COALESCE(r.name, $unassigned) AS rep_name, r.team, r.region,
               COUNT(*) AS mqls_due,
               COUNT(*) FILTER (WHERE in_sla) AS in_sla,
               COUNT(*) FILTER (WHERE NOT in_sla) AS breaches,
               COUNT(*) FILTER (WHERE NOT touched) AS untouched_overdue,
               COUNT(*) FILTER (WHERE in_sla) / COUNT(*) AS compliance,
               MEDIAN(response_business_hours) AS median_response_business_hours
        FROM due d LEFT JOIN reps r ON r.rep_id = d.owner_id
        GROUP BY d.owner_id, r.name, r.team, r.region
        ORDER BY breaches DESC, compliance, rep_name, rep_id""",
        {**params, "as_of": wh.as_of, "unassigned": UNASSIGNED}, label="SLA by rep")


def _waiting_condition() -> str:
    """SQL: an MQL (by as_of) that no sales touch followed and that has not moved on since.

    Moved on = any later stage (SAL, SQL, opportunity, won, lost… per the model) or a rejection
    (disqualified or recycled) after the first MQL.
    """
    later = [s for s in load_model().stage_names
             if s not in ("lead", "mql") and s not in REJECTION_STAGES]
    parts = ["l.first_mql_at IS NOT NULL", "l.first_mql_at <= $as_of",
             "l.first_sales_touch_at IS NULL", "l.rejected_at IS NULL"]
    return " AND ".join(parts + [f"{_first_at(s)} IS NULL" for s in later])


def untouched_mqls(wh: Warehouse, *, where: Where = None, limit: int = 500,
                   max_age_days: int | None = None) -> pd.DataFrame:
    """MQLs waiting for a first sales touch right now (as of the data), longest waiting first.

    Columns: lead_id, first_mql_at, segment, region, source_channel, owner_id, owner_name,
    sla_deadline_at, waiting_hours (clock hours from first_mql_at to as_of), overdue (deadline
    at or before as_of). Waiting = no sales touch after the first MQL and not accepted,
    rejected or moved on since (see _waiting_condition). There is no date range: it is the
    queue as of the data's as_of. `max_age_days` keeps only MQLs of the last N days (the SLA
    page lists those and counts older ones with untouched_summary); None lists all.
    """
    if limit <= 0:
        raise QueryError("limit must be a positive number of rows.")
    condition, params = _lead_condition(wh, where)
    age = "" if max_age_days is None else "AND l.first_mql_at >= $recent_start"
    if max_age_days is not None:
        params["recent_start"] = _days_before(wh.as_of, max_age_days)
    return wh.execute(f"""
        SELECT l.lead_id, l.first_mql_at, l.segment, l.region, l.source_channel, l.owner_id,
               COALESCE(r.name, $unassigned) AS owner_name, l.sla_deadline_at,
               date_diff('second', l.first_mql_at, $as_of) / 3600.0 AS waiting_hours,
               l.sla_deadline_at <= $as_of AS overdue
        FROM lead_lifecycle l LEFT JOIN reps r ON r.rep_id = l.owner_id
        WHERE {_waiting_condition()} AND {condition.sql('duckdb')} {age}
        ORDER BY l.first_mql_at, l.lead_id LIMIT $limit""",
        {**params, "as_of": wh.as_of, "limit": int(limit), "unassigned": UNASSIGNED},
        label="untouched MQLs")


def untouched_summary(wh: Warehouse, *, where: Where = None, max_age_days: int = 30) -> pd.DataFrame:
    """One row: waiting (MQLs of the last N days waiting now), overdue (of them past deadline),
    never_touched_older (older MQLs that are still untouched). Same rule as untouched_mqls."""
    condition, params = _lead_condition(wh, where)
    recent = "l.first_mql_at >= $recent_start"
    return wh.execute(f"""
        SELECT COUNT(*) FILTER (WHERE {recent}) AS waiting,
               COUNT(*) FILTER (WHERE {recent} AND l.sla_deadline_at <= $as_of) AS overdue,
               COUNT(*) FILTER (WHERE NOT ({recent})) AS never_touched_older
        FROM lead_lifecycle l WHERE {_waiting_condition()} AND {condition.sql('duckdb')}""",
        {**params, "as_of": wh.as_of, "recent_start": _days_before(wh.as_of, max_age_days)},
        label="untouched summary")


def _days_before(as_of: dt.datetime, days: int) -> dt.datetime:
    """as_of minus whole days, bound as a time (interval arithmetic differs between engines)."""
    return as_of - dt.timedelta(days=int(days))


# -- closed loop -------------------------------------------------------------------------------

def rejection_reasons(wh: Warehouse, *, start=None, end=None, where: Where = None) -> pd.DataFrame:
    """Why sales disqualified or recycled the MQLs whose first_mql_at is in the period.

    Columns: reason ("(no reason given)" when none was recorded), stage (disqualified or
    recycled), leads, share_of_rejections, share_of_mqls (of all MQLs of the period). A lead
    counts once, with the first rejection after its first MQL (lead_lifecycle.rejected_at).
    Most frequent first.
    """
    condition, params = _span(wh, "first_mql_at", start, end, where)
    counts = wh.execute(f"""
        SELECT l.rejection_reason AS reason, l.rejection_stage AS stage,
               l.rejected_at IS NOT NULL AS rejected, COUNT(*) AS leads
        FROM lead_lifecycle l WHERE l.first_mql_at IS NOT NULL AND {condition}
        GROUP BY 1, 2, 3""", params, label="rejection reasons")
    columns = ["reason", "stage", "leads", "share_of_rejections", "share_of_mqls"]
    mqls = int(counts["leads"].sum()) if len(counts) else 0
    rejected = counts[counts["rejected"].astype(bool)].copy()
    if rejected.empty:
        return pd.DataFrame(columns=columns)
    rejected["reason"] = rejected["reason"].astype(object).where(rejected["reason"].notna(),
                                                                 NO_REASON)
    frame = (rejected.groupby(["reason", "stage"], as_index=False)["leads"].sum()
             .sort_values(["leads", "reason"], ascending=[False, True], ignore_index=True))
    frame["leads"] = frame["leads"].astype(int)
    frame["share_of_rejections"] = frame["leads"] / frame["leads"].sum()
    frame["share_of_mqls"] = frame["leads"] / mqls
    return frame[columns]


# -- campaigns ---------------------------------------------------------------------------------

def _performance(wh: Warehouse, level: str, *, start, end, where: Where) -> pd.DataFrame:
    """Cost, leads, MQLs, pipeline and revenue per campaign or channel, as column `k`."""
    by_campaign = level == "campaign"
    lead_key = "l.campaign_id" if by_campaign else "COALESCE(l.source_channel, $none)"
    opp_key = "o.campaign_id" if by_campaign else "COALESCE(o.source_channel, $none)"
    touch_key = "t.campaign_id" if by_campaign else "COALESCE(c.channel, $none)"
    spend_key = "s.campaign_id" if by_campaign else "COALESCE(s.source_channel, $none)"
    lead_span, p_leads = _span(wh, "created_at", start, end, where, prefix="a")
    source, opp_leads, p_opps = _opportunities(wh, where, prefix="b")
    created, p_created = _in_range("created_at", start, end, table="o")
    closed, p_closed = _in_range("closed_at", start, end, table="o")
    spent, p_spent = _in_range("spent_at", start, end, table="s")
    # Spend rows carry only the campaign and its channel: other filters cannot split cost.
    where = LeadFilter.of(where)
    spend_where = where.only(SPEND_DIMENSIONS)
    spend_filter, p_spend_filter, _ = lead_condition(
        spend_where, columns_of("s", dict.fromkeys(SPEND_DIMENSIONS, "VARCHAR")), prefix="c")
    # The campaigns that touched each opportunity's lead before the close: from the rollup
    # built at load time, or (a warehouse built before it) from the touches.
    if ROLLUP_TABLE in wh.schema:
        influence_join = (f"JOIN {ROLLUP_TABLE} t ON t.opportunity_id = o.opportunity_id "
                          "AND t.influenced")
    else:
        influence_join = ("JOIN touches t ON t.lead_id = o.lead_id AND t.team = 'marketing' "
                          "AND t.campaign_id IS NOT NULL "
                          "AND t.occurred_at < COALESCE(o.closed_at, $as_of)")
    frame = wh.execute(f"""
        WITH spend AS (
            -- A key with spend rows has a known cost (0 when none falls in the period); a key
            -- with none has an unknown cost, which is not the same as free.
            SELECT {spend_key} AS k, SUM(s.cost) FILTER (WHERE {spent}) AS spent, TRUE AS costed
            FROM campaign_spend s WHERE {spend_filter.sql('duckdb')} GROUP BY 1),
        lead_counts AS (
            SELECT {lead_key} AS k, COUNT(*) AS leads,
                   COUNT(*) FILTER (WHERE l.first_mql_at IS NOT NULL) AS mqls
            FROM lead_lifecycle l WHERE {lead_span} GROUP BY 1),
        money AS (
            SELECT {opp_key} AS k,
                   SUM(o.amount) FILTER (WHERE o.sourced_by = 'marketing' AND {created})
                       AS sourced_pipeline,
                   SUM(o.amount) FILTER (WHERE o.status = 'won' AND {closed}) AS won_revenue
            FROM {source} WHERE {opp_leads} GROUP BY 1),
        influenced AS (
            SELECT k, SUM(amount) AS influenced_pipeline FROM (
                SELECT DISTINCT o.opportunity_id, {touch_key} AS k, o.amount
                FROM {source}
                {influence_join}
                {"" if by_campaign else "LEFT JOIN campaigns c ON c.campaign_id = t.campaign_id"}
                WHERE {created} AND {opp_leads}) AS touched_opportunities
            GROUP BY 1)
        SELECT k, CASE WHEN costed THEN COALESCE(spent, 0) END AS cost,
               COALESCE(leads, 0) AS leads, COALESCE(mqls, 0) AS mqls,
               COALESCE(sourced_pipeline, 0) AS sourced_pipeline,
               COALESCE(influenced_pipeline, 0) AS influenced_pipeline,
               COALESCE(won_revenue, 0) AS won_revenue
        FROM spend FULL JOIN lead_counts USING (k) FULL JOIN money USING (k)
             FULL JOIN influenced USING (k)
        WHERE k IS NOT NULL""",
        {**p_leads, **p_opps, **p_created, **p_closed, **p_spent, **p_spend_filter,
         **({} if ROLLUP_TABLE in wh.schema else {"as_of": wh.as_of}),
         **({} if by_campaign else {"none": NONE_LABEL})},
        label=f"{level} performance")
    frame["cost"] = frame["cost"].astype(float)
    for column in ("leads", "mqls"):
        frame[column] = frame[column].astype(int)
    active = ((frame["cost"].fillna(0) != 0) | (frame["leads"] > 0)
              | (frame[["sourced_pipeline", "influenced_pipeline", "won_revenue"]] != 0).any(axis=1))
    frame = frame[active].copy()
    frame["pipeline_to_spend"] = _ratio(frame["sourced_pipeline"], frame["cost"])
    frame["cost_per_mql"] = _ratio(frame["cost"], frame["mqls"])
    frame = frame.sort_values(["sourced_pipeline", "cost", "k"], ascending=[False, False, True],
                              na_position="last", ignore_index=True)
    unsplit = sorted(set(where.dimensions) - set(spend_where.dimensions))
    frame.attrs["notes"] = ([f"Campaign cost is not split by {', '.join(unsplit)}: the full cost "
                             "of the selected campaigns and channels is counted."]
                            if unsplit else [])
    return frame


def campaign_performance(wh: Warehouse, *, start=None, end=None, where: Where = None) -> pd.DataFrame:
    """Per campaign: what it cost in the period and what its leads brought.

    Columns: campaign_id, campaign, channel, cost, leads, mqls, sourced_pipeline,
    influenced_pipeline, won_revenue, pipeline_to_spend, cost_per_mql.
    cost = campaign_spend (cost spread evenly over the campaign's days) in [start, end), NaN
    when the campaign has no recorded cost at all; leads = its leads (leads.campaign_id)
    created in the period, mqls = those that reached MQL; sourced_pipeline = amount of
    opportunities created in the period of its marketing-sourced leads; influenced_pipeline =
    amount of opportunities created in the period whose lead had a marketing touch of the
    campaign before the close (before as_of while open); won_revenue = won amount closed in the
    period of its leads. Campaigns with cost but no leads are listed; campaigns with nothing in
    the period are not; leads without a campaign are not a campaign (see channel_performance).
    Ratios are NaN when the divisor is 0 or unknown. Lead filters other than campaign and
    channel cannot split cost; attrs["notes"] says so.
    """
    frame = _performance(wh, "campaign", start=start, end=end, where=where)
    names = wh.execute("SELECT campaign_id AS k, name AS campaign, channel FROM campaigns",
                       label="campaign names")
    notes = frame.attrs.get("notes", [])
    frame = frame.merge(names, on="k", how="left").rename(columns={"k": "campaign_id"})
    frame["campaign"] = frame["campaign"].astype(object).where(frame["campaign"].notna(),
                                                               frame["campaign_id"])
    frame = frame[["campaign_id", "campaign", "channel", "cost", "leads", "mqls",
                   "sourced_pipeline", "influenced_pipeline", "won_revenue",
                   "pipeline_to_spend", "cost_per_mql"]]
    frame.attrs["notes"] = notes
    return frame


def channel_performance(wh: Warehouse, *, start=None, end=None, where: Where = None) -> pd.DataFrame:
    """Per channel: the columns of campaign_performance with `channel` instead of the campaign.

    Leads and their opportunities count under the lead's source_channel ("(none)" if missing),
    cost and influence under the campaign's channel; a channel without campaigns (outbound,
    partner…) has cost NaN: unknown, not free.
    """
    frame = _performance(wh, "channel", start=start, end=end, where=where)
    notes = frame.attrs.get("notes", [])
    frame = frame.rename(columns={"k": "channel"})[
        ["channel", "cost", "leads", "mqls", "sourced_pipeline", "influenced_pipeline",
         "won_revenue", "pipeline_to_spend", "cost_per_mql"]]
    frame.attrs["notes"] = notes
    return frame


def campaign_leads(wh: Warehouse, campaign_id: str, *, start=None, end=None, where: Where = None,
                   reached: str | None = None, limit: int = 1000) -> pd.DataFrame:
    """The leads of one campaign created in the period, newest first, with how far they got.

    Columns: lead_id, created_at, segment, region, lead_score, stage_reached (label of the
    furthest funnel stage with an event; "Lead" if none), first_mql_at, won_amount (NaN when
    nothing was won). `reached` keeps only leads whose furthest stage is that funnel stage
    (e.g. "won"). attrs["total"] is how many leads match before the `limit`, so a capped list
    can say so.
    """
    if limit <= 0:
        raise QueryError("limit must be a positive number of rows.")
    stages = _funnel_stages()
    if reached is not None and reached not in stages:
        raise QueryError(f"there is no funnel stage '{reached}'; use one of {', '.join(stages)}.")
    furthest = " ".join(f"WHEN {_first_at(s)} IS NOT NULL THEN {i}"
                        for i, s in reversed(list(enumerate(stages))) if s != "lead")
    condition, params = _span(wh, "created_at", start, end, where)
    if reached is not None:
        params["reached"] = stages.index(reached)
    frame = wh.execute(f"""
        SELECT *, COUNT(*) OVER () AS total FROM (
            SELECT l.lead_id, l.created_at, l.segment, l.region, l.lead_score,
                   CASE {furthest} ELSE 0 END AS stage_reached, l.first_mql_at, l.won_amount
            FROM lead_lifecycle l WHERE l.campaign_id = $campaign AND {condition}) AS found
        {"WHERE stage_reached = $reached" if reached is not None else ""}
        ORDER BY created_at DESC, lead_id LIMIT $limit""",
        {**params, "campaign": str(campaign_id), "limit": int(limit)}, label="campaign leads")
    total = int(frame["total"].iloc[0]) if len(frame) else 0
    frame = frame.drop(columns="total")
    frame["stage_reached"] = [stage_label(stages[i]) for i in frame["stage_reached"]]
    frame.attrs["total"] = total
    return frame


# -- one lead ----------------------------------------------------------------------------------

def lead_journey(wh: Warehouse, lead_id: str) -> pd.DataFrame:
    """Every stage event, touch and opportunity open/close of one lead, in time order.

    Columns: occurred_at, kind ("stage" | "touch" | "opportunity"), team ("marketing",
    "sales", or None for stage events), what ("MQL", "Sales call", "Email open",
    "Opportunity created", "Opportunity won"…), detail (campaign name, reason, or amount with
    the opportunity id), actor (rep name, else the actor id). At the same instant stage events
    come first, then touches, then opportunities. Raises QueryError for an unknown lead.
    """
    exists = wh.execute("SELECT COUNT(*) AS n FROM leads WHERE lead_id = $lead",
                        {"lead": str(lead_id)}, label="lead lookup")
    if not int(exists["n"].iloc[0]):
        raise QueryError(f"there is no lead '{lead_id}' in the warehouse; check the id.")
    # Events of one instant: stages in the model's order (an ordinal: a stage string sorts
    # alphabetically on engines without an ENUM), then touches, then opportunities; the
    # event's own id makes the order total.
    steps = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(load_model().stage_names))
    frame = wh.execute(f"""
        SELECT e.occurred_at, 0 AS rank, CASE CAST(e.stage AS VARCHAR) {steps} END AS step,
               e.event_id AS tie, 'stage' AS kind, CAST(NULL AS VARCHAR) AS team,
               CAST(e.stage AS VARCHAR) AS what, e.reason AS detail,
               COALESCE(r.name, e.actor_id) AS actor,
               CAST(NULL AS DOUBLE) AS amount, CAST(NULL AS VARCHAR) AS opportunity_id
        FROM lead_events e LEFT JOIN reps r ON r.rep_id = e.actor_id WHERE e.lead_id = $lead
        UNION ALL
        SELECT t.occurred_at, 1, 0, t.touch_id, 'touch', CAST(t.team AS VARCHAR), t.kind,
               COALESCE(c.name, t.campaign_id), COALESCE(r.name, t.actor_id), NULL, NULL
        FROM touches t LEFT JOIN campaigns c ON c.campaign_id = t.campaign_id
        LEFT JOIN reps r ON r.rep_id = t.actor_id WHERE t.lead_id = $lead
        UNION ALL
        SELECT o.created_at, 2, 0, o.opportunity_id, 'opportunity', 'sales',
               'Opportunity created', NULL, NULL, o.amount, o.opportunity_id
        FROM opportunities o WHERE o.lead_id = $lead
        UNION ALL
        SELECT o.closed_at, 3, 0, o.opportunity_id, 'opportunity', 'sales',
               'Opportunity ' || COALESCE(CAST(o.status AS VARCHAR), 'closed'), NULL, NULL,
               o.amount, o.opportunity_id
        FROM opportunities o WHERE o.lead_id = $lead AND o.closed_at IS NOT NULL
        ORDER BY occurred_at, rank, step, what, tie""", {"lead": str(lead_id)},
        label="lead journey")
    frame["what"] = [_journey_word(kind, team, what)
                     for kind, team, what in zip(frame["kind"], frame["team"], frame["what"])]
    frame["team"] = frame["team"].astype(object).where(frame["team"].notna(), None)
    opportunity = frame["kind"] == "opportunity"
    frame["detail"] = frame["detail"].astype(object)
    frame.loc[opportunity, "detail"] = [
        _opportunity_detail(amount, opportunity_id) for amount, opportunity_id
        in zip(frame.loc[opportunity, "amount"], frame.loc[opportunity, "opportunity_id"])]
    return (frame.drop(columns=["rank", "step", "tie", "amount", "opportunity_id"])
            .reset_index(drop=True))


def _opportunity_detail(amount, opportunity_id) -> str:
    """"$12,500 · O17": the amount (whole dollars) and the id, either left out when missing.

    >>> _opportunity_detail(12500.4, "O17"), _opportunity_detail(float("nan"), "O18")
    ('$12,500 · O17', 'O18')
    """
    parts = ([] if pd.isna(amount) else [f"${amount:,.0f}"]) + \
        ([] if opportunity_id is None or pd.isna(opportunity_id) else [str(opportunity_id)])
    return " · ".join(parts)


def _journey_word(kind: str, team, what) -> str:
    """A stage or touch kind as a person would say it.

    >>> _journey_word("stage", None, "mql"), _journey_word("touch", "sales", "call")
    ('MQL', 'Sales call')
    >>> _journey_word("touch", "marketing", "content_download"), _journey_word("touch", "sales", None)
    ('Content download', 'Sales touch')
    """
    if kind == "stage":
        return stage_label(str(what))
    if kind == "touch":
        has_kind = isinstance(what, str) and what != ""
        if team == "sales":
            return _SALES_TOUCH_WORDS.get(what, f"Sales {what.replace('_', ' ')}" if has_kind
                                          else "Sales touch")
        return what.replace("_", " ").capitalize() if has_kind else "Marketing touch"
    return str(what)


# -- sidebar -----------------------------------------------------------------------------------

def filter_options(wh: Warehouse) -> dict[str, list[tuple[str, str]]]:
    """(value, label) pairs for the sidebar filters, sorted by label.

    segment, region and source_channel: the values present on leads (channels labelled
    "Paid search" for paid_search). campaign_id: every campaign, labelled "name (channel)",
    plus campaign ids found on leads but missing from campaigns (labelled with the id).
    """
    lists = ", ".join(
        f"list(DISTINCT CAST({exp.column(c).sql('duckdb')} AS VARCHAR)) "
        f"FILTER (WHERE {exp.column(c).sql('duckdb')} IS NOT NULL) AS {c}"
        for c in (*OPTION_DIMENSIONS, "campaign_id"))
    row = wh.execute(f"SELECT {lists} FROM leads", label="filter values").iloc[0]

    def values(column: str) -> list[str]:
        found = row[column]
        return [] if found is None or (np.ndim(found) == 0 and pd.isna(found)) else list(found)

    def by_label(pairs) -> list[tuple[str, str]]:
        return sorted(pairs, key=lambda p: (p[1].casefold(), p[0]))

    options = {c: by_label((v, v) for v in values(c)) for c in OPTION_DIMENSIONS}
    options["source_channel"] = by_label((v, v.replace("_", " ").capitalize())
                                         for v, _ in options["source_channel"])
    campaigns = wh.execute("SELECT campaign_id, name, channel FROM campaigns", label="campaigns")
    labels = {}
    for campaign_id, name, channel in campaigns.itertuples(index=False):
        name = name if isinstance(name, str) and name else campaign_id
        labels[campaign_id] = f"{name} ({channel})" if isinstance(channel, str) and channel else name
    for campaign_id in values("campaign_id"):
        labels.setdefault(campaign_id, campaign_id)
    options["campaign_id"] = by_label(labels.items())
    return options


def campaign_channels(wh: Warehouse) -> dict[str, str]:
    """{campaign_id: its channel} for every campaign with one (to narrow the campaign filter)."""
    rows = wh.execute("SELECT campaign_id, channel FROM campaigns WHERE channel IS NOT NULL",
                      label="campaign channels")
    return dict(zip(rows["campaign_id"], rows["channel"]))


def lead_count(wh: Warehouse, *, where: Where = None) -> int:
    """How many leads the filter matches, over all time."""
    condition, params = _lead_condition(wh, where, table="l", source="leads")
    return int(wh.execute(f"SELECT COUNT(*) AS n FROM leads l WHERE {condition.sql('duckdb')}",
                          params, label="matching leads")["n"].iloc[0])


def data_range(wh: Warehouse) -> tuple[dt.datetime | None, dt.datetime]:
    """(first lead's created_at, the data's as_of); the first is None for an empty warehouse."""
    first = wh.execute("SELECT MIN(created_at) AS first FROM leads", label="data range")["first"].iloc[0]
    return (None if pd.isna(first) else pd.Timestamp(first).to_pydatetime()), wh.as_of


def attribution(wh: Warehouse, *, model: str, start=None, end=None, where: Where = None,
                half_life_days: float = 7.0, level: str = "campaign") -> pd.DataFrame:
    """Multi-touch credit per campaign or channel; see metrics.attribution.attribution."""
    from metrics.attribution import attribution as attribute

    return attribute(wh, model=model, start=start, end=end, where=where,
                     half_life_days=half_life_days, level=level)
