"""Fixed, parameterised analyses for the dashboard pages, beyond single metrics.

Every function takes the warehouse and keyword-only `start`/`end` (naive UTC, end exclusive)
and `where` (lead columns -> allowed values), and returns a tidy DataFrame ready to chart.
Filters are built by metrics.selection (sqlglot expressions with bound parameters); the SQL
text here is fixed, so no user value is ever interpolated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sqlglot import exp

from metrics.errors import QueryError
from metrics.model import load_model
from metrics.selection import lead_filter, time_filter
from metrics.warehouse import Warehouse

Where = Mapping[str, Sequence[str]] | None
NONE_LABEL = "(none)"
STAGE_LABELS = {"lead": "Lead", "mql": "MQL", "sal": "SAL", "sql": "SQL",
                "opportunity": "Opportunity", "won": "Won"}


def _conditions(*parts: tuple[exp.Expression, dict]) -> tuple[str, dict]:
    condition = exp.and_(*(p[0] for p in parts))
    params: dict = {}
    for _, p in parts:
        params.update(p)
    return condition.sql("duckdb"), params


def _span(column: str, table: str, start, end, where: Where, *, prefix: str = "f") -> tuple[str, dict]:
    return _conditions(time_filter(column, table=table, start=start, end=end),
                       lead_filter(where, table=table, prefix=prefix))


def _stage_label(stage: str) -> str:
    return STAGE_LABELS.get(stage, stage.replace("_", " ").title())


def _funnel_stages() -> tuple[str, ...]:
    return load_model().funnel_stages


def _reached_columns(stages: Sequence[str]) -> list[str]:
    """SQL expressions: 1 when a lead reached the stage or any later funnel stage."""
    columns = []
    for i, stage in enumerate(stages):
        later = stages[i:]
        checks = " OR ".join("TRUE" if s == "lead" else f"first_{s}_at IS NOT NULL" for s in later)
        columns.append(f"COUNT(*) FILTER (WHERE {checks}) AS reached_{stage}")
        recorded = "TRUE" if stage == "lead" else f"first_{stage}_at IS NOT NULL"
        columns.append(f"COUNT(*) FILTER (WHERE {recorded}) AS recorded_{stage}")
    return columns


def funnel(wh: Warehouse, *, start=None, end=None, where: Where = None) -> pd.DataFrame:
    """Leads created in [start, end) by the furthest funnel stage they reached.

    `leads` counts a lead at a stage if it reached that stage or any later one, so a lead that
    skipped SAL counts as having passed it and the waterfall never rises; `recorded` counts
    only leads with an event of that stage, as the conversion-rate metrics do.
    """
    stages = _funnel_stages()
    condition, params = _span("created_at", "l", start, end, where)
    row = wh.execute(f"SELECT {', '.join(_reached_columns(stages))} FROM lead_lifecycle l "
                     f"WHERE {condition}", params, label="funnel").iloc[0]
    leads = [int(row[f"reached_{s}"]) for s in stages]
    frame = pd.DataFrame({
        "stage": list(stages), "label": [_stage_label(s) for s in stages], "leads": leads,
        "recorded": [int(row[f"recorded_{s}"]) for s in stages],
    })
    previous = frame["leads"].shift(1)
    frame["conversion_from_previous"] = (frame["leads"] / previous.where(previous > 0)).astype(float)
    first = leads[0] if leads and leads[0] else np.nan
    frame["conversion_from_first"] = frame["leads"] / first
    return frame


def breakdown_funnel(wh: Warehouse, *, dimension: str, start=None, end=None,
                     where: Where = None) -> pd.DataFrame:
    """The funnel per value of a lead dimension: value, stage, stage_label, leads, share_of_first."""
    if dimension not in ("segment", "region", "source_channel", "sourced_by", "industry"):
        raise QueryError(f"cannot split the funnel by '{dimension}'.")
    stages = _funnel_stages()
    condition, params = _span("created_at", "l", start, end, where)
    wide = wh.execute(
        f"SELECT COALESCE(CAST(l.{dimension} AS VARCHAR), '{NONE_LABEL}') AS value, "
        f"{', '.join(_reached_columns(stages))} FROM lead_lifecycle l WHERE {condition} "
        "GROUP BY ALL ORDER BY reached_lead DESC", params, label="funnel split")
    if wide.empty:
        return pd.DataFrame(columns=["value", "stage", "stage_label", "leads", "share_of_first"])
    long = wide.melt(id_vars="value", value_vars=[f"reached_{s}" for s in stages],
                     var_name="stage", value_name="leads")
    long["stage"] = long["stage"].str.removeprefix("reached_")
    long["stage_label"] = long["stage"].map(_stage_label)
    first = long[long["stage"] == stages[0]].set_index("value")["leads"]
    long["share_of_first"] = long["leads"] / long["value"].map(first).replace(0, np.nan)
    order = {s: i for i, s in enumerate(stages)}
    return long.sort_values(["value", "stage"], key=lambda c: c.map(order) if c.name == "stage"
                            else c).reset_index(drop=True)


def cohort_progress(wh: Warehouse, *, start=None, end=None, where: Where = None,
                    stages: Sequence[str] = ("sal", "sql", "opportunity", "won"),
                    max_weeks: int = 26) -> pd.DataFrame:
    """Cumulative share of each MQL-month cohort that reached a stage within N weeks of MQL.

    A (cohort, week) cell is observable only when the cohort's last day plus N weeks is on or
    before as_of; otherwise share is NaN, so recent cohorts show as unfinished, not as worse.
    """
    stages = [s for s in stages if s in _funnel_stages() and s not in ("lead", "mql")]
    condition, params = _span("first_mql_at", "l", start, end, where)
    weeks_columns = ", ".join(
        f"floor(date_diff('second', first_mql_at, first_{s}_at) / 604800.0) AS w_{s}"
        for s in stages)
    raw = wh.execute(
        f"SELECT CAST(date_trunc('month', first_mql_at) AS DATE) AS cohort, {weeks_columns} "
        f"FROM lead_lifecycle l WHERE first_mql_at IS NOT NULL AND {condition}",
        params, label="cohorts")
    columns = ["cohort", "mqls", "stage", "weeks_since_mql", "share", "observable"]
    if raw.empty:
        return pd.DataFrame(columns=columns)
    weeks = np.arange(max_weeks + 1)
    as_of = pd.Timestamp(wh.as_of)
    out = []
    for stage in stages:
        grouped = raw.groupby("cohort")[f"w_{stage}"]
        for cohort, values in grouped:
            reached = values.dropna().to_numpy()
            reached = reached[reached >= 0]
            counts = np.searchsorted(np.sort(reached), weeks, side="right")
            cohort_end = pd.Timestamp(cohort) + pd.DateOffset(months=1)
            observable = cohort_end + pd.to_timedelta(weeks * 7, unit="D") <= as_of
            share = np.where(observable, counts / len(values), np.nan)
            out.append(pd.DataFrame({"cohort": cohort, "mqls": len(values), "stage": stage,
                                     "weeks_since_mql": weeks, "share": share,
                                     "observable": observable}))
    return pd.concat(out, ignore_index=True)[columns]


def stage_velocity(wh: Warehouse, *, start=None, end=None, where: Where = None) -> pd.DataFrame:
    """Median and 75th-percentile days between the first times of consecutive funnel stages."""
    stages = _funnel_stages()
    pairs = list(zip(stages[:-1], stages[1:]))
    parts, params = [], {}
    for i, (a, b) in enumerate(pairs):
        a_col = "created_at" if a == "lead" else f"first_{a}_at"
        b_col = f"first_{b}_at"
        condition, p = _span(a_col, "l", start, end, where, prefix=f"f{i}_")
        params.update({k if k not in ("start", "end") else k: v for k, v in p.items()})
        parts.append(
            f"SELECT {i} AS ord, '{a}' AS from_stage, '{b}' AS to_stage, COUNT(*) AS leads, "
            f"MEDIAN(date_diff('second', {a_col}, {b_col}) / 86400.0) AS median_days, "
            f"QUANTILE_CONT(date_diff('second', {a_col}, {b_col}) / 86400.0, 0.75) AS p75_days "
            f"FROM lead_lifecycle l WHERE {b_col} IS NOT NULL AND {b_col} >= {a_col} "
            f"AND {condition}")
    frame = wh.execute(" UNION ALL ".join(parts) + " ORDER BY ord", params, label="velocity")
    frame = frame[frame["leads"] > 0].drop(columns="ord").reset_index(drop=True)
    frame.insert(2, "label", [f"{_stage_label(a)} → {_stage_label(b)}"
                              for a, b in zip(frame["from_stage"], frame["to_stage"])])
    return frame


def pipeline_velocity(wh: Warehouse, *, start=None, end=None, where: Where = None) -> pd.DataFrame:
    """Opportunities × win rate × average won deal ÷ sales cycle days, over the period."""
    created, p1 = _span("created_at", "o", start, end, where)
    closed, p2 = _span("closed_at", "o", start, end, where)
    row = wh.execute(f"""
        SELECT
          (SELECT COUNT(*) FROM opportunity_lifecycle o WHERE {created}) AS opportunities,
          (SELECT COUNT(*) FILTER (WHERE status = 'won') / NULLIF(COUNT(*), 0)
             FROM opportunity_lifecycle o WHERE status IN ('won', 'lost') AND {closed}) AS win_rate,
          (SELECT AVG(amount) FROM opportunity_lifecycle o WHERE status = 'won' AND {closed})
             AS average_deal,
          (SELECT MEDIAN(cycle_days) FROM opportunity_lifecycle o WHERE status = 'won' AND {closed})
             AS cycle_days
    """, {**p1, **p2}, label="pipeline velocity")
    row = row.astype(float)
    row["velocity_per_day"] = (row["opportunities"] * row["win_rate"] * row["average_deal"]
                               / row["cycle_days"].where(row["cycle_days"] > 0))
    return row


SLA_BUCKETS = [(0, 2, "0–2 h"), (2, 4, "2–4 h"), (4, 8, "4–8 h"), (8, 16, "8–16 h"),
               (16, 40, "16–40 h"), (40, None, "40 h +")]


def sla_response_distribution(wh: Warehouse, *, start=None, end=None,
                              where: Where = None) -> pd.DataFrame:
    """MQLs by business hours to the first sales touch; untouched ones in their own buckets."""
    condition, params = _span("first_mql_at", "l", start, end, where)
    cases = " ".join(
        f"WHEN response_business_hours < {hi} THEN {i}" if hi is not None else f"ELSE {i}"
        for i, (lo, hi, _) in enumerate(SLA_BUCKETS))
    n = len(SLA_BUCKETS)
    frame = wh.execute(f"""
        SELECT CASE WHEN response_business_hours IS NULL AND sla_deadline_at > $as_of THEN {n}
                    WHEN response_business_hours IS NULL THEN {n + 1}
                    {cases} END AS "order", COUNT(*) AS mqls
        FROM lead_lifecycle l WHERE first_mql_at IS NOT NULL AND {condition}
        GROUP BY 1 ORDER BY 1""", {**params, "as_of": wh.as_of}, label="SLA distribution")
    if frame.empty:
        return pd.DataFrame(columns=["bucket", "order", "mqls", "share"])
    labels = [b[2] for b in SLA_BUCKETS] + ["not touched yet", "not touched, overdue"]
    full = pd.DataFrame({"order": range(len(labels)), "bucket": labels})
    full = full.merge(frame, on="order", how="left").fillna({"mqls": 0})
    full["mqls"] = full["mqls"].astype(int)
    full["share"] = full["mqls"] / full["mqls"].sum()
    return full[["bucket", "order", "mqls", "share"]]


def sla_by_rep(wh: Warehouse, *, start=None, end=None, where: Where = None) -> pd.DataFrame:
    """SLA results per lead owner for the MQL cohort, worst first.

    mqls_due follows sla_first_touch_compliance: touched, or deadline passed by as_of.
    """
    condition, params = _span("first_mql_at", "l", start, end, where)
    return wh.execute(f"""
        WITH due AS (
            SELECT l.owner_id, l.response_business_hours,
                   l.first_sales_touch_at IS NOT NULL AS touched,
                   l.first_sales_touch_at IS NOT NULL AND l.first_sales_touch_at <= l.sla_deadline_at
                       AS in_sla
            FROM lead_lifecycle l
            WHERE l.first_mql_at IS NOT NULL AND {condition}
              AND (l.first_sales_touch_at IS NOT NULL OR l.sla_deadline_at <= $as_of)
        )
        SELECT d.owner_id AS rep_id, COALESCE(r.name, '(unassigned)') AS rep_name,
               r.team, r.region,
               COUNT(*) AS mqls_due,
               COUNT(*) FILTER (WHERE in_sla) AS in_sla,
               COUNT(*) FILTER (WHERE NOT in_sla) AS breaches,
               COUNT(*) FILTER (WHERE NOT touched) AS untouched_overdue,
               COUNT(*) FILTER (WHERE in_sla) / COUNT(*) AS compliance,
               MEDIAN(response_business_hours) AS median_response_business_hours
        FROM due d LEFT JOIN reps r ON r.rep_id = d.owner_id
        GROUP BY ALL ORDER BY breaches DESC, rep_name""", {**params, "as_of": wh.as_of},
        label="SLA by rep")


_WAITING = """
    FROM lead_lifecycle l
    WHERE l.first_mql_at IS NOT NULL AND l.first_mql_at <= $as_of
      AND l.first_sales_touch_at IS NULL AND l.rejected_at IS NULL
      AND l.first_sal_at IS NULL AND l.first_sql_at IS NULL
      AND l.first_opportunity_at IS NULL AND {condition}"""


def untouched_mqls(wh: Warehouse, *, where: Where = None, limit: int = 500,
                   max_age_days: int = 30) -> pd.DataFrame:
    """MQLs waiting for a first sales touch right now (as of the data), longest waiting first.

    Only MQLs of the last `max_age_days` are listed: an MQL nobody touched for months is a lost
    lead, not a queue (untouched_summary counts those). Leads sales already accepted, rejected
    or moved on are not waiting, touched or not.
    """
    condition, params = _conditions(lead_filter(where, table="l"))
    return wh.execute(f"""
        SELECT l.lead_id, l.first_mql_at, l.segment, l.region, l.source_channel, l.owner_id,
               COALESCE(r.name, '(unassigned)') AS owner_name, l.sla_deadline_at,
               date_diff('second', l.first_mql_at, $as_of) / 3600.0 AS waiting_hours,
               l.sla_deadline_at <= $as_of AS overdue
        {_WAITING.format(condition=condition).replace("FROM lead_lifecycle l",
                                                      "FROM lead_lifecycle l LEFT JOIN reps r "
                                                      "ON r.rep_id = l.owner_id")}
          AND l.first_mql_at >= $as_of - to_days($max_age)
        ORDER BY l.first_mql_at, l.lead_id LIMIT $limit""",
        {**params, "as_of": wh.as_of, "limit": int(limit), "max_age": int(max_age_days)},
        label="untouched MQLs")


def untouched_summary(wh: Warehouse, *, where: Where = None, max_age_days: int = 30) -> pd.DataFrame:
    """One row: MQLs waiting (recent), of them overdue, and older MQLs never touched."""
    condition, params = _conditions(lead_filter(where, table="l"))
    return wh.execute(f"""
        SELECT COUNT(*) FILTER (WHERE l.first_mql_at >= $as_of - to_days($max_age)) AS waiting,
               COUNT(*) FILTER (WHERE l.first_mql_at >= $as_of - to_days($max_age)
                                AND l.sla_deadline_at <= $as_of) AS overdue,
               COUNT(*) FILTER (WHERE l.first_mql_at < $as_of - to_days($max_age)) AS never_touched_older
        {_WAITING.format(condition=condition)}""",
        {**params, "as_of": wh.as_of, "max_age": int(max_age_days)}, label="untouched summary")


def rejection_reasons(wh: Warehouse, *, start=None, end=None, where: Where = None) -> pd.DataFrame:
    """Why sales disqualified or recycled the MQLs of the period (first reason after MQL)."""
    condition, params = _span("first_mql_at", "l", start, end, where)
    frame = wh.execute(f"""
        SELECT COALESCE(rejection_reason, '(no reason given)') AS reason,
               rejection_stage AS stage, COUNT(*) AS leads,
               ANY_VALUE(mqls) AS mqls
        FROM (SELECT *, COUNT(*) OVER () AS mqls FROM lead_lifecycle l
              WHERE first_mql_at IS NOT NULL AND {condition})
        WHERE rejected_at IS NOT NULL
        GROUP BY ALL ORDER BY leads DESC, reason""", params, label="rejection reasons")
    frame["share_of_rejections"] = frame["leads"] / frame["leads"].sum() if len(frame) else []
    frame["share_of_mqls"] = frame["leads"] / frame["mqls"]
    return frame.drop(columns="mqls")


def _performance(wh: Warehouse, key: str, *, start, end, where: Where) -> pd.DataFrame:
    """Cost, leads, MQLs, sourced/influenced pipeline and won revenue per campaign or channel."""
    lead_cond, p_leads = _span("created_at", "l", start, end, where, prefix="a")
    opp_cond, p_opps = _span("created_at", "o", start, end, where, prefix="b")
    won_cond, p_won = _span("closed_at", "o", start, end, where, prefix="c")
    spend_cond, p_spend = _conditions(time_filter("spent_at", table="s", start=start, end=end))
    camp_filter = lead_filter({k: v for k, v in (where or {}).items()
                               if k in ("campaign_id", "source_channel")}, table="s", prefix="d")
    spend_cond = exp.and_(exp.maybe_parse(spend_cond, dialect="duckdb"), camp_filter[0]).sql("duckdb")
    group = "campaign_id" if key == "campaign" else "source_channel"
    influence_key = "t.campaign_id" if key == "campaign" else "c.channel"
    frame = wh.execute(f"""
        WITH spend AS (
            SELECT s.{group} AS k, SUM(s.cost) AS cost FROM campaign_spend s
            WHERE {spend_cond} GROUP BY 1),
        lead_counts AS (
            SELECT l.{group} AS k, COUNT(*) AS leads,
                   COUNT(*) FILTER (WHERE first_mql_at IS NOT NULL) AS mqls
            FROM lead_lifecycle l WHERE {lead_cond} GROUP BY 1),
        sourced AS (
            SELECT o.{group} AS k, SUM(o.amount) AS sourced_pipeline
            FROM opportunity_lifecycle o WHERE o.sourced_by = 'marketing' AND {opp_cond}
            GROUP BY 1),
        influenced AS (
            SELECT k, SUM(amount) AS influenced_pipeline FROM (
                SELECT DISTINCT o.opportunity_id, {influence_key} AS k, o.amount
                FROM opportunity_lifecycle o
                JOIN touches t ON t.lead_id = o.lead_id AND t.team = 'marketing'
                 AND t.occurred_at < COALESCE(o.closed_at, $as_of)
                JOIN campaigns c ON c.campaign_id = t.campaign_id
                WHERE {opp_cond}) GROUP BY 1),
        won AS (
            SELECT o.{group} AS k, SUM(o.amount) AS won_revenue
            FROM opportunity_lifecycle o WHERE o.status = 'won' AND {won_cond} GROUP BY 1)
        SELECT k, COALESCE(spend.cost, 0) AS cost, COALESCE(leads, 0) AS leads,
               COALESCE(mqls, 0) AS mqls, COALESCE(sourced_pipeline, 0) AS sourced_pipeline,
               COALESCE(influenced_pipeline, 0) AS influenced_pipeline,
               COALESCE(won_revenue, 0) AS won_revenue
        FROM spend FULL JOIN lead_counts USING (k) FULL JOIN sourced USING (k)
             FULL JOIN influenced USING (k) FULL JOIN won USING (k)
        WHERE k IS NOT NULL
    """, {**p_leads, **p_opps, **p_won, **p_spend, **camp_filter[1], "as_of": wh.as_of},
        label=f"{key} performance")
    frame["pipeline_to_spend"] = frame["sourced_pipeline"] / frame["cost"].where(frame["cost"] > 0)
    frame["cost_per_mql"] = frame["cost"].where(frame["cost"] > 0) / frame["mqls"].where(frame["mqls"] > 0)
    return frame.sort_values("sourced_pipeline", ascending=False).reset_index(drop=True)


def campaign_performance(wh: Warehouse, *, start=None, end=None, where: Where = None) -> pd.DataFrame:
    """Per campaign: cost (spend in the period), leads, MQLs, pipeline and revenue."""
    frame = _performance(wh, "campaign", start=start, end=end, where=where)
    names = wh.execute("SELECT campaign_id AS k, name AS campaign, channel FROM campaigns",
                       label="campaign names")
    frame = frame.merge(names, on="k", how="left").rename(columns={"k": "campaign_id"})
    frame["campaign"] = frame["campaign"].fillna(frame["campaign_id"])
    return frame[["campaign_id", "campaign", "channel", "cost", "leads", "mqls",
                  "sourced_pipeline", "influenced_pipeline", "won_revenue",
                  "pipeline_to_spend", "cost_per_mql"]]


def channel_performance(wh: Warehouse, *, start=None, end=None, where: Where = None) -> pd.DataFrame:
    """Per channel: the same columns as campaign_performance, summed over its campaigns."""
    frame = _performance(wh, "channel", start=start, end=end, where=where)
    return frame.rename(columns={"k": "channel"})[
        ["channel", "cost", "leads", "mqls", "sourced_pipeline", "influenced_pipeline",
         "won_revenue", "pipeline_to_spend", "cost_per_mql"]]


def campaign_leads(wh: Warehouse, campaign_id: str, *, start=None, end=None, where: Where = None,
                   limit: int = 1000) -> pd.DataFrame:
    """The leads a campaign brought in the period, newest first, with how far they got."""
    stages = [s for s in _funnel_stages() if s != "lead"]
    furthest = " ".join(f"WHEN first_{s}_at IS NOT NULL THEN '{_stage_label(s)}'"
                        for s in reversed(stages))
    condition, params = _span("created_at", "l", start, end, where)
    return wh.execute(f"""
        SELECT lead_id, created_at, segment, region, lead_score,
               CASE {furthest} ELSE 'Lead' END AS stage_reached, first_mql_at, won_amount
        FROM lead_lifecycle l WHERE l.campaign_id = $campaign AND {condition}
        ORDER BY created_at DESC, lead_id LIMIT $limit""",
        {**params, "campaign": campaign_id, "limit": int(limit)}, label="campaign leads")


_TOUCH_WORDS = {"call": "Sales call", "email": "Sales email", "meeting": "Sales meeting"}


def lead_journey(wh: Warehouse, lead_id: str) -> pd.DataFrame:
    """Every stage event, touch and opportunity open/close of one lead, in time order."""
    exists = wh.execute("SELECT COUNT(*) AS n FROM leads WHERE lead_id = $lead", {"lead": lead_id},
                        label="lead lookup")
    if not int(exists["n"].iloc[0]):
        raise QueryError(f"there is no lead '{lead_id}' in the warehouse.")
    frame = wh.execute("""
        SELECT e.occurred_at, 'stage' AS kind, NULL AS team, CAST(e.stage AS VARCHAR) AS what,
               e.reason AS detail, COALESCE(r.name, e.actor_id) AS actor
        FROM lead_events e LEFT JOIN reps r ON r.rep_id = e.actor_id WHERE e.lead_id = $lead
        UNION ALL
        SELECT t.occurred_at, 'touch', CAST(t.team AS VARCHAR), t.kind,
               c.name, COALESCE(r.name, t.actor_id)
        FROM touches t LEFT JOIN campaigns c USING (campaign_id)
        LEFT JOIN reps r ON r.rep_id = t.actor_id WHERE t.lead_id = $lead
        UNION ALL
        SELECT created_at, 'opportunity', 'sales', 'Opportunity created',
               '$' || format('{:,.0f}', amount), opportunity_id
        FROM opportunities WHERE lead_id = $lead
        UNION ALL
        SELECT closed_at, 'opportunity', 'sales',
               'Opportunity ' || CAST(status AS VARCHAR), '$' || format('{:,.0f}', amount),
               opportunity_id
        FROM opportunities WHERE lead_id = $lead AND closed_at IS NOT NULL
        ORDER BY 1, 2""", {"lead": lead_id}, label="lead journey")
    stage_rows = frame["kind"] == "stage"
    frame.loc[stage_rows, "what"] = frame.loc[stage_rows, "what"].map(_stage_label)
    sales = (frame["kind"] == "touch") & (frame["team"] == "sales")
    frame.loc[sales, "what"] = frame.loc[sales, "what"].map(lambda k: _TOUCH_WORDS.get(k, f"Sales {k}"))
    marketing = (frame["kind"] == "touch") & (frame["team"] == "marketing")
    frame.loc[marketing, "what"] = frame.loc[marketing, "what"].fillna("touch").str.replace(
        "_", " ").str.capitalize()
    return frame.reset_index(drop=True)


def filter_options(wh: Warehouse) -> dict[str, list[tuple[str, str]]]:
    """Values for the sidebar filters: (value, label), sorted by label."""
    options: dict[str, list[tuple[str, str]]] = {}
    for column in ("segment", "region", "source_channel"):
        values = wh.execute(f"SELECT DISTINCT CAST({column} AS VARCHAR) AS v FROM leads "
                            f"WHERE {column} IS NOT NULL ORDER BY 1", label="filter values")["v"]
        options[column] = [(v, v.replace("_", " ").capitalize() if column == "source_channel" else v)
                           for v in values]
    campaigns = wh.execute("SELECT campaign_id, COALESCE(name, campaign_id) AS name, channel "
                           "FROM campaigns ORDER BY name", label="campaigns")
    options["campaign_id"] = [(c, f"{n} ({ch})" if ch else n)
                              for c, n, ch in campaigns.itertuples(index=False)]
    return options


def data_range(wh: Warehouse) -> tuple[dt.datetime | None, dt.datetime]:
    """The first lead's creation time and the data's as-of time."""
    first = wh.execute("SELECT MIN(created_at) AS first FROM leads", label="data range")["first"].iloc[0]
    return (None if pd.isna(first) else first.to_pydatetime()), wh.as_of


def attribution(wh: Warehouse, **kwargs) -> pd.DataFrame:
    """Multi-touch campaign credit; see metrics.attribution.attribution."""
    from metrics.attribution import attribution as attribute

    return attribute(wh, **kwargs)
