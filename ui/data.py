"""Cached access to the engine. Pages call these, never the warehouse directly.

The warehouse connection is a process-wide resource; results are cached by everything that
can change them: the warehouse file's as_of and build time (a new load changes the key), the
metric's name, version and text, and the filters.
"""

from __future__ import annotations

import datetime as dt
import hashlib
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
from metrics.targets import agreed_targets
from metrics.paths import (
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


_PINNED_DAY = "_definitions_on"


def pin_definitions(day: dt.date | None) -> None:
    """Run the definitions live at the end of `day` on this page (None: the active ones)."""
    st.session_state[_PINNED_DAY] = day


def pinned_day() -> dt.date | None:
    return st.session_state.get(_PINNED_DAY)


@st.cache_data(ttl=dt.timedelta(seconds=30), max_entries=100, show_spinner=False)
def _versions_on(locations: tuple[str, str, str], day: dt.date) -> dict[str, int]:
    from metrics.review import versions_active_on

    return dict(versions_active_on(_catalog(*locations), day).versions)


def pinned_versions() -> dict[str, int]:
    """{metric: version} live on the pinned day, {} when the page runs today's definitions."""
    day = pinned_day()
    if day is None:
        return {}
    try:
        return _versions_on(_locations(), day)
    except MetricError:
        return {}


def metric(name: str, *, start=None, end=None, grain: str = "month", by: str | None = None,
           where: LeadFilter = LeadFilter(), version: int | None = None) -> MetricResult:
    """One metric, cached; a failure becomes an error message, never an exception. Without a
    `version`, the one live on the pinned day runs (pin_definitions), else the active one."""
    if version is None:
        version = pinned_versions().get(name)
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
        active = dict(wh.definitions())
        for name, version in pinned_versions().items():
            if name in active and active[name].version != version:
                active[name] = wh.definition(name, version)
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

    On an engine other than DuckDB, an analysis whose SQL cannot be rendered there with the
    same meaning says so in a sentence and the rest of the page stops there
    (metrics.engines.warehouse.EngineWarehouse._translate)."""
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


def targets() -> dict[str, float]:
    """Agreed targets: the file's defaults overridden by targets approvers set in the app."""
    try:
        catalog = get_catalog()
    except (MetricError, AttributeError):
        catalog = None
    return agreed_targets(catalog)


def period_plan(name: str) -> list[dict]:
    """The agreed targets by month or quarter of a metric (the plan); [] when there are none."""
    try:
        return get_catalog().period_targets(name)
    except (MetricError, AttributeError):
        return []


def plan_target(name: str, kind: str, start: dt.datetime, end: dt.datetime) -> float | None:
    """The plan's target of a window (targets by period), None when the plan does not cover
    every month of it."""
    from metrics.period_targets import window_target

    plan = period_plan(name)
    return window_target(plan, kind, start, end) if plan else None


def activations(name: str) -> list[tuple[int, dt.datetime]]:
    """When each version of a metric became active (for version markers on charts)."""
    try:
        return list(get_catalog().activations(name))
    except (MetricError, AttributeError):
        return []


# -- lead scoring --------------------------------------------------------------------------------
# A rule definition travels into the cache as (name, version, text), so a draft's text is part of
# the key and nothing unhashable is hashed; it is parsed again inside.
_DEFINITION = "__definition__"


def _key_value(value):
    if isinstance(value, MetricDefinition):
        return (_DEFINITION, value.name, value.version, value.text)
    if isinstance(value, dict):
        return ("__dict__", tuple(sorted((k, _key_value(v)) for k, v in value.items())))
    return value


def _from_key(value):
    from metrics.definitions import parse_definition

    if isinstance(value, tuple) and value and value[0] == _DEFINITION:
        _, name, version, text = value
        return parse_definition(text, source=f"{name} v{version}", version=version,
                                expected_name=name)
    if isinstance(value, tuple) and value and value[0] == "__dict__":
        return {k: _from_key(v) for k, v in value[1]}
    return value


@st.cache_data(ttl=CACHE_TTL, max_entries=500, show_spinner=False)
def _cached_scoring(stamp, function: str, args: tuple, kwargs: tuple):
    from metrics import scoring

    return getattr(scoring, function)(get_warehouse(), *[_from_key(a) for a in args],
                                      **{k: _from_key(v) for k, v in kwargs})


def run_scoring(function: str, *args, **kwargs):
    """One of metrics.scoring's warehouse functions, cached by warehouse, arguments and the text
    of every rule definition passed (so a draft rule is never served another's numbers)."""
    try:
        return _cached_scoring(warehouse_stamp(), function, tuple(_key_value(a) for a in args),
                               tuple(sorted((k, _key_value(v)) for k, v in kwargs.items())))
    except EngineSQLError as exc:  # on an engine the Lead scoring page needs DuckDB for now
        st.info(str(exc), icon=":material/dns:")
        st.stop()
