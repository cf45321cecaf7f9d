"""Judge staged text rows against the canonical tables, in DuckDB SQL, and split them.

For each canonical table the candidate rows (all text, produced by a mapping) become one
`checked` table: every column converted with TRY_CAST / TRY_STRPTIME and a `_reason` column
computed by one CASE (the first problem found wins). Rows without a reason are inserted into
the canonical table, the others into `quarantine` with their raw source row as JSON. Nothing is
looped over in Python, so a file of any size streams through DuckDB (which spills to disk).

The column types, NOT NULL constraints and primary keys are read from the warehouse being
built (sql/schema.sql and the stage ENUM of sql/model.toml), so the rules cannot drift from the
schema. What the schema cannot say lives here: which tables are mandatory, which amounts
cannot be negative, which tables point at a lead, and which oddities only deserve a warning.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import duckdb
import sqlglot
from sqlglot import exp

from metrics.build import CANONICAL_TABLES
from metrics.errors import WarehouseError

# Load order: a lead must be loaded before anything that points at it.
LOAD_ORDER = ("campaigns", "reps", "leads", "lead_events", "touches", "opportunities")
MANDATORY_TABLES = ("leads", "lead_events")
NON_NEGATIVE = {("opportunities", "amount"), ("campaigns", "cost")}
LEAD_REFERENCES = ("lead_events", "touches", "opportunities")
# Odd but possible rows: loaded, and counted in the report as warnings (condition on `checked`).
WARNINGS: tuple[tuple[str, str, str], ...] = (
    ("lead_events", "occurred_at before its lead's created_at", "occurred_at < _lead_created_at"),
    ("touches", "occurred_at before its lead's created_at", "occurred_at < _lead_created_at"),
    ("opportunities", "created_at before its lead's created_at", "created_at < _lead_created_at"),
    ("opportunities", "closed_at before created_at", "closed_at < created_at"),
    ("opportunities", "won or lost without closed_at",
     "status IN ('won', 'lost') AND closed_at IS NULL"),
    ("opportunities", "closed_at on an open opportunity",
     "status = 'open' AND closed_at IS NOT NULL"),
    ("campaigns", "ended_on before started_on", "ended_on < started_on"),
)
# The earliest plausible date: anything before is a placeholder or a two-digit year that a
# format read as 00xx.
EARLIEST = "1900-01-01"
# Times after the load time (plus this tolerance, for clocks and zones) have not happened yet;
# campaign dates may be planned ahead, up to this many years.
FUTURE_TOLERANCE_DAYS = 1
PLANNED_YEARS = 5
# Magnitudes no real amount or score reaches: a unit or export error, kept out of every sum.
IMPLAUSIBLE_ABOVE = {("opportunities", "amount"): 1e12, ("campaigns", "cost"): 1e12,
                     ("leads", "lead_score"): 1e6}
# Bound parameters of the plausibility checks (see `limits`).
LIMIT_PARAMETERS = ("not_after", "dates_not_after")
# Columns the candidate and checked tables carry besides the canonical ones: which mapping
# entry and source file a row came from, its row number in that file, and its position among
# the rows one source row produced (an unpivot makes several).
ORIGIN_COLUMNS = ("_entry", "_src", "_row", "_part")
# Rows per INSERT into a canonical table (see insert_loaded).
INSERT_BATCH_ROWS = 2_000_000

assert sorted(LOAD_ORDER) == sorted(CANONICAL_TABLES)

_DATE_ONLY = r"\d{4}-\d{1,2}-\d{1,2}"
# A time followed by a zone: Z, an offset, or a zone name. AM/PM match too; they are told apart
# by TIMESTAMPTZ refusing them, so such values fall through to the mapping's formats.
_HAS_ZONE = r"\d:\d{2}(?::\d{2}(?:[.,]\d*)?)?\s*(?:[zZ]|[+-]\d|[A-Za-z]{2,})\S*\s*$"
# Executes one statement with its parameters (and reports progress while it runs).
Runner = Callable[[str, "dict[str, object] | None"], None]
_TIME_DIRECTIVES = ("%H", "%I", "%M", "%S", "%X", "%c", "%T", "%R", "%p")
_ZONE_DIRECTIVES = ("%z", "%Z")


@dataclass(frozen=True)
class CanonicalColumn:
    name: str
    data_type: str
    required: bool


@dataclass(frozen=True)
class CanonicalTable:
    """A canonical table as the warehouse schema defines it."""

    name: str
    columns: tuple[CanonicalColumn, ...]
    key: str | None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def mandatory(self) -> bool:
        return self.name in MANDATORY_TABLES


def canonical_tables(con: duckdb.DuckDBPyConnection) -> dict[str, CanonicalTable]:
    """{table: CanonicalTable} in load order, read from the schema of the connected warehouse."""
    rows = con.execute("""
        SELECT table_name, column_name, data_type, is_nullable = 'NO'
        FROM information_schema.columns
        WHERE table_schema = 'main' AND table_catalog = current_database()
        ORDER BY table_name, ordinal_position
    """).fetchall()
    keys = dict(con.execute("""
        SELECT table_name, constraint_column_names[1] FROM duckdb_constraints()
        WHERE constraint_type = 'PRIMARY KEY' AND schema_name = 'main'
          AND database_name = current_database()
    """).fetchall())
    columns: dict[str, list[CanonicalColumn]] = {}
    for table, column, data_type, not_null in rows:
        if table in CANONICAL_TABLES:
            required = bool(not_null) or keys.get(table) == column
            columns.setdefault(table, []).append(CanonicalColumn(column, data_type, required))
    missing = [t for t in LOAD_ORDER if t not in columns]
    if missing:
        raise WarehouseError(f"the warehouse schema lacks the canonical tables {missing}.")
    return {t: CanonicalTable(t, tuple(columns[t]), keys.get(t)) for t in LOAD_ORDER}


def limits(load_time: dt.datetime) -> dict[str, object]:
    """The bound values of the plausibility checks for a load at `load_time` (naive UTC)."""
    return {"not_after": load_time + dt.timedelta(days=FUTURE_TOLERANCE_DAYS),
            "dates_not_after": (load_time + dt.timedelta(days=365 * PLANNED_YEARS)).date()}


# Pseudo formats of timestamp_formats: epoch milliseconds / seconds (HubSpot's v1 API).
EPOCH_FORMATS = {"epoch_ms": ("epoch_ms", r"\d{11,14}"), "epoch_s": ("to_timestamp", r"\d{9,10}")}


def split_formats(formats: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    """(formats with a zone, formats with a time, date-only formats), each kept in order."""
    formats = [f for f in formats if f not in EPOCH_FORMATS]
    zoned = tuple(f for f in formats if any(d in f for d in _ZONE_DIRECTIVES))
    timed = tuple(f for f in formats if f not in zoned and any(d in f for d in _TIME_DIRECTIVES))
    dated = tuple(f for f in formats if f not in zoned and f not in timed)
    return zoned, timed, dated


def timestamp_expr(value: exp.Expression, formats: Sequence[str] = ()) -> exp.Expression:
    """SQL turning text into a naive UTC TIMESTAMP, or NULL when it cannot be read.

    A date alone is midnight UTC; a time with a zone or offset is converted to UTC; a time
    without one is local time in the zone bound as `$timezone`. ISO-8601 first, then the
    mapping's strptime `formats`; the pseudo formats `epoch_ms` and `epoch_s` read a number of
    milliseconds or seconds since 1970 (UTC).

    >>> timestamp_expr(exp.column("v")).sql("duckdb")[:30]
    'CASE WHEN REGEXP_FULL_MATCH(v,'
    """
    def utc(e: exp.Expression) -> exp.Expression:
        return exp.func("timezone", exp.Literal.string("UTC"), e)

    def local(e: exp.Expression) -> exp.Expression:
        return utc(exp.func("timezone", exp.Placeholder(this="timezone"), e))

    def try_cast(to: str) -> exp.Expression:
        return exp.TryCast(this=value.copy(), to=exp.DataType.build(to))

    def strptime(fmts: tuple[str, ...]) -> exp.Expression:
        return exp.func("try_strptime", value.copy(),
                        exp.Array(expressions=[exp.Literal.string(f) for f in fmts]))

    has_zone = exp.func("regexp_matches", value.copy(), exp.Literal.string(_HAS_ZONE))
    zoned, timed, dated = split_formats(formats)
    # A value with a zone never goes through the plain TIMESTAMP cast: it would drop the zone.
    fallbacks: list[exp.Expression] = [
        exp.Case().when(exp.Not(this=has_zone.copy()), local(try_cast("TIMESTAMP")))]
    if zoned:
        fallbacks.append(utc(strptime(zoned)))
    if timed:
        fallbacks.append(local(strptime(timed)))
    if dated:
        fallbacks.append(strptime(dated))
    case = exp.Case()
    for name in (f for f in formats if f in EPOCH_FORMATS):
        function, digits = EPOCH_FORMATS[name]
        number = exp.TryCast(this=value.copy(), to=exp.DataType.build("BIGINT"))
        converted = exp.func(function, number)
        if function == "to_timestamp":
            converted = utc(converted)
        case = case.when(exp.func("regexp_full_match", value.copy(), exp.Literal.string(digits)),
                         converted)
    return (
        case
        .when(exp.func("regexp_full_match", value.copy(), exp.Literal.string(_DATE_ONLY)),
              try_cast("TIMESTAMP"))
        .when(exp.and_(has_zone, try_cast("TIMESTAMPTZ").is_(exp.null()).not_()),
              utc(try_cast("TIMESTAMPTZ")))
        .else_(exp.Coalesce(this=fallbacks[0], expressions=fallbacks[1:]))
    )


def typed_expr(value: exp.Expression, column: CanonicalColumn,
               formats: Sequence[str]) -> exp.Expression:
    """SQL converting a text value to the column's type; NULL when it does not convert."""
    data_type = column.data_type.upper()
    if data_type == "VARCHAR":
        return value
    if data_type == "TIMESTAMP":
        return timestamp_expr(value, formats)
    if data_type == "DATE":
        return (exp.Case()
                .when(exp.func("regexp_full_match", value.copy(), exp.Literal.string(_DATE_ONLY)),
                      exp.TryCast(this=value.copy(), to=exp.DataType.build("DATE")))
                .else_(exp.cast(timestamp_expr(value, formats), "DATE")))
    if data_type.startswith("ENUM"):
        # Canonical values are lower case; exports often capitalise them.
        return exp.TryCast(this=exp.func("lower", value),
                           to=exp.DataType.build(column.data_type, dialect="duckdb"))
    target = exp.DataType.build(column.data_type, dialect="duckdb")
    converted = exp.TryCast(this=value, to=target)
    if target.is_type(*exp.DataType.REAL_TYPES):
        # 'nan' and 'inf' parse as doubles but are not amounts anyone meant.
        return exp.Case().when(exp.func("isfinite", converted.copy()), converted)
    return converted


