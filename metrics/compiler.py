"""Compose a metric's SELECT into the final aggregate query, with sqlglot builders only.

query -> plan -> SQL, each step inspectable: `QueryRequest` says what the user asked,
`compile_metric` returns the SQL text and the bound parameters. The metric is a sub-query
`m`. A lead dimension the metric does not return itself is read, when the metric's SELECT reads
a table that carries a copy of that lead column (lead_lifecycle, opportunity_lifecycle: see
`metrics.build.lead_column_copies`), by adding the column to the metric's own projection;
otherwise `leads` is joined by lead_id. Both give the same rows; the first spares a hash join
on lead_id over every lead. The composed SQL stays in a portable subset (DATE_TRUNC, CASE,
NULLIF, MEDIAN) so sqlglot can transpile it to other engines.

The SQL depends only on the request's shape (grain, breakdown, which filters with how many
values, which bounds), never on the values, which are bound parameters: `request_shape` is the
key under which a compiled query can be reused, and `CompiledQuery.bind` gives the parameters
for another request of the same shape.
"""

from __future__ import annotations

import datetime as dt
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlglot import exp

from metrics.definitions import MetricDefinition
from metrics.errors import QueryError
from metrics.selection import FilterColumn, LeadFilter, lead_condition, parameter_name

GRAINS = ("day", "week", "month", "quarter", "year", "total")
DIALECT = "duckdb"


@dataclass(frozen=True)
class QueryRequest:
    """What to compute: a time range on the anchor, a grain, a breakdown and filters.

    `where` is a LeadFilter (anything LeadFilter.of takes is converted). Times are naive UTC;
    `end` is exclusive.
    """

    start: dt.datetime | None = None
    end: dt.datetime | None = None
    grain: str = "month"
    by: str | None = None
    where: LeadFilter = LeadFilter()

    def __post_init__(self) -> None:
        if not isinstance(self.where, LeadFilter):
            object.__setattr__(self, "where", LeadFilter.of(self.where))
        if self.grain not in GRAINS:
            raise QueryError(f"grain must be one of {', '.join(GRAINS)}, not '{self.grain}'.")
        if self.start and self.end and self.end <= self.start:
            raise QueryError(f"the end ({self.end:%Y-%m-%d}) must be after the start "
                             f"({self.start:%Y-%m-%d}).")


class TreeLoadedOnUse:
    """Pickles its sqlglot tree (the attribute named by `_TREE`) as bytes, rebuilt on first use.

    Compiled queries come back from the on-disk compile cache in every fresh process, where
    DuckDB needs only their SQL text: rebuilding the trees cost more than the rest of a first
    scorecard batch (about 30 ms of 170 at 1M leads). Other engines render the tree, and load it
    when they ask for it.
    """

    _TREE = "tree"

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if self._TREE in state:
            state["_pickled_tree"] = pickle.dumps(state.pop(self._TREE))
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def __getattr__(self, name: str) -> object:
        # Only called for attributes not in __dict__: the tree of an unpickled instance.
        pickled = self.__dict__.get("_pickled_tree")
        if name != self._TREE or pickled is None:
            raise AttributeError(name)
        tree = pickle.loads(pickled)
        self.__dict__[name] = tree
        del self.__dict__["_pickled_tree"]
        return tree


@dataclass(frozen=True)
class CompiledQuery(TreeLoadedOnUse):
    sql: str
    params: dict[str, object]
    columns: tuple[str, ...]
    # Lead dimensions that were filtered on but cannot split rows with no lead (campaign cost).
    unsplit_dimensions: tuple[str, ...] = field(default_factory=tuple)
    # The composed AST `sql` was generated from: other engines render it in their dialect.
    # (A factory, not a default: a class attribute would hide an unpickled tree from
    # TreeLoadedOnUse.__getattr__.)
    tree: exp.Expression | None = field(default_factory=lambda: None, compare=False, repr=False)

    def bind(self, request: QueryRequest, as_of: dt.datetime) -> dict[str, object]:
        """The parameters for `request`, which must have the shape this query was compiled for."""
        return {k: v for k, v in request_params(request, as_of).items() if k in self.params}


def request_shape(request: QueryRequest) -> tuple:
    """What the compiled SQL depends on: everything but the bound values.

    >>> a = QueryRequest(start=dt.datetime(2025, 1, 1), where={"segment": "SMB"})
    >>> b = QueryRequest(start=dt.datetime(2024, 1, 1), where={"segment": ["Enterprise"]})
    >>> request_shape(a) == request_shape(b)
    True
    """
    return (request.start is not None, request.end is not None, request.grain,
            request.by.lower() if request.by else None,
            request.where.shape())


