"""Cached access to the engine. Pages call these, never the warehouse directly.

The warehouse connection is a process-wide resource; results are cached by everything that
can change them: the warehouse file's as_of and build time (a new load changes the key), the
metric's name, version and text, and the filters.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import streamlit as st

import metrics
from metrics import analysis
from metrics.definitions import MetricDefinition
from metrics.engines.dialects import EngineSQLError
from metrics.errors import MetricError, QueryTimeout
from metrics.selection import LeadFilter
from metrics.paths import (
    SQL_DIR,
    default_catalog_path,
    default_roles_path,
    default_warehouse_path,
    definitions_dir,
)

CACHE_TTL = dt.timedelta(hours=1)


@st.cache_resource(show_spinner=False)
def _catalog(path: str, roles: str, definitions: str):
    return metrics.open_catalog(path, roles=roles, definitions_dir=Path(definitions))


def _locations() -> tuple[str, str, str]:
    return (str(default_catalog_path()), str(default_roles_path()), str(definitions_dir()))


def get_catalog():
    """The SQLite catalog of metric versions, targets and approvals (one per process)."""
    return _catalog(*_locations())


@st.cache_resource(show_spinner=False)
def _warehouse(path: str, catalog_path: str, roles: str, definitions: str) -> metrics.Warehouse:
    return metrics.open_warehouse(path, catalog=_catalog(catalog_path, roles, definitions))


def get_warehouse() -> metrics.Warehouse:
    """The hardened read-only warehouse; reopened automatically after a new load."""
    wh = _warehouse(str(default_warehouse_path()), *_locations())
    wh.refresh()
    return wh


def warehouse_stamp() -> tuple[str, str, str]:
    """Changes whenever the data changes: part of every cache key."""
    wh = get_warehouse()
    return (str(wh.path), str(wh.as_of), str(wh.built_at))


@dataclass(frozen=True)
class MetricResult:
    """A metric's rows plus what produced them, or the error that stopped it."""

    name: str
    frame: pd.DataFrame | None
    meta: dict = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def definitions() -> dict[str, MetricDefinition]:
    return get_warehouse().definitions()


def _text_hash(defn: MetricDefinition) -> str:
    return hashlib.sha256(defn.text.encode()).hexdigest()[:16]


@st.cache_data(ttl=CACHE_TTL, max_entries=4000, show_spinner=False)
def _cached_metric(stamp, name: str, version: int, text_hash: str, start, end, grain: str,
                   by: str | None, where: LeadFilter) -> tuple[pd.DataFrame, dict]:
    wh = get_warehouse()
    frame = wh.query(name, start=start, end=end, grain=grain, by=by, where=where,
                     version=version)
    return frame, dict(frame.attrs)


def metric(name: str, *, start=None, end=None, grain: str = "month", by: str | None = None,
           where: LeadFilter = LeadFilter(), version: int | None = None) -> MetricResult:
    """One metric, cached; a failure becomes an error message, never an exception."""
    try:
        wh = get_warehouse()
        defn = wh.definition(name, version)
        frame, meta = _cached_metric(warehouse_stamp(), name, defn.version, _text_hash(defn),
                                     start, end, grain, by, LeadFilter.of(where))
        return MetricResult(name, frame, meta)
    except MetricError as exc:
        return MetricResult(name, None, {}, str(exc))


WindowResults = tuple[list[MetricResult], "MetricResult | None"]


class _NotCacheable(Exception):
    """Carries a batch's results out of the cache when one of them timed out: a timeout may
    pass, so it must not be remembered for an hour."""

    def __init__(self, results: dict) -> None:
        super().__init__("a metric timed out")
        self.results = results


@st.cache_data(ttl=CACHE_TTL, max_entries=500, show_spinner=False)
def _cached_window_batch(stamp, metrics_key: tuple[tuple[str, int, str], ...], windows: tuple,
                         trend, grain: str, where: LeadFilter) -> dict:
    wh = get_warehouse()
    defs = [wh.definition(name, version) for name, version, _ in metrics_key]
    batch = wh.query_window_batch(defs, windows=list(windows), trend=trend, grain=grain,
                                  where=where)
    results: dict = {}
    for name, result in batch.items():
        if isinstance(result, MetricError):
            results[name] = str(result)
        else:
            totals, series = result
            results[name] = ([(frame, dict(frame.attrs)) for frame in totals],
                             None if series is None else (series, dict(series.attrs)))
    if any(isinstance(r, QueryTimeout) for r in batch.values()):
        raise _NotCacheable(results)
    return results


