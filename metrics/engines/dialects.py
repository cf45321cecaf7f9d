"""Render a composed metric query (a sqlglot AST) for one engine, faithfully or not at all.

sqlglot's generators give the right SQL for most of what the compiler composes; where their
default is wrong for us (a different number, not just other spelling) the AST is rewritten
before it is generated:

- ClickHouse `median` is a sampling estimate above 8,192 rows: an exact median with DuckDB's
  interpolation is `quantileExactInclusive(0.5)` (and `quantile_cont(x, q)` likewise).
- ClickHouse resolves a name in ORDER BY to a source column before a SELECT alias of the same
  name (prefer_column_name_to_alias, which WHERE and aggregates need): an ORDER BY that names
  an alias is given the aliased expression.
- ClickHouse query parameters carry their type (`{start:DateTime64(6, 'UTC')}`: the compiler's
  by name, a page analysis's from the values it binds, see parameter_types); a TIMESTAMP
  is `DateTime64(6, 'UTC')`, not second-precision `DateTime`; TRY_CAST is
  `accurateCastOrNull` (a bad value matches nothing instead of failing the query).
- Spark's second difference truncates the elapsed time (0.2 s across a second boundary is 0);
  DuckDB's `date_diff('second', a, b)` counts the second boundaries crossed (1): on Spark it
  is `unix_seconds(b) - unix_seconds(a)`. Spark divides DECIMAL literals as DECIMAL (rounded to
  6 places): its divisions are made DOUBLE, as DuckDB's are. Spark cannot resolve grouping
  columns in the HAVING of GROUPING SETS: that filter moves to an outer WHERE. A day
  truncation is DATE_TRUNC('DAY', x) (sqlglot's TRUNC(x, 'DAY') is NULL on Spark).
  `quantile_cont(x, q)` is PERCENTILE(x, q) (exact, linearly interpolated as DuckDB's).
- Epoch microseconds (DuckDB `epoch_us(t)` and `make_timestamp(us)`, the SLA clock's
  arithmetic, metrics.engines.sla_clock) pass through sqlglot untranslated or through a double
  of seconds (PostgreSQL `TO_TIMESTAMP(us / 10^6)` loses microseconds): they become each
  engine's exact integer form (PostgreSQL `EXTRACT(EPOCH ...)` is NUMERIC, and an interval of
  microseconds; ClickHouse `toUnixTimestamp64Micro`; Spark `UNIX_MICROS`/`TIMESTAMP_MICROS`).
- PostgreSQL has no TRY_CAST: a filter value that is not a number on a numeric column is an
  error there (sqlglot's CAST), not an empty result.

Functions whose DuckDB meaning has no safe translation (`arg_min`/`arg_max` pick an arbitrary
row on ties, `list(x ORDER BY t)`) raise EngineSQLError rather than render an approximation.

>>> import sqlglot
>>> render(sqlglot.parse_one("SELECT MEDIAN(x) FROM t", read="duckdb"), "clickhouse")
'SELECT quantileExactInclusive(0.5)(x) FROM t'
>>> render(sqlglot.parse_one("SELECT SUM(c.credit) AS credit, k AS key FROM c "
...                          "GROUP BY k ORDER BY credit DESC, key", read="duckdb"), "clickhouse")
'SELECT SUM(c.credit) AS credit, k AS key FROM c GROUP BY k ORDER BY SUM(c.credit) DESC, key'
>>> render(sqlglot.parse_one("SELECT QUANTILE_CONT(x, 0.75) FROM t", read="duckdb"), "spark")
'SELECT PERCENTILE(CAST(x AS DOUBLE), 0.75) FROM t'
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

import sqlglot
from sqlglot import exp

from metrics.errors import QueryError

# The engines whose SQL is rendered here (sqlglot dialect names), and those only snapshotted.
ENGINE_DIALECTS = ("duckdb", "postgres", "clickhouse", "spark")
SNAPSHOT_DIALECTS = (*ENGINE_DIALECTS, "snowflake", "bigquery", "databricks")

# The types of the parameters the compiler binds, by name (ClickHouse declares them in the SQL).
_TIMESTAMP_PARAMETER = re.compile(r"^(as_of|start|end|win\d+_(start|end))$")
# Bound lead-filter values (metrics.selection.parameter_name: <prefix><i>_<j>) are strings.
_FILTER_PARAMETER = re.compile(r"^[a-z]+\d+_\d+$")
CLICKHOUSE_TIMESTAMP = "DateTime64(6, 'UTC')"


class EngineSQLError(QueryError):
    """SQL that cannot be rendered for an engine with the same meaning it has in DuckDB."""


def render(tree: exp.Expression, dialect: str, *, pretty: bool = False,
           types: Mapping[str, str] | None = None) -> str:
    """The SQL of `tree` (built or parsed as DuckDB) for `dialect`, with our overrides.

    `types` are ClickHouse types of parameters the compiler's names do not type (a page
    analysis's $limit, $none…; see parameter_types)."""
    if dialect == "duckdb":
        return tree.sql("duckdb", pretty=pretty)
    _refuse_unfaithful(tree, dialect)
    rewritten = _rewrite_epoch_microseconds(tree.copy(), dialect)
    if dialect == "clickhouse":
        rewritten = _rewrite_for_clickhouse(rewritten, types or {})
    elif dialect in ("spark", "databricks"):
        rewritten = _rewrite_for_spark(rewritten)
    return rewritten.sql(dialect, pretty=pretty)


