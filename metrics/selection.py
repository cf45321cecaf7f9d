"""What a page shows: a period, a grain and lead filters, as one frozen type from the sidebar
to the SQL.

`Selection` is what the sidebar selects; its `where` is a `LeadFilter`. Both are frozen and
hashable, so they pass unchanged from the sidebar through the app's caches (they are the cache
keys) to the metric compiler and to the page analyses. `lead_condition` is the one place a
lead filter becomes SQL: the compiler and every analysis call it, so a filter accepts the same
dimensions and compares values the same way everywhere.

Values are bound parameters, never SQL text; dimension names are checked against the
warehouse's lead columns before they become identifiers.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from sqlglot import exp

from metrics.errors import QueryError

# -- the lead filter ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadFilter:
    """Lead dimension -> the values it may take (several values: any of them), canonical:
    dimensions lower-case and sorted, values as sorted strings, no empty entries.

    >>> f = LeadFilter.of({"Segment": "SMB", "region": ["NA", "EMEA"], "industry": []})
    >>> f.pairs
    (('region', ('EMEA', 'NA')), ('segment', ('SMB',)))
    >>> f == LeadFilter.of(f.pairs) == LeadFilter.of(f), bool(LeadFilter.of(None))
    (True, False)
    """

    pairs: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def of(cls, where: LeadFilter | Mapping[str, object] | Iterable[tuple[str, object]] | None
           ) -> LeadFilter:
        """A LeadFilter from a mapping, (dimension, values) pairs, another LeadFilter or None.
        A single value may stand for a list of one."""
        if isinstance(where, LeadFilter):
            return where
        if not where:
            return cls()
        items = where.items() if isinstance(where, Mapping) else where
        merged: dict[str, set[str]] = {}
        for dim, values in items:
            if values is None:
                continue
            seq = [values] if isinstance(values, str | int | float) else list(values)
            if seq:
                merged.setdefault(str(dim).lower(), set()).update(str(v) for v in seq)
        return cls(tuple(sorted((dim, tuple(sorted(vals))) for dim, vals in merged.items())))

    def __iter__(self) -> Iterator[tuple[str, tuple[str, ...]]]:
        return iter(self.pairs)

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def dimensions(self) -> tuple[str, ...]:
        return tuple(dim for dim, _ in self.pairs)

    def values(self, dimension: str) -> tuple[str, ...]:
        """The allowed values of `dimension`; () when it is not filtered."""
        return dict(self.pairs).get(dimension.lower(), ())

    def only(self, dimensions: Iterable[str]) -> LeadFilter:
        """The part of this filter on `dimensions`."""
        keep = {d.lower() for d in dimensions}
        return LeadFilter(tuple(p for p in self.pairs if p[0] in keep))

    def without(self, *dimensions: str) -> LeadFilter:
        drop = {d.lower() for d in dimensions}
        return LeadFilter(tuple(p for p in self.pairs if p[0] not in drop))

    def as_dict(self) -> dict[str, list[str]]:
        return {dim: list(values) for dim, values in self.pairs}

    def shape(self) -> tuple[tuple[str, int], ...]:
        """What SQL compiled for this filter depends on: the dimensions and how many values."""
        return tuple((dim, len(values)) for dim, values in self.pairs)

    def params(self, prefix: str) -> dict[str, str]:
        """The bound values, named as `lead_condition` names them with the same prefix."""
        return {parameter_name(prefix, i, j): value
                for i, (_, values) in enumerate(self.pairs) for j, value in enumerate(values)}


def parameter_name(prefix: str, i: int, j: int) -> str:
    """The name of the j-th value of the i-th filtered dimension."""
    return f"{prefix}{i}_{j}"


@dataclass(frozen=True)
class FilterColumn:
    """Where a filtered dimension is read, as `lead_condition` needs to know it.

    `sql_type` is the column's type in the warehouse (values, bound as strings, are cast to it
    so '72' matches a DOUBLE 72.0 and the column keeps its index-friendly type); None for a
    metric's own output column, compared as it is. `lead_id`, when set, is the lead id of rows
    that may have no lead at all (a campaign's cost): such rows pass the filter, because a lead
    dimension cannot split them, and the caller reports the dimension as unsplit. `via_leads`,
    when set, is a lead id on a table that does not carry the dimension: the condition then
    looks the dimension up in `leads`.
    """

    expression: exp.Expression
    sql_type: str | None = "VARCHAR"
    lead_id: exp.Expression | None = None
    via_leads: exp.Expression | None = None


# Types a bound string value can be cast to with the same meaning as in a CSV.
_CASTABLE = {"BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE",
             "REAL", "DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE"}


def _match(column: FilterColumn, placeholders: list[exp.Expression]) -> exp.Expression:
    """`column IN (values)` with the values cast to the column's type, or the column cast to
    text when its type has no literal form a bound string converts to (an ENUM)."""
    target = column.expression.copy()
    sql_type = (column.sql_type or "").upper()
    if sql_type in _CASTABLE or sql_type.startswith("DECIMAL"):
        # TRY_CAST: a value that is not a number (a typo in a URL) matches nothing, no error.
        placeholders = [exp.TryCast(this=p, to=exp.DataType.build(sql_type)) for p in placeholders]
    elif column.sql_type is not None and sql_type != "VARCHAR":
        target = exp.cast(target, "VARCHAR")
    return exp.In(this=target, expressions=placeholders)


def lead_condition(lead_filter: LeadFilter, resolve: Callable[[str], FilterColumn], *,
                   prefix: str) -> tuple[exp.Expression, dict[str, str], tuple[str, ...]]:
    """The SQL condition of a lead filter, its bound values, and the dimensions that could not
    split some rows (rows with no lead: see FilterColumn.lead_id).

    `resolve` says where each dimension is read; it raises QueryError for a dimension the
    source cannot filter on.

    >>> cond, params, unsplit = lead_condition(
    ...     LeadFilter.of({"segment": ["SMB"], "lead_score": "72"}),
    ...     columns_of("l", {"segment": "VARCHAR", "lead_score": "DOUBLE"}), prefix="f")
    >>> cond.sql("duckdb"), params
    ('l.lead_score IN (TRY_CAST($f0_0 AS DOUBLE)) AND l.segment IN ($f1_0)', {'f0_0': '72', 'f1_0': 'SMB'})
    """
    conditions: list[exp.Expression] = []
    unsplit: list[str] = []
    for i, (dim, values) in enumerate(lead_filter):
        column = resolve(dim)
        placeholders = [exp.Placeholder(this=parameter_name(prefix, i, j))
                        for j in range(len(values))]
        condition = _match(column, placeholders)
        if column.via_leads is not None:
            lookup = exp.select("lead_id").from_("leads").where(condition)
            condition = column.via_leads.copy().isin(query=lookup)
        if column.lead_id is not None:
            # Rows with no lead (a campaign's cost) cannot be split by a lead dimension: they
            # keep counting in full and the result says so, rather than silently vanishing.
            condition = exp.paren(exp.or_(
                exp.Is(this=column.lead_id.copy(), expression=exp.Null()), condition))
            unsplit.append(dim)
        conditions.append(condition)
    condition = exp.and_(*conditions) if conditions else exp.true()
    return condition, lead_filter.params(prefix), tuple(unsplit)


def unknown_dimension(dimension: str, available: Iterable[str], where: str) -> QueryError:
    return QueryError(f"'{dimension}' is not a lead column {where}; filter on one of "
                      f"{', '.join(sorted(available))}.")


def columns_of(table: str, lead_types: Mapping[str, str],
               carried: Iterable[str] | None = None) -> Callable[[str], FilterColumn]:
    """A resolver for a table whose rows each belong to one lead (`table.lead_id`): the
    dimensions in `carried` are read from the table itself, the other lead columns are looked
    up in `leads` (carried=None: the table carries every lead column, e.g. `leads`)."""
    carried_set = set(lead_types) if carried is None else {c.lower() for c in carried}

    def resolve(dimension: str) -> FilterColumn:
        if dimension not in lead_types:
            raise unknown_dimension(dimension, lead_types, "in this warehouse")
        if dimension in carried_set:
            return FilterColumn(exp.column(dimension, table=table), lead_types[dimension])
        return FilterColumn(exp.column(dimension), lead_types[dimension],
                            via_leads=exp.column("lead_id", table=table))

    return resolve


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


# -- the period --------------------------------------------------------------------------------

RANGE_LABELS = {
    "this_quarter": "This quarter",
    "last_quarter": "Last quarter",
    "last_12_months": "Last 12 months",
    "year_to_date": "Year to date",
    "custom": "Custom",
}
GRAIN_LABELS = {"week": "Week", "month": "Month", "quarter": "Quarter"}


@dataclass(frozen=True)
class Selection:
    """What every page shows: [start, end) in UTC, a grain and lead filters.

    `as_of` is the data's as-of time: a window that ends after it holds a period that is not
    over yet (its counts are partial).
    """

    start: dt.datetime
    end: dt.datetime
    grain: str = "month"
    where: LeadFilter = LeadFilter()
    label: str = "Custom"
    as_of: dt.datetime | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.where, LeadFilter):
            object.__setattr__(self, "where", LeadFilter.of(self.where))

    @property
    def span(self) -> dict[str, object]:
        """The keyword arguments every analysis and metric query takes: start, end, where."""
        return {"start": self.start, "end": self.end, "where": self.where}

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def partial(self) -> bool:
        """True when the window runs past the data's as-of time (its last period is not over)."""
        return self.as_of is not None and self.end > self.as_of

    def _with(self, start: dt.datetime, end: dt.datetime) -> Selection:
        return Selection(start, end, self.grain, self.where, self.label, self.as_of)

    def shifted(self, months: int) -> Selection:
        """The same window `months` earlier (negative) or later."""
        return self._with(add_months(self.start, months), add_months(self.end, months))

    def previous(self) -> Selection:
        """The window just before this one: as many months when month-aligned (a partial
        current month counts as the same days of the previous month), else as many days."""
        months = _whole_months(self.start, self.end)
        if months:
            return self.shifted(-months)
        length = self.end - self.start
        return self._with(self.start - length, self.start)

    def last_year(self) -> Selection:
        return self.shifted(-12)

    def describe(self) -> str:
        last_day = self.end - dt.timedelta(days=1)
        return f"{self.start:%d %b %Y} – {last_day:%d %b %Y}"


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """`moment` moved by whole months, the day clipped to the target month's length.

    >>> add_months(dt.datetime(2025, 3, 31), -1).date().isoformat()
    '2025-02-28'
    """
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _whole_months(start: dt.datetime, end: dt.datetime) -> int:
    if start.day != 1 or start.time() != dt.time() or end.time() != dt.time():
        return 0
    months = (end.year - start.year) * 12 + end.month - start.month
    return months if end.day == 1 else months + 1  # a partial current month counts as one


def quarter_start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def resolve_range(range_key: str, as_of: dt.datetime, custom: tuple[dt.date, dt.date] | None = None
                  ) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) for a preset, relative to the data's as-of time, not the wall clock.

    "Last 12 months" is the twelve complete months before the as-of month: a month that has
    only begun would plot as a collapse and make a 12-month total of 11 months and some days.
    "This quarter" and "Year to date" run to the end of the as-of day (they are partial by
    name; pages say so).

    >>> s, e = resolve_range("last_quarter", dt.datetime(2025, 5, 10))
    >>> s.date().isoformat(), e.date().isoformat()
    ('2025-01-01', '2025-04-01')
    >>> s, e = resolve_range("last_12_months", dt.datetime(2025, 5, 10, 12))
    >>> s.date().isoformat(), e.date().isoformat()
    ('2024-05-01', '2025-05-01')
    """
    today = as_of.date()
    tomorrow = dt.datetime.combine(today, dt.time()) + dt.timedelta(days=1)
    if range_key == "this_quarter":
        return quarter_start(today), tomorrow
    if range_key == "last_quarter":
        end = quarter_start(today)
        return add_months(end, -3), end
    if range_key == "year_to_date":
        return dt.datetime(today.year, 1, 1), tomorrow
    if range_key == "custom" and custom:
        first, last = sorted(custom)
        return (dt.datetime.combine(first, dt.time()),
                dt.datetime.combine(last, dt.time()) + dt.timedelta(days=1))
    month_start = dt.datetime(today.year, today.month, 1)
    return add_months(month_start, -12), month_start
