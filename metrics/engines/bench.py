"""`python -m metrics bench --engine URL`: the overview and a filter change on another engine,
beside DuckDB on the same (cached) demo warehouse. Medians of --repeat runs, in seconds."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

from metrics.bench import default_range, ensure_warehouse, overview_page_batch
from metrics.engines import open_engine
from metrics.engines.loader import publish_warehouse

FILTER = {"segment": ["SMB"]}


def _median_seconds(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure_engine(wh, repeat: int) -> dict[str, float]:
    """First overview (cold compile), then warm medians of the overview and a filter change."""
    start, end = default_range(wh.as_of)
    batch = overview_page_batch(start, end)
    started = time.perf_counter()
    wh.query_window_batch(**batch)
    first = time.perf_counter() - started
    return {"first overview": first,
            "overview": _median_seconds(lambda: wh.query_window_batch(**batch), repeat),
            "filter change": _median_seconds(lambda: wh.query_window_batch(**batch, where=FILTER),
                                             repeat),
            "one metric, monthly": _median_seconds(
                lambda: wh.query("mql_to_sal_rate", start=start, end=end, grain="month"), repeat)}


def run_engine_bench(args: argparse.Namespace) -> int:
    import metrics

    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    for leads in args.leads:
        record = ensure_warehouse(leads, seed=args.seed, cache_dir=args.cache_dir,
                                  rebuild=args.rebuild)
        rows = {"duckdb": measure_engine(metrics.open_warehouse(record["path"]), args.repeat)}
        for url in args.engine:
            engine = open_engine(url)
            started = time.perf_counter()
            publish_warehouse(record["path"], engine)
            published = time.perf_counter() - started
            engine.close()
            log(f"{leads:,} leads published to {engine.name} in {published:.1f} s")
            wh = metrics.open_warehouse(engine=url)
            rows[engine.name] = {"publish and build": published, **measure_engine(wh, args.repeat)}
        columns = list(dict.fromkeys(k for row in rows.values() for k in row))
        print(f"\n{leads:,} leads, median of {args.repeat} (seconds)")
        print("engine      " + "".join(f"{c:>22}" for c in columns))
        for name, row in rows.items():
            print(f"{name:<12}" + "".join(f"{row[c]:>22.3f}" if c in row else f"{'':>22}"
                                          for c in columns))
    return 0