def request_params(request: QueryRequest, as_of: dt.datetime) -> dict[str, object]:
    """Every parameter a compiled query may use, named as compile_metric names them."""
    params: dict[str, object] = {"as_of": as_of}
    if request.start:
        params["start"] = request.start
    if request.end:
        params["end"] = request.end
    params.update(request.where.params(WHERE_PREFIX))
    return params


# Bound filter values are named w<i>_<j> (metrics.selection.parameter_name).
WHERE_PREFIX = "w"


def _column(table: str, name: str) -> exp.Column:
    return exp.column(name, table=table)


def _aggregates(defn: MetricDefinition) -> list[exp.Expression]:
    def as_double(name: str) -> exp.Expression:
        return exp.cast(_column("m", name), "DOUBLE")

    if defn.kind == "ratio":
        numerator = exp.func("SUM", as_double("numerator"))
        denominator = exp.func("SUM", as_double("denominator"))
        value = exp.Div(this=numerator.copy(),
                        expression=exp.func("NULLIF", denominator.copy(), exp.Literal.number(0)))
        return [exp.alias_(value, "value"), exp.alias_(numerator, "numerator"),
                exp.alias_(denominator, "denominator")]
    value = {
        "count": lambda: exp.func("COUNT", _column("m", "value")),
        "sum": lambda: exp.func("SUM", as_double("value")),
        "average": lambda: exp.func("AVG", as_double("value")),
        "median": lambda: exp.Median(this=as_double("value")),
    }[defn.kind]()
    return [exp.alias_(value, "value")]


@dataclass
class _Source:
    """The filtered rows of one metric: `SELECT ... FROM (metric) m [JOIN leads d] WHERE ...`.

    `dimension` resolves a dimension name to its expression (the metric's own column, a lead
    column the metric carries, or the joined lead's); `select` adds the carried columns or the
    lead join that the dimensions needed. Shared by the plain and the windowed compilation.
    """

    defn: MetricDefinition
    metric_query: exp.Query
    metric_cols: set[str]
    lead_columns: Mapping[str, str]
    carried: frozenset[str]
    joined: list[str] = field(default_factory=list)
    pushed: list[str] = field(default_factory=list)

    def dimension(self, name: str) -> tuple[exp.Expression, bool]:
        """The expression for a dimension and whether it is a lead's (not the metric's own)."""
        key = name.lower()
        if key in self.metric_cols and key not in ("value", "numerator", "denominator"):
            return _column("m", key), False
        if key in self.lead_columns:
            if key in self.carried:
                if key not in self.pushed:
                    self.pushed.append(key)
                return _column("m", _carried_alias(key)), True
            if key not in self.joined:
                self.joined.append(key)
            return _column("d", key), True
        available = sorted((self.metric_cols - {"numerator", "denominator", "value"})
                           | set(self.lead_columns))
        raise QueryError(f"'{name}' is not a dimension of {self.defn.name}; use one of "
                         f"{', '.join(available)}.", source=self.defn.name)

    def filter_column(self, name: str) -> FilterColumn:
        """Where a filtered dimension is read, for metrics.selection.lead_condition: the
        metric's own column as it is, or the lead's (typed; rows without a lead pass)."""
        column, from_lead = self.dimension(name)
        if not from_lead:
            return FilterColumn(column, sql_type=None)
        return FilterColumn(column, self.lead_columns[name.lower()],
                            lead_id=_column("m", "lead_id"))

    def conditions(self, request: QueryRequest) -> tuple[list[exp.Expression], list[str]]:
        """The WHERE conditions of a request (anchor range and filters) and the lead
        dimensions that cannot split rows without a lead."""
        anchor = _column("m", self.defn.anchor)
        conditions: list[exp.Expression] = [
            exp.Not(this=exp.Is(this=anchor.copy(), expression=exp.Null()))]
        if request.start:
            conditions.append(exp.GTE(this=anchor.copy(), expression=exp.Placeholder(this="start")))
        if request.end:
            conditions.append(exp.LT(this=anchor.copy(), expression=exp.Placeholder(this="end")))
        if request.where:
            condition, _, unsplit = lead_condition(request.where, self.filter_column,
                                                   prefix=WHERE_PREFIX)
            conditions.append(condition)
            return conditions, list(unsplit)
        return conditions, []

    def select(self, projections: list[exp.Expression],
               conditions: list[exp.Expression]) -> exp.Select:
        """SELECT projections FROM the metric (with carried columns or the lead join) WHERE."""
        source = (_with_carried_columns(self.metric_query, self.pushed) if self.pushed
                  else self.metric_query.copy())
        select = exp.select(*projections, copy=False).from_(source.subquery("m", copy=False),
                                                            copy=False)
        if self.joined:
            select = select.join(
                exp.to_table("leads").as_("d", copy=False), join_type="left",
                on=exp.EQ(this=_column("m", "lead_id"), expression=_column("d", "lead_id")),
                copy=False)
        return select.where(exp.and_(*conditions, copy=False), copy=False)


