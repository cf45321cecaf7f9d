"""The first-visit side of `python -m metrics bench`: what a fresh process pays the first time.

The rest of the bench measures medians of warm repetitions; a person opening the dashboard
after a restart, or with a filter nobody chose before, meets the first run instead. This module
measures that in processes of their own (`python -m metrics.bench_first --what KIND`):

* ``separate``: the sixteen first calls of the Python API (each scorecard metric, monthly and
  total, `Warehouse.query`), compilation included;
* ``batch``: the app's one batch for the same numbers (`Warehouse.query_window_batch`);
* ``floor``: one raw DuckDB pass over the same tables (bench.floor_answers), the reference.

`engine_clock` is the stopwatch the page measurements use for "engine time": the wall time
spent inside the warehouse's public calls (compile and execute), outermost calls only.
"""

from __future__ import annotations

import argparse
import atexit
import functools
import json
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The Warehouse methods a page's numbers go through; nested calls are counted once.
_TIMED_METHODS = ("execute", "execute_rows", "query", "query_windows", "query_window_batch")
FIRST_KINDS = ("separate", "batch", "floor")


class EngineClock:
    """Accumulated engine seconds, shared by every thread (a page's fragments included)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self._depth = threading.local()
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.seconds, self.calls = 0.0, 0

    def wrap(self, method):
        @functools.wraps(method)
        def timed(*args, **kwargs):
            depth = getattr(self._depth, "n", 0)
            self._depth.n = depth + 1
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self._depth.n = depth
                if depth == 0:
                    with self._lock:
                        self.seconds += time.perf_counter() - started
                        self.calls += 1
        return timed


def scratch_folder(prefix: str) -> Path:
    """A temporary folder for one bench worker process (its catalog, a server's log), removed
    when the process exits: every worker made one and left it behind in /tmp."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@contextmanager
def engine_clock() -> Iterator[EngineClock]:
    """Count the time spent in Warehouse calls while the block runs (bench processes only)."""
    from metrics.warehouse import Warehouse

    clock = EngineClock()
    saved = {name: getattr(Warehouse, name) for name in _TIMED_METHODS}
    for name, method in saved.items():
        setattr(Warehouse, name, clock.wrap(method))
    try:
        yield clock
    finally:
        for name, method in saved.items():
            setattr(Warehouse, name, method)


def measure_first(path: Path, kind: str) -> dict:
    """One kind of first call in this fresh process: open (ms), first run (ms), second (ms)."""
    from metrics.bench import default_range, floor_answers, overview_batch, overview_requests
    from metrics.warehouse import open_hardened, open_warehouse

    started = time.perf_counter()
    if kind == "floor":
        con = open_hardened(path)
        as_of = con.execute("SELECT as_of FROM warehouse_meta").fetchone()[0]
        start, end = default_range(as_of)

        def run() -> object:
            return floor_answers(con, start, end, as_of)
    else:
        wh = open_warehouse(path)
        start, end = default_range(wh.as_of)
        if kind == "separate":
            requests = overview_requests(start, end)

            def run() -> object:
                return [wh.query(r["name"], start=r["start"], end=r["end"], grain=r["grain"])
                        for r in requests]
        else:
            batch = overview_batch(start, end)

            def run() -> object:
                return wh.query_window_batch(batch["names"], windows=batch["windows"],
                                             trend=batch["trend"])
    opened = time.perf_counter()
    run()
    first = time.perf_counter()
    run()
    second = time.perf_counter()
    return {"kind": kind, "open_ms": (opened - started) * 1000,
            "first_ms": (first - opened) * 1000, "second_ms": (second - first) * 1000}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m metrics.bench_first",
                                     description="measure one kind of first call "
                                     "(run by `python -m metrics bench`)")
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--what", choices=FIRST_KINDS, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    args.out.write_text(json.dumps(measure_first(args.warehouse, args.what)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