def _reason_of(table: CanonicalTable, raw: dict[str, str]) -> exp.Case:
    """The CASE naming a row's first problem, before duplicates are looked at."""
    case = exp.Case()
    for column in table.columns:
        if column.required:
            case = case.when(exp.column(raw[column.name]).is_(exp.null()),
                             exp.Literal.string(f"missing {column.name}"))
    for column in table.columns:
        if column.data_type.upper() == "VARCHAR":
            continue
        label = (f"unknown {column.name} value" if column.data_type.upper().startswith("ENUM")
                 else f"unparseable {column.name}")
        case = case.when(
            exp.and_(exp.column(raw[column.name]).is_(exp.null()).not_(),
                     exp.column(column.name, quoted=True).is_(exp.null())),
            exp.Literal.string(label))
    for column in table.columns:
        typed = exp.column(column.name, quoted=True)
        data_type = column.data_type.upper()
        if data_type in ("TIMESTAMP", "DATE"):
            case = case.when(typed < exp.cast(exp.Literal.string(EARLIEST), data_type),
                             exp.Literal.string(f"{column.name} before 1900 (a two-digit year? "
                                                "declare a %y format)"))
            if data_type == "TIMESTAMP":
                case = case.when(typed > exp.Placeholder(this="not_after"), exp.Literal.string(
                    f"{column.name} in the future (after the load time)"))
            else:
                case = case.when(typed > exp.Placeholder(this="dates_not_after"),
                                 exp.Literal.string(f"{column.name} more than {PLANNED_YEARS} "
                                                    "years ahead"))
        bound = IMPLAUSIBLE_ABOVE.get((table.name, column.name))
        if bound is not None:
            case = case.when(exp.func("abs", typed) >= bound, exp.Literal.string(
                f"implausible {column.name} ({bound:,.0f} or more)"))
    for column in table.columns:
        if (table.name, column.name) in NON_NEGATIVE:
            case = case.when(exp.column(column.name, quoted=True) < 0,
                             exp.Literal.string(f"negative {column.name}"))
    if table.name in LEAD_REFERENCES:
        case = case.when(exp.and_(exp.column("_lead_known").not_(), exp.column("_lead_quarantined")),
                         exp.Literal.string(UNKNOWN_LEAD_QUARANTINED))
        case = case.when(exp.column("_lead_known").not_(), exp.Literal.string(UNKNOWN_LEAD_ABSENT))
    return case


