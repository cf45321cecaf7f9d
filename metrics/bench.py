"""`python -m metrics bench`: how fast Handoff answers at 100k, 1M and 10M leads.

For each size the bench builds a demo warehouse (or reuses one from the cache directory, keyed
by size, seed and a fingerprint of the code that builds it) and measures, in a fresh
subprocess so that memory and caches are that size's alone:

* the build: wall time, rows per second, file size, peak memory of the build process;
* the overview through the engine: the eight scorecard metrics, monthly and total, over the
  default "last 12 months" range, uncached (the engine keeps no results) and cached (through
  ui.data's st.cache_data wrappers);
* reference points for the same numbers: the floor, one hand-written DuckDB statement that
  scans each lifecycle table once; pandas on the canonical tables already in memory (what a
  typical Streamlit dashboard does: load the tables, derive, group; loading is not timed); and,
  for comparison, pandas on the materialised lifecycle tables, i.e. pandas given this design's
  head start. Their answers are checked against the engine's, so each comparison is between
  equal work;
* a filtered drill-down, and a filter change: every query the overview page issues, with a
  filter nobody asked for before;
* each page's script time through AppTest, first run uncached and re-run cached (the pages
  app.py registers; the default page, the overview, also with filter changes);
* peak memory (ru_maxrss) of the engine process, measured before the pandas reference loads
  its frames, and of the app process that ran the pages.
* the first visit (issue 14), each in a fresh process: the sixteen first API calls and the
  app's first batch against one raw DuckDB pass (metrics.bench_first), every page after the
  warm-up ui.serve does, with the default filters and with filters no cache has seen, engine
  time apart (ui.first_visit; the inbox with a pending proposal's impact preview); with
  --browser, the server in Chromium: the first visit after start and ten sessions at once,
  each clicking filters and a page link, median and worst per step, and the server's peak
  memory (ui.bench_browser).

Speed is only ever reported here, never asserted in tests (DESIGN.md section 10).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from metrics.definitions import SCORECARD_METRICS
from metrics.errors import QueryError
from metrics.model import StageModel, load_model
from metrics.sla import business_deadline
from metrics.paths import DATA_DIR, MODEL_FILE, REPO_ROOT, SCHEMA_FILE
from metrics.selection import add_months, resolve_range

DEFAULT_SIZES = (100_000, 1_000_000, 10_000_000)
DEFAULT_SEED = 7
# Fixed, so a cached warehouse stays valid from one day to the next.
BENCH_AS_OF = dt.datetime(2026, 11, 1)
DEFAULT_CACHE_DIR = DATA_DIR / "bench"
RESULTS_DIR = REPO_ROOT / "bench-results"
RESULT_FORMAT = 1
OVERVIEW_METRICS = SCORECARD_METRICS
# Filter changes for the "any filter change" measurement: each one new to every cache.
FILTER_CHANGES = (
    {"segment": ["Enterprise"]},
    {"source_channel": ["paid_search"]},
    {"segment": ["SMB"], "region": ["EMEA"]},
    {"source_channel": ["events", "webinars"]},
    {"region": ["NA"]},
    {"segment": ["Mid-Market"], "source_channel": ["email"]},
    {"campaign_id": ["C001", "C002"]},
)
# The same as URL parameters for the overview page (segment and region labels are their values).
PAGE_FILTER_CHANGES = (
    {"segment": ["Enterprise"]},
    {"region": ["EMEA"]},
    {"segment": ["SMB"], "region": ["NA"]},
    {"segment": ["Mid-Market", "SMB"]},
)
# Fresh processes per kind of first call (metrics.bench_first); medians are reported.
FIRST_ROUNDS = 3
DRILLDOWN = dict(name="mql_to_sal_rate", grain="month", by="segment",
                 where={"source_channel": ["paid_search"]})
# Files whose change changes what a demo warehouse contains or how it is laid out.
_BUILD_INPUTS = ("metrics/demo.py", "metrics/build.py", "metrics/sla.py", "metrics/model.py",
                 "metrics/attribution.py")
# The targets of the issue "Fast at 10M leads", checked against every run.
TARGETS = (
    ("overview uncached ÷ floor", 1_000_000, "overview_over_floor", 4.0),
    ("overview uncached ÷ pandas", 1_000_000, "overview_over_pandas", 0.1),
    ("filter change, engine (s)", 10_000_000, "filter_change_engine_s", 1.0),
    ("filter change, overview page (s)", 10_000_000, "filter_change_page_s", 1.0),
    ("peak memory, build (GiB)", 10_000_000, "build_peak_gib", 8.0),
    ("peak memory, serving (GiB)", 10_000_000, "serving_peak_gib", 8.0),
    ("cached page re-run, slowest page (ms)", None, "cached_page_ms", 100.0),
    # "Fast on the first visit too" (issue 14).
    ("first visit, slowest page's engine time (s)", 10_000_000, "first_visit_engine_s", 1.0),
    ("first visit after start, browser (s)", 10_000_000, "browser_first_visit_s", 2.0),
    ("inbox with impact preview, page (s)", 1_000_000, "inbox_page_s", 1.0),
    ("16 first API calls ÷ one raw pass", 1_000_000, "first_separate_over_floor", 3.0),
    ("the app's first batch ÷ one raw pass", 1_000_000, "first_batch_over_floor", 2.0),
    ("ten sessions, worst page (s)", None, "meeting_worst_s", 2.0),
    ("peak memory, server with ten sessions (GiB)", 10_000_000, "meeting_peak_gib", 8.0),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    bench = subparsers.add_parser("bench", help="measure build and query speed at several sizes")
    bench.add_argument("--leads", type=int, nargs="+", default=list(DEFAULT_SIZES), metavar="N",
                       help="warehouse sizes in leads (default 100000 1000000 10000000)")
    bench.add_argument("--seed", type=int, default=DEFAULT_SEED)
    bench.add_argument("--repeat", type=int, default=5,
                       help="timed repetitions of each measurement; medians are reported")
    bench.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR,
                       help="where built warehouses are kept for reuse (default data/bench)")
    bench.add_argument("--json", type=Path, dest="json_path",
                       help="results file (default bench-results/bench-<timestamp>.json)")
    bench.add_argument("--rebuild", action="store_true", help="build even if a cached one exists")
    bench.add_argument("--skip-pages", action="store_true",
                       help="no AppTest page timings (neither cached nor first visits)")
    bench.add_argument("--first-visit-pages", nargs="+", metavar="PAGE",
                       help="the pages whose first visit is measured, each in a fresh process "
                            "(default every page app.py registers)")
    bench.add_argument("--browser", action="store_true",
                       help="also start the server and measure in Chromium (/usr/bin/chromium, "
                            "Playwright): the first visit after start and ten sessions at once")
    bench.add_argument("--misuse", action="store_true",
                       help="only measure the Overview while others run heavy breakdowns, with "
                            "and without the cap on concurrent heavy work (first --leads size)")
    bench.add_argument("--engine", action="append", default=[], metavar="URL",
                       help="also time the overview, a filter change and each page's analyses "
                       "on this engine (repeatable; spark://auto starts a local Spark cluster; "
                       "metrics.engines.bench), beside DuckDB")
    bench.add_argument("--skip-duckdb", action="store_true",
                       help="with --engine: do not measure DuckDB again (one engine per run)")
    bench.set_defaults(func=run_bench_command)


def run_bench_command(args: argparse.Namespace) -> int:
    if any(n < 1 for n in args.leads) or args.repeat < 1:
        raise QueryError("--leads and --repeat must be at least 1.")
    if args.misuse:
        from metrics.bench_misuse import format_misuse, misuse_figures

        build = ensure_warehouse(args.leads[0], seed=args.seed, cache_dir=args.cache_dir,
                                 rebuild=args.rebuild)
        print(format_misuse(misuse_figures(Path(build["path"]), rounds=args.repeat)))
        return 0
    if args.engine:
        from metrics.engines.bench import run_engine_bench

        return run_engine_bench(args)
    results = run_bench(args.leads, seed=args.seed, repeat=args.repeat, cache_dir=args.cache_dir,
                        rebuild=args.rebuild, pages=not args.skip_pages, browser=args.browser,
                        first_visit_pages=args.first_visit_pages,
                        log=lambda line: print(line, file=sys.stderr, flush=True))
    path = args.json_path or RESULTS_DIR / f"bench-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    print(format_report(results))
    print(f"\nresults written to {path}")
    return 0


def run_bench(sizes: Iterable[int], *, seed: int = DEFAULT_SEED, repeat: int = 5,
              cache_dir: Path = DEFAULT_CACHE_DIR, rebuild: bool = False, pages: bool = True,
              browser: bool = False, first_visit_pages: list[str] | None = None,
              log: Callable[[str], None] = lambda line: None) -> dict:
    """Build or reuse a warehouse per size, measure it in a subprocess; return the results."""
    results = {
        "format": RESULT_FORMAT,
        "started_at": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {"sizes": list(sizes), "seed": seed, "repeat": repeat, "as_of": BENCH_AS_OF,
                     "pages": pages, "browser": browser,
                     "overview_metrics": list(OVERVIEW_METRICS)},
        "sizes": [],
    }
    for leads in sizes:
        log(f"bench: {leads:,} leads: preparing the warehouse")
        build = ensure_warehouse(leads, seed=seed, cache_dir=Path(cache_dir), rebuild=rebuild)
        log(f"bench: {leads:,} leads: measuring {build['path']}")
        measured = _measure_in_subprocess(Path(build["path"]), repeat=repeat, pages=pages,
                                          browser=browser, first_visit_pages=first_visit_pages,
                                          log=log)
        rows = sum(measured["rows"].values())
        build["rows"] = rows
        build["rows_per_second"] = rows / build["seconds"] if build["seconds"] else None
        build["leads_per_second"] = leads / build["seconds"] if build["seconds"] else None
        entry = {"leads": leads, "build": build, **measured}
        entry["summary"] = summarise(entry)
        results["sizes"].append(entry)
    results["targets"] = check_targets(results["sizes"])
    results["finished_at"] = dt.datetime.now().isoformat(timespec="seconds")
    return results


# --- machine and build ------------------------------------------------------------------------


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        pass
    return {"cpus": os.cpu_count(), "cpu_model": cpu, "memory_bytes": memory,
            "platform": platform.platform(), "python": platform.python_version(),
            "duckdb": duckdb.__version__, "pandas": pd.__version__}


def build_fingerprint() -> str:
    """Changes when the code or model that decides a demo warehouse's content changes."""
    digest = hashlib.sha256()
    for path in [*(REPO_ROOT / p for p in _BUILD_INPUTS), SCHEMA_FILE, MODEL_FILE]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def ensure_warehouse(leads: int, *, seed: int, cache_dir: Path, rebuild: bool = False) -> dict:
    """The cached demo warehouse for (leads, seed, build code), built now if there is none.

    Returns its build record: path, bytes, seconds, peak_rss_bytes, reused.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    stem = f"demo-{leads}-seed{seed}"
    path = cache_dir / f"{stem}-{build_fingerprint()}.duckdb"
    record_path = path.with_suffix(".json")
    if path.exists() and record_path.exists() and not rebuild:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        return {**record, "path": str(path), "bytes": path.stat().st_size, "reused": True}
    for stale in cache_dir.glob(f"{stem}-*"):  # an older build of the same size is dead weight
        stale.unlink()
    code, seconds, peak = _run_child(
        [sys.executable, "-m", "metrics", "demo", "--leads", str(leads), "--seed", str(seed),
         "--as-of", BENCH_AS_OF.isoformat(), "--warehouse", str(path)],
        cache_dir / f"{stem}.log")
    if code != 0:
        raise QueryError(f"building the {leads:,}-lead warehouse failed (exit {code}); see "
                         f"{cache_dir / f'{stem}.log'}.")
    record = {"seconds": seconds, "peak_rss_bytes": peak, "built_at": dt.datetime.now()}
    record_path.write_text(json.dumps(record, default=str), encoding="utf-8")
    return {**record, "path": str(path), "bytes": path.stat().st_size, "reused": False}


def _run_child(command: list[str], log_path: Path) -> tuple[int, float, int]:
    """Run a command; return its exit code, wall seconds and its own peak RSS in bytes."""
    started = time.perf_counter()
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
        try:
            # wait4 gives this child's own rusage; RUSAGE_CHILDREN would be the max of all.
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            process.kill()
            process.wait()
            raise
        process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, time.perf_counter() - started, usage.ru_maxrss * 1024


def _measure_in_subprocess(path: Path, *, repeat: int, pages: bool, browser: bool = False,
                           first_visit_pages: list[str] | None = None,
                           log: Callable[[str], None] = lambda line: None) -> dict:
    """The engine measured by `python -m metrics.bench`, the app by `python -m ui.page_timing`:
    each in a fresh process, so that its memory and caches are this warehouse's alone. First
    calls and first visits get a fresh process each (metrics.bench_first, ui.first_visit)."""
    from metrics.bench_first import FIRST_KINDS

    measured = _run_worker("metrics.bench", path, repeat)
    # Interleaved rounds, medians: one fresh process each, so the load of the moment falls on
    # every kind alike.
    rounds: dict[str, list[dict]] = {kind: [] for kind in FIRST_KINDS}
    for _ in range(FIRST_ROUNDS):
        for kind in FIRST_KINDS:
            rounds[kind].append(_run_module("metrics.bench_first",
                                            ["--warehouse", str(path), "--what", kind]))
    measured["first_calls"] = {
        kind: {**{key: statistics.median(r[key] for r in runs)
                  for key in ("open_ms", "first_ms", "second_ms", "process_peak_rss_bytes")},
               "runs": runs}
        for kind, runs in rounds.items()}
    measured["engine_process_peak_rss_bytes"] = measured.pop("process_peak_rss_bytes")
    if pages:
        app = _run_worker("ui.page_timing", path, repeat)
        measured["overview_cached"] = app["overview_cached"]
        measured["pages"] = app["pages"]
        measured["app_process_peak_rss_bytes"] = app["process_peak_rss_bytes"]
        measured["serving_peak_rss_bytes"] = max(measured["serving_peak_rss_bytes"],
                                                 app["process_peak_rss_bytes"])
        every_page = list(app["pages"])
        measured["first_visits"] = first_visits(path, first_visit_pages or every_page,
                                                every_page[0], log)
    else:
        measured["overview_cached"] = {"error": "not measured (--skip-pages)"}
        measured["pages"] = {}
        measured["first_visits"] = {}
    if browser:
        log(f"bench: {path.name}: the browser: first visit and ten sessions")
        measured["browser"] = _run_worker("ui.bench_browser", path, 1)
    return measured


def first_visits(path: Path, pages: list[str], default_page: str,
                 log: Callable[[str], None]) -> dict:
    """Each page's first visit, each in a fresh server-like process (ui.first_visit), after
    the warm-up ui.serve does; the default page also without it (`streamlit run`)."""
    visits = {}
    for page in pages:
        log(f"bench: {path.name}: first visit of {page}")
        visits[page] = _run_module("ui.first_visit", ["--warehouse", str(path), "--page", page])
    if default_page in pages:
        visits["no warm-up: " + default_page] = _run_module(
            "ui.first_visit", ["--warehouse", str(path), "--page", default_page, "--no-warm"])
    return visits


def _run_module(module: str, arguments: list[str]) -> dict:
    """Run `python -m module ARGS --out FILE` in a fresh process; return the JSON it wrote."""
    with tempfile.TemporaryDirectory(prefix="handoff-bench-") as folder:
        out = Path(folder) / "measured.json"
        log_path = Path(folder) / "measure.log"
        code, seconds, peak = _run_child([sys.executable, "-m", module, *arguments,
                                          "--out", str(out)], log_path)
        if code != 0:
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise QueryError(f"{module} {' '.join(arguments)} failed (exit {code}):\n{tail}")
        measured = json.loads(out.read_text(encoding="utf-8"))
    measured["process_peak_rss_bytes"] = peak
    measured["process_seconds"] = seconds
    return measured


def _run_worker(module: str, path: Path, repeat: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="handoff-bench-") as folder:
        out = Path(folder) / "measured.json"
        log_path = Path(folder) / "measure.log"
        code, seconds, peak = _run_child(
            [sys.executable, "-m", module, "--warehouse", str(path), "--repeat", str(repeat),
             "--out", str(out)], log_path)
        if code != 0:
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise QueryError(f"{module} failed on {path} (exit {code}):\n{tail}")
        measured = json.loads(out.read_text(encoding="utf-8"))
    measured["process_peak_rss_bytes"] = peak
    measured["seconds"] = seconds
    return measured


# --- timing helpers ---------------------------------------------------------------------------


def timed(function: Callable[[], object], repeat: int) -> tuple[dict, object]:
    """Run `function` once (cold: `first_ms`), then `repeat` more times (their median)."""
    started = time.perf_counter()
    result = function()
    first = (time.perf_counter() - started) * 1000
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        runs.append((time.perf_counter() - started) * 1000)
    return {"first_ms": first, "median_ms": statistics.median(runs), "runs_ms": runs}, result


def default_range(as_of: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The dashboard's default period, "last 12 months" (metrics.selection.resolve_range).

    >>> [d.date().isoformat() for d in default_range(dt.datetime(2026, 11, 1))]
    ['2025-11-01', '2026-11-01']
    """
    return resolve_range("last_12_months", as_of)


