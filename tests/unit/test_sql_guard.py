"""The SQL guard refuses anything but a read-only query; the connection refuses it again."""

from __future__ import annotations

import duckdb
import pytest

from metrics.build import reference_schema
from metrics.definitions import parse_definition
from metrics.errors import DefinitionError, UnsafeSQLError
from metrics.sql_guard import parse_metric_sql, validate_definition
from metrics.warehouse import open_hardened

HEADER = """-- name: probe
-- label: Probe
-- owners: marketing
-- kind: count
-- unit: count
-- direction: up
-- anchor: created_at
-- description: A test metric.
"""

REFUSED = [
    ("SELECT * FROM read_csv('/etc/passwd')", "table functions such as read_csv"),
    ("SELECT * FROM read_parquet('x.parquet')", "table functions"),
    ("SELECT * FROM glob('/*')", "table functions"),
    ("SELECT * FROM query('SELECT 1')", "table functions"),
    ("SELECT read_text('/etc/passwd') AS t FROM leads", "function read_text is not allowed"),
    ("SELECT * FROM '/etc/passwd.csv'", "unknown table"),
    ("SELECT 1 AS a; SELECT 2 AS b", "exactly one SELECT statement, found 2"),
    ("SELECT lead_id FROM leads; DROP TABLE leads", "exactly one"),
    ("DROP TABLE leads", "this is a DROP statement"),
    ("CREATE TABLE x AS SELECT * FROM leads", "this is a CREATE statement"),
    ("INSERT INTO leads (lead_id) VALUES ('x')", "this is an INSERT statement"),
    ("DELETE FROM leads", "this is a DELETE statement"),
    ("UPDATE leads SET segment = 'x'", "this is an UPDATE statement"),
    ("WITH d AS (DELETE FROM leads RETURNING *) SELECT * FROM d", "DELETE is not allowed"),
    ("ATTACH '/tmp/other.db' AS other", "this is an ATTACH statement"),
    ("COPY leads TO '/tmp/leads.csv'", "this is a COPY statement"),
    ("PRAGMA database_list", "this is a PRAGMA statement"),
    ("INSTALL httpfs", "this is an INSTALL statement"),
    ("LOAD httpfs", "this is a LOAD statement"),
    ("SET threads = 1", "this is a SET statement"),
    ("SELECT * FROM secret_table", "unknown table 'secret_table'"),
    ("SELECT * FROM main.leads", "without a schema or database prefix"),
    ("SELECT * FROM other.main.leads", "without a schema or database prefix"),
    ("SELECT lead_id FROM leads WHERE created_at < $cutoff", "only parameter a metric may use"),
    ("SELECT lead_id FROM leads WHERE created_at < ?", "only parameter"),
    ("SELEC lead_id FROM leads", "does not parse"),
    # sqlglot reads an unknown command as a column; the error names what was written.
    ("CHECKPOINT", "this is a CHECKPOINT statement"),
    ("VACUUM", "this is a VACUUM statement"),
    # DuckDB's own catalog and the load's records, even written as plain table names.
    ("SELECT * FROM pg_settings", "'pg_settings' is not a warehouse table"),
    ("SELECT * FROM duckdb_tables", "'duckdb_tables' is not a warehouse table"),
    ("SELECT * FROM information_schema", "'information_schema' is not a warehouse table"),
    ("SELECT * FROM sqlite_master", "'sqlite_master' is not a warehouse table"),
    ("SELECT * FROM load_report", "'load_report' is not a warehouse table"),
    ("SELECT * FROM leads WHERE lead_id IN (SELECT lead_id FROM quarantine)",
     "'quarantine' is not a warehouse table"),
    ("SELECT 1 FROM " + "(" * 50 + "SELECT 1" + ")" * 50, "nests brackets more than 20 levels"),
    ("SELECT " + "(" * 50 + "1" + ")" * 50, "nests brackets more than 20 levels"),
]


@pytest.mark.parametrize(("sql", "message"), REFUSED, ids=[r[0][:40] for r in REFUSED])
def test_guard_refuses(sql, message):
    with pytest.raises(UnsafeSQLError, match=message):
        parse_metric_sql(sql)


@pytest.mark.parametrize("sql", [
    "WITH recent AS (SELECT * FROM leads) SELECT lead_id FROM recent",
    "WITH Recent AS (SELECT * FROM leads) SELECT lead_id FROM recent",  # DuckDB ignores case
    "WITH a AS (SELECT * FROM leads), b AS (SELECT * FROM a) SELECT lead_id FROM b",
    "WITH a AS (SELECT * FROM leads) SELECT lead_id FROM (SELECT * FROM a) s",
    "WITH a AS (SELECT * FROM leads) SELECT lead_id FROM leads WHERE lead_id IN (SELECT lead_id "
    "FROM a)",
    "WITH RECURSIVE n AS (SELECT 1 AS i UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT i FROM n",
])
def test_cte_names_are_allowed_as_tables_where_they_are_visible(sql):
    parse_metric_sql(sql)


