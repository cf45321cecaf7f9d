"""Run a draft definition on every other configured engine and say whether its number is the
one DuckDB gives, before anyone proposes it.

Portability (metrics.engines.portability) proves a definition *renders* for an engine; this
proves it *answers* the same there, on the data: one query per engine (the draft's total over
the preview's window and filters), each bounded in time. A number that differs blocks the
proposal (the editor says so); an engine that cannot be reached or is too slow is reported as
not checked, in words, and does not block.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import threading
from dataclasses import dataclass

from metrics.definitions import MetricDefinition
from metrics.engines import ENGINE_ENV, ENGINES_ENV, engine_name
from metrics.errors import MetricError, QueryTimeout

# Exact for counts and sums; medians, averages and spread costs may differ in the last bits
# of a double between engines (the parity tests' tolerance).
RELATIVE_TOLERANCE = 1e-9
CHECK_TIMEOUT_SECONDS = 10.0
SAME, DIFFERENT, NOT_CHECKED = "same", "different", "not checked"

_OPEN: dict[str, object] = {}  # engine URL -> its warehouse, opened once per process
_OPEN_LOCK = threading.Lock()


@dataclass(frozen=True)
class EngineCheck:
    """The draft's number on one engine beside DuckDB's."""

    engine: str
    url: str
    value: float | None
    verdict: str  # SAME, DIFFERENT or NOT_CHECKED
    detail: str = ""


def configured_engine_urls(exclude: str | None = None) -> tuple[str, ...]:
    """The engine URLs (not bare dialect names, which have no data) in METRICS_ENGINE and
    METRICS_ENGINES, DuckDB's and `exclude` (the preview's own engine) left out.

    >>> os.environ[ENGINES_ENV] = "clickhouse, postgresql://h/db, duckdb:///x.duckdb"
    >>> configured_engine_urls()
    ('postgresql://h/db',)
    >>> del os.environ[ENGINES_ENV]
    """
    found: list[str] = []
    for item in (os.environ.get(ENGINE_ENV, ""), *os.environ.get(ENGINES_ENV, "").split(",")):
        url = item.strip()
        if "://" in url and engine_name(url) != "duckdb" and url != exclude and url not in found:
            found.append(url)
    return tuple(found)


def same_value(reference: float | None, value: float | None) -> bool:
    """Equal as the parity tests count it: both missing, or within 1e-9 relative.

    >>> same_value(0.25, 0.25), same_value(None, None), same_value(None, 0.0), same_value(3, 4)
    (True, True, False, False)
    """
    if _missing(reference) or _missing(value):
        return _missing(reference) and _missing(value)
    return math.isclose(float(reference), float(value), rel_tol=RELATIVE_TOLERANCE, abs_tol=0.0)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _warehouse(url: str, timeout_seconds: float):
    import metrics

    with _OPEN_LOCK:
        wh = _OPEN.get(url)
        if wh is None:
            wh = _OPEN[url] = metrics.open_warehouse(engine=url, timeout_seconds=timeout_seconds)
        wh.engine.timeout_seconds = timeout_seconds
        return wh


def forget(url: str) -> None:
    """Drop the cached warehouse of `url` (after it failed: the next check reconnects)."""
    with _OPEN_LOCK:
        wh = _OPEN.pop(url, None)
    if wh is not None:
        try:
            wh.close()
        except Exception:  # a broken connection may fail to close; it is gone either way
            pass


def check_on_engine(defn: MetricDefinition, url: str, *, start: dt.datetime, end: dt.datetime,
                    where=None, reference: float | None,
                    timeout_seconds: float = CHECK_TIMEOUT_SECONDS) -> EngineCheck:
    """The draft's total on the engine at `url`, compared with `reference` (DuckDB's)."""
    name = engine_name(url)
    try:
        frame = _warehouse(url, timeout_seconds).query(defn, start=start, end=end, grain="total",
                                                       where=where)
    except QueryTimeout:
        forget(url)
        return EngineCheck(name, url, None, NOT_CHECKED,
                           f"took longer than {timeout_seconds:g} s; not compared")
    except MetricError as exc:
        forget(url)
        return EngineCheck(name, url, None, NOT_CHECKED, f"not compared: {exc}")
    value = None if frame.empty else frame["value"].iloc[0]
    value = None if _missing(value) else float(value)
    if same_value(reference, value):
        return EngineCheck(name, url, value, SAME)
    return EngineCheck(name, url, value, DIFFERENT, "differs from DuckDB's number")


def check_on_engines(defn: MetricDefinition, *, start: dt.datetime, end: dt.datetime,
                     where=None, reference: float | None, exclude: str | None = None,
                     urls: tuple[str, ...] | None = None,
                     timeout_seconds: float = CHECK_TIMEOUT_SECONDS) -> list[EngineCheck]:
    """`check_on_engine` for each configured engine URL (default: configured_engine_urls)."""
    urls = configured_engine_urls(exclude) if urls is None else urls
    return [check_on_engine(defn, url, start=start, end=end, where=where, reference=reference,
                            timeout_seconds=timeout_seconds) for url in urls]


def blocking_reason(checks: list[EngineCheck], metric: str, *, action: str = "proposed",
                    here: str = "DuckDB") -> str | None:
    """The sentence that stops proposing (or approving: `action`) a version whose number
    differs on an engine, else None.

    >>> blocking_reason([EngineCheck("postgres", "u", 2.0, DIFFERENT)], "won_deals")
    'won_deals gives another number on postgres than on DuckDB over the same period and filters: it cannot be proposed until the definition means the same on every engine (look for engine-specific functions, rounding or text comparisons).'
    """
    differing = [c.engine for c in checks if c.verdict == DIFFERENT]
    if not differing:
        return None
    return (f"{metric} gives another number on {', '.join(differing)} than on {here} over the "
            f"same period and filters: it cannot be {action} until the definition means the "
            "same on every engine (look for engine-specific functions, rounding or text "
            "comparisons).")