# The two causes of an unknown lead_id, told apart so a user knows where to look.
UNKNOWN_LEAD_QUARANTINED = "unknown lead_id: its lead is quarantined"
UNKNOWN_LEAD_ABSENT = "unknown lead_id: no lead has this id"


def raw_column(name: str) -> str:
    """The checked table's copy of a column's text as the mapping produced it (enum columns)."""
    return f"_raw_{name}"


def check_table(table: CanonicalTable, candidates: exp.Query,
                checked: exp.Table, formats: Sequence[str], run: Runner,
                quarantined_leads: exp.Table | None = None) -> None:
    """Create `checked`: candidate rows (a query) converted to the table's types, plus
    `_reason` (NULL = ok).

    `run(sql, params)` executes a statement (with progress); the plausibility limits are bound
    as the parameters of LIMIT_PARAMETERS. Among rows that are otherwise valid, the first
    occurrence of a key (in mapping-entry, file-row order) is kept and later ones are
    duplicates, so a reload picks the same row. `quarantined_leads` (one `lead_id` column)
    tells an unknown lead_id whose lead was quarantined from one no lead has.
    """
    raw = {c.name: f"_raw{i}" for i, c in enumerate(table.columns)}
    select = exp.select(*(exp.column(c, "c") for c in ORIGIN_COLUMNS))
    for column in table.columns:
        value = exp.column(column.name, "c", quoted=True)
        select = select.select(value.copy().as_(raw[column.name]),
                               typed_expr(value, column, formats).as_(column.name, quoted=True))
    select = select.from_(candidates.subquery("c"))
    if table.name in LEAD_REFERENCES:
        select = select.select(exp.column("created_at", "l").as_("_lead_created_at"),
                               exp.column("lead_id", "l").is_(exp.null()).not_().as_("_lead_known"))
        select = select.join(exp.table_("leads", db="main").as_("l"), join_type="left",
                             on=exp.column("lead_id", "l").eq(exp.column("lead_id", "c")))
        if quarantined_leads is not None:
            select = select.select(
                exp.column("lead_id", "ql").is_(exp.null()).not_().as_("_lead_quarantined"))
            select = select.join(quarantined_leads.copy().as_("ql"), join_type="left",
                                 on=exp.column("lead_id", "ql").eq(exp.column("lead_id", "c")))
        else:
            select = select.select(exp.false().as_("_lead_quarantined"))
    judged = exp.select("*", _reason_of(table, raw).as_("_pre")).from_(select.subquery("t"))
    passthrough = [exp.column(c) for c in ORIGIN_COLUMNS]
    passthrough += [exp.column(c, quoted=True) for c in table.column_names]
    if table.name in LEAD_REFERENCES:
        passthrough.append(exp.column("_lead_created_at"))
    passthrough += [exp.column(raw[c.name]).as_(raw_column(c.name)) for c in table.columns
                    if c.data_type.upper().startswith("ENUM")]
    reason: exp.Expression = exp.column("_pre")
    if table.key:
        first = exp.Window(
            this=exp.RowNumber(),
            partition_by=[exp.column(table.key, quoted=True), exp.column("_pre").is_(exp.null())],
            order=exp.Order(expressions=[exp.column(c) for c in ("_entry", "_row", "_part")]))
        reason = (exp.Case()
                  .when(exp.and_(exp.column("_pre").is_(exp.null()), first > 1),
                        exp.Literal.string(f"duplicate {table.key}"))
                  .else_(exp.column("_pre")))
    # Sorted, so the checked table's rowid follows the source files and the batched insert
    # loads rows in the same order on every run.
    final = (exp.select(*passthrough, reason.as_("_reason")).from_(judged.subquery("j"))
             .order_by(*(exp.column(c) for c in ("_entry", "_row", "_part"))))
    run(exp.Create(this=checked, kind="TABLE", expression=final).sql("duckdb"), None)


