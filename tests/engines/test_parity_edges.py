"""The edge-case warehouse (tests/edge_warehouse.py) on each engine against DuckDB, and the
edge cases whose answer is counted by hand."""

from __future__ import annotations

import pytest

import metrics
from edge_warehouse import SUB_SECOND_MEDIAN_HOURS, SUB_SECOND_MONTH
from parity import METRICS, assert_same_frame

SHAPES = [("month", None), ("week", "segment"), ("total", "region"), ("day", None)]
# Spark's stratified sample in make test: two shapes per metric, rotating (every shape covered).
SPARK_SAMPLE = 2


@pytest.fixture(scope="session")
def duckdb_edge(edge_warehouse_path):
    wh = metrics.open_warehouse(edge_warehouse_path)
    yield wh
    wh.close()


@pytest.fixture(scope="session")
def on_engine_edge(engine_servers, engine, edge_warehouse_path):
    return engine_servers.warehouse(engine, edge_warehouse_path, "edge")


@pytest.mark.parametrize("metric", METRICS)
def test_edge_warehouse(on_engine_edge, duckdb_edge, engine, metric):
    i = METRICS.index(metric)
    shapes = SHAPES if engine != "spark" else [SHAPES[(i * SPARK_SAMPLE + j) % len(SHAPES)]
                                               for j in range(SPARK_SAMPLE)]
    for grain, by in shapes:
        assert_same_frame(on_engine_edge.query(metric, grain=grain, by=by),
                          duckdb_edge.query(metric, grain=grain, by=by),
                          f"{metric} grain={grain} by={by}")


def test_second_boundaries_count_as_in_duckdb(on_engine_edge):
    # 10:00:00.900 -> 10:00:01.100 crosses a second boundary (1 s); .100 -> .300 does not (0 s).
    frame = on_engine_edge.query("median_hours_to_first_touch", grain="month",
                                 start="2023-06-01", end="2023-07-01")
    assert list(frame["period"]) == [SUB_SECOND_MONTH]
    assert frame["value"][0] == pytest.approx(SUB_SECOND_MEDIAN_HOURS, rel=1e-12)


def test_median_over_more_than_8192_rows_is_exact(on_engine_edge, duckdb_edge):
    # January 2025 has 8,998 touched MQLs: ClickHouse's median() would be an estimate here.
    args = dict(grain="total", start="2025-01-01", end="2025-02-01")
    got = on_engine_edge.query("median_hours_to_first_touch", **args)["value"][0]
    want = duckdb_edge.query("median_hours_to_first_touch", **args)["value"][0]
    assert got == pytest.approx(want, rel=1e-12)


def test_null_segment_is_its_own_group_not_an_empty_string(on_engine_edge):
    frame = on_engine_edge.query("new_leads", grain="total", by="segment")
    segments = list(frame["segment"])
    assert None in segments and "" not in segments


def test_an_empty_window_has_no_value_and_a_zero_count(on_engine_edge):
    (totals, _), = [on_engine_edge.query_windows(name, windows=[("2031-01-01", "2031-02-01")])
                    for name in ["mqls"]]
    assert totals[0]["value"][0] == 0
    totals, _ = on_engine_edge.query_windows("sales_cycle_days",
                                             windows=[("2031-01-01", "2031-02-01")])
    assert totals[0]["value"].isna().all()
