"""The warm-up compiles every active definition for the shapes the pages ask for first and
runs the default view's analyses, so the first visitor of a fresh server finds them ready."""

from __future__ import annotations

import metrics
from metrics.bench import default_range, overview_page_batch
from metrics.warmup import PAGE_ANALYSES, warm


def test_warming_compiles_what_the_pages_ask_for_first(tiny_warehouse_path):
    wh = metrics.open_warehouse(tiny_warehouse_path)
    lines: list[str] = []
    seconds = warm(wh, lines.append)
    assert {"overview", *(n for n, _ in PAGE_ANALYSES)} <= set(seconds)
    assert {f"{name} by total" for name in wh.definitions()} <= set(seconds)
    assert not [line for line in lines if "skipped" in line], lines
    compiled = len(wh._compiled)
    assert compiled > 0
    # The Overview's own batch and a metric's total afterwards compile nothing new.
    start, end = default_range(wh.as_of)
    page = overview_page_batch(start, end)
    wh.query_window_batch(page["names"], windows=page["windows"], trend=page["trend"])
    wh.query("win_rate", start=start, end=end, grain="total")
    assert len(wh._compiled) == compiled
    wh.close()