def insert_loaded(table: CanonicalTable, checked: exp.Table, rows: int, run: Runner) -> None:
    """Insert the rows without a reason into the canonical table, in source order.

    In batches: DuckDB keeps a primary-key index in memory until the insert commits, so one
    50-million-row INSERT would need gigabytes of memory where batches need a bounded amount.
    """
    columns = [exp.column(c, quoted=True) for c in table.column_names]
    for low in range(0, max(rows, 1), INSERT_BATCH_ROWS):
        select = (exp.select(*(c.copy() for c in columns))
                  .from_(checked.copy())
                  .where(exp.and_(exp.column("_reason").is_(exp.null()),
                                  exp.column("rowid") >= low,
                                  exp.column("rowid") < low + INSERT_BATCH_ROWS)))
        run(exp.insert(select, exp.table_(table.name, db="main"),
                       columns=[exp.to_identifier(c, quoted=True) for c in table.column_names]
                       ).sql("duckdb"), None)


def insert_quarantined(con: duckdb.DuckDBPyConnection, table: CanonicalTable,
                       checked: exp.Table, source_index: int, staged: exp.Table,
                       file_name: str, json_keys: Sequence[str]) -> None:
    """Copy the rejected rows that came from one source file into `quarantine`, raw row as JSON."""
    raw_row = exp.func("json_object", *(
        part for i, key in enumerate(json_keys)
        for part in (exp.Literal.string(key), exp.column(f"c{i + 1}", "s"))))
    select = (exp.select(exp.Placeholder(this="table_name"), exp.Placeholder(this="file"),
                         exp.column("_row", "q"), exp.column("_reason", "q"),
                         exp.cast(raw_row, "VARCHAR"))
              .from_(checked.copy().as_("q"))
              .join(staged.copy().as_("s"),
                    on=exp.column("rowid", "s").eq(exp.column("_row", "q") - 1))
              .where(exp.and_(exp.column("_src", "q").eq(source_index),
                              exp.column("_reason", "q").is_(exp.null()).not_()))
              .order_by(exp.column("_row", "q"), exp.column("_part", "q"),
                        exp.column("_entry", "q")))
    con.execute(exp.insert(select, exp.table_("quarantine", db="main"),
                           columns=["table_name", "file", "row_number", "reason", "raw"]
                           ).sql("duckdb"),
                {"table_name": table.name, "file": file_name})