def _refuse_unfaithful(tree: exp.Expression, dialect: str) -> None:
    for node in tree.find_all(exp.ArgMin, exp.ArgMax, exp.ArrayAgg):
        if isinstance(node, exp.ArrayAgg) and not isinstance(node.this, exp.Order):
            continue
        what = {exp.ArgMin: "arg_min", exp.ArgMax: "arg_max"}.get(type(node), "list(x ORDER BY t)")
        raise EngineSQLError(
            f"{what} has no translation for {dialect} with the same result as in DuckDB "
            f"(`{node.sql('duckdb')}`); rewrite it with MIN/MAX and a join, or run this metric "
            "on DuckDB.")


# Each engine's exact spelling of DuckDB's epoch_us(t) and make_timestamp(us), `__x` the operand.
_EPOCH_MICROSECONDS = {
    "postgres": ("CAST(EXTRACT(EPOCH FROM __x) * 1000000 AS BIGINT)",
                 "CAST('1970-01-01 00:00:00' AS TIMESTAMP) + __x * INTERVAL '1 microsecond'"),
    "clickhouse": ("toUnixTimestamp64Micro(__x)", "fromUnixTimestamp64Micro(__x, 'UTC')"),
    "spark": ("UNIX_MICROS(CAST(__x AS TIMESTAMP_LTZ))",
              "CAST(TIMESTAMP_MICROS(__x) AS TIMESTAMP_NTZ)"),
}
_EPOCH_MICROSECONDS["databricks"] = _EPOCH_MICROSECONDS["spark"]


def _rewrite_epoch_microseconds(tree: exp.Expression, dialect: str) -> exp.Expression:
    to_epoch = [n for n in tree.find_all(exp.Anonymous) if n.name.lower() == "epoch_us"]
    from_epoch = [n for n in tree.find_all(exp.UnixToTime)
                  if n.args.get("scale") is not None and n.args["scale"].name == "6"]
    if not (to_epoch or from_epoch):
        return tree
    if dialect not in _EPOCH_MICROSECONDS:
        raise EngineSQLError(f"epoch microseconds have no exact translation for {dialect} here; "
                             "run the SLA clock on DuckDB, PostgreSQL, ClickHouse or Spark.")
    templates = _EPOCH_MICROSECONDS[dialect]
    for nodes, template, operand in ((to_epoch, templates[0], lambda n: n.expressions[0]),
                                     (from_epoch, templates[1], lambda n: n.this)):
        for node in nodes:
            spelled = sqlglot.parse_one(template, read=dialect)
            spelled.find(exp.Column).replace(exp.paren(operand(node).copy()))
            if node is tree:
                tree = spelled
            else:
                node.replace(spelled)
    return tree