@pytest.mark.parametrize(("sql", "message"), [
    # A CTE is visible only inside the query that defines it: the outer name is a real table.
    ("SELECT * FROM (WITH stats AS (SELECT 1) SELECT * FROM stats) d, stats s",
     "unknown table 'stats'"),
    ("SELECT * FROM (WITH x AS (SELECT 1) SELECT * FROM x) d, pg_settings s",
     "'pg_settings' is not a warehouse table"),
    ("SELECT * FROM leads WHERE lead_id IN (WITH q AS (SELECT 1) SELECT * FROM q) "
     "AND lead_id IN (SELECT lead_id FROM q)", "unknown table 'q'"),
    # A CTE sees only the CTEs before it, not later ones (nor, unless recursive, itself).
    ("WITH a AS (SELECT * FROM b), b AS (SELECT * FROM leads) SELECT * FROM a",
     "unknown table 'b'"),
    ("WITH stats AS (SELECT * FROM stats) SELECT * FROM stats", "unknown table 'stats'"),
    # Naming a CTE after DuckDB's catalog is refused outright (the reported attack).
    ("SELECT * FROM (WITH pg_settings AS (SELECT 1) SELECT * FROM pg_settings) d, pg_settings s",
     "a CTE may not be called pg_settings"),
    ("WITH duckdb_settings AS (SELECT 1) SELECT * FROM duckdb_settings",
     "a CTE may not be called duckdb_settings"),
    ("WITH quarantine AS (SELECT * FROM leads) SELECT * FROM quarantine",
     "a CTE may not be called quarantine"),
])
def test_table_names_are_resolved_in_their_own_scope(sql, message):
    with pytest.raises(UnsafeSQLError, match=message):
        parse_metric_sql(sql)


def test_the_cte_scope_attack_is_refused_by_propose_too(tmp_path):
    from metrics.catalog import open_catalog

    catalog = open_catalog(tmp_path / "catalog.sqlite", roles={"users": {
        "admin@example.com": {"teams": ["marketing"], "role": "admin"}}},
        definitions_dir=tmp_path)
    attack = HEADER + ("SELECT lead_id, created_at, 1 AS value FROM leads, (WITH pg_settings AS "
                       "(SELECT 1) SELECT * FROM pg_settings) d, pg_settings s")
    with pytest.raises(UnsafeSQLError, match="pg_settings"):
        catalog.propose("probe", attack, author="admin@example.com")
    with pytest.raises(Exception, match="no metric 'probe'"):
        catalog.history("probe")


@pytest.mark.parametrize(("body", "message", "line", "column"), [
    # The SQL starts on line 9 of the file; the bad column is on its second line.
    ("SELECT lead_id, created_at,\n  1 AS value FROM leads WHERE segmnt = 'SMB'",
     "Column 'segmnt' does not exist", 10, 31),
    ("SELECT lead_id, created_at FROM leads", "missing: value", 9, None),
    ("SELECT lead_id, created_at, 1 AS value, 2 AS value FROM leads", "column value twice", 9, None),
    ("SELECT lead_id, created_at,\n  1 AS value FROM nope", "unknown table 'nope'", 10, 19),
])
def test_definition_errors_point_at_file_line_and_column(body, message, line, column):
    defn = parse_definition(HEADER + body, source="sql/metrics/probe.sql")
    with pytest.raises(UnsafeSQLError, match=message) as info:
        validate_definition(defn, reference_schema())
    assert info.value.source == "sql/metrics/probe.sql"
    assert info.value.line == line
    if column:
        assert info.value.column == column


@pytest.mark.parametrize(("text", "message"), [
    (HEADER.replace("-- kind: count\n", "-- kind: mean\n") + "SELECT 1", "kind must be one of"),
    (HEADER.replace("-- owners: marketing\n", "-- owners: finance\n") + "SELECT 1", "'finance' is not a team"),
    (HEADER.replace("-- anchor: created_at\n", "") + "SELECT 1", "missing anchor"),
    (HEADER, "no SELECT"),
    ("-- colour: blue\n" + HEADER + "SELECT 1", "unknown header key 'colour'"),
])
def test_header_errors(text, message):
    with pytest.raises(DefinitionError, match=message):
        parse_definition(text, source="probe.sql")


def test_pivot_and_unpivot_statements_are_refused_with_a_sentence_wherever_they_are():
    for sql in ("SELECT * FROM (PIVOT leads ON segment USING count(*)) p",
                "SELECT * FROM leads WHERE lead_id IN (SELECT lead_id FROM (UNPIVOT leads ON "
                "segment, region INTO NAME k VALUE v))",
                "WITH p AS (PIVOT leads ON segment USING count(*)) SELECT * FROM p"):
        with pytest.raises(UnsafeSQLError, match="statement form .* is not allowed"):
            parse_metric_sql(sql)


@pytest.mark.parametrize("body", [
    "SELECT lead_id, created_at, 1 AS value FROM (SELECT lead_id, created_at FROM leads "
    "PIVOT (count(*) FOR segment IN ('SMB'))) p",
    "SELECT lead_id, created_at, 1 AS value FROM (SELECT lead_id, created_at FROM leads "
    "UNPIVOT (v FOR k IN (segment, region))) p",
])
def test_the_standard_pivot_and_unpivot_clauses_still_validate(body):
    validate_definition(parse_definition(HEADER + body), reference_schema())