def overview_requests(start: dt.datetime, end: dt.datetime) -> list[dict]:
    """The overview as the issue defines it: each scorecard metric, monthly and total, as
    separate queries (reported for comparison with the windowed form the app uses)."""
    return [dict(name=name, start=start, end=end, grain=grain)
            for name in OVERVIEW_METRICS for grain in ("month", "total")]


def overview_calls(start: dt.datetime, end: dt.datetime) -> list[dict]:
    """The same overview as one windowed query per metric: its window is the total and its
    trend the monthly series (reported for comparison with the batch the app uses)."""
    return [dict(name=name, windows=[(start, end)], trend=(start, end))
            for name in OVERVIEW_METRICS]


def overview_batch(start: dt.datetime, end: dt.datetime) -> dict:
    """The same overview as the engine serves it: one batch of windowed queries
    (Warehouse.query_window_batch), one scan per source the metrics share."""
    return dict(names=list(OVERVIEW_METRICS), windows=[(start, end)], trend=(start, end))


def overview_page_batch(start: dt.datetime, end: dt.datetime) -> dict:
    """The batch the overview page issues (ui.scorecard.scorecard_results): the total of the
    period, of the previous period and of the same period last year (the same window as the
    previous one for a 12-month range), and a monthly sparkline from 12 months before the
    period's last month, for every tile."""
    spark_start = add_months(end.replace(day=1), -12)
    windows = [(start, end), (add_months(start, -12), add_months(end, -12))]
    return dict(names=list(OVERVIEW_METRICS), windows=windows, trend=(spark_start, end))


