"""Lead filters for the fixed analyses (funnel, cohorts, SLA, campaigns), built with sqlglot.

Metric queries get their filters from the compiler; the analyses in analysis.py and
attribution.py share this one helper so every page filters leads the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlglot import exp

FILTER_DIMENSIONS = ("segment", "region", "source_channel", "campaign_id", "sourced_by",
                     "industry", "owner_id")


def lead_filter(where: Mapping[str, Sequence[str] | str] | None, *, table: str,
                prefix: str = "f") -> tuple[exp.Expression, dict[str, object]]:
    """A condition on lead columns of `table` plus its bound parameters.

    >>> cond, params = lead_filter({"segment": ["SMB"]}, table="l")
    >>> cond.sql("duckdb"), params
    ('l.segment IN ($f0_0)', {'f0_0': 'SMB'})
    """
    conditions: list[exp.Expression] = []
    params: dict[str, object] = {}
    for i, (dim, values) in enumerate(sorted((where or {}).items())):
        if dim not in FILTER_DIMENSIONS:
            raise ValueError(f"cannot filter on {dim!r}; use one of {', '.join(FILTER_DIMENSIONS)}")
        values = [values] if isinstance(values, str) else list(values or [])
        if not values:
            continue
        names = [f"{prefix}{i}_{j}" for j in range(len(values))]
        params.update(zip(names, (str(v) for v in values)))
        conditions.append(exp.In(this=exp.column(dim, table=table),
                                 expressions=[exp.Placeholder(this=n) for n in names]))
    return (exp.and_(*conditions) if conditions else exp.true()), params


def time_filter(column: str, *, table: str, start, end) -> tuple[exp.Expression, dict[str, object]]:
    """`table.column` in [start, end); either bound may be None.

    >>> cond, params = time_filter("created_at", table="l", start=None, end="2025-01-01")
    >>> cond.sql("duckdb"), params
    ('l.created_at < $end', {'end': '2025-01-01'})
    """
    conditions: list[exp.Expression] = []
    params: dict[str, object] = {}
    col = exp.column(column, table=table)
    if start is not None:
        conditions.append(exp.GTE(this=col.copy(), expression=exp.Placeholder(this="start")))
        params["start"] = start
    if end is not None:
        conditions.append(exp.LT(this=col.copy(), expression=exp.Placeholder(this="end")))
        params["end"] = end
    return (exp.and_(*conditions) if conditions else exp.true()), params