def _source(defn: MetricDefinition, metric_query: exp.Query, metric_columns: list[str],
            lead_columns: Mapping[str, str],
            lead_copies: Mapping[str, frozenset[str]] | None) -> _Source:
    metric_cols = {c.lower() for c in metric_columns}
    carried = _carried_lead_columns(metric_query, lead_copies or {}, metric_cols)
    return _Source(defn, metric_query, metric_cols, lead_columns, carried)


def _period(grain: str, anchor: exp.Expression) -> exp.Expression:
    return exp.cast(exp.func("DATE_TRUNC", exp.Literal.string(grain), anchor), "DATE")


def compile_metric(defn: MetricDefinition, metric_query: exp.Query, request: QueryRequest, *,
                   metric_columns: list[str], lead_columns: Mapping[str, str],
                   row_cap: int, as_of: dt.datetime,
                   lead_copies: Mapping[str, frozenset[str]] | None = None) -> CompiledQuery:
    """Build the aggregate query for one metric and one request.

    `as_of` is bound as `$as_of` for metric SQL that needs "now" (e.g. SLA deadlines passed).
    `lead_copies` maps a table to the lead columns it carries a copy of (same value as the
    lead's, row by row); without it every lead dimension is joined from `leads`.
    """
    source = _source(defn, metric_query, metric_columns, lead_columns, lead_copies)
    conditions, unsplit = source.conditions(request)
    group: list[exp.Expression] = []
    projections: list[exp.Expression] = []
    columns: list[str] = []
    if request.grain != "total":
        period = _period(request.grain, _column("m", defn.anchor))
        projections.append(exp.alias_(period, "period"))
        group.append(period.copy())
        columns.append("period")
    if request.by:
        by_expr, _ = source.dimension(request.by)
        projections.append(exp.alias_(by_expr, request.by.lower()))
        group.append(by_expr.copy())
        columns.append(request.by.lower())
    aggregates = _aggregates(defn)
    projections.extend(aggregates)
    columns.extend(a.alias for a in aggregates)

    select = source.select(projections, conditions)
    if group:
        select = select.group_by(*group, copy=False).order_by(
            *(exp.Ordered(this=g.copy(), nulls_first=False) for g in group), copy=False)
    select = select.limit(row_cap + 1, copy=False)
    return _compiled(select, request_params(request, as_of), tuple(columns), tuple(unsplit))


def _compiled(select: exp.Select, params: dict[str, object], columns: tuple[str, ...],
              unsplit: tuple[str, ...]) -> CompiledQuery:
    used = {p.name for p in select.find_all(exp.Placeholder)}
    return CompiledQuery(select.sql(DIALECT), {k: v for k, v in params.items() if k in used},
                         columns, unsplit, tree=select)


# -- several windows in one scan ---------------------------------------------------------------

WINDOW_SET = "window_set"
TREND_SET = -1


def window_params(windows: tuple[tuple[dt.datetime | None, dt.datetime | None], ...],
                  trend: tuple[dt.datetime | None, dt.datetime | None] | None
                  ) -> dict[str, object]:
    """The bound values of compile_windows' window bounds, named as it names them."""
    params: dict[str, object] = {}
    for i, bounds in enumerate([*windows, *([trend] if trend else [])]):
        for side, value in zip(("start", "end"), bounds):
            if value is not None:
                params[f"win{i}_{side}"] = value
    return params


def window_shape(windows, trend) -> tuple:
    """What compile_windows' SQL depends on besides the request: which bounds are set."""
    return tuple((s is not None, e is not None) for s, e in [*windows, *([trend] if trend else [])])