# --- the three ways to compute the overview ---------------------------------------------------

# One hand-written statement: each table scanned once per anchor, grouped by month; the totals
# are sums of the months (all eight scorecard metrics are ratios of sums).
FLOOR_SQL = """
WITH mql AS (
    SELECT CAST(date_trunc('month', first_mql_at) AS DATE) AS period,
           CAST(count(*) AS DOUBLE) AS mqls,
           CAST(count(first_sal_at) AS DOUBLE) AS sal,
           CAST(count(first_opportunity_at) AS DOUBLE) AS opp,
           sum(coalesce(won_amount, 0)) AS won_amount,
           CAST(count(*) FILTER (WHERE first_sales_touch_at <= sla_deadline_at) AS DOUBLE) AS sla_met,
           CAST(count(*) FILTER (WHERE first_sales_touch_at IS NOT NULL
                                    OR sla_deadline_at <= $as_of) AS DOUBLE) AS sla_due
    FROM lead_lifecycle
    WHERE first_mql_at >= $start AND first_mql_at < $end
    GROUP BY 1
), created AS (
    SELECT CAST(date_trunc('month', created_at) AS DATE) AS period,
           sum(amount) AS pipeline,
           coalesce(sum(amount) FILTER (WHERE sourced_by = 'marketing'), 0) AS marketing_pipeline
    FROM opportunity_lifecycle
    WHERE created_at >= $start AND created_at < $end AND amount IS NOT NULL
    GROUP BY 1
), closed AS (
    SELECT CAST(date_trunc('month', closed_at) AS DATE) AS period,
           sum(amount) AS won_revenue,
           coalesce(sum(amount) FILTER (WHERE marketing_influenced), 0) AS influenced_revenue,
           CAST(count(*) FILTER (WHERE sourced_by = 'marketing') AS DOUBLE) AS marketing_wins
    FROM opportunity_lifecycle
    WHERE closed_at >= $start AND closed_at < $end AND status = 'won'
    GROUP BY 1
), spend AS (
    SELECT CAST(date_trunc('month', spent_at) AS DATE) AS period, sum(cost) AS cost
    FROM campaign_spend
    WHERE spent_at >= $start AND spent_at < $end
    GROUP BY 1
), months AS (
    SELECT period, mqls, sal, opp, won_amount, sla_met, sla_due, pipeline, marketing_pipeline,
           won_revenue, influenced_revenue, marketing_wins, cost
    FROM mql FULL JOIN created USING (period) FULL JOIN closed USING (period)
         FULL JOIN spend USING (period)
), grid AS (
    SELECT * FROM months
    UNION ALL
    SELECT NULL, sum(mqls), sum(sal), sum(opp), sum(won_amount), sum(sla_met), sum(sla_due),
           sum(pipeline), sum(marketing_pipeline), sum(won_revenue), sum(influenced_revenue),
           sum(marketing_wins), sum(cost)
    FROM months
)
SELECT period,
       sal / nullif(mqls, 0) AS mql_to_sal_rate,
       opp / nullif(mqls, 0) AS mql_to_opportunity_rate,
       won_amount / nullif(mqls, 0) AS revenue_per_mql,
       sla_met / nullif(sla_due, 0) AS sla_first_touch_compliance,
       marketing_pipeline / nullif(pipeline, 0) AS marketing_sourced_pipeline_share,
       influenced_revenue / nullif(won_revenue, 0) AS marketing_influenced_revenue_share,
       coalesce(marketing_pipeline, 0) / nullif(cost, 0) AS pipeline_to_spend,
       coalesce(cost, 0) / nullif(marketing_wins, 0) AS marketing_cac
FROM grid
"""