def _seconds_between(node: exp.DateDiff) -> bool:
    unit = node.args.get("unit")
    return unit is not None and unit.name.upper() in ("SECOND", "SECONDS")


def parameter_types(params: Mapping[str, object]) -> dict[str, str]:
    """ClickHouse types of bound parameter values, for render's `types`.

    >>> import datetime as dt
    >>> parameter_types({"limit": 5, "none": "(none)", "at": dt.datetime(2026, 1, 1), "x": None})
    {'limit': 'Int64', 'none': 'String', 'at': "DateTime64(6, 'UTC')", 'x': 'Nullable(String)'}
    """
    return {name: _value_type(value) for name, value in params.items()}


def _value_type(value: object) -> str:
    if value is None:
        return "Nullable(String)"
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, int):
        return "Int64"
    if isinstance(value, float):
        return "Float64"
    if isinstance(value, dt.datetime):
        return CLICKHOUSE_TIMESTAMP
    if isinstance(value, dt.date):
        return "Date32"
    return "String"


def _rewrite_for_clickhouse(tree: exp.Expression, types: Mapping[str, str]) -> exp.Expression:
    for node in list(tree.find_all(exp.TryCast)):
        node.replace(exp.func("accurateCastOrNull", node.this,
                              exp.Literal.string(_clickhouse_type(node.to, nullable=False))))
    for node in list(tree.find_all(exp.DataType)):
        if node.this in _TIMESTAMP_TYPES:
            node.replace(exp.DataType.build(f"Nullable({CLICKHOUSE_TIMESTAMP})", dialect="clickhouse"))
    for node in list(tree.find_all(exp.Placeholder)):
        kind = types.get(node.name) or _clickhouse_parameter_type(node.name)
        node.replace(exp.Var(this=f"{{{node.name}:{kind}}}"))
    for select in tree.find_all(exp.Select):
        _order_by_expressions(select)
    for node in list(tree.find_all(exp.Median)):
        node.replace(_exact_quantile(node.this, exp.Literal.number(0.5)))
    for node in list(tree.find_all(exp.PercentileCont)):
        node.replace(_exact_quantile(node.this, node.expression))
    return tree


def _order_by_expressions(select: exp.Select) -> None:
    """ORDER BY alias -> ORDER BY the aliased expression, in one SELECT, where the alias is
    also a column's name."""
    order = select.args.get("order")
    if order is None:
        return
    # Only aliases that shadow a column of the same name (elsewhere they resolve as DuckDB's).
    columns = {c.name for key, value in select.args.items() if key != "order"
               for node in (value if isinstance(value, list) else [value])
               if isinstance(node, exp.Expression) for c in node.find_all(exp.Column)}
    aliased = {p.alias: p.this for p in select.expressions
               if isinstance(p, exp.Alias) and p.alias in columns}
    for ordered in order.expressions:
        key = ordered.this
        if isinstance(key, exp.Column) and not key.table and key.name in aliased \
                and aliased[key.name] != key:
            ordered.set("this", aliased[key.name].copy())


# DuckDB's TIMESTAMP is naive (sqlglot: TIMESTAMPNTZ); every one becomes a microsecond UTC time.
_TIMESTAMP_TYPES = (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPNTZ,
                    exp.DataType.Type.DATETIME, exp.DataType.Type.DATETIME64)


def _exact_quantile(value: exp.Expression, level: exp.Expression) -> exp.Expression:
    return exp.ParameterizedAgg(this=exp.to_identifier("quantileExactInclusive"),
                                expressions=[level.copy()], params=[value.copy()])


def _clickhouse_type(data_type: exp.DataType, *, nullable: bool = True) -> str:
    inner = (CLICKHOUSE_TIMESTAMP if data_type.this in _TIMESTAMP_TYPES
             else data_type.sql("clickhouse").removeprefix("Nullable(").removesuffix(")")
             if data_type.sql("clickhouse").startswith("Nullable(") else data_type.sql("clickhouse"))
    return f"Nullable({inner})" if nullable else inner


