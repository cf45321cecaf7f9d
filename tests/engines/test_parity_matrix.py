"""Differential parity: every metric x grain x breakdown x filter shape, plus scorecard windows
and batches, on each engine against DuckDB on the same warehouse.

Exact equality where the inputs are integral (counts; sums and ratios of whole numbers), 1e-9
relative otherwise (medians, averages, spread costs, sums of fractional amounts); NULL only
equals NULL (never 0 or ''). Spark's start-up and per-query cost are large, so `make test`
runs its stratified sample on the edge warehouse (test_parity_edges.py); `-m spark_full` runs
this whole matrix and the scorecard batches on Spark too.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

import metrics
from parity import METRICS, assert_same_frame
GRAINS = ("month", "week", "total")
BREAKDOWNS = (None, "segment", "source_channel")
FILTERS = ({}, {"segment": "SMB"}, {"region": ["NA", "EMEA"], "source_channel": "webinars"},
           {"lead_score": "72"})
SHAPES = list(itertools.product(GRAINS, BREAKDOWNS, range(len(FILTERS))))


@pytest.fixture(scope="session")
def duckdb_generated(generated_warehouse_path):
    wh = metrics.open_warehouse(generated_warehouse_path)
    yield wh
    wh.close()


@pytest.fixture(scope="session")
def on_engine_generated(engine_servers, engine, generated_warehouse_path):
    if engine == "spark":
        pytest.skip("on Spark this matrix runs with -m spark_full (make test: the edge sample)")
    return engine_servers.warehouse(engine, generated_warehouse_path, "generated")


def _compare(engine_wh, duck_wh, metric: str, shapes) -> None:
    for grain, by, f in shapes:
        request = dict(grain=grain, by=by, where=FILTERS[f])
        try:
            expected = duck_wh.query(metric, **request)
        except metrics.MetricError as exc:  # a shape the metric refuses: refused everywhere
            with pytest.raises(metrics.MetricError):
                engine_wh.query(metric, **request)
            assert str(exc)
            continue
        assert_same_frame(engine_wh.query(metric, **request), expected, f"{metric} {request}")


@pytest.mark.parametrize("metric", METRICS)
def test_matrix(on_engine_generated, duckdb_generated, metric):
    _compare(on_engine_generated, duckdb_generated, metric, SHAPES)


@pytest.mark.spark_full
@pytest.mark.parametrize("metric", METRICS)
def test_full_matrix_on_spark(engine_servers, generated_warehouse_path, duckdb_generated, metric):
    spark = engine_servers.warehouse("spark", generated_warehouse_path, "generated")
    _compare(spark, duckdb_generated, metric, SHAPES)


WINDOWS = [(dt.datetime(2026, 10, 1), dt.datetime(2026, 11, 1)),
           (dt.datetime(2026, 9, 1), dt.datetime(2026, 10, 1)),
           (dt.datetime(2030, 1, 1), dt.datetime(2030, 2, 1))]  # empty: no rows at all
TREND = (dt.datetime(2025, 11, 1), dt.datetime(2026, 11, 1))


@pytest.mark.parametrize("where", [{}, {"segment": "SMB"}], ids=["all", "smb"])
def test_scorecard_windows_and_batches(on_engine_generated, duckdb_generated, where):
    _compare_batches(on_engine_generated, duckdb_generated, where)


@pytest.mark.spark_full
@pytest.mark.parametrize("where", [{}, {"segment": "SMB"}], ids=["all", "smb"])
def test_scorecard_windows_and_batches_on_spark(engine_servers, generated_warehouse_path,
                                                duckdb_generated, where):
    spark = engine_servers.warehouse("spark", generated_warehouse_path, "generated")
    _compare_batches(spark, duckdb_generated, where)


def _compare_batches(engine_wh, duckdb_generated, where) -> None:
    got = engine_wh.query_window_batch(METRICS, windows=WINDOWS, trend=TREND, where=where)
    want = duckdb_generated.query_window_batch(METRICS, windows=WINDOWS, trend=TREND,
                                               where=where)
    for metric in METRICS:
        assert not isinstance(want[metric], Exception), want[metric]
        assert not isinstance(got[metric], Exception), (metric, got[metric])
        (got_totals, got_trend), (want_totals, want_trend) = got[metric], want[metric]
        for i, (a, b) in enumerate(zip(got_totals, want_totals)):
            assert_same_frame(a, b, f"{metric} window {i}")
        assert_same_frame(got_trend, want_trend, f"{metric} trend")
