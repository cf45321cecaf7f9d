"""First line of defence for metric SQL: parse with sqlglot and allow only a plain query.

The second line is the hardened read-only DuckDB connection (see warehouse.py); this guard
exists to give authors precise, early errors, not to be the only wall.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError, SqlglotError, TokenError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.tokens import TokenType

from metrics.definitions import MAX_DEFINITION_CHARS, MetricDefinition
from metrics.errors import UnsafeSQLError

# sqlglot logs a warning when it falls back to an opaque Command; we refuse those anyway.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

DIALECT = "duckdb"
ALLOWED_TABLES = frozenset({
    "leads", "lead_events", "touches", "opportunities", "campaigns", "reps",
    "lead_lifecycle", "opportunity_lifecycle", "campaign_spend", "warehouse_meta",
})
# Statement kinds that may never appear anywhere in a metric, even nested.
_FORBIDDEN_NODES = tuple(
    getattr(exp, name) for name in (
        "DDL", "DML", "Create", "Drop", "Alter", "Insert", "Update", "Delete", "Merge", "Copy",
        "Command", "Pragma", "Set", "Use", "Attach", "Detach", "Install", "LoadData",
        "Transaction", "Commit", "Rollback", "Describe", "Summarize", "Show", "Into",
    ) if hasattr(exp, name)
)
# Functions that read files, run SQL text, or look at the host; refused wherever they appear.
_FORBIDDEN_FUNCTION = re.compile(
    r"^(read_\w+|.*_scan|glob|query|query_table|sniff_csv|parquet_\w+|getenv|"
    r"current_setting|duckdb_\w+|pragma_\w+|which_secret|load_\w+|iceberg_\w+|delta_\w+)$",
    re.IGNORECASE,
)
# Never readable by metric SQL, nor usable as a CTE's name: DuckDB's catalog views (settings,
# table DDL, the database's path) and the load's bookkeeping (raw quarantined rows).
_DENIED_TABLE = re.compile(
    r"^(pg_\w*|duckdb_\w*|sqlite_\w*|information_schema|load_report|quarantine\w*)$",
    re.IGNORECASE,
)
# Checking a query costs sqlglot time that grows faster than its length (qualify looks up every
# column's scope), so a definition's size and shape are capped to keep validation well under a
# second. The v1 metrics use at most 3 levels of brackets, 2 SELECTs and 20 column references.
MAX_NESTING = 20
MAX_SELECTS = 100
MAX_COLUMN_REFERENCES = 500
_OPENING = (TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE)
_CLOSING = (TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE)
# What an anchor may be: the engine truncates it to a period.
_ANCHOR_TYPES = exp.DataType.TEMPORAL_TYPES - {exp.DType.TIME, exp.DType.TIMETZ}
_POSITION = re.compile(r"Line: (\d+), Col: (\d+)")


def _fail(defn_source: str, message: str, sql_line: int, node: exp.Expression | None = None,
          line: int | None = None, column: int | None = None) -> UnsafeSQLError:
    if node is not None and line is None:
        meta = _meta_of(node)
        line, column = meta.get("line"), meta.get("col")
        if column is not None and "start" in meta and "end" in meta:
            column -= meta["end"] - meta["start"]  # sqlglot records where a token ends
    # Errors about the query as a whole point at the line where the SELECT starts.
    file_line = (line or 1) + sql_line - 1
    return UnsafeSQLError(message, source=defn_source, line=file_line, column=column)


def _meta_of(node: exp.Expression) -> dict:
    for candidate in (node, node.this if isinstance(node.this, exp.Expression) else None):
        if candidate is not None and getattr(candidate, "meta", None) and "line" in candidate.meta:
            return candidate.meta
    for child in node.walk():
        if getattr(child, "meta", None) and "line" in child.meta:
            return child.meta
    return {}


def _function_name(node: exp.Func) -> str:
    return node.name if isinstance(node, exp.Anonymous) else node.sql_name()


def parse_metric_sql(sql: str, *, source: str = "<sql>", sql_line: int = 1) -> exp.Query:
    """Parse SQL and check it is exactly one read-only query over allowed tables.

    >>> parse_metric_sql("SELECT lead_id FROM leads").sql()
    'SELECT lead_id FROM leads'
    >>> parse_metric_sql("SELECT * FROM read_csv('/etc/passwd')")
    Traceback (most recent call last):
    metrics.errors.UnsafeSQLError: <sql> line 1, column 15: table functions such as read_csv are not allowed; read from the warehouse tables.
    """
    if len(sql) > MAX_DEFINITION_CHARS:
        raise _fail(source, f"the SQL is {len(sql):,} characters long; a metric may have at most "
                    f"{MAX_DEFINITION_CHARS:,}. Move repeated parts into a CTE.", sql_line)
    try:
        tokens = sqlglot.tokenize(sql, read=DIALECT)
    except TokenError as exc:
        raise _fail(source, f"the SQL does not parse: {exc}", sql_line) from None
    _check_nesting(tokens, source, sql_line)
    try:
        statements = [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
    except ParseError as exc:
        err = exc.errors[0] if exc.errors else {}
        raise _fail(source, f"the SQL does not parse: {err.get('description', exc)}", sql_line,
                    line=err.get("line"), column=err.get("col")) from None
    except (SqlglotError, RecursionError) as exc:
        raise _fail(source, f"the SQL does not parse: {_reason(exc)}", sql_line) from None
    if len(statements) != 1:
        raise _fail(source, f"a metric must be exactly one SELECT statement, found "
                    f"{len(statements)} statements; remove the extra ';'-separated ones.", sql_line)
    query = statements[0]
    if not isinstance(query, exp.Query):
        # sqlglot reads an unknown command word (CHECKPOINT, VACUUM...) as a column name, so
        # the statement is named by what the author wrote, not by sqlglot's node type.
        raise _fail(source, f"only a SELECT query is allowed; this is {_article(_keyword(tokens))} "
                    "statement.", sql_line, query)
    columns = selects = 0
    for node in query.walk():
        if isinstance(node, _FORBIDDEN_NODES):
            raise _fail(source, f"{type(node).__name__.upper()} is not allowed in a metric; "
                        "a metric only reads.", sql_line, node)
        if isinstance(node, exp.Func) and _FORBIDDEN_FUNCTION.match(_function_name(node) or ""):
            raise _fail(source, f"the function {_function_name(node)} is not allowed in a metric.",
                        sql_line, node)
        if isinstance(node, (exp.Placeholder, exp.Parameter)) and node.name != "as_of":
            raise _fail(source, f"the only parameter a metric may use is $as_of (the data's "
                        f"as-of time), not ${node.name or '?'}.", sql_line, node)
        if isinstance(node, exp.Pivot) and node.this is not None:
            # DuckDB's statement form (PIVOT leads ON ...) has output columns that depend on
            # the data, so no checker can resolve the columns of the query around it.
            word = "UNPIVOT" if node.args.get("unpivot") else "PIVOT"
            raise _fail(source, f"the {word} statement form ({word} table ON ...) is not allowed "
                        f"in a metric: its columns depend on the data. Write it as SELECT ... "
                        f"FROM table {word} (... FOR column IN (...)), or use "
                        "count(*) FILTER (WHERE ...) per value.", sql_line, node)
        if isinstance(node, exp.Column):
            columns += 1
            if columns > MAX_COLUMN_REFERENCES:
                raise _fail(source, f"the SQL refers to columns more than "
                            f"{MAX_COLUMN_REFERENCES} times, more than a metric can be checked "
                            "with; use IN (...) lists and CTEs instead of long OR chains.",
                            sql_line)
        if isinstance(node, exp.Select):
            selects += 1
            if selects > MAX_SELECTS:
                raise _fail(source, f"the SQL has more than {MAX_SELECTS} SELECTs (CTEs, "
                            "sub-queries, UNION parts), more than a metric can be checked with; "
                            "combine them.", sql_line)
        if isinstance(node, exp.Table):
            _check_table_shape(node, source, sql_line)
        if isinstance(node, exp.CTE) and _DENIED_TABLE.match(node.alias_or_name):
            raise _fail(source, f"a CTE may not be called {node.alias_or_name}: DuckDB uses that "
                        "name for its own tables. Give the CTE another name.", sql_line, node)
    _check_table_names(query, source, sql_line)
    return query


def _check_nesting(tokens: list, source: str, sql_line: int) -> None:
    """Refuse brackets nested deeper than MAX_NESTING, before sqlglot's recursion can fail."""
    depth = 0
    for token in tokens:
        if token.token_type in _OPENING:
            depth += 1
            if depth > MAX_NESTING:
                raise _fail(source, f"the SQL nests brackets more than {MAX_NESTING} levels deep; "
                            "move inner parts into CTEs or drop redundant parentheses.", sql_line,
                            line=token.line, column=token.col)
        elif token.token_type in _CLOSING:
            depth -= 1


