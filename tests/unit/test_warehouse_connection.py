"""The warehouse connection: a swap of the file is invisible to running queries, and a query
cannot use more memory than its limit."""

from __future__ import annotations

import os
import shutil
import threading
import time

import pytest

import metrics
from metrics.errors import MetricError
from tiny_warehouse import build_tiny_warehouse

SWAPS = 3


@pytest.fixture
def two_builds(tmp_path):
    """A warehouse file and a second build of it (another built_at) to swap in."""
    first = build_tiny_warehouse(tmp_path / "warehouse.duckdb")
    second = build_tiny_warehouse(tmp_path / "next" / "warehouse.duckdb")
    return first, second


def _swap_in(source, target, copy_number: int) -> None:
    # What a load does: write the new file beside the warehouse, then rename it over.
    temporary = target.with_name(f".incoming-{copy_number}.duckdb")
    shutil.copyfile(source, temporary)
    os.replace(temporary, target)


def test_three_threads_querying_through_three_swaps_see_no_failure(two_builds):
    target, other = two_builds
    backup = target.with_name("first-build.duckdb")
    shutil.copyfile(target, backup)
    wh = metrics.open_warehouse(target)
    failures: list[BaseException] = []
    answers: list[int] = []
    stop = threading.Event()

    def keep_querying(grain: str) -> None:
        while not stop.is_set():
            try:
                frame = wh.query("mqls", grain=grain)
                answers.append(int(frame["value"].sum()))
                wh.query_windows("mql_to_sal_rate", windows=[("2025-01-01", "2025-04-01")])
            except BaseException as exc:  # noqa: BLE001 - every failure is the finding
                failures.append(exc)

    threads = [threading.Thread(target=keep_querying, args=(grain,))
               for grain in ("month", "week", "total")]
    for thread in threads:
        thread.start()
    try:
        stamps = {wh.built_at}
        for number in range(SWAPS):
            time.sleep(0.3)
            _swap_in(other if number % 2 == 0 else backup, target, number)
            time.sleep(0.3)
            wh.refresh()
            stamps.add(wh.built_at)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        wh.close()
    assert not failures, f"{len(failures)} of {len(answers) + len(failures)} queries failed: " \
        f"{sorted({f'{type(f).__name__}: {f}' for f in failures})[:5]}"
    assert len(stamps) == 2, "the swapped-in builds were read"
    assert answers and set(answers) == {answers[0]}, "every query answered from a whole warehouse"


def test_each_connection_and_each_query_has_a_memory_limit(tiny_warehouse_path):
    wh = metrics.open_warehouse(tiny_warehouse_path, memory_limit="300MB",
                                query_memory_limit="40MB")
    try:
        limits = wh.execute("SELECT current_setting('memory_limit') AS connection, "
                            "current_setting('operator_memory_limit') AS query")
        assert limits.iloc[0].tolist() == ["286.1 MiB", "38.1 MiB"]
        with pytest.raises(MetricError, match=r"more memory than a query may use \(40MB"):
            wh.execute("SELECT max(s) FROM (SELECT string_agg(range::VARCHAR, ',') AS s "
                       "FROM range(30000000))")
        assert wh.execute("SELECT count(*) AS n FROM leads")["n"].iloc[0] == 7, "still usable"
    finally:
        wh.close()


def test_by_default_a_connection_has_the_configured_limit_not_duckdbs_80_percent(
        tiny_warehouse_path):
    import duckdb

    from metrics.warehouse import DEFAULT_MEMORY_LIMIT

    def limit_of(con) -> str:
        return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]

    wh = metrics.open_warehouse(tiny_warehouse_path)
    plain = duckdb.connect()
    configured = duckdb.connect(config={"memory_limit": DEFAULT_MEMORY_LIMIT})
    try:
        shown = wh.execute("SELECT current_setting('memory_limit') AS m")["m"].iloc[0]
        assert shown == limit_of(configured) != limit_of(plain)
    finally:
        wh.close()
        plain.close()
        configured.close()


def test_a_query_cannot_raise_its_connections_memory_limit(tiny_warehouse_path):
    wh = metrics.open_warehouse(tiny_warehouse_path, memory_limit="300MB")
    try:
        with pytest.raises(MetricError, match="configuration has been locked"):
            wh.execute("SET memory_limit = '20GB'")
    finally:
        wh.close()