# Columns the pandas reference loads, untimed, before it computes.
PANDAS_COLUMNS = {
    "lead_lifecycle": ("first_mql_at", "first_sal_at", "first_opportunity_at", "won_amount",
                       "first_sales_touch_at", "sla_deadline_at"),
    "opportunity_lifecycle": ("created_at", "closed_at", "amount", "status", "sourced_by",
                              "marketing_influenced"),
    "campaign_spend": ("spent_at", "cost"),
}

Answers = dict[tuple[str, "dt.date | None"], float]


def engine_answers(results: dict[str, tuple[list[pd.DataFrame], pd.DataFrame | None]]
                   ) -> Answers:
    """{(metric, period or None for the total): value} from the engine's windowed overview."""
    answers: Answers = {}
    for name, result in results.items():
        if isinstance(result, Exception):
            raise result
        totals, series = result
        if series is not None:
            answers.update({(name, p): v for p, v in zip(series["period"], series["value"])})
        if len(totals[0]):
            answers[(name, None)] = totals[0]["value"].iloc[0]
    return answers


def floor_answers(con: duckdb.DuckDBPyConnection, start: dt.datetime, end: dt.datetime,
                  as_of: dt.datetime) -> Answers:
    cursor = con.cursor()
    try:
        cursor.execute(FLOOR_SQL, {"start": start, "end": end, "as_of": as_of})
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return {(name, row[0]): value for row in rows for name, value in zip(names[1:], row[1:])}