def _check_table_shape(node: exp.Table, source: str, sql_line: int) -> None:
    if not isinstance(node.this, exp.Identifier):
        func = node.this.sql(DIALECT).split("(")[0].lower() if node.this else "?"
        raise _fail(source, f"table functions such as {func} are not allowed; read from "
                    "the warehouse tables.", sql_line, node)
    if node.args.get("db") or node.args.get("catalog"):
        raise _fail(source, f"write the table as plain {node.name}, without a schema or "
                    "database prefix.", sql_line, node)


def _check_table_names(query: exp.Query, source: str, sql_line: int) -> None:
    """Every table name must be a CTE visible where it is used, or an allowed table.

    DuckDB resolves a name to a CTE only inside the query that defines it: in
    `FROM (WITH t AS (...) SELECT * FROM t) d, t` the second `t` is a real table. sqlglot's
    scopes follow the same rule, so each name is looked up in its own scope.
    """
    try:
        scopes = traverse_scope(query)
    except (SqlglotError, RecursionError) as exc:
        raise _fail(source, f"the SQL's sub-queries cannot be told apart ({_reason(exc)}); "
                    "simplify it.", sql_line) from None
    resolved: set[int] = set()
    for scope in scopes:
        for table in scope.tables:
            resolved.add(id(table))
            _check_table_name(table, scope, source, sql_line)
    for table in query.find_all(exp.Table):
        if id(table) not in resolved:
            raise _fail(source, f"cannot tell which table '{table.name}' refers to here; read "
                        "it in a FROM or JOIN of a sub-query or CTE instead.", sql_line, table)