def reason_counts(con: duckdb.DuckDBPyConnection, checked: exp.Table) -> dict[str | None, int]:
    """{reason (None = loaded): rows} of a checked table."""
    select = (exp.select("_reason", "count(*)").from_(checked.copy()).group_by("_reason"))
    return dict(con.execute(select.sql("duckdb")).fetchall())


def quarantined_lead_ids(con: duckdb.DuckDBPyConnection, checked: exp.Table,
                         target: exp.Table) -> None:
    """Create `target`: the distinct lead ids of quarantined leads that did not load at all."""
    select = (exp.select("lead_id").distinct().from_(checked.copy().as_("q"))
              .where(exp.and_(exp.column("_reason").is_(exp.null()).not_(),
                              exp.column("lead_id").is_(exp.null()).not_(),
                              exp.Not(this=exp.Exists(this=exp.select("1").from_(
                                  exp.table_("leads", db="main").as_("l")).where(
                                  exp.column("lead_id", "l").eq(exp.column("lead_id", "q"))))))))
    con.execute(exp.Create(this=target, kind="TABLE", expression=select).sql("duckdb"))


def unknown_values(con: duckdb.DuckDBPyConnection, table: CanonicalTable, checked: exp.Table,
                   limit: int = 10) -> list[tuple[str, str, int]]:
    """[(column, value, rows)]: the most frequent values of enum columns that were not known
    (a CRM status the mapping does not list), so the report can name what to add."""
    found: list[tuple[str, str, int]] = []
    for column in table.columns:
        if not column.data_type.upper().startswith("ENUM"):
            continue
        raw = exp.column(raw_column(column.name))
        select = (exp.select(raw.copy(), "count(*)").from_(checked.copy())
                  .where(exp.column("_reason").eq(exp.Literal.string(
                      f"unknown {column.name} value")))
                  .group_by(raw.copy()).order_by("2 DESC", raw.copy()).limit(limit))
        found += [(column.name, value, int(n))
                  for value, n in con.execute(select.sql("duckdb")).fetchall()]
    return found


def warning_counts(con: duckdb.DuckDBPyConnection, table: CanonicalTable,
                   checked: exp.Table) -> dict[str, int]:
    """{warning: rows} among the loaded rows of a checked table (only warnings that occur)."""
    rules = [(reason, condition) for name, reason, condition in WARNINGS if name == table.name]
    if not rules:
        return {}
    select = exp.select(*(
        exp.Filter(this=exp.Count(this=exp.Star()),
                   expression=exp.Where(this=sqlglot.condition(condition, dialect="duckdb")))
        for _, condition in rules
    )).from_(checked.copy()).where(exp.column("_reason").is_(exp.null()))
    counts = con.execute(select.sql("duckdb")).fetchone()
    return {reason: int(n) for (reason, _), n in zip(rules, counts) if n}


def count_rows(con: duckdb.DuckDBPyConnection, table: exp.Table) -> int:
    return int(con.execute(exp.select("count(*)").from_(table.copy()).sql("duckdb")).fetchone()[0])