def load_frames(con: duckdb.DuckDBPyConnection, wanted: dict[str, tuple[str, ...]]
                ) -> dict[str, pd.DataFrame]:
    """{table: DataFrame of its wanted columns}, as a dashboard loads them with .df()."""
    frames = {}
    for table, columns in wanted.items():
        cursor = con.cursor()
        try:
            frames[table] = cursor.execute(f"SELECT {', '.join(columns)} FROM {table}").df()
        finally:
            cursor.close()
    return frames


def pandas_answers(frames: dict[str, pd.DataFrame], start: dt.datetime, end: dt.datetime,
                   as_of: dt.datetime) -> Answers:
    """The overview the way a pandas dashboard computes it: each tile filters the in-memory
    frames, derives its numerator and denominator, and groups by month."""
    start, end, as_of = pd.Timestamp(start), pd.Timestamp(end), pd.Timestamp(as_of)
    leads = frames["lead_lifecycle"]
    opps = frames["opportunity_lifecycle"]
    spend = frames["campaign_spend"]
    answers: Answers = {}

    def within(frame: pd.DataFrame, anchor: str) -> pd.DataFrame:
        return frame[(frame[anchor] >= start) & (frame[anchor] < end)]

    def ratio(name: str, anchor: pd.Series, numerator: pd.Series, denominator: pd.Series) -> None:
        parts = pd.DataFrame({"numerator": numerator, "denominator": denominator},
                             dtype="float64")
        monthly = parts.groupby(anchor.dt.to_period("M").array).sum()
        for period, n, d in zip(monthly.index, monthly["numerator"], monthly["denominator"]):
            answers[(name, period.start_time.date())] = _divide(n, d)
        if len(parts):
            answers[(name, None)] = _divide(parts["numerator"].sum(), parts["denominator"].sum())

    def mql_ratio(name: str, numerator: Callable[[pd.DataFrame], pd.Series],
                  denominator: Callable[[pd.DataFrame], pd.Series] | None = None) -> None:
        cohort = within(leads, "first_mql_at")
        ratio(name, cohort["first_mql_at"], numerator(cohort),
              denominator(cohort) if denominator else pd.Series(1.0, index=cohort.index))

    def cost_ratio(name: str, rows: pd.DataFrame, anchor: str, value: pd.Series,
                   cost_is_numerator: bool) -> None:
        # Cost rows and deal rows, stacked as the metric's UNION ALL stacks them.
        cost = within(spend, "spent_at")
        zeros = pd.Series(0.0, index=cost.index)
        deal_side = pd.Series(0.0, index=rows.index)
        ratio(name, pd.concat([rows[anchor], cost["spent_at"]], ignore_index=True),
              pd.concat([deal_side, cost["cost"]] if cost_is_numerator else [value, zeros],
                        ignore_index=True),
              pd.concat([value, zeros] if cost_is_numerator else [deal_side, cost["cost"]],
                        ignore_index=True))

    mql_ratio("mql_to_sal_rate", lambda c: c["first_sal_at"].notna())
    mql_ratio("mql_to_opportunity_rate", lambda c: c["first_opportunity_at"].notna())
    mql_ratio("revenue_per_mql", lambda c: c["won_amount"].fillna(0))
    mql_ratio("sla_first_touch_compliance",
              lambda c: c["first_sales_touch_at"].notna()
              & (c["first_sales_touch_at"] <= c["sla_deadline_at"]),
              lambda c: c["first_sales_touch_at"].notna() | (c["sla_deadline_at"] <= as_of))

    created = within(opps, "created_at")
    created = created[created["amount"].notna()]
    ratio("marketing_sourced_pipeline_share", created["created_at"],
          created["amount"].where(created["sourced_by"] == "marketing", 0), created["amount"])
    won = within(opps, "closed_at")
    won = won[(won["status"] == "won") & won["amount"].notna()]
    ratio("marketing_influenced_revenue_share", won["closed_at"],
          won["amount"].where(won["marketing_influenced"].astype(bool), 0), won["amount"])

    sourced = within(opps, "created_at")
    sourced = sourced[(sourced["sourced_by"] == "marketing") & sourced["amount"].notna()]
    cost_ratio("pipeline_to_spend", sourced, "created_at", sourced["amount"],
               cost_is_numerator=False)
    wins = within(opps, "closed_at")
    wins = wins[(wins["status"] == "won") & (wins["sourced_by"] == "marketing")]
    cost_ratio("marketing_cac", wins, "closed_at", pd.Series(1.0, index=wins.index),
               cost_is_numerator=True)
    return answers


# Columns of the canonical tables the raw-tables pandas reference loads, untimed.
TABLE_COLUMNS = {
    "leads": ("lead_id", "created_at", "campaign_id", "sourced_by", "segment"),
    "lead_events": ("lead_id", "stage", "occurred_at"),
    "touches": ("lead_id", "occurred_at", "team"),
    "opportunities": ("opportunity_id", "lead_id", "created_at", "closed_at", "amount", "status"),
    "campaigns": ("campaign_id", "cost", "started_on", "ended_on"),
}