def compile_windows(defn: MetricDefinition, metric_query: exp.Query, request: QueryRequest, *,
                    windows: tuple[tuple[dt.datetime | None, dt.datetime | None], ...],
                    trend: tuple[dt.datetime | None, dt.datetime | None] | None,
                    metric_columns: list[str], lead_columns: Mapping[str, str],
                    row_cap: int, as_of: dt.datetime,
                    lead_copies: Mapping[str, frozenset[str]] | None = None) -> CompiledQuery:
    """One scan of the metric for several totals and a trend: a scorecard tile in one query.

    `request` gives the filters, the trend's grain and the scanned range (which must cover
    every window). Each window [start, end) of `windows` gets its total, as `compile_metric`
    with grain total would compute it; `trend`, if given, gets the series at request.grain.
    Additive kinds sum partial aggregates of a few cells (_windows_from_partials); a median
    groups by GROUPING SETS, exact though costlier. Either way the rows are read once.
    Result columns: window_set (the window's index, or -1 for the trend), period (trend rows
    only), then the aggregates; windows without rows have no result row.
    """
    inner, unsplit = _window_rows(defn, metric_query, request, windows, trend, metric_columns,
                                  lead_columns, lead_copies)
    if defn.kind in _PARTIALS:
        return _compiled_partials([(defn.kind, "")], inner, unsplit, request, windows, trend,
                                  row_cap, as_of)
    params = {**request_params(request, as_of), **window_params(windows, trend)}
    return _compiled(_windows_by_grouping_sets(defn, inner, len(windows), bool(trend), row_cap),
                     params, (WINDOW_SET, *(["period"] if trend else []),
                              *(a.alias for a in _aggregates(defn))), tuple(unsplit))


def _window_rows(defn: MetricDefinition, metric_query: exp.Query, request: QueryRequest,
                 windows: tuple[tuple[dt.datetime | None, dt.datetime | None], ...],
                 trend: tuple[dt.datetime | None, dt.datetime | None] | None,
                 metric_columns: list[str], lead_columns: Mapping[str, str],
                 lead_copies: Mapping[str, frozenset[str]] | None
                 ) -> tuple[exp.Select, list[str]]:
    """The metric's filtered rows with a flag per window (_in_w<i>) and the trend's period
    (_period), and the lead dimensions that cannot split rows without a lead."""
    if request.by:
        raise QueryError("a windowed query cannot have a breakdown.", source=defn.name)
    source = _source(defn, metric_query, metric_columns, lead_columns, lead_copies)
    conditions, unsplit = source.conditions(request)
    anchor = _column("m", defn.anchor)
    bounds = [*windows, *([trend] if trend else [])]
    flags: list[exp.Expression] = []
    for i, (start, end) in enumerate(bounds):
        parts: list[exp.Expression] = []
        if start is not None:
            parts.append(exp.GTE(this=anchor.copy(), expression=exp.Placeholder(this=f"win{i}_start")))
        if end is not None:
            parts.append(exp.LT(this=anchor.copy(), expression=exp.Placeholder(this=f"win{i}_end")))
        flags.append(exp.and_(*parts, copy=False) if parts else exp.true())
    # Flag columns are computed once in an inner SELECT so each grouping set refers to them.
    inner_projections: list[exp.Expression] = [exp.Star()]
    inner_projections += [exp.alias_(flag, f"_in_w{i}") for i, flag in enumerate(flags)]
    if trend:
        inner_projections.append(exp.alias_(_period(request.grain, anchor.copy()), "_period"))
    inner = source.select(inner_projections, conditions)
    # SELECT * over the join would repeat lead_id: keep only the metric's own columns.
    if source.joined:
        inner.set("expressions", [exp.Column(this=exp.Star(), table=exp.to_identifier("m")),
                                  *inner_projections[1:]])
    return inner, unsplit


def _windows_by_grouping_sets(defn: MetricDefinition, inner: exp.Select, windows: int,
                              trend: bool, row_cap: int) -> exp.Select:
    """GROUP BY GROUPING SETS over the flagged rows: exact for every kind, medians included."""
    def flag(i: int) -> exp.Column:
        return _column("w", f"_in_w{i}")

    bounds = windows + (1 if trend else 0)
    sets: list[exp.Expression] = [exp.paren(flag(i), copy=False) for i in range(windows)]
    trend_index = windows
    if trend:
        sets.append(exp.Tuple(expressions=[flag(trend_index), _column("w", "_period")]))
    # The first grouping set whose flag is grouped (GROUPING(x) = 0) names the row's set.
    which = exp.Case()
    for i in range(windows):
        which = which.when(exp.EQ(this=exp.func("GROUPING", flag(i)), expression=exp.Literal.number(0)),
                           exp.Literal.number(i))
    which = which.else_(exp.Literal.number(TREND_SET))
    # A row of a set counts only for the group whose flag is true.
    keep = exp.or_(*(exp.and_(exp.EQ(this=exp.func("GROUPING", flag(i)), expression=exp.Literal.number(0)),
                              flag(i)) for i in range(bounds)), copy=False)
    projections: list[exp.Expression] = [exp.alias_(which, WINDOW_SET)]
    if trend:
        projections.append(exp.alias_(_column("w", "_period"), "period"))
    projections += [a.transform(lambda node: _column("w", node.name)
                                if isinstance(node, exp.Column) and node.table == "m" else node)
                    for a in _aggregates(defn)]
    order: list[exp.Expression] = [exp.column(WINDOW_SET)]
    if trend:
        order.append(exp.Ordered(this=exp.column("period"), nulls_first=False))
    return (exp.select(*projections, copy=False)
            .from_(inner.subquery("w", copy=False), copy=False)
            .group_by(exp.GroupingSets(expressions=sets), copy=False)
            .having(keep, copy=False)
            .order_by(*order, copy=False)
            .limit(row_cap + windows + 1, copy=False))


