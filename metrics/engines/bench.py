"""`python -m metrics bench --engine URL`: on the same demo warehouse, the overview, a filter
change and each page's analyses (metrics.warmup.PAGE_ANALYSES, with the pages' own arguments)
on each engine, beside DuckDB. Medians of --repeat runs, in seconds; an analysis an engine
refuses (it runs on DuckDB only) is reported as "refused", one that fails as "failed".

`spark://auto` starts a standalone Spark master and one worker on 127.0.0.1 for the run (as
tests/engine_servers.py does) and stops them afterwards; `postgresql://…` and `chdb:///…` name
an engine that is already there. Each engine's published tables are dropped after its figures,
so only one copy of a large warehouse is on the machine at a time.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from metrics import analysis
from metrics.bench import build_fingerprint, default_range, ensure_warehouse, overview_page_batch
from metrics.engines import engine_name, open_engine
from metrics.engines.dialects import EngineSQLError
from metrics.engines.loader import published_tables, publish_warehouse
from metrics.errors import QueryError
from metrics.selection import LeadFilter
from metrics.warmup import PAGE_ANALYSES

FILTER = {"segment": ["SMB"]}
# A 10M-lead page query may take minutes on a single-node engine; the bench waits for it.
BENCH_TIMEOUT_SECONDS = 1800.0
REFUSED, FAILED = "refused", "failed"


def _median_seconds(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _analysis_seconds(wh, name: str, kwargs: dict, repeat: int,
                      log: Callable[[str], None]) -> float | str:
    """Seconds of one page analysis (first run, then the median of the warm ones), or why not."""
    run = lambda: getattr(analysis, name)(wh, **kwargs)  # noqa: E731
    try:
        started = time.perf_counter()
        run()
        first = time.perf_counter() - started
    except EngineSQLError:
        return REFUSED
    except QueryError as exc:
        log(f"  {name} failed: {exc}")
        return FAILED
    return first if repeat <= 1 else _median_seconds(run, repeat - 1)


def measure_engine(wh, repeat: int, log: Callable[[str], None] = lambda line: None
                   ) -> dict[str, float | str]:
    """First overview (cold compile), warm medians of the overview and a filter change, then
    each page analysis on the default view."""
    start, end = default_range(wh.as_of)
    batch = overview_page_batch(start, end)
    started = time.perf_counter()
    wh.query_window_batch(**batch)
    first = time.perf_counter() - started
    row: dict[str, float | str] = {
        "first overview": first,
        "overview": _median_seconds(lambda: wh.query_window_batch(**batch), repeat),
        "filter change": _median_seconds(lambda: wh.query_window_batch(**batch, where=FILTER),
                                         repeat)}
    for name, extra in PAGE_ANALYSES:
        row[name] = _analysis_seconds(wh, name, {**extra, "start": start, "end": end,
                                                 "where": LeadFilter()}, repeat, log)
        log(f"  {name}: {row[name] if isinstance(row[name], str) else f'{row[name]:.3f} s'}")
    return row


def bench_warehouse(leads: int, *, seed: int, cache_dir: Path, rebuild: bool) -> Path:
    """The cached demo warehouse of `leads`: the current build's, else any cached build of that
    size (engines are compared on the same file, so an older build serves as well and is
    kept), else a new one."""
    current = cache_dir / f"demo-{leads}-seed{seed}-{build_fingerprint()}.duckdb"
    older = sorted(cache_dir.glob(f"demo-{leads}-seed{seed}-*.duckdb"))
    if not rebuild and not current.exists() and older:
        return older[-1]
    return Path(ensure_warehouse(leads, seed=seed, cache_dir=cache_dir, rebuild=rebuild)["path"])


@contextlib.contextmanager
def engine_for_bench(url: str) -> Iterator[str]:
    """The URL to measure: `spark://auto` starts a local standalone cluster for the run."""
    if url.rstrip("/").lower() != "spark://auto":
        yield url
        return
    tests = Path(__file__).resolve().parents[2] / "tests"
    sys.path.insert(0, str(tests))
    from engine_servers import spark_cluster

    # Sized for a 10M-lead warehouse on one machine: one worker, 2 cores, 6 GiB.
    with spark_cluster(memory="6g", executor_memory="5g", partitions=8) as started:
        yield started


def _cell(value: float | str | None) -> str:
    if value is None:
        return f"{'':>14}"
    return f"{value:>14}" if isinstance(value, str) else f"{value:>14.3f}"


def print_table(leads: int, repeat: int, rows: dict[str, dict[str, float | str]]) -> None:
    """One line per measurement, one column per engine (the analyses' names are long)."""
    measurements = list(dict.fromkeys(["publish and build", *(k for row in rows.values()
                                                              for k in row)]))
    print(f"\n{leads:,} leads, seconds (median of {repeat} warm runs; first overview cold)")
    print(f"{'':<28}" + "".join(f"{name:>14}" for name in rows))
    for measurement in measurements:
        print(f"{measurement:<28}" + "".join(_cell(row.get(measurement)) for row in rows.values()))


def run_engine_bench(args: argparse.Namespace) -> int:
    import metrics

    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    for leads in args.leads:
        path = bench_warehouse(leads, seed=args.seed, cache_dir=args.cache_dir,
                               rebuild=args.rebuild)
        log(f"{leads:,} leads: {path}")
        rows = {}
        if not getattr(args, "skip_duckdb", False):
            log("duckdb")
            wh = metrics.open_warehouse(path, timeout_seconds=BENCH_TIMEOUT_SECONDS)
            rows["duckdb"] = measure_engine(wh, args.repeat, log)
            wh.close()
        for given in args.engine:
            with engine_for_bench(given) as url:
                name = engine_name(url)
                engine = open_engine(url)
                try:
                    started = time.perf_counter()
                    publish_warehouse(path, engine, log=log)
                    published = time.perf_counter() - started
                    log(f"{name}: {leads:,} leads published and built in {published:.1f} s")
                    wh = metrics.open_warehouse(engine=url, timeout_seconds=BENCH_TIMEOUT_SECONDS)
                    rows[name] = {"publish and build": published,
                                  **measure_engine(wh, args.repeat, log)}
                    wh.close()
                finally:
                    for table in published_tables():
                        engine.drop_table(table)
                    engine.close()
                    if name == "spark" and given != url:  # the cluster stops with the block
                        engine.close_session()
        print_table(leads, args.repeat, rows)
    return 0
