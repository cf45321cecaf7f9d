"""The editor's impact preview runs a draft on every other configured engine
(metrics.engines.crosscheck): the same number there passes, another number blocks the proposal,
an engine that cannot answer is said to be unchecked. On a real PostgreSQL server."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from engine_servers import free_port
from metrics.definitions import parse_definition
from metrics.engines.crosscheck import (
    DIFFERENT,
    NOT_CHECKED,
    SAME,
    blocking_reason,
    check_on_engines,
    configured_engine_urls,
)

# new_leads narrowed to EMEA: L2 and L5 of the tiny warehouse (tests/tiny_warehouse.py).
EMEA_LEADS = """-- name: new_leads
-- label: New leads
-- owners: marketing
-- kind: count
-- unit: count
-- direction: up
-- anchor: created_at
-- description: Leads created in the period in EMEA.
SELECT lead_id, created_at, 1 AS value
FROM lead_lifecycle
WHERE region = 'EMEA'
"""
WINDOW = {"start": dt.datetime(2025, 1, 1), "end": dt.datetime(2025, 4, 1)}


@pytest.fixture(scope="module")
def tiny_duckdb(tiny_warehouse_path):
    """The tiny warehouse on DuckDB (this folder's `tiny` is the one on each engine)."""
    import metrics

    wh = metrics.open_warehouse(tiny_warehouse_path)
    yield wh
    wh.close()


@pytest.fixture(scope="module")
def postgres_copy(engine_servers, tiny_warehouse_path) -> str:
    """The tiny warehouse published to PostgreSQL as a database of its own (this module
    changes its rows)."""
    engine_servers.warehouse("postgres", tiny_warehouse_path, "crosscheck")
    return engine_servers.published[("postgres", "crosscheck")]


def test_a_draft_with_the_same_number_on_postgres_passes_and_another_number_blocks(
        tiny_duckdb, postgres_copy):
    draft = parse_definition(EMEA_LEADS, source="draft", version=2)
    duckdb_value = tiny_duckdb.query(draft, grain="total", **WINDOW)["value"][0]
    assert duckdb_value == 2

    [check] = check_on_engines(draft, reference=duckdb_value, urls=(postgres_copy,), **WINDOW)
    assert (check.engine, check.value, check.verdict) == ("postgres", 2, SAME)
    assert blocking_reason([check], "new_leads") is None

    # The engine's copy loses L5: the same SQL now gives 1 there, and the proposal is blocked.
    with psycopg.connect(postgres_copy, autocommit=True) as con:
        con.execute("DELETE FROM lead_lifecycle WHERE lead_id = 'L5'")
    [check] = check_on_engines(draft, reference=duckdb_value, urls=(postgres_copy,), **WINDOW)
    assert (check.value, check.verdict) == (1, DIFFERENT)
    reason = blocking_reason([check], "new_leads")
    assert "postgres" in reason and "cannot be proposed" in reason


def test_an_engine_that_cannot_be_reached_is_reported_unchecked_not_equal():
    draft = parse_definition(EMEA_LEADS, source="draft", version=2)
    nobody = f"postgresql://postgres@127.0.0.1:{free_port()}/handoff"
    [check] = check_on_engines(draft, reference=2, urls=(nobody,), **WINDOW)
    assert check.verdict == NOT_CHECKED and check.value is None
    assert "cannot connect to PostgreSQL" in check.detail
    assert blocking_reason([check], "new_leads") is None


def test_only_engine_urls_are_checked_and_the_previews_own_engine_is_left_out(monkeypatch):
    monkeypatch.setenv("METRICS_ENGINE", "postgresql://a/db")
    monkeypatch.setenv("METRICS_ENGINES", "spark, chdb:///x, duckdb:///w.duckdb, postgresql://a/db")
    assert configured_engine_urls() == ("postgresql://a/db", "chdb:///x")
    assert configured_engine_urls(exclude="postgresql://a/db") == ("chdb:///x",)
