"""Lead counts per day and sidebar filter, built at load time for the funnel and SLA pages.

`lead_day_counts` holds two cohorts of lead_lifecycle, counted per day and per combination of
the lead columns the sidebar filters by (ROLLUP_DIMENSIONS):

* ``created``: leads by their created day and by which funnel stages they have a first time
  at (`has_<stage>`): the funnel's reach counts are sums over these rows;
* ``mql``: MQLs by their first MQL day and by their SLA response bucket (`sla_bucket`, the
  label the SLA page shows; untouched MQLs by whether their deadline passed by as_of).

At 10M leads that is about a million rows instead of ten million. A request is answered from it
only when it can be exactly: every filtered dimension is a rollup column and the period's bounds
are whole days; otherwise (and on a warehouse built before the table existed, or on an engine
whose loader does not build it) the analyses read lead_lifecycle as before. Medians (response
times, stage velocity) cannot come from counts and always read lead_lifecycle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
from sqlglot import exp

from metrics.selection import LeadFilter, columns_of, lead_condition, time_filter

ROLLUP_TABLE = "lead_day_counts"
# The sidebar's lead filters (ui.filters.PARAM_FOR) plus the funnel's split dimensions
# segment, region and source_channel: few values each, all repeated on lead_lifecycle.
ROLLUP_DIMENSIONS = ("segment", "region", "source_channel", "campaign_id")
CREATED, MQL = "created", "mql"


def _has_column(stage: str) -> str:
    return f"has_{stage}"


def _first_at(stage: str) -> str:
    return "created_at" if stage == "lead" else f"first_{stage}_at"


def sla_bucket_case(buckets: Sequence[tuple[int | None, str]], untouched: Sequence[str]) -> str:
    """SQL (on lead_lifecycle, parameter $as_of) naming an MQL's response bucket, as
    metrics.analysis.sla_response_distribution orders them: business hours to the first sales
    touch in [lower, upper), or untouched and waiting / untouched and overdue."""
    waiting, overdue = (exp.Literal.string(label).sql("duckdb") for label in untouched)
    cases = " ".join(f"WHEN response_business_hours < {upper} "
                     f"THEN {exp.Literal.string(label).sql('duckdb')}"
                     for upper, label in buckets if upper is not None)
    last = exp.Literal.string(buckets[-1][1]).sql("duckdb")
    return (f"CASE WHEN response_business_hours IS NULL AND sla_deadline_at > $as_of THEN "
            f"{waiting} WHEN response_business_hours IS NULL THEN {overdue} {cases} "
            f"ELSE {last} END")


def rollup_sql(stages: Sequence[str], buckets: Sequence[tuple[int | None, str]],
               untouched: Sequence[str]) -> str:
    """The SELECT of ROLLUP_TABLE over lead_lifecycle (parameter $as_of)."""
    dims = ", ".join(ROLLUP_DIMENSIONS)
    has = ", ".join(f"{_first_at(s)} IS NOT NULL AS {_has_column(s)}" for s in stages)
    no_has = ", ".join(f"NULL::BOOLEAN AS {_has_column(s)}" for s in stages)
    return f"""
        SELECT '{CREATED}' AS cohort, CAST(created_at AS DATE) AS day, {dims}, {has},
               NULL::VARCHAR AS sla_bucket, COUNT(*) AS leads
        FROM lead_lifecycle GROUP BY ALL
        UNION ALL
        SELECT '{MQL}' AS cohort, CAST(first_mql_at AS DATE) AS day, {dims}, {no_has},
               {sla_bucket_case(buckets, untouched)} AS sla_bucket, COUNT(*) AS leads
        FROM lead_lifecycle WHERE first_mql_at IS NOT NULL GROUP BY ALL
        ORDER BY cohort, day"""


def _whole_day(bound) -> dt.date | None | bool:
    """The day a period bound falls on when it is midnight; None for no bound; False when the
    bound is inside a day (the rollup cannot answer for part of a day)."""
    if bound is None:
        return None
    stamp = pd.Timestamp(bound)
    if stamp.tzinfo is not None or stamp != stamp.normalize():
        return False
    return stamp.date()


def _condition(wh, cohort: str, start, end, where, needed: Sequence[str]
               ) -> tuple[str, dict] | None:
    """The WHERE clause and parameters on ROLLUP_TABLE (as r) for a request, or None when the
    rollup cannot answer it exactly."""
    columns = wh.schema.get(ROLLUP_TABLE)
    if columns is None or any(c not in columns for c in (*ROLLUP_DIMENSIONS, *needed)):
        return None
    lead_filter = LeadFilter.of(where)
    if any(d not in ROLLUP_DIMENSIONS for d in lead_filter.dimensions):
        return None
    first, last = _whole_day(start), _whole_day(end)
    if first is False or last is False:
        return None
    time_cond, time_params = time_filter("day", table="r", start=first, end=last)
    resolve = columns_of("r", wh.lead_columns, ROLLUP_DIMENSIONS)
    lead_cond, lead_params, _ = lead_condition(lead_filter, resolve, prefix="f")
    cohort_cond = exp.column("cohort", table="r").eq(exp.Placeholder(this="cohort"))
    return (exp.and_(cohort_cond, time_cond, lead_cond).sql("duckdb"),
            {"cohort": cohort, **time_params, **lead_params})


def reach_counts(wh, stages: Sequence[str], *, start, end, where,
                 by: str | None = None, none_label: str = "(none)") -> pd.DataFrame | None:
    """reached_i (stage i or a later one) and recorded_i (stage i itself) for leads created in
    [start, end), as metrics.analysis.funnel counts them; per `value` of the dimension `by`
    (largest first) when given. None when the rollup cannot answer."""
    if by is not None and by not in ROLLUP_DIMENSIONS:
        return None
    found = _condition(wh, CREATED, start, end, where, [_has_column(s) for s in stages])
    if found is None:
        return None
    condition, params = found
    parts = []
    for i, stage in enumerate(stages):
        later = " OR ".join(f"r.{_has_column(s)}" for s in stages[i:])
        parts.append(f"CAST(COALESCE(SUM(r.leads) FILTER (WHERE {later}), 0) AS BIGINT) "
                     f"AS reached_{i}")
        parts.append(f"CAST(COALESCE(SUM(r.leads) FILTER (WHERE r.{_has_column(stage)}), 0) "
                     f"AS BIGINT) AS recorded_{i}")
    if by is None:
        return wh.execute(f"SELECT {', '.join(parts)} FROM {ROLLUP_TABLE} r WHERE {condition}",
                          params, label="funnel (daily counts)")
    value = exp.column(by, table="r").sql("duckdb")
    return wh.execute(
        f"SELECT COALESCE(CAST({value} AS VARCHAR), $none) AS value, {', '.join(parts)} "
        f"FROM {ROLLUP_TABLE} r WHERE {condition} GROUP BY ALL ORDER BY reached_0 DESC, value",
        {**params, "none": none_label}, label="funnel split (daily counts)")


def sla_bucket_counts(wh, *, start, end, where) -> pd.DataFrame | None:
    """MQLs whose first MQL day is in [start, end), per SLA bucket label (columns bucket,
    mqls); None when the rollup cannot answer."""
    found = _condition(wh, MQL, start, end, where, ["sla_bucket"])
    if found is None:
        return None
    condition, params = found
    return wh.execute(f"SELECT r.sla_bucket AS bucket, CAST(SUM(r.leads) AS BIGINT) AS mqls "
                      f"FROM {ROLLUP_TABLE} r WHERE {condition} GROUP BY 1", params,
                      label="SLA response distribution (daily counts)")
