"""`python -m metrics bench --misuse`: does one person's heavy work stall everyone's pages?

Several people start heavy work at once (breakdowns of every scorecard metric by channel, week
by week, over all the data: what the explorer and an impact preview run), while another person
opens the Overview (its batch, uncached). The Overview's time is measured alone, then during the
heavy work with as many heavy slots as heavy users (no cap), then with the default cap. Printed
as medians and as ratios to the Overview alone; never asserted in tests.
"""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

from metrics.errors import MetricError
from metrics.warehouse import DEFAULT_HEAVY_QUERIES, open_warehouse


def misuse_figures(path: Path, *, heavy_users: int = 4, rounds: int = 5) -> dict:
    from metrics.bench import OVERVIEW_METRICS, default_range, overview_page_batch

    figures: dict = {"heavy_users": heavy_users, "rounds": rounds}
    for setting, slots in (("no cap", heavy_users), ("cap", DEFAULT_HEAVY_QUERIES)):
        wh = open_warehouse(path, heavy_queries=slots, heavy_wait_seconds=600)
        start, end = default_range(wh.as_of)
        batch = overview_page_batch(start, end)

        def overview() -> float:
            began = time.perf_counter()
            wh.query_window_batch(batch["names"], windows=batch["windows"], trend=batch["trend"])
            return time.perf_counter() - began

        overview()  # compiled once, as a warm server has it
        if "alone" not in figures:
            figures["alone"] = statistics.median(overview() for _ in range(rounds))
        stop, done = threading.Event(), [0]

        def heavy_user() -> None:
            while not stop.is_set():
                for name in OVERVIEW_METRICS:
                    if stop.is_set():
                        return
                    try:
                        wh.query(name, grain="week", by="source_channel")
                        done[0] += 1
                    except MetricError:
                        pass

        workers = [threading.Thread(target=heavy_user) for _ in range(heavy_users)]
        for worker in workers:
            worker.start()
        time.sleep(0.5)
        during = [overview() for _ in range(rounds)]
        stop.set()
        for worker in workers:
            worker.join()
        figures[setting] = {"slots": slots, "median": statistics.median(during),
                            "worst": max(during), "heavy_queries_done": done[0]}
        wh.close()
    return figures


def format_misuse(figures: dict) -> str:
    alone = figures["alone"]
    lines = [f"Overview batch alone: {alone:.3f} s (median of {figures['rounds']})",
             f"while {figures['heavy_users']} people run heavy breakdowns:"]
    for setting in ("no cap", "cap"):
        f = figures[setting]
        lines.append(f"  {setting:6} ({f['slots']} heavy slot{'s' if f['slots'] != 1 else ''}): "
                     f"median {f['median']:.3f} s ({f['median'] / alone:.1f}× alone), worst "
                     f"{f['worst']:.3f} s; {f['heavy_queries_done']} heavy queries done meanwhile")
    return "\n".join(lines)