def _check_table_name(table: exp.Table, scope: Scope, source: str, sql_line: int) -> None:
    name = table.name.lower()
    if name in {cte.lower() for cte in scope.cte_sources}:
        return
    if _DENIED_TABLE.match(name):
        raise _fail(source, f"'{table.name}' is not a warehouse table (DuckDB's catalog and the "
                    f"load's own records are off limits); a metric may read "
                    f"{', '.join(sorted(ALLOWED_TABLES))}.", sql_line, table)
    if name not in ALLOWED_TABLES:
        raise _fail(source, f"unknown table '{table.name}'; a metric may read "
                    f"{', '.join(sorted(ALLOWED_TABLES))}.", sql_line, table)


def _keyword(tokens: list) -> str:
    return tokens[0].text.upper() if tokens else "?"


def _article(word: str) -> str:
    return f"an {word}" if word[:1] in "AEIOU" else f"a {word}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "it is nested too deeply"
    return str(exc).split("\n")[0].rstrip(".") or type(exc).__name__


def check_columns(query: exp.Query, schema: Mapping[str, Mapping[str, str]], *,
                  source: str = "<sql>", sql_line: int = 1) -> exp.Query:
    """Resolve every column against the warehouse schema; return the qualified query."""
    try:
        return qualify(query.copy(), schema=dict(schema), dialect=DIALECT,
                       validate_qualify_columns=True, quote_identifiers=False)
    except RecursionError:
        raise _fail(source, "the SQL is nested too deeply to check; move inner parts into CTEs.",
                    sql_line) from None
    except OptimizeError as exc:
        message = str(exc)
        position = _POSITION.search(message)
        text = _POSITION.sub("", message).strip().rstrip(".")
        text = text.replace("could not be resolved", "does not exist in the warehouse")
        name = re.search(r"Column '([^']+)'", message)
        column = int(position.group(2)) if position else None
        if column is not None and name:
            column -= len(name.group(1)) - 1  # point at the start of the name, not its end
        raise _fail(source, f"{text}; check the spelling or the table it comes from.", sql_line,
                    line=int(position.group(1)) if position else None, column=column) from None
    except Exception as exc:  # noqa: BLE001 - a sqlglot bug must reach the author as a sentence
        raise _fail(source, f"the SQL could not be checked ({_reason(exc)}); rewrite the part "
                    "that uses an unusual construct, e.g. with a CTE.", sql_line) from None


