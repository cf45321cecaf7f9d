"""An approver's inbox runs the proposed version on every other configured engine
(METRICS_ENGINES) beside the app's DuckDB: the same number there leaves Approve enabled; once
the engine's copy answers otherwise, the inbox says so and Approve is disabled, so a version
that means something else on an engine the team serves is never approved silently. On a real
PostgreSQL server, with the app served from DuckDB."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

import metrics

APP = str(Path(__file__).resolve().parents[2] / "app.py")
METRIC = "mql_to_sal_rate"
ACCEPTED_AT_SAL = "CASE WHEN first_sal_at IS NOT NULL THEN 1 ELSE 0 END AS numerator"
ACCEPTED_AT_SQL = "CASE WHEN first_sql_at IS NOT NULL THEN 1 ELSE 0 END AS numerator"


@pytest.fixture(scope="module")
def demo_and_postgres_copy(engine_servers, tmp_path_factory):
    """The demo warehouse as a DuckDB file and its copy on PostgreSQL (a database of its own:
    this module changes its rows)."""
    from demo_warehouse import build_demo_warehouse

    folder = tmp_path_factory.mktemp("inbox-on-engines")
    path = build_demo_warehouse(folder / "warehouse.duckdb")
    engine_servers.warehouse("postgres", path, "inbox")
    return path, engine_servers.published[("postgres", "inbox")], folder


@pytest.fixture
def inbox(demo_and_postgres_copy, monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    path, url, folder = demo_and_postgres_copy
    monkeypatch.setenv("METRICS_WAREHOUSE", str(path))
    monkeypatch.setenv("METRICS_CATALOG", str(folder / "catalog.sqlite"))
    monkeypatch.setenv("METRICS_ENGINES", url)
    monkeypatch.delenv("METRICS_ENGINE", raising=False)
    monkeypatch.delenv("HANDOFF_LOCAL_MODE", raising=False)
    catalog = metrics.open_catalog(folder / "catalog.sqlite")
    catalog.propose(METRIC, catalog.text(METRIC).replace(ACCEPTED_AT_SAL, ACCEPTED_AT_SQL),
                    author="marketing.ops@example.com", reason="accepted means SQL")

    def open_as(user: str):
        st.cache_data.clear()  # each visit checks the engine again, as a new period would
        at = AppTest.from_file(APP, default_timeout=120)
        at.query_params["as"] = user
        at.switch_page("views/inbox.py")
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    st.cache_resource.clear()
    yield open_as, url
    st.cache_resource.clear()
    st.cache_data.clear()


def _engine_table(at):
    return next(d.value for d in at.dataframe if "Same number?" in d.value.columns)


def _approve(at):
    return next(b for b in at.button if b.label.startswith("Approve"))


def test_the_proposed_version_is_checked_on_postgres_before_anyone_approves_it(inbox):
    open_as, url = inbox
    at = open_as("cmo@example.com")
    table = _engine_table(at)
    assert table["Engine"].tolist() == ["postgres"]
    assert table["Same number?"].tolist() == ["same"]
    assert table["Value there"].iloc[0] == table["Here (DuckDB)"].iloc[0]
    assert not _approve(at).disabled

    # PostgreSQL's copy loses the leads that reached SQL in the last 200 days of MQLs (inside
    # the inbox's default period): v2 now answers otherwise there.
    with psycopg.connect(url, autocommit=True) as con:
        gone = con.execute(
            "DELETE FROM lead_lifecycle WHERE first_sql_at IS NOT NULL AND first_mql_at >= "
            "(SELECT max(first_mql_at) FROM lead_lifecycle) - INTERVAL '200 days'").rowcount
    assert gone > 0
    at = open_as("cmo@example.com")
    table = _engine_table(at)
    assert table["Same number?"].tolist() == ["different"]
    assert table["Value there"].iloc[0] != table["Here (DuckDB)"].iloc[0]
    assert any("gives another number on postgres" in str(e.value)
               and "cannot be approved" in str(e.value) for e in at.error)
    assert _approve(at).disabled