def pandas_table_answers(tables: dict[str, pd.DataFrame], start: dt.datetime, end: dt.datetime,
                         as_of: dt.datetime, model: StageModel) -> Answers:
    """The overview the way a typical pandas dashboard computes it from the tables it loaded:
    derive what each tile needs (each lead's first MQL, SAL and opportunity, its first sales
    touch after the MQL and its SLA deadline; each deal's source and marketing influence; the
    campaigns' daily spend), for the period's rows only, then compute the tiles as
    pandas_answers does. This is the work the materialised lifecycle tables save the engine."""
    leads, events, touches = tables["leads"], tables["lead_events"], tables["touches"]
    opps = tables["opportunities"]
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)

    firsts = (events[events["stage"].isin(["mql", "sal", "opportunity"])]
              .groupby(["lead_id", "stage"], observed=True)["occurred_at"].min()
              .unstack("stage"))
    cohort = firsts[(firsts["mql"] >= lo) & (firsts["mql"] < hi)]
    cohort = cohort.reindex(columns=["mql", "sal", "opportunity"])
    won = opps[opps["status"] == "won"].groupby("lead_id")["amount"].sum()
    sales = touches[touches["team"] == "sales"].merge(
        cohort["mql"].rename("first_mql_at"), left_on="lead_id", right_index=True)
    first_touch = (sales[sales["occurred_at"] >= sales["first_mql_at"]]
                   .groupby("lead_id")["occurred_at"].min())
    segment = leads.set_index("lead_id")["segment"].reindex(cohort.index)
    hours = segment.map(model.sla.segment_hours).fillna(model.sla.hours).to_numpy(np.float64)
    mql_at = cohort["mql"].to_numpy("datetime64[us]")
    lifecycle = pd.DataFrame({
        "first_mql_at": cohort["mql"], "first_sal_at": cohort["sal"],
        "first_opportunity_at": cohort["opportunity"], "won_amount": won.reindex(cohort.index),
        "first_sales_touch_at": first_touch.reindex(cohort.index),
        "sla_deadline_at": business_deadline(mql_at, hours, model.sla)}, index=cohort.index)

    in_range = (((opps["created_at"] >= lo) & (opps["created_at"] < hi))
                | ((opps["closed_at"] >= lo) & (opps["closed_at"] < hi)))
    deals = opps[in_range].merge(leads[["lead_id", "sourced_by"]], on="lead_id", how="left")
    marketing = touches[touches["team"] == "marketing"][["lead_id", "occurred_at"]]
    before_close = deals[["opportunity_id", "lead_id", "closed_at"]].merge(marketing, on="lead_id")
    close = before_close["closed_at"].fillna(pd.Timestamp(as_of))
    influenced = before_close.loc[before_close["occurred_at"] < close, "opportunity_id"].unique()
    deals["marketing_influenced"] = deals["opportunity_id"].isin(influenced)

    frames = {"lead_lifecycle": lifecycle, "opportunity_lifecycle": deals,
              "campaign_spend": _daily_spend(tables["campaigns"], leads, as_of)}
    return pandas_answers(frames, start, end, as_of)


def _daily_spend(campaigns: pd.DataFrame, leads: pd.DataFrame, as_of: dt.datetime
                 ) -> pd.DataFrame:
    """Each campaign's cost spread evenly over its days, as build._build_campaign_spend does."""
    today = pd.Timestamp(as_of).normalize()
    first_lead = leads.groupby("campaign_id")["created_at"].min().dt.normalize()
    costed = campaigns[campaigns["cost"].notna()]
    first = (pd.to_datetime(costed["started_on"])
             .fillna(costed["campaign_id"].map(first_lead)).fillna(today))
    last = pd.to_datetime(costed["ended_on"]).fillna(first.where(first > today, today))
    first, last = first.where(first <= last, last), last.where(last >= first, first)
    days = ((last - first).dt.days + 1).to_numpy()
    offsets = np.arange(days.sum()) - np.repeat(np.cumsum(days) - days, days)
    return pd.DataFrame({
        "spent_at": np.repeat(first.to_numpy("datetime64[D]"), days) + offsets.astype(
            "timedelta64[D]"),
        "cost": np.repeat(costed["cost"].to_numpy() / days, days)})


