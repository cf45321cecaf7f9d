"""Golden SQL: every metric's composed query as each engine receives it, checked into
tests/golden/<dialect>/<metric>.sql so a change to the compiler or a dialect shows as a diff.

Regenerate with `python -m pytest tests/unit/test_golden_sql.py --update-golden` and review
the diff like code.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot

from metrics.compiler import QueryRequest
from metrics.definitions import load_definition_files, parse_definition
from metrics.engines.dialects import SNAPSHOT_DIALECTS, EngineSQLError, render
from metrics.engines.portability import TREND_REQUEST, check_portability, representative_queries
from metrics.engines.postgres import render_for_psycopg

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
DEFINITIONS = load_definition_files()


def _snapshot(name: str, dialect: str) -> str:
    defn = DEFINITIONS[name]
    parts = [f"-- {name} v{defn.version} for {dialect}: {_describe(TREND_REQUEST)}"]
    for label, compiled in representative_queries(defn).items():
        sql = (render_for_psycopg(compiled.tree, pretty=True) if dialect == "postgres"
               else render(compiled.tree, dialect, pretty=True))
        parts += [f"-- {label}", sql + ";"]
    return "\n".join(parts) + "\n"


def _describe(request: QueryRequest) -> str:
    return (f"grain {request.grain}, by {request.by}, where {request.where.as_dict()}, "
            f"{request.start:%Y-%m-%d} to {request.end:%Y-%m-%d}")


CASES = [(name, dialect) for name in sorted(DEFINITIONS) for dialect in SNAPSHOT_DIALECTS]


@pytest.mark.parametrize(("name", "dialect"), CASES, ids=[f"{d}-{n}" for n, d in CASES])
def test_golden_sql(name, dialect, update_golden):
    path = GOLDEN / dialect / f"{name}.sql"
    text = _snapshot(name, dialect)
    if update_golden:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot {path}; run pytest --update-golden and review it"
    assert text == path.read_text(encoding="utf-8"), (
        f"{dialect} SQL of {name} changed; if intended, rerun with --update-golden and review "
        "the diff")


def test_every_metric_and_dialect_has_a_snapshot_and_nothing_else():
    files = {(p.stem, p.parent.name) for p in GOLDEN.glob("*/*.sql")}
    assert files == set(CASES)


@pytest.mark.parametrize("dialect", ["postgres", "clickhouse", "spark"])
def test_sql_without_a_faithful_translation_is_refused(dialect):
    tree = sqlglot.parse_one("SELECT arg_min(actor_id, occurred_at) FROM touches", read="duckdb")
    with pytest.raises(EngineSQLError, match="arg_min has no translation"):
        render(tree, dialect)


@pytest.mark.parametrize(("dialect", "expected"), [
    ("clickhouse", "quantileExactInclusive(0.5)(x)"),  # median() samples above 8,192 rows
    ("postgres", "PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY x)"),
    ("spark", "MEDIAN(x)"),
])
def test_median_is_exact_with_duckdbs_interpolation(dialect, expected):
    assert expected in render(sqlglot.parse_one("SELECT MEDIAN(x) FROM t", read="duckdb"),
                              dialect)


def test_spark_counts_second_boundaries_as_duckdb_does():
    sql = render(sqlglot.parse_one("SELECT date_diff('second', a, b) FROM t", read="duckdb"),
                 "spark")
    assert "UNIX_SECONDS(CAST(b AS TIMESTAMP)) - UNIX_SECONDS(CAST(a AS TIMESTAMP))" in sql


def test_clickhouse_parameters_are_typed_and_timestamps_keep_microseconds():
    sql = render(sqlglot.parse_one("SELECT CAST($start AS TIMESTAMP), TRY_CAST($w0_0 AS DOUBLE)",
                                   read="duckdb"), "clickhouse")
    assert "{start:DateTime64(6, 'UTC')}" in sql and "{w0_0:String}" in sql
    assert "Nullable(DateTime64(6, 'UTC'))" in sql and "accurateCastOrNull" in sql


def test_postgres_doubles_a_literal_percent_but_not_its_parameters():
    tree = sqlglot.parse_one("SELECT 1 FROM t WHERE name LIKE '50%' AND at >= $start",
                             read="duckdb")
    assert "LIKE '50%%'" in render_for_psycopg(tree)
    assert "%(start)s" in render_for_psycopg(tree)


@pytest.mark.parametrize("grain", ["day", "week", "month", "quarter", "year"])
def test_spark_truncates_every_grain_with_date_trunc(grain):
    # sqlglot's own TRUNC(x, 'DAY') is NULL on Spark: every row would fall in one NULL period.
    from metrics.compiler import _period
    from sqlglot import exp

    sql = render(exp.select(_period(grain, exp.column("x"))).from_("t"), "spark")
    assert f"DATE_TRUNC('{grain.upper()}', CAST(x AS TIMESTAMP))" in sql


def test_spark_divides_as_double_and_filters_grouping_sets_outside():
    sql = render(sqlglot.parse_one(
        "SELECT a AS k, SUM(x) / 3600.0 AS v FROM t GROUP BY GROUPING SETS ((a), (b)) "
        "HAVING GROUPING(a) = 0 ORDER BY k LIMIT 5", read="duckdb"), "spark")
    assert "CAST(SUM(x) AS DOUBLE) / CAST(3600.0 AS DOUBLE)" in sql  # not DECIMAL (6 places)
    assert "HAVING" not in sql and "WHERE _keep" in sql


def test_validation_refuses_a_definition_another_engine_cannot_run_faithfully():
    text = """-- name: first_touch_rep
