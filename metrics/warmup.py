"""Warm a warehouse before anyone waits for it: every active definition compiled for the shapes
the pages ask for, and the default view's queries run once.

A fresh server process would otherwise pay, on its first visitor's page, for opening the
catalog, validating and compiling every definition and reading the tables from disk for the
first time. `ui.serve` calls `warm` in the background as the server starts, and again after a
load replaces the warehouse, so that work is done before the meeting opens the dashboard.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from metrics import analysis
from metrics.errors import MetricError
from metrics.bench import default_range, overview_page_batch
from metrics.selection import LeadFilter
from metrics.warehouse import Warehouse

# The analyses the pages run on the default view, with the keyword arguments they pass besides
# start/end/where (ui.serve fills the pages' caches with them, whose key is the function and its
# arguments, so these must be the pages' own).
PAGE_ANALYSES: tuple[tuple[str, dict], ...] = (
    ("funnel", {}), ("pipeline_velocity", {}), ("stage_velocity", {}),
    ("sla_response_distribution", {}), ("sla_by_rep", {}), ("channel_performance", {}),
    ("attribution", {"model": "w_shaped", "level": "channel", "half_life_days": 7.0}),
)


def warm(wh: Warehouse, log: Callable[[str], None] = lambda line: None, *,
         overview: Callable[[], object] | None = None,
         run_analysis: Callable[[str, dict], object] | None = None) -> dict[str, float]:
    """Compile and run the default view's queries once; returns seconds per step. A query that
    fails is left for its page to report (warming never raises).

    `overview` and `run_analysis(name, kwargs)` run the Overview's batch and a page analysis
    (default: straight on the warehouse); the server passes its cached ones, so each query
    runs once and its answer waits in the cache every session shares.
    """
    seconds: dict[str, float] = {}

    def step(name: str, work: Callable[[], object]) -> None:
        began = time.perf_counter()
        try:
            work()
        except (MetricError, TypeError) as exc:
            log(f"warm-up: {name} skipped: {exc}")
        seconds[name] = time.perf_counter() - began

    start, end = default_range(wh.as_of)
    page = overview_page_batch(start, end)
    step("overview", overview or (lambda: wh.query_window_batch(
        page["names"], windows=page["windows"], trend=page["trend"])))
    # Every definition as the explorer and the pages' single figures ask for it first.
    for name in sorted(wh.definitions()):
        for grain in ("month", "total"):
            step(f"{name} by {grain}",
                 lambda n=name, g=grain: wh.query(n, start=start, end=end, grain=g))
    run = run_analysis or (lambda name, kwargs: getattr(analysis, name)(wh, **kwargs))
    for name, extra in PAGE_ANALYSES:
        step(name, lambda n=name, e=extra: run(n, {**e, "start": start, "end": end,
                                                   "where": LeadFilter()}))
    log(f"warm-up: {len(seconds)} steps in {sum(seconds.values()):.2f} s (overview "
        f"{seconds['overview']:.2f} s)")
    return seconds
