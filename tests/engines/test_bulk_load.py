"""Publishing bulk-loads (metrics.engines.loader: CSV COPY into PostgreSQL, Parquet files into
ClickHouse and Spark) and keeps every value exact: microseconds, doubles to the last bit, NULL
apart from '' and 0. And `bench --engine` reports each page analysis, or that it is refused."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from metrics.engines import open_engine

TYPES = {"i": "BIGINT", "s": "VARCHAR", "t": "TIMESTAMP", "x": "DOUBLE", "b": "BOOLEAN",
         "d": "DATE"}
ROWS = [
    (1, "", dt.datetime(2025, 3, 9, 6, 59, 59, 999999), 1 / 3, True, dt.date(2025, 3, 9)),
    (2, None, None, None, None, None),
    (3, 'comma, "quote"\nnewline', dt.datetime(2024, 12, 31, 23, 59, 59, 1), 0.0, False,
     dt.date(2024, 12, 31)),
    (4, "0", dt.datetime(2025, 1, 1), 1e-300, False, dt.date(2025, 1, 1)),
]


def _engine_url(engine_servers, engine: str) -> str:
    base = engine_servers.url(engine)
    if engine == "clickhouse":
        return f"chdb:///{engine_servers.scratch / 'chdb'}?database=loadcheck"
    if engine == "spark":
        return f"{base}&database=loadcheck"  # as conftest names a database
    return base


def test_bulk_loaded_values_come_back_exactly(engine_servers, engine, tmp_path):
    source = duckdb.connect(str(tmp_path / "source.duckdb"))
    source.execute("CREATE TABLE t (i BIGINT, s VARCHAR, t TIMESTAMP, x DOUBLE, b BOOLEAN, d DATE)")
    source.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)", ROWS)
    target = open_engine(_engine_url(engine_servers, engine))
    try:
        target.load_from_duckdb("bulk_check", source, "SELECT * FROM t", TYPES)
        back = target.execute("SELECT i, s, t, x, b, d FROM bulk_check ORDER BY i")
        target.drop_table("bulk_check")
    finally:
        target.close()
        source.close()
    assert back["i"].tolist() == [1, 2, 3, 4]
    assert back["s"].tolist() == ["", None, 'comma, "quote"\nnewline', "0"]
    times = back["t"].tolist()
    assert times[0] == dt.datetime(2025, 3, 9, 6, 59, 59, 999999) and pd.isna(times[1])
    assert times[2] == dt.datetime(2024, 12, 31, 23, 59, 59, 1)
    x = back["x"].tolist()
    assert x[0] == 1 / 3 and x[2] == 0.0 and x[3] == 1e-300 and x[1] != x[1]  # NaN: NULL
    assert [None if pd.isna(v) else bool(v) for v in back["b"]] == [True, None, False,
                                                                             False]
    days = [None if pd.isna(v) else str(v)[:10] for v in back["d"]]
    assert days == ["2025-03-09", None, "2024-12-31", "2025-01-01"]


def test_bench_times_every_page_analysis_or_says_it_is_refused(tiny):
    from metrics.engines.bench import REFUSED, measure_engine
    from metrics.warmup import PAGE_ANALYSES

    row = measure_engine(tiny, repeat=1)
    assert {"first overview", "overview", "filter change"} <= set(row)
    for name, _ in PAGE_ANALYSES:
        assert row[name] == REFUSED or (isinstance(row[name], float) and row[name] >= 0)