def validate_definition(defn: MetricDefinition,
                        schema: Mapping[str, Mapping[str, str]]) -> exp.Query:
    """Check a definition's SQL fully; return its parsed (unqualified) query."""
    return validate_definition_columns(defn, schema)[0]


def validate_definition_columns(defn: MetricDefinition, schema: Mapping[str, Mapping[str, str]]
                                ) -> tuple[exp.Query, list[str]]:
    """Check a definition's SQL fully; return its parsed query and its output column names."""
    query = parse_metric_sql(defn.sql, source=defn.source, sql_line=defn.sql_line)
    qualified = check_columns(query, schema, source=defn.source, sql_line=defn.sql_line)
    outputs = [c.lower() for c in qualified.named_selects]
    duplicates = sorted({c for c in outputs if outputs.count(c) > 1})
    if duplicates:
        raise _fail(defn.source, f"the SELECT returns the column {duplicates[0]} twice; give each "
                    "output column its own name.", defn.sql_line)
    missing = [c for c in defn.required_columns if c not in outputs]
    if missing:
        raise _fail(defn.source, f"the SELECT must return the columns "
                    f"{', '.join(defn.required_columns)} (one row per entity); "
                    f"missing: {', '.join(missing)}.", defn.sql_line)
    if "period" in outputs:
        raise _fail(defn.source, "the output column name 'period' is reserved for the engine.",
                    defn.sql_line)
    _check_anchor_type(qualified, defn, schema)
    return query, outputs


def _check_anchor_type(qualified: exp.Query, defn: MetricDefinition,
                       schema: Mapping[str, Mapping[str, str]]) -> None:
    """The anchor column must be a date or timestamp when its type can be worked out."""
    try:
        typed = annotate_types(qualified, schema=dict(schema), dialect=DIALECT)
    except Exception:  # noqa: BLE001 - a type sqlglot cannot infer is left for DuckDB to check
        return
    anchor = next((s for s in typed.selects if s.alias_or_name.lower() == defn.anchor), None)
    kind = anchor.type if anchor is not None else None
    if kind is None or kind.is_type(exp.DType.UNKNOWN, exp.DType.NULL, *_ANCHOR_TYPES):
        return
    raise _fail(defn.source, f"the anchor column {defn.anchor} is {kind.sql(DIALECT)}; the anchor "
                "places each row in a period, so it must be a timestamp or a date. Cast it, e.g. "
                f"CAST(... AS TIMESTAMP) AS {defn.anchor}.", defn.sql_line, anchor)
