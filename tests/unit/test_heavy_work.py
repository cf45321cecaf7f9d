"""One person's heavy work cannot stall everyone's pages: drafts, other versions and
breakdowns run at most `heavy_queries` at a time; the pages' own queries never wait for them."""

from __future__ import annotations

import threading

import pytest

import metrics
from metrics.errors import WarehouseBusy


@pytest.fixture
def warehouse(tiny_warehouse_path):
    wh = metrics.open_warehouse(tiny_warehouse_path)
    wh.heavy_wait_seconds = 0.2
    yield wh
    wh.close()


def _hold_the_only_slot(wh):
    held, release = threading.Event(), threading.Event()

    def hold():
        with wh.heavy_slot("someone's impact preview"):
            held.set()
            release.wait(10)

    worker = threading.Thread(target=hold)
    worker.start()
    held.wait(5)
    return release, worker


@pytest.mark.parametrize("heavy", [
    {"by": "segment"},                       # a breakdown
    {"version": 1},                          # another version, as the impact preview runs it
])
def test_heavy_work_waits_for_a_slot_and_is_refused_with_a_sentence(warehouse, heavy):
    release, worker = _hold_the_only_slot(warehouse)
    try:
        with pytest.raises(WarehouseBusy, match="busy .* with other heavy work .* Try again"):
            warehouse.query("mqls", grain="total", **heavy)
        # The page everyone reads still answers at once: 5 MQLs (tests/tiny_warehouse.py).
        assert warehouse.query("mqls", grain="total")["value"].iloc[0] == 5
        assert warehouse.query_window_batch(["mqls"], windows=[(None, None)])["mqls"][0][0][
            "value"].iloc[0] == 5
    finally:
        release.set()
        worker.join()
    # Once the slot is free, the same heavy query runs.
    assert warehouse.query("mqls", grain="total", **heavy)["value"].sum() == 5


def test_a_draft_definition_is_heavy_work(warehouse):
    draft = warehouse.definition("mqls")
    release, worker = _hold_the_only_slot(warehouse)
    try:
        with pytest.raises(WarehouseBusy):
            warehouse.query(draft, grain="total")
    finally:
        release.set()
        worker.join()


def test_more_slots_let_that_many_run_together(tiny_warehouse_path):
    wh = metrics.open_warehouse(tiny_warehouse_path, heavy_queries=2)
    wh.heavy_wait_seconds = 0.2
    release, worker = _hold_the_only_slot(wh)
    try:
        assert wh.query("mqls", grain="total", by="segment")["value"].sum() == 5
    finally:
        release.set()
        worker.join()
        wh.close()


def test_the_misuse_bench_measures_the_overview_with_and_without_the_cap(tiny_warehouse_path):
    from metrics.bench_misuse import format_misuse, misuse_figures

    figures = misuse_figures(tiny_warehouse_path, heavy_users=2, rounds=1)
    assert figures["no cap"]["slots"] == 2 and figures["cap"]["slots"] == 1
    assert figures["alone"] > 0 and figures["cap"]["heavy_queries_done"] > 0
    report = format_misuse(figures)
    assert "while 2 people run heavy breakdowns" in report and "× alone" in report