@pytest.mark.parametrize(("anchor", "message"), [
    ("segment AS created_at", "the anchor column created_at is TEXT"),
    ("lead_score AS created_at", "must be a timestamp or a date"),
])
def test_an_anchor_that_is_not_a_time_is_refused(anchor, message):
    defn = parse_definition(HEADER + f"SELECT lead_id, {anchor}, 1 AS value FROM leads")
    with pytest.raises(UnsafeSQLError, match=message):
        validate_definition(defn, reference_schema())


@pytest.mark.parametrize("anchor", ["created_at", "CAST(created_at AS DATE) AS created_at",
                                    "coalesce(created_at, $as_of) AS created_at"])
def test_dates_and_timestamps_are_anchors(anchor):
    defn = parse_definition(HEADER + f"SELECT lead_id, {anchor}, 1 AS value FROM leads")
    validate_definition(defn, reference_schema())


def test_a_definition_too_long_to_check_quickly_is_refused_before_any_parsing():
    # Reported: 250 kB took 45 s in sqlglot's column check.
    terms = " OR ".join(f"segment = 's{i}'" for i in range(16_000))
    with pytest.raises(DefinitionError, match="at most 20,000"):
        parse_definition(HEADER + f"SELECT lead_id, created_at, 1 AS value FROM leads "
                                  f"WHERE {terms}")


def test_too_many_column_references_are_refused_within_the_size_cap():
    terms = " OR ".join(f"segment = {i}" for i in range(600))
    sql = f"SELECT lead_id, created_at, 1 AS value FROM leads WHERE {terms}"
    with pytest.raises(UnsafeSQLError, match="more than 500 times"):
        parse_metric_sql(sql)
    assert len(HEADER + sql) < 20_000


def test_too_many_selects_are_refused_within_the_size_cap():
    ctes = ", ".join(f"c{i} AS (SELECT * FROM {'leads' if i == 0 else f'c{i - 1}'})"
                     for i in range(120))
    sql = f"WITH {ctes} SELECT lead_id, created_at, 1 AS value FROM c119"
    with pytest.raises(UnsafeSQLError, match="more than 100 SELECTs"):
        parse_metric_sql(sql)
    assert len(HEADER + sql) < 20_000


@pytest.mark.parametrize("separator", ["\x1e", "\x1c", "\x85", "\u2028", "\u2029", "\x0b",
                                       "\x0c", "\r", "\x00", "\u202e"])
def test_a_hidden_line_break_cannot_smuggle_sql_out_of_a_comment(separator):
    # str.splitlines() ends the comment at these; DuckDB and a diff see one comment line.
    text = (HEADER + f"-- harmless{separator}SELECT * FROM pg_settings\n"
            "SELECT lead_id, created_at, 1 AS value FROM leads")
    with pytest.raises(DefinitionError, match=f"U\\+{ord(separator):04X}") as info:
        parse_definition(text, source="probe.sql")
    assert info.value.line == 9


def test_a_maturity_line_cannot_hide_in_a_label():
    text = HEADER.replace("-- label: Probe", "-- label: Probe\u2028-- maturity_days: 0")
    text += "SELECT 1"
    with pytest.raises(DefinitionError, match="U\\+2028"):
        parse_definition(text)


def test_windows_line_ends_read_like_unix_ones():
    body = "SELECT lead_id, created_at, 1 AS value\nFROM leads"
    unix = parse_definition(HEADER + body)
    windows = parse_definition((HEADER + body).replace("\n", "\r\n"))
    assert (windows.sql, windows.sql_line, windows.description) == (unix.sql, unix.sql_line,
                                                                     unix.description)


def test_file_name_must_match_metric_name():
    with pytest.raises(DefinitionError, match="the file is for 'other'"):
        parse_definition(HEADER + "SELECT 1", expected_name="other")


HOSTILE = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "COPY leads TO '/tmp/handoff-leak.csv'",
    "ATTACH '/tmp/handoff-other.duckdb' AS other",
    "CREATE TABLE stolen AS SELECT * FROM leads",
    "INSERT INTO leads (lead_id, created_at) VALUES ('x', now())",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "SELECT * FROM glob('/*')",
]


@pytest.mark.parametrize("sql", HOSTILE)
def test_hardened_connection_refuses_even_without_the_guard(tiny_warehouse_path, sql):
    con = open_hardened(tiny_warehouse_path)
    try:
        with pytest.raises(duckdb.Error):
            con.execute(sql).fetchall()
    finally:
        con.close()


def test_warehouse_execute_stops_a_runaway_query(tiny_warehouse_path):
    from metrics.errors import QueryTimeout
    from metrics.warehouse import Warehouse

    wh = Warehouse(tiny_warehouse_path, timeout_seconds=0.3)
    try:
        with pytest.raises(QueryTimeout, match="took longer than 0.3 s"):
            wh.execute("SELECT count(*) FROM range(10000000000) a")
    finally:
        wh.close()
