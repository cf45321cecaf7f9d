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
from sqlglot.errors import OptimizeError, ParseError, TokenError
from sqlglot.optimizer.qualify import qualify

from metrics.definitions import MetricDefinition
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
    try:
        statements = [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
    except ParseError as exc:
        err = exc.errors[0] if exc.errors else {}
        raise _fail(source, f"the SQL does not parse: {err.get('description', exc)}", sql_line,
                    line=err.get("line"), column=err.get("col")) from None
    except TokenError as exc:
        raise _fail(source, f"the SQL does not parse: {exc}", sql_line) from None
    if len(statements) != 1:
        raise _fail(source, f"a metric must be exactly one SELECT statement, found "
                    f"{len(statements)} statements; remove the extra ';'-separated ones.", sql_line)
    query = statements[0]
    if not isinstance(query, exp.Query):
        kind = type(query).__name__.upper()
        raise _fail(source, f"only a SELECT query is allowed; this is a {kind} statement.",
                    sql_line, query)
    cte_names = {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}
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
        if isinstance(node, exp.Table):
            if not isinstance(node.this, exp.Identifier):
                func = node.this.sql(DIALECT).split("(")[0].lower() if node.this else "?"
                raise _fail(source, f"table functions such as {func} are not allowed; read from "
                            "the warehouse tables.", sql_line, node)
            if node.args.get("db") or node.args.get("catalog"):
                raise _fail(source, f"write the table as plain {node.name}, without a schema or "
                            "database prefix.", sql_line, node)
            name = node.name.lower()
            if name not in ALLOWED_TABLES and name not in cte_names:
                raise _fail(source, f"unknown table '{node.name}'; a metric may read "
                            f"{', '.join(sorted(ALLOWED_TABLES))}.", sql_line, node)
    return query


def check_columns(query: exp.Query, schema: Mapping[str, Mapping[str, str]], *,
                  source: str = "<sql>", sql_line: int = 1) -> exp.Query:
    """Resolve every column against the warehouse schema; return the qualified query."""
    try:
        return qualify(query.copy(), schema=dict(schema), dialect=DIALECT,
                       validate_qualify_columns=True, quote_identifiers=False)
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
    return query, outputs
