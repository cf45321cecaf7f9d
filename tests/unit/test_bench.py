"""`python -m metrics bench` at a tiny size: the machinery runs and the JSON has its shape.

Never a timing value: speed is reported by the bench, not asserted (DESIGN.md section 10).
"""

from __future__ import annotations

import ast
import datetime as dt
import json
from pathlib import Path

import pytest

from metrics import bench
from metrics.cli import main
from ui.page_timing import app_pages
from metrics.selection import Selection, resolve_range

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("bench")
    out = folder / "bench.json"
    # One page's first visit (the inbox, whose impact preview issue 14 names) keeps it short.
    code = main(["bench", "--leads", "2000", "--repeat", "1", "--cache-dir", str(folder / "cache"),
                 "--json", str(out), "--first-visit-pages", "views/inbox.py"])
    assert code == 0
    return json.loads(out.read_text(encoding="utf-8"))


def test_results_describe_the_machine_and_the_run(results):
    assert results["format"] == bench.RESULT_FORMAT
    assert {"cpus", "cpu_model", "memory_bytes", "duckdb"} <= set(results["machine"])
    assert results["settings"]["sizes"] == [2000]
    assert results["settings"]["overview_metrics"] == list(bench.OVERVIEW_METRICS)


def test_each_size_has_build_queries_references_pages_and_memory(results):
    (entry,) = results["sizes"]
    assert entry["leads"] == 2000
    assert {"path", "bytes", "seconds", "rows", "rows_per_second", "peak_rss_bytes",
            "reused"} <= set(entry["build"])
    assert entry["rows"]["leads"] == 2000
    for section in ("overview", "overview_windowed", "overview_separate", "floor", "pandas",
                    "pandas_lifecycle", "drilldown"):
        assert {"first_ms", "median_ms", "runs_ms"} <= set(entry[section]), section
        assert len(entry[section]["runs_ms"]) == 1
    # The four MQL-cohort tiles share one scan; the four deal and spend tiles read other rows.
    assert entry["overview"]["queries"] == len(bench.OVERVIEW_METRICS) - 3
    assert entry["overview_windowed"]["queries"] == len(bench.OVERVIEW_METRICS)
    assert entry["overview_separate"]["queries"] == 2 * len(bench.OVERVIEW_METRICS)
    assert len(entry["filter_change"]["runs_ms"]) == len(bench.FILTER_CHANGES)
    assert "median_ms" in entry["overview_cached"] or "error" in entry["overview_cached"]
    assert list(entry["pages"]) == app_pages()
    assert "filter_change_ms" in next(iter(entry["pages"].values()))
    for page in entry["pages"].values():
        assert {"uncached_ms", "cached_ms", "cached_runs_ms", "error"} <= set(page)
    assert entry["serving_peak_rss_bytes"] > 0 and entry["peak_rss_bytes"] > 0
    assert {"overview_over_floor", "overview_over_pandas", "cached_page_ms",
            "filter_change_engine_s"} <= set(entry["summary"])
    assert {t["target"] for t in results["targets"]} <= {t[0] for t in bench.TARGETS}


def test_first_calls_and_first_visits_are_measured_in_fresh_processes(results):
    (entry,) = results["sizes"]
    assert set(entry["first_calls"]) == {"floor", "separate", "batch"}
    for first in entry["first_calls"].values():
        assert {"open_ms", "first_ms", "second_ms", "process_peak_rss_bytes"} <= set(first)
    (inbox,) = entry["first_visits"].values()
    assert inbox["page"] == "views/inbox.py" and inbox["warm"]
    for run in ("default", "new_filters"):
        assert inbox[run]["error"] is None
        # The pending proposal's impact preview asks the warehouse for both versions.
        assert inbox[run]["engine_calls"] > 0
    summary = entry["summary"]
    assert summary["first_visit_slowest_page"] == "views/inbox.py"
    assert summary["first_separate_over_floor"] and summary["first_batch_over_floor"]
    assert summary["browser_first_visit_s"] is None  # the browser part is opt-in


def test_the_engine_clock_counts_a_call_and_what_it_runs_inside_once(tiny):
    from metrics.bench_first import engine_clock

    with engine_clock() as clock:
        tiny.query("mqls", grain="total")  # compiles, then executes inside
        tiny.execute("SELECT 1 AS one")
    assert clock.calls == 2 and clock.seconds > 0
    tiny.execute("SELECT 1 AS one")  # outside the block: not counted, not wrapped
    assert clock.calls == 2


def test_visits_are_summarised_per_page_with_failures_apart():
    from ui.bench_browser import summarise_visits

    pages = summarise_visits([
        {"page": "overview", "seconds": 1.0}, {"page": "overview", "seconds": 3.0},
        {"page": "overview", "seconds": 2.0}, {"page": "funnel", "error": "not finished"}])
    assert pages["overview"] == {"visits": 3, "failed": [], "median_s": 2.0, "worst_s": 3.0}
    assert pages["funnel"] == {"visits": 1, "failed": ["not finished"], "median_s": None,
                               "worst_s": None}


def test_the_floor_and_pandas_compute_the_engines_numbers(results):
    (entry,) = results["sizes"]
    for reference in ("floor", "pandas", "pandas_lifecycle"):
        agreement = entry[reference]["agreement"]
        assert agreement["agree"], (reference, agreement)
        assert agreement["cells"] > len(bench.OVERVIEW_METRICS)


def test_a_second_run_reuses_the_cached_warehouse(tmp_path):
    first = bench.ensure_warehouse(300, seed=3, cache_dir=tmp_path)
    again = bench.ensure_warehouse(300, seed=3, cache_dir=tmp_path)
    assert not first["reused"] and again["reused"]
    assert again["path"] == first["path"]


@pytest.mark.parametrize("as_of", [dt.datetime(2026, 11, 1), dt.datetime(2025, 2, 28, 13)])
def test_the_ranges_are_the_dashboards(as_of):
    start, end = resolve_range("last_12_months", as_of)
    assert bench.default_range(as_of) == (start, end)
    selection = Selection(start, end, "month", (), "Last 12 months")
    batch = bench.overview_page_batch(start, end)
    assert batch["names"] == list(bench.OVERVIEW_METRICS)
    windows = batch["windows"]
    previous, last_year = selection.previous(), selection.last_year()
    assert windows[0] == (start, end)
    assert (previous.start, previous.end) in windows
    assert (last_year.start, last_year.end) in windows
    assert len(windows) == len({(previous.start, previous.end), (last_year.start, last_year.end),
                                (start, end)})
    assert batch["trend"][1] == end
