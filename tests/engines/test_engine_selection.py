"""Choosing the engine by URL: the CLI's --engine / METRICS_ENGINE, the Python API's engine=,
and the sentences a wrong URL or an empty engine gets."""

from __future__ import annotations

import pytest

import metrics
from metrics.cli import main
from metrics.engines import engine_name


def test_publish_then_query_through_the_cli(engine_servers, tiny_warehouse_path, capsys,
                                            monkeypatch):
    url = f"chdb:///{engine_servers.scratch / 'chdb'}?database=cli"
    assert main(["publish", "--engine", url, "--warehouse", str(tiny_warehouse_path)]) == 0
    assert "built the lifecycle tables there" in capsys.readouterr().out
    monkeypatch.setenv("METRICS_ENGINE", url)
    assert main(["query", "mqls", "--grain", "total", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["value", "5"]  # L1 L2 L4 L5 L6


def test_the_python_api_takes_the_engine_and_results_carry_it(tiny_warehouse_path):
    wh = metrics.open_warehouse(engine=f"duckdb:///{tiny_warehouse_path}")
    try:
        frame = wh.query("new_leads", grain="total")
        assert frame.attrs["engine"] == f"duckdb:///{tiny_warehouse_path}"
        assert frame["value"][0] == 7
    finally:
        wh.close()


def test_an_explicit_path_wins_over_a_duckdb_url_in_the_environment(tiny_warehouse_path,
                                                                     monkeypatch):
    monkeypatch.setenv("METRICS_ENGINE", "duckdb:///no/such/warehouse.duckdb")
    wh = metrics.open_warehouse(tiny_warehouse_path)
    try:
        assert wh.query("new_leads", grain="total")["value"][0] == 7
    finally:
        wh.close()


def test_an_unknown_scheme_is_refused_with_the_ones_that_work():
    with pytest.raises(metrics.WarehouseError, match="postgresql://user@host:port/db"):
        engine_name("mysql://db/handoff")


def test_an_engine_without_a_published_warehouse_says_how_to_publish(engine_servers):
    url = f"chdb:///{engine_servers.scratch / 'chdb'}?database=empty"
    with pytest.raises(metrics.WarehouseError, match="python -m metrics publish --engine"):
        metrics.open_warehouse(engine=url)


def test_page_analyses_on_another_engine_name_the_engine_they_need(tiny, engine):
    from metrics.analysis import funnel  # noqa: F401 (the funnel reads DuckDB-only SQL)

    with pytest.raises(metrics.MetricError) as error:
        tiny.execute("SELECT list(stage ORDER BY occurred_at) AS path FROM lead_events",
                     label="the journey analysis")
    assert "DuckDB" in str(error.value)
