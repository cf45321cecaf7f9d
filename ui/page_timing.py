"""The app's side of `python -m metrics bench`: pages through AppTest, cached metric calls.

Run by the bench as `python -m ui.page_timing --warehouse PATH --repeat N --out FILE` in a
process of its own, so that its peak memory is that of a Streamlit process serving the
warehouse. The engine's side, and everything else the bench reports, is metrics/bench.py.
"""

from __future__ import annotations

import ast
import os
import statistics
import sys
import time
from pathlib import Path

import streamlit as st
from streamlit import config
from streamlit.testing.v1 import AppTest

from metrics.bench import (
    PAGE_FILTER_CHANGES,
    default_range,
    overview_batch,
    peak_rss,
    timed,
    worker_main,
)
from metrics.bench_first import scratch_folder
from metrics.paths import REPO_ROOT

APP = REPO_ROOT / "app.py"


def measure(path: Path, *, repeat: int) -> dict:
    """Cached overview calls and every page, against the warehouse at `path`."""
    config.set_option("client.showErrorDetails", "full")  # say why a page failed, unredacted
    folder = scratch_folder("handoff-bench-app-")
    os.environ["METRICS_WAREHOUSE"] = str(path)
    os.environ["METRICS_CATALOG"] = str(folder / "catalog.sqlite")
    out = {"overview_cached": measure_cached_overview(repeat), "pages": measure_pages(repeat)}
    out["peak_rss_bytes"] = peak_rss()
    return out


def measure_cached_overview(repeat: int) -> dict:
    """The overview's queries through ui.data's st.cache_data wrappers, once warm."""
    from ui import data

    wh = data.get_warehouse()
    batch = overview_batch(*default_range(wh.as_of))

    def run() -> dict:
        return data.metric_window_batch(batch["names"], windows=batch["windows"],
                                        trend=batch["trend"])

    stats, results = timed(run, repeat)
    errors = [r.error for totals, series in results.values() for r in [*totals, series]
              if not r.ok]
    if errors:
        stats["error"] = errors[0]
    return stats


def app_pages(app: Path = APP) -> list[str]:
    """The pages app.py registers with st.Page("..."), the default page first."""
    pages, default = [], None
    for node in ast.walk(ast.parse(app.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page"
                and node.args and isinstance(node.args[0], ast.Constant)):
            pages.append(node.args[0].value)
            if any(k.arg == "default" and getattr(k.value, "value", False) for k in node.keywords):
                default = node.args[0].value
    if default:
        pages.remove(default)
        pages.insert(0, default)
    return pages


def measure_pages(repeat: int) -> dict:
    """Each page through AppTest: first run with empty data caches, then cached re-runs."""
    app = str(APP)
    results: dict = {}

    def run(at) -> float:
        started = time.perf_counter()
        at.run()
        return (time.perf_counter() - started) * 1000

    def failure(at) -> str | None:
        problems = [e.message for e in at.exception] + [e.value for e in at.error]
        return str(problems[0])[:500] if problems else None

    pages = app_pages()
    # Open the warehouse and the catalog once (st.cache_resource), as a running server has.
    warm = AppTest.from_file(app, default_timeout=600)
    run(warm)
    for page in pages:
        at = AppTest.from_file(app, default_timeout=600)
        st.cache_data.clear()
        if page == pages[0]:
            uncached = run(at)
        else:
            run(at)  # the router needs one run before switching; then start cold again
            st.cache_data.clear()
            at.switch_page(page)
            uncached = run(at)
        cached = [run(at) for _ in range(repeat)]
        results[page] = {"uncached_ms": uncached, "cached_ms": statistics.median(cached),
                         "cached_runs_ms": cached, "error": failure(at)}
    changes, applied = [], []
    for params in PAGE_FILTER_CHANGES:
        at = _open_with_filters(app, params)
        changes.append(run(at))
        applied.append(failure(at) is None and all(
            at.multiselect(key=key).value == values for key, values in params.items()))
    results[pages[0]]["filter_change_ms"] = changes
    results[pages[0]]["filter_changes_applied"] = all(applied)
    return results


def _open_with_filters(app: str, params: dict[str, list[str]]) -> AppTest:
    """A session opened on a URL carrying new filters: the cost of a filter change.

    (AppTest drops the router's sidebar widgets on a rerun, so a changed filter is tested as a
    fresh session on a URL, as tests/app does; the data caches are shared as on a server.)
    """
    at = AppTest.from_file(app, default_timeout=600)
    for key, values in params.items():
        at.query_params[key] = values
    return at


if __name__ == "__main__":
    sys.exit(worker_main(measure, "python -m ui.page_timing"))