def metric_window_batch(names: list[str], *, windows: list[tuple], trend: tuple | None = None,
                        grain: str = "month", where: LeadFilter = LeadFilter()
                        ) -> dict[str, WindowResults]:
    """Totals over several windows and a trend of the active versions of several metrics,
    from one cached call and in as few scans as the engine can share
    (Warehouse.query_window_batch). Each result is what `metric` would return for that
    window; a metric that fails gets its error in each of its results and the others are
    unaffected, so one broken tile never breaks the page."""
    def failed(name: str, error: str) -> WindowResults:
        result = MetricResult(name, None, {}, error)
        return [result] * len(windows), (result if trend else None)

    out: dict[str, WindowResults] = {}
    try:
        wh = get_warehouse()
        active = wh.definitions()
        stamp = warehouse_stamp()
    except MetricError as exc:
        return {name: failed(name, str(exc)) for name in names}
    key = []
    for name in names:
        if name in active:
            key.append((name, active[name].version, _text_hash(active[name])))
        else:
            out[name] = failed(name, f"there is no metric '{name}'.")
    try:
        results = _cached_window_batch(stamp, tuple(key), tuple(windows), trend, grain,
                                       LeadFilter.of(where))
    except _NotCacheable as uncached:
        results = uncached.results
    except MetricError as exc:
        results = {name: str(exc) for name, _, _ in key}
    for name, result in results.items():
        if isinstance(result, str):
            out[name] = failed(name, result)
        else:
            totals, series = result
            out[name] = ([MetricResult(name, frame, meta) for frame, meta in totals],
                         None if series is None else MetricResult(name, *series))
    return {name: out[name] for name in names}


@st.cache_data(ttl=CACHE_TTL, max_entries=2000, show_spinner=False)
def _cached_analysis(stamp, function: str, kwargs: tuple) -> pd.DataFrame:
    return getattr(analysis, function)(get_warehouse(), **dict(kwargs))


def run_analysis(function: str, **kwargs) -> pd.DataFrame:
    """One of metrics.analysis' functions, cached by warehouse and arguments. Arguments are
    passed as they are (a Selection's LeadFilter is hashable and is the key), so they must be
    hashable: tuples, not lists.

    On an engine other than DuckDB, an analysis that needs DuckDB says so in a sentence and
    the rest of the page stops there (metrics.engines.warehouse.PORTABLE_ANALYSES)."""
    try:
        return _cached_analysis(warehouse_stamp(), function, tuple(sorted(kwargs.items())))
    except EngineSQLError as exc:
        st.info(str(exc), icon=":material/dns:")
        st.stop()


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _filter_options(stamp) -> dict[str, list[tuple[str, str]]]:
    return analysis.filter_options(get_warehouse())


def filter_options() -> dict[str, list[tuple[str, str]]]:
    return _filter_options(warehouse_stamp())


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _campaign_channels(stamp) -> dict[str, str]:
    return analysis.campaign_channels(get_warehouse())


def campaign_channels() -> dict[str, str]:
    """{campaign_id: channel}, to offer only the campaigns of the chosen channels."""
    return _campaign_channels(warehouse_stamp())


def leads_matching(where: LeadFilter) -> int:
    """How many leads a filter matches over all time (0: the filters contradict each other)."""
    return int(run_analysis("lead_count", where=where))


def file_targets() -> dict[str, float]:
    path = Path(SQL_DIR / "targets.toml")
    try:
        return {k: float(v) for k, v in tomllib.loads(path.read_text()).get("targets", {}).items()}
    except (OSError, tomllib.TOMLDecodeError, ValueError):
        return {}


def targets() -> dict[str, float]:
    """Agreed targets: the file's defaults overridden by targets approvers set in the app."""
    merged = file_targets()
    try:
        merged.update(get_catalog().targets())
    except (MetricError, AttributeError):
        pass
    return merged


def activations(name: str) -> list[tuple[int, dt.datetime]]:
    """When each version of a metric became active (for version markers on charts)."""
    try:
        return list(get_catalog().activations(name))
    except (MetricError, AttributeError):
        return []