def _divide(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else math.nan


def compare_answers(expected: Answers, actual: Answers) -> dict:
    """How far `actual` is from `expected` on the cells `expected` has (NaN equals NaN)."""
    worst, missing = 0.0, 0
    for key, value in expected.items():
        if key not in actual:
            missing += 1
            continue
        a, b = _number(value), _number(actual[key])
        if math.isnan(a) and math.isnan(b):
            continue
        if math.isnan(a) or math.isnan(b):
            worst = math.inf
            continue
        worst = max(worst, abs(a - b) / max(abs(a), abs(b), 1e-12))
    return {"cells": len(expected), "missing": missing, "max_relative_difference": worst,
            "agree": missing == 0 and worst < 1e-9}


def _number(value: object) -> float:
    return math.nan if value is None or pd.isna(value) else float(value)


# --- the measuring subprocess -----------------------------------------------------------------


def measure(path: Path, *, repeat: int) -> dict:
    """Everything the engine is measured on for one warehouse, in this (fresh) process."""
    from metrics.warehouse import open_hardened, open_warehouse

    wh = open_warehouse(path)
    start, end = default_range(wh.as_of)
    out: dict = {"as_of": wh.as_of, "range": [start, end], "rows": table_rows(wh)}
    out["bytes"] = path.stat().st_size

    def run_batch(batch: dict, where: dict | None = None) -> dict:
        return wh.query_window_batch(batch["names"], windows=batch["windows"],
                                     trend=batch["trend"], where=where)

    def run_calls(calls: list[dict]) -> list:
        return [wh.query_windows(c["name"], windows=c["windows"], trend=c["trend"])
                for c in calls]

    def run_queries(requests: list[dict]) -> list[pd.DataFrame]:
        return [wh.query(r["name"], start=r["start"], end=r["end"], grain=r["grain"])
                for r in requests]

    batch = overview_batch(start, end)
    out["overview"], results = timed(lambda: run_batch(batch), repeat)
    out["overview"]["queries"] = len({frames[0][0].attrs["sql"] for frames in results.values()})
    engine = engine_answers(results)
    calls = overview_calls(start, end)
    out["overview_windowed"], _ = timed(lambda: run_calls(calls), repeat)
    out["overview_windowed"]["queries"] = len(calls)
    requests = overview_requests(start, end)
    out["overview_separate"], _ = timed(lambda: run_queries(requests), repeat)
    out["overview_separate"]["queries"] = len(requests)

    con = open_hardened(path)
    out["floor"], floor = timed(lambda: floor_answers(con, start, end, wh.as_of), repeat)
    out["floor"]["agreement"] = compare_answers(engine, floor)

    drill = DRILLDOWN
    out["drilldown"], _ = timed(lambda: wh.query(drill["name"], start=start, end=end,
                                                 grain=drill["grain"], by=drill["by"],
                                                 where=drill["where"]), repeat)
    out["drilldown"]["request"] = drill

    page_batch = overview_page_batch(start, end)
    changes = []
    for where in FILTER_CHANGES:
        started = time.perf_counter()
        run_batch(page_batch, where)
        changes.append((time.perf_counter() - started) * 1000)
    out["filter_change"] = {"metrics": len(page_batch["names"]), "filters": list(FILTER_CHANGES),
                            "runs_ms": changes, "median_ms": statistics.median(changes),
                            "max_ms": max(changes)}

    out["serving_peak_rss_bytes"] = peak_rss()

    frames_in_memory = load_frames(con, PANDAS_COLUMNS)
    out["pandas_lifecycle"], answers = timed(
        lambda: pandas_answers(frames_in_memory, start, end, wh.as_of), repeat)
    out["pandas_lifecycle"]["agreement"] = compare_answers(engine, answers)
    del frames_in_memory
    tables_in_memory = load_frames(con, TABLE_COLUMNS)
    model = load_model()
    out["pandas"], answers = timed(
        lambda: pandas_table_answers(tables_in_memory, start, end, wh.as_of, model), repeat)
    out["pandas"]["agreement"] = compare_answers(engine, answers)
    del tables_in_memory
    out["peak_rss_bytes"] = peak_rss()
    con.close()
    wh.close()
    return out


def table_rows(wh) -> dict[str, int]:
    counts = {}
    for table in ("leads", "lead_events", "touches", "opportunities", "campaigns", "reps"):
        counts[table] = int(wh.execute(f"SELECT count(*) AS n FROM {table}")["n"].iloc[0])
    return counts


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# --- summary and report -----------------------------------------------------------------------


def summarise(entry: dict) -> dict:
    """The headline numbers of one size, including the ratios the targets are stated in."""
    def median(section: str) -> float | None:
        value = entry.get(section, {})
        return None if "error" in value else value.get("median_ms")

    overview, floor, pandas = median("overview"), median("floor"), median("pandas")
    pages = {p: r for p, r in entry.get("pages", {}).items() if not r.get("error")}
    overview_page = next(iter(entry.get("pages", {}).values()), {})
    page_filter = (overview_page.get("filter_change_ms") or []
                   if overview_page.get("filter_changes_applied") else [])
    gib = 1024 ** 3
    return {
        "overview_uncached_ms": overview,
        "overview_cached_ms": median("overview_cached"),
        "floor_ms": floor,
        "pandas_ms": pandas,
        "pandas_lifecycle_ms": median("pandas_lifecycle"),
        "overview_over_floor": overview / floor if overview and floor else None,
        "overview_over_pandas": overview / pandas if overview and pandas else None,
        "drilldown_ms": median("drilldown"),
        "filter_change_engine_s": entry["filter_change"]["max_ms"] / 1000,
        "filter_change_page_s": max(page_filter) / 1000 if page_filter else None,
        "cached_page_ms": max((r["cached_ms"] for r in pages.values()), default=None),
        "pages_failed": sorted(p for p, r in entry.get("pages", {}).items() if r.get("error")),
        "build_peak_gib": entry["build"]["peak_rss_bytes"] / gib,
        "serving_peak_gib": entry["serving_peak_rss_bytes"] / gib,
        **_first_summary(entry),
    }


def _first_summary(entry: dict) -> dict:
    """The first-visit headline numbers (issue 14); None where a part was not measured."""
    first = entry.get("first_calls", {})
    floor = first.get("floor", {}).get("first_ms")

    def over_floor(kind: str) -> float | None:
        value = first.get(kind, {}).get("first_ms")
        return value / floor if value and floor else None

    warm = {page: v for page, v in entry.get("first_visits", {}).items() if v.get("warm")}

    def slowest(visit: dict, key: str) -> float:
        return max(visit[run][key] for run in ("default", "new_filters")) / 1000

    browser = entry.get("browser") or {}
    pages = browser.get("pages", {})
    worst = None
    if pages:
        worst = (math.inf if any(p["failed"] for p in pages.values())
                 else max(p["worst_s"] for p in pages.values()))
    peak = browser.get("server_peak_rss_bytes")
    inbox = warm.get("views/inbox.py")
    return {
        "first_separate_over_floor": over_floor("separate"),
        "first_batch_over_floor": over_floor("batch"),
        "first_visit_engine_s": max((slowest(v, "engine_ms") for v in warm.values()), default=None),
        "first_visit_page_s": max((slowest(v, "page_ms") for v in warm.values()), default=None),
        "first_visit_slowest_page": max(warm, key=lambda p: slowest(warm[p], "engine_ms"),
                                        default=None),
        "inbox_page_s": slowest(inbox, "page_ms") if inbox else None,
        "inbox_engine_s": slowest(inbox, "engine_ms") if inbox else None,
        "browser_first_visit_s": browser.get("first_visit", {}).get("seconds"),
        "meeting_worst_s": worst,
        "meeting_peak_gib": peak / 1024 ** 3 if peak else None,
    }


def check_targets(sizes: list[dict]) -> list[dict]:
    checks = []
    for label, leads, key, limit in TARGETS:
        for entry in sizes:
            if leads is not None and entry["leads"] != leads:
                continue
            value = entry["summary"].get(key)
            checks.append({"target": label, "leads": entry["leads"], "limit": limit,
                           "value": value, "met": None if value is None else value <= limit})
    return checks


def format_report(results: dict) -> str:
    m = results["machine"]
    lines = [f"Handoff bench · {m['cpus']} CPUs ({m['cpu_model']}) · "
             f"{(m['memory_bytes'] or 0) / 1024 ** 3:.1f} GiB · duckdb {m['duckdb']}", ""]
    header = ("leads", "build s", "rows/s", "file MB", "overview ms", "cached ms", "floor ms",
              "pandas ms", "pandas lc ms", "÷floor", "÷pandas", "drill ms", "filter ms", "page cached ms",
              "build GiB", "serve GiB")
    table = []
    for entry in results["sizes"]:
        s, b = entry["summary"], entry["build"]
        table.append((f"{entry['leads']:,}", _fmt(b["seconds"], 1) + (" (cached)" if b["reused"] else ""),
                      _fmt(b["rows_per_second"], 0, thousands=True),
                      _fmt(b["bytes"] / 1e6, 0), _fmt(s["overview_uncached_ms"], 1),
                      _fmt(s["overview_cached_ms"], 1), _fmt(s["floor_ms"], 1),
                      _fmt(s["pandas_ms"], 1), _fmt(s.get("pandas_lifecycle_ms"), 1),
                      _fmt(s["overview_over_floor"], 2),
                      _fmt(s["overview_over_pandas"], 3), _fmt(s["drilldown_ms"], 1),
                      _fmt(s["filter_change_engine_s"] * 1000, 0),
                      _fmt(s["cached_page_ms"], 1), _fmt(s["build_peak_gib"], 2),
                      _fmt(s["serving_peak_gib"], 2)))
    lines += _columns(header, table)
    lines += ["", "The overview three ways (ms): one query per tile and grain, one windowed query "
              "per tile, one batch (what the app runs)"]
    lines += _columns(("leads", "separate", "windowed", "batch", "batch queries"), [
        (f"{e['leads']:,}", _fmt(e.get("overview_separate", {}).get("median_ms"), 1),
         _fmt(e.get("overview_windowed", {}).get("median_ms"), 1),
         _fmt(e["overview"].get("median_ms"), 1), str(e["overview"].get("queries", "—")))
        for e in results["sizes"]])
    page_rows = []
    for entry in results["sizes"]:
        for page, r in entry.get("pages", {}).items():
            page_rows.append((f"{entry['leads']:,}", page, _fmt(r["uncached_ms"], 0),
                              _fmt(r["cached_ms"], 1),
                              "" if not r.get("error") else "error: " + r["error"][:60]))
    if page_rows:
        lines += ["", "Pages through AppTest (script time, ms)"]
        lines += _columns(("leads", "page", "first run", "cached re-run", ""), page_rows)
    lines += _first_report(results)
    lines += ["", "Targets"]
    lines += _columns(("target", "leads", "limit", "measured", "met"), [
        (t["target"], f"{t['leads']:,}", f"{t['limit']:g}", _fmt(t["value"], 3),
         {True: "yes", False: "NO", None: "n/a"}[t["met"]]) for t in results["targets"]])
    disagreements = [f"{e['leads']:,} leads: {ref} differs from the engine "
                     f"({e[ref]['agreement']})" for e in results["sizes"]
                     for ref in ("floor", "pandas", "pandas_lifecycle")
                     if ref in e and not e[ref]["agreement"]["agree"]]
    if disagreements:
        lines += ["", "WARNING: the references do not compute the same numbers:", *disagreements]
    return "\n".join(lines)


def _first_report(results: dict) -> list[str]:
    lines = ["", "First calls in a fresh process (ms; compilation included, opening apart)"]
    rows = []
    for e in results["sizes"]:
        first = e.get("first_calls", {})
        floor = first.get("floor", {}).get("first_ms")
        for kind in ("floor", "separate", "batch"):
            if kind in first:
                f = first[kind]
                rows.append((f"{e['leads']:,}", kind, _fmt(f["open_ms"], 0), _fmt(f["first_ms"], 0),
                             _fmt(f["second_ms"], 0),
                             _fmt(f["first_ms"] / floor if floor else None, 2)))
    lines += _columns(("leads", "what", "open", "first", "second", "first ÷ floor's first"), rows)
    rows = []
    for e in results["sizes"]:
        for page, v in e.get("first_visits", {}).items():
            d, n = v["default"], v["new_filters"]
            rows.append((f"{e['leads']:,}", page, _fmt(v.get("warm_up_s"), 1),
                         _fmt(d["engine_ms"], 0), _fmt(d["page_ms"], 0), _fmt(n["engine_ms"], 0),
                         _fmt(n["page_ms"], 0), (d["error"] or n["error"] or "")[:50]))
    if rows:
        lines += ["", "First visit of each page in a fresh process, after the warm-up (ms): "
                  "default filters, then filters no cache has seen"]
        lines += _columns(("leads", "page", "warm-up s", "engine", "page", "new: engine",
                           "new: page", ""), rows)
    rows = []
    for e in results["sizes"]:
        b = e.get("browser")
        if not b:
            continue
        rows.append((f"{e['leads']:,}", "first visit after start", "1",
                     _fmt(b["first_visit"].get("seconds"), 2), "", ""))
        for page, p in b["pages"].items():
            rows.append((f"{e['leads']:,}", f"ten sessions: {page}", str(p["visits"]),
                         _fmt(p["median_s"], 2), _fmt(p["worst_s"], 2), str(len(p["failed"]))))
    if rows:
        lines += ["", "In Chromium (s, from the click or the navigation to a settled page)"]
        lines += _columns(("leads", "what", "visits", "median", "worst", "failed"), rows)
    return lines


def _fmt(value: float | None, digits: int, *, thousands: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.{digits}f}" if thousands else f"{value:.{digits}f}"


def _columns(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    def line(cells) -> str:
        return "  ".join(str(c).rjust(w) for c, w in zip(cells, widths)).rstrip()
    return [line(header), line("-" * w for w in widths), *(line(r) for r in rows)]


def worker_main(measure_one: Callable[..., dict], prog: str,
                argv: list[str] | None = None) -> int:
    """The command line of a measuring subprocess: measure one warehouse, write JSON."""
    parser = argparse.ArgumentParser(prog=prog, description="measure one warehouse "
                                     "(run by `python -m metrics bench`)")
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    measured = measure_one(args.warehouse, repeat=args.repeat)
    args.out.write_text(json.dumps(measured, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(worker_main(measure, "python -m metrics.bench"))