# Kinds whose value over a window can be put together from partial aggregates of its parts:
# (partial aggregates over the metric's rows, final aggregates over the partials). A median
# cannot, so it keeps GROUPING SETS.
_PARTIALS: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "ratio": ({"_num": "SUM(CAST(w.numerator AS DOUBLE))",
               "_den": "SUM(CAST(w.denominator AS DOUBLE))"},
              {"value": "SUM(c._num) / NULLIF(SUM(c._den), 0)", "numerator": "SUM(c._num)",
               "denominator": "SUM(c._den)"}),
    "count": ({"_n": "COUNT(w.value)"}, {"value": "COALESCE(SUM(c._n), 0)"}),
    "sum": ({"_s": "SUM(CAST(w.value AS DOUBLE))"}, {"value": "SUM(c._s)"}),
    "average": ({"_s": "SUM(CAST(w.value AS DOUBLE))", "_n": "COUNT(w.value)"},
                {"value": "SUM(c._s) / NULLIF(SUM(c._n), 0)"}),
}


Slot = tuple[str, str]  # (kind, suffix of its columns) of one metric in a windowed query


def _window_columns(slots: Sequence[Slot], trend: bool) -> tuple[str, ...]:
    return (WINDOW_SET, *(["period"] if trend else []),
            *(f"{name}{suffix}" for kind, suffix in slots for name in _PARTIALS[kind][1]))


def _compiled_partials(slots: Sequence[Slot], inner: exp.Select, unsplit: list[str],
                       request: QueryRequest, windows: tuple, trend: tuple | None, row_cap: int,
                       as_of: dt.datetime) -> CompiledQuery:
    select = _windows_from_partials(slots, inner, len(windows), bool(trend), row_cap)
    params = {**request_params(request, as_of), **window_params(windows, trend)}
    return _compiled(select, params, _window_columns(slots, bool(trend)), tuple(unsplit))


def _windows_from_partials(slots: Sequence[Slot], inner: exp.Select, windows: int, trend: bool,
                           row_cap: int) -> exp.Query:
    """The windowed query for additive kinds: one GROUP BY of the rows into a few cells
    (which windows a row is in, and its trend period), then each window's total and the
    trend's periods summed from the cells. A single small hash aggregate over the rows, where
    GROUPING SETS would feed every row to one aggregate per set. Each slot is one metric
    whose columns (value, numerator, ...) carry the slot's suffix."""
    flags = [f"w._in_w{i}" for i in range(windows + (1 if trend else 0))]
    keys = flags + (["w._period"] if trend else [])
    partials, final = [], []
    for kind, suffix in slots:
        parts, finals = _PARTIALS[kind]
        for name, expr in parts.items():
            partials.append(f"{_suffixed(expr, suffix, 'w')} AS {name}{suffix}")
        for name, expr in finals.items():
            final.append(f"{_suffixed(expr, suffix, 'c')} AS {name}{suffix}")
    cells = exp.select(*keys, *partials, dialect=DIALECT).from_(
        inner.subquery("w", copy=False), copy=False)
    cells = cells.group_by(*keys, dialect=DIALECT, copy=False)
    branches: list[exp.Select] = []
    for i in range(windows):
        period = ["CAST(NULL AS DATE) AS period"] if trend else []
        branches.append(exp.select(f"{i} AS {WINDOW_SET}", *period, *final, dialect=DIALECT)
                        .from_("cells c").where(f"c._in_w{i}", dialect=DIALECT))
    if trend:
        branches.append(exp.select(f"{TREND_SET} AS {WINDOW_SET}", "c._period AS period", *final,
                                   dialect=DIALECT)
                        .from_("cells c").where(f"c._in_w{windows}", dialect=DIALECT)
                        .group_by("c._period", dialect=DIALECT))
    union: exp.Query = branches[0]
    for branch in branches[1:]:
        union = exp.union(union, branch, distinct=False, dialect=DIALECT)
    order = [WINDOW_SET] + (["period NULLS LAST"] if trend else [])
    outer = (exp.select("*").from_(union.subquery("u", copy=False), copy=False)
             .order_by(*order, dialect=DIALECT).limit(row_cap + windows + 1))
    return outer.with_("cells", as_=cells, copy=False)