-- label: First touch rep
-- owners: sales
-- kind: count
-- unit: count
-- direction: up
-- anchor: created_at
-- description: Leads by the rep of their first touch.
SELECT l.lead_id, l.created_at, 1 AS value,
       (SELECT arg_min(t.actor_id, t.occurred_at) FROM touches t
        WHERE t.lead_id = l.lead_id) AS first_rep
FROM leads l"""
    with pytest.raises(EngineSQLError, match="first_touch_rep cannot run on postgres"):
        check_portability(parse_definition(text))


def test_a_proposal_another_configured_engine_cannot_run_is_refused(tmp_path, monkeypatch):
    from metrics.build import reference_schema
    from metrics.catalog import open_catalog

    roles = {"users": {"ops@example.com": {"teams": ["sales"], "role": "editor"}}}
    catalog = open_catalog(tmp_path / "catalog.sqlite", roles, schema=reference_schema())
    text = (load_definition_files()["sales_cycle_days"].text
            .replace("date_diff('second', created_at, closed_at) / 86400.0 AS value",
                     "date_diff('second', created_at, closed_at) / 86400.0 AS value, "
                     "(SELECT arg_min(t.actor_id, t.occurred_at) FROM touches t "
                     "WHERE t.lead_id = opportunity_lifecycle.lead_id) AS first_toucher"))
    monkeypatch.setenv("METRICS_ENGINE", "chdb:///ch")
    with pytest.raises(EngineSQLError, match="cannot run on clickhouse"):
        catalog.propose("sales_cycle_days", text, author="ops@example.com", reason="rep split")
    assert catalog.history("sales_cycle_days")[-1]["version"] == 1  # nothing stored
    monkeypatch.delenv("METRICS_ENGINE")
    assert catalog.propose("sales_cycle_days", text, author="ops@example.com",
                           reason="rep split") == 2  # DuckDB alone runs it as written


def test_the_editor_says_so_while_the_draft_is_written(monkeypatch):
    from metrics.build import reference_schema
    from ui.impact import check_draft

    active = load_definition_files()["sales_cycle_days"].text
    text = active.replace(
        "date_diff('second', created_at, closed_at) / 86400.0 AS value",
        "date_diff('second', created_at, closed_at) / 86400.0 AS value, "
        "(SELECT arg_min(t.actor_id, t.occurred_at) FROM touches t "
        "WHERE t.lead_id = opportunity_lifecycle.lead_id) AS first_toucher")
    monkeypatch.setenv("METRICS_ENGINE", "chdb:///ch")
    check = check_draft(text, name="sales_cycle_days", schema=reference_schema(),
                        active_text=active, version=2)
    assert not check.valid and "cannot run on clickhouse" in str(check.error)
    monkeypatch.delenv("METRICS_ENGINE")
    assert check_draft(text, name="sales_cycle_days", schema=reference_schema(),
                       active_text=active, version=2).valid