def _clickhouse_parameter_type(name: str) -> str:
    if _TIMESTAMP_PARAMETER.match(name):
        return CLICKHOUSE_TIMESTAMP
    if _FILTER_PARAMETER.match(name):
        return "String"
    raise EngineSQLError(f"the parameter ${name} has no known type, and ClickHouse needs one; "
                         "metric SQL may use $as_of only.")


def _rewrite_for_spark(tree: exp.Expression) -> exp.Expression:
    def unix_seconds(value: exp.Expression) -> exp.Expression:
        return exp.func("UNIX_SECONDS", exp.cast(value.copy(), "TIMESTAMP"))

    for node in list(tree.find_all(exp.DateDiff)):
        if _seconds_between(node):
            node.replace(exp.paren(exp.Sub(this=unix_seconds(node.this),
                                           expression=unix_seconds(node.expression))))
    # sqlglot writes QUANTILE_CONT(x, q) as PERCENTILE_CONT(x, q), which Spark refuses (it
    # takes WITHIN GROUP); Spark's PERCENTILE(x, q) is exact with the same linear interpolation.
    for node in list(tree.find_all(exp.PercentileCont)):
        node.replace(exp.Anonymous(this="PERCENTILE", expressions=[
            exp.cast(node.this.copy(), "DOUBLE"), node.expression.copy()]))
    # sqlglot writes a day truncation as TRUNC(x, 'DAY'), which is NULL on Spark for every row.
    for node in list(tree.find_all(exp.DateTrunc, exp.TimestampTrunc)):
        unit = node.args.get("unit")
        node.replace(exp.Anonymous(this="DATE_TRUNC", expressions=[
            exp.Literal.string(unit.name.upper()), exp.cast(node.this.copy(), "TIMESTAMP")]))
    # DuckDB's `/` divides as DOUBLE; Spark divides a DECIMAL literal (3600.0) as DECIMAL and
    # rounds the quotient to 6 places.
    for node in list(tree.find_all(exp.Div)):
        for side in ("this", "expression"):
            operand = node.args[side]
            if not (isinstance(operand, exp.Cast) and operand.to.this == exp.DataType.Type.DOUBLE):
                node.set(side, exp.cast(operand, "DOUBLE"))
    for select in list(tree.find_all(exp.Select)):
        group = select.args.get("group")
        if select.args.get("having") is not None and group is not None \
                and group.find(exp.GroupingSets):
            filtered = _having_as_outer_filter(select)
            if select is tree:
                tree = filtered
            else:
                select.replace(filtered)
    return tree


def _having_as_outer_filter(select: exp.Select) -> exp.Select:
    """SELECT ... GROUP BY GROUPING SETS ... HAVING c ORDER BY o LIMIT n, as an outer WHERE:
    Spark cannot resolve a grouping column inside HAVING when grouping sets are used."""
    inner = select.copy()
    keep = inner.args["having"].this
    order, limit = inner.args.get("order"), inner.args.get("limit")
    for clause in ("having", "order", "limit"):
        inner.set(clause, None)
    inner.select(exp.alias_(keep, "_keep"), copy=False)
    outer = exp.select(*(exp.column(p.alias_or_name) for p in select.expressions)).from_(
        inner.subquery("_grouped")).where(exp.column("_keep"))
    outer.set("order", order)
    outer.set("limit", limit)
    return outer


def clickhouse_column_type(duckdb_type: str) -> str:
    """A nullable ClickHouse column type for a DuckDB column type (NULL stays NULL, not '')."""
    return _clickhouse_type(exp.DataType.build(duckdb_type, dialect="duckdb"))


def column_type(duckdb_type: str, dialect: str) -> str:
    """The column type in `dialect` for a column of `duckdb_type` (an ENUM is a string)."""
    if duckdb_type.upper().startswith("ENUM"):
        duckdb_type = "VARCHAR"
    if dialect == "clickhouse":
        return clickhouse_column_type(duckdb_type)
    return exp.DataType.build(duckdb_type, dialect="duckdb").sql(dialect)