def _suffixed(expression: str, suffix: str, table: str) -> str:
    """An aggregate of _PARTIALS with its table's columns renamed to carry `suffix`."""
    def rename(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and node.table == table:
            return _column(table, f"{node.name}{suffix}")
        return node
    return exp.maybe_parse(expression, dialect=DIALECT).transform(rename).sql(DIALECT)


# -- several metrics in one scan ---------------------------------------------------------------

_VALUE_COLUMNS = ("value", "numerator", "denominator")
# Clauses that make a metric's SELECT more than "some columns of the rows of one table".
_NOT_PLAIN = ("with", "joins", "laterals", "group", "having", "qualify", "distinct", "order",
              "limit", "offset", "windows")


def batch_suffix(i: int) -> str:
    return f"__{i}"


def batch_key(defn: MetricDefinition, metric_query: exp.Query) -> tuple[str, str, str] | None:
    """Metrics with equal keys read exactly the same rows and can share one scan: additive
    kinds whose SELECT is a plain projection of one FROM with the same WHERE and anchor.
    None for a metric that cannot be batched."""
    query = metric_query
    if (defn.kind not in _PARTIALS or not isinstance(query, exp.Select)
            or any(query.args.get(k) for k in _NOT_PLAIN) or query.args.get("from_") is None
            or any(p.find(exp.AggFunc, exp.Window, exp.Subquery, exp.Star)
                   for p in query.expressions)):
        return None
    where = query.args.get("where")
    return (defn.anchor.lower(), query.args["from_"].sql(DIALECT),
            where.sql(DIALECT) if where else "")


def merge_metric_queries(queries: Sequence[exp.Select]) -> exp.Select | None:
    """One SELECT of several batchable metrics with equal batch keys: their shared columns
    once, and the value columns of the i-th metric suffixed with batch_suffix(i). None when
    two of them give a shared column different expressions."""
    shared: dict[str, exp.Expression] = {}
    values: list[exp.Expression] = []
    for i, query in enumerate(queries):
        for projection in query.expressions:
            name = projection.alias_or_name.lower()
            if name in _VALUE_COLUMNS:
                values.append(exp.alias_(projection.unalias().copy(),
                                         f"{name}{batch_suffix(i)}"))
            elif name in shared:
                if shared[name].unalias().sql(DIALECT) != projection.unalias().sql(DIALECT):
                    return None
            else:
                shared[name] = projection.copy()
    merged = queries[0].copy()
    merged.set("expressions", [*shared.values(), *values])
    return merged


def compile_window_batch(defs: Sequence[MetricDefinition], merged_query: exp.Select,
                         request: QueryRequest, *,
                         windows: tuple[tuple[dt.datetime | None, dt.datetime | None], ...],
                         trend: tuple[dt.datetime | None, dt.datetime | None] | None,
                         metric_columns: list[str], lead_columns: Mapping[str, str],
                         row_cap: int, as_of: dt.datetime,
                         lead_copies: Mapping[str, frozenset[str]] | None = None
                         ) -> CompiledQuery:
    """compile_windows for several metrics merged by merge_metric_queries: one scan, one row
    per window and trend period, and for the i-th metric its columns suffixed with
    batch_suffix(i)."""
    inner, unsplit = _window_rows(defs[0], merged_query, request, windows, trend,
                                  metric_columns, lead_columns, lead_copies)
    slots = [(d.kind, batch_suffix(i)) for i, d in enumerate(defs)]
    return _compiled_partials(slots, inner, unsplit, request, windows, trend, row_cap, as_of)


# -- lead dimensions without the join ----------------------------------------------------------

_CARRIED_PREFIX = "_lead_"


def _carried_alias(column: str) -> str:
    return f"{_CARRIED_PREFIX}{column}"


def _branches(query: exp.Query) -> list[exp.Select] | None:
    """The SELECTs whose rows make up the metric: one, or each side of a UNION ALL tree.

    None when the query has another shape (UNION without ALL, INTERSECT, a parenthesised
    branch...), in which case lead dimensions are joined.
    """
    if isinstance(query, exp.Select):
        return [query]
    if isinstance(query, exp.Union) and not query.args.get("distinct"):
        left, right = _branches(query.this), _branches(query.expression)
        if left is not None and right is not None:
            return left + right
    return None


def _lead_is_null(select: exp.Select) -> bool:
    """The branch's lead_id is the NULL literal: rows with no lead (a campaign's cost)."""
    for projection in select.expressions:
        if projection.alias_or_name.lower() == "lead_id":
            value = projection.unalias()
            while isinstance(value, exp.Cast):
                value = value.this
            return isinstance(value, exp.Null)
    return False


def _branch_table(select: exp.Select) -> exp.Table | None:
    """The one table a plain row-per-entity SELECT reads, or None for any other shape."""
    source = select.args.get("from") or select.args.get("from_")
    if (source is None or select.args.get("joins") or select.args.get("group")
            or select.args.get("having") or select.args.get("distinct")
            or any(p.find(exp.AggFunc) for p in select.expressions)):
        return None
    table = source.this
    return table if isinstance(table, exp.Table) and isinstance(table.this, exp.Identifier) else None


def _carried_lead_columns(query: exp.Query, lead_copies: Mapping[str, frozenset[str]],
                          metric_cols: set[str]) -> frozenset[str]:
    """Lead columns that every branch of the metric can project itself, without the join."""
    branches = _branches(query) if lead_copies and not query.find(exp.CTE) else None
    if not branches:
        return frozenset()
    carried: frozenset[str] | None = None
    for select in branches:
        if _lead_is_null(select):
            continue  # no lead, no lead dimension: it projects NULL
        table = _branch_table(select)
        if table is None:
            return frozenset()
        columns = lead_copies.get(table.name.lower(), frozenset())
        carried = columns if carried is None else carried & columns
    return frozenset(c for c in (carried or ()) if _carried_alias(c) not in metric_cols)


def _with_carried_columns(query: exp.Query, columns: list[str]) -> exp.Query:
    """A copy of the metric with the lead columns added to the end of every branch's SELECT."""
    query = query.copy()
    for select in _branches(query) or []:
        null_lead = _lead_is_null(select)
        table = None if null_lead else _branch_table(select)
        for column in columns:
            value = (exp.Null() if table is None
                     else exp.column(column, table=table.alias_or_name))
            select.select(exp.alias_(value, _carried_alias(column)), copy=False)
    return query


# -- answered from the per-day rollup (metrics.metric_rollup) ----------------------------------

# The kinds whose value over a period is a function of per-day sums: a median is not.
ROLLUP_KINDS = ("ratio", "count", "sum", "average")


def _rollup_partials(defn: MetricDefinition) -> list[exp.Expression]:
    """Per-day partial aggregates `n` and `d` from which the period's value is exact."""
    def as_double(name: str) -> exp.Expression:
        return exp.cast(_column("m", name), "DOUBLE")

    count = exp.cast(exp.func("COUNT", _column("m", "value")), "DOUBLE")
    n, d = {
        "ratio": (exp.func("SUM", as_double("numerator")), exp.func("SUM", as_double("denominator"))),
        "count": (count, exp.cast(exp.Null(), "DOUBLE")),
        "sum": (exp.func("SUM", as_double("value")), exp.cast(exp.Null(), "DOUBLE")),
        "average": (exp.func("SUM", as_double("value")), count.copy()),
    }[defn.kind]
    return [exp.alias_(n, "n"), exp.alias_(d, "d")]


def compile_day_rollup(defn: MetricDefinition, metric_query: exp.Query, *,
                       metric_columns: list[str], lead_columns: Mapping[str, str],
                       dimensions: Sequence[str],
                       lead_copies: Mapping[str, frozenset[str]] | None = None
                       ) -> tuple[exp.Select, tuple[str, ...]] | None:
    """The SELECT of one metric's rows per anchor day and per value of `dimensions`
    (columns day, lead_key, the dimensions as text, n, d), and which dimensions are read from
    the lead (a filter on them lets rows without a lead through, as compile_metric's do).

    `lead_key` is NULL exactly for the rows with no lead. The dimensions are resolved by the
    same `_Source` as compile_metric, so a filter on the rollup selects the same rows. None
    when the kind cannot be rolled up or a dimension is not one of the metric's.
    """
    if defn.kind not in ROLLUP_KINDS:
        return None
    source = _source(defn, metric_query, metric_columns, lead_columns, lead_copies)
    anchor = _column("m", defn.anchor)
    day = exp.cast(anchor.copy(), "DATE")
    projections: list[exp.Expression] = [exp.alias_(day, "day")]
    has_lead = "lead_id" in source.metric_cols
    lead_key = (exp.Case().when(exp.Is(this=_column("m", "lead_id"), expression=exp.Null()),
                                exp.Null()).else_(exp.Literal.number(1))
                if has_lead else exp.Literal.number(1))
    projections.append(exp.alias_(exp.cast(lead_key, "INTEGER"), "lead_key"))
    from_lead: list[str] = []
    for name in dimensions:
        try:
            expression, is_lead = source.dimension(name)
        except QueryError:
            return None
        if is_lead:
            from_lead.append(name)
        projections.append(exp.alias_(exp.cast(expression, "VARCHAR"), name))
    projections.extend(_rollup_partials(defn))
    select = source.select(projections, [exp.Not(this=exp.Is(this=anchor.copy(),
                                                              expression=exp.Null()))])
    group = [exp.Literal.number(i + 1) for i in range(2 + len(dimensions))]
    return select.group_by(*group, copy=False), tuple(from_lead)


def day_rollup_fits(defn: MetricDefinition, request: QueryRequest,
                    dimensions: Sequence[str]) -> bool:
    """Whether per-day sums over `dimensions` answer `request` exactly: a kind made of sums,
    bounds on whole days, and filters and breakdown on kept dimensions only."""
    if defn.kind not in ROLLUP_KINDS or any(
            bound is not None and (bound.tzinfo is not None or bound.time() != dt.time(0))
            for bound in (request.start, request.end)):
        return False
    return not ((request.by and request.by.lower() not in dimensions)
                or any(dim not in dimensions for dim in request.where.dimensions))


def compile_from_day_rollup(defn: MetricDefinition, table: str, definition_key: str,
                            lead_dimensions: frozenset[str], request: QueryRequest, *,
                            dimensions: Sequence[str], row_cap: int,
                            as_of: dt.datetime) -> CompiledQuery | None:
    """compile_metric's query for `request`, reading the metric's per-day rollup rows in
    `table`; None when the rollup cannot answer exactly (a bound inside a day, a filter or a
    breakdown on a dimension it does not keep)."""
    if not day_rollup_fits(defn, request, dimensions):
        return None
    day = _column("r", "day")
    conditions: list[exp.Expression] = [
        exp.EQ(this=_column("r", "definition_key"), expression=exp.Literal.string(definition_key))]
    if request.start:
        conditions.append(exp.GTE(this=day.copy(), expression=exp.Placeholder(this="start")))
    if request.end:
        conditions.append(exp.LT(this=day.copy(), expression=exp.Placeholder(this="end")))
    unsplit: tuple[str, ...] = ()
    if request.where:
        def resolve(name: str) -> FilterColumn:
            if name in lead_dimensions:
                return FilterColumn(_column("r", name), "VARCHAR", lead_id=_column("r", "lead_key"))
            return FilterColumn(_column("r", name), sql_type=None)

        condition, _, unsplit = lead_condition(request.where, resolve, prefix=WHERE_PREFIX)
        conditions.append(condition)
    group: list[exp.Expression] = []
    projections: list[exp.Expression] = []
    columns: list[str] = []
    if request.grain != "total":
        period = _period(request.grain, day.copy())
        projections.append(exp.alias_(period, "period"))
        group.append(period.copy())
        columns.append("period")
    if request.by:
        by_expr = _column("r", request.by.lower())
        projections.append(exp.alias_(by_expr, request.by.lower()))
        group.append(by_expr.copy())
        columns.append(request.by.lower())
    n, d = exp.func("SUM", _column("r", "n")), exp.func("SUM", _column("r", "d"))
    aggregates = {
        "ratio": [exp.alias_(exp.Div(this=n.copy(), expression=exp.func(
                      "NULLIF", d.copy(), exp.Literal.number(0))), "value"),
                  exp.alias_(n.copy(), "numerator"), exp.alias_(d.copy(), "denominator")],
        "count": [exp.alias_(exp.cast(exp.func("COALESCE", n.copy(), exp.Literal.number(0)),
                                      "BIGINT"), "value")],
        "sum": [exp.alias_(n.copy(), "value")],
        "average": [exp.alias_(exp.Div(this=n.copy(), expression=exp.func(
                        "NULLIF", d.copy(), exp.Literal.number(0))), "value")],
    }[defn.kind]
    projections.extend(aggregates)
    columns.extend(a.alias for a in aggregates)
    select = exp.select(*projections, copy=False).from_(
        exp.to_table(table).as_("r", copy=False), copy=False).where(
        exp.and_(*conditions, copy=False), copy=False)
    if group:
        select = select.group_by(*group, copy=False).order_by(
            *(exp.Ordered(this=g.copy(), nulls_first=False) for g in group), copy=False)
    select = select.limit(row_cap + 1, copy=False)
    return _compiled(select, request_params(request, as_of), tuple(columns), tuple(unsplit))
