"""The read side: a hardened, read-only DuckDB connection that answers metric queries."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd
import sqlglot
from sqlglot import exp

from metrics.build import lead_column_copies, table_schema
from metrics.compile_cache import CompileCache, cache_path
from metrics.compiler import (
    TREND_SET,
    WINDOW_SET,
    CompiledQuery,
    TreeLoadedOnUse,
    QueryRequest,
    batch_key,
    batch_suffix,
    compile_metric,
    compile_window_batch,
    compile_from_day_rollup,
    compile_windows,
    day_rollup_fits,
    merge_metric_queries,
    request_params,
    request_shape,
    window_params,
    window_shape,
)
from metrics.definitions import MetricDefinition, load_definition_files
from metrics.lead_rollup import ROLLUP_DIMENSIONS
from metrics.metric_rollup import ROLLUP_TABLE as METRIC_ROLLUP_TABLE
from metrics.metric_rollup import definition_key, rolled_up
from metrics.errors import (MetricError, QueryError, QueryTimeout, WarehouseBusy,
                            WarehouseError)
from metrics.paths import METRICS_DIR, default_warehouse_path
from metrics.profile import (DataProfile, DefinitionReads, literals_read, missing_inputs,
                             names_read, read_profile, reads, remember_reads)
from metrics.selection import LeadFilter
from metrics.sql_guard import validate_definition_columns

if TYPE_CHECKING:
    from metrics.catalog import Catalog

# Second line of defence behind the SQL guard: no files, no extensions, no settings changes.
HARDENED_CONFIG = {
    "enable_external_access": False,
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "lock_configuration": True,
}
DEFAULT_TIMEOUT_SECONDS = float(os.environ.get("METRICS_QUERY_TIMEOUT", "30"))
DEFAULT_ROW_CAP = int(os.environ.get("METRICS_ROW_CAP", "100000"))
# Memory: DuckDB's default is 80% of the machine's RAM for every database. A connection (all
# the queries of one process on one warehouse file) gets METRICS_MEMORY_LIMIT, each query's
# sorts and hash tables METRICS_QUERY_MEMORY_LIMIT, so one query cannot starve the server.
# Heavy work (a draft's or another version's numbers, a breakdown) runs at most this many at
# a time per process, so one person's big impact preview cannot take every core from the
# pages everyone else is reading; a request that waits longer than the wait is refused.
DEFAULT_HEAVY_QUERIES = int(os.environ.get("METRICS_HEAVY_QUERIES", "1"))
DEFAULT_HEAVY_WAIT_SECONDS = float(os.environ.get("METRICS_HEAVY_WAIT", "10"))
DEFAULT_MEMORY_LIMIT = os.environ.get("METRICS_MEMORY_LIMIT", "4GB")
DEFAULT_QUERY_MEMORY_LIMIT = os.environ.get("METRICS_QUERY_MEMORY_LIMIT", "2GB")
# The one setting a locked connection may still change: each query cursor sets its own limit
# (a LOCAL setting does not pass from a connection to its cursors). It cannot exceed the
# connection's memory_limit, which stays locked.
_PER_QUERY_SETTING = "operator_memory_limit"
# Compiled SQL kept per (metric version, request shape); a shape is cheap to compile again.
_COMPILED_CACHE_SIZE = 4096
# (totals of each window, trend or None): what query_windows returns for one metric.
WindowResults = tuple[list[pd.DataFrame], "pd.DataFrame | None"]


def open_hardened(path: Path | str, *, memory_limit: str = DEFAULT_MEMORY_LIMIT,
                  query_memory_limit: str = DEFAULT_QUERY_MEMORY_LIMIT
                  ) -> duckdb.DuckDBPyConnection:
    """Open a warehouse read-only with file access, extensions and settings locked.

    The file is attached to a private in-memory database rather than opened by path: DuckDB
    shares one database per path in a process, so a connection opened by path after a load
    swapped the file would still read the old one, and closing that shared one would break
    the queries still running on it. A private database keeps the file it attached (the old
    inode, after a swap) until it is closed, whatever else opens the path.
    """
    path = Path(path)
    if not path.exists():
        raise WarehouseError(f"there is no warehouse at {path}; build one with "
                             "`python -m metrics demo` or `python -m metrics ingest DIR`.")
    try:
        con = duckdb.connect(":memory:", config={
            "autoload_known_extensions": False, "autoinstall_known_extensions": False,
            "memory_limit": memory_limit,
            # Where DuckDB spills a file database by default, not the process's working folder.
            "temp_directory": f"{path}.tmp"})
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot open a connection for the warehouse {path} "
                             f"(METRICS_MEMORY_LIMIT={memory_limit!r}?): {exc}") from None
    try:
        con.execute("ATTACH ? AS warehouse (READ_ONLY)", [str(path)])
        con.execute("USE warehouse")
        con.execute("DETACH memory")  # nothing but the warehouse to read or write
        # DuckDB draws a progress bar on the terminal for long queries: noise in the CLI's
        # output and in the server's log.
        con.execute("SET enable_progress_bar = false")
        con.execute(f"SET {_PER_QUERY_SETTING} = ?", [query_memory_limit])
        con.execute(f"SET allowed_configs = ['{_PER_QUERY_SETTING}']")
        for setting, value in HARDENED_CONFIG.items():
            con.execute(f"SET {setting} = {str(value).lower()}")
    except duckdb.Error as exc:
        con.close()
        raise WarehouseError(f"cannot open the warehouse {path}: {exc}") from None
    return con


def query_cursor(con: duckdb.DuckDBPyConnection, *,
                 query_memory_limit: str = DEFAULT_QUERY_MEMORY_LIMIT
                 ) -> duckdb.DuckDBPyConnection:
    """A cursor of a hardened connection for one query, with the per-query memory limit."""
    cursor = con.cursor()
    cursor.execute(f"SET {_PER_QUERY_SETTING} = ?", [query_memory_limit])
    return cursor


class _OpenFile:
    """One opened warehouse file and how many queries are running on it.

    After a swap the Warehouse opens the new file and retires this one; it is closed when its
    last query ends, so a query never loses its connection halfway.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, stamp: tuple[int, int]) -> None:
        self.con = con
        self.stamp = stamp
        self.running = 0
        self.retired = False

    def close_if_idle(self) -> None:
        if self.retired and self.running == 0:
            self.con.close()


def _to_utc_naive(value: object, name: str) -> dt.datetime | None:
    """Accept a date, datetime or ISO string; return a naive UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day)
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise QueryError(f"{name} must be a date like 2025-01-31, not '{value}'.") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


_GRAIN_STEP = {
    "day": pd.DateOffset(days=1), "week": pd.DateOffset(weeks=1),
    "month": pd.DateOffset(months=1), "quarter": pd.DateOffset(months=3),
    "year": pd.DateOffset(years=1),
}


@dataclass(frozen=True)
class _Validated(TreeLoadedOnUse):
    """A definition checked against the schema, with what the hot path asks of its SQL,
    computed once and kept in the compile cache (a fresh process parses nothing)."""
    query: exp.Query
    columns: list[str]
    batch_key: tuple[str, str, str] | None
    reads: DefinitionReads

    _TREE = "query"


def _validated(defn: MetricDefinition, schema: dict[str, dict[str, str]]) -> _Validated:
    query, columns = validate_definition_columns(defn, schema)
    return _Validated(query, columns, batch_key(defn, query), reads(defn.text))


@dataclass(frozen=True)
class _Prepared:
    definition: MetricDefinition
    validated: _Validated

    @property
    def query(self) -> exp.Query:
        return self.validated.query

    @property
    def columns(self) -> list[str]:
        return self.validated.columns


class Warehouse:
    """One warehouse file; thread-safe; follows the file when a load swaps in a new one.

    A swap is invisible to running queries: each finishes on the file it started on, and the
    next query reads the new file.
    """

    # Set per file by _connect; an engine's warehouse (metrics.engines) has no rollups.
    day_rollups: dict[str, frozenset[str]] = {}

    def __init__(self, path: Path | str | None = None, *, catalog: Catalog | None = None,
                 definitions_dir: Path = METRICS_DIR,
                 timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
                 row_cap: int = DEFAULT_ROW_CAP, memory_limit: str = DEFAULT_MEMORY_LIMIT,
                 query_memory_limit: str = DEFAULT_QUERY_MEMORY_LIMIT,
                 heavy_queries: int = DEFAULT_HEAVY_QUERIES,
                 heavy_wait_seconds: float = DEFAULT_HEAVY_WAIT_SECONDS) -> None:
        self.path = Path(path or default_warehouse_path())
        # Which engine answers (results carry it in attrs["engine"]); EngineWarehouse sets its own.
        if not hasattr(self, "engine_url"):
            self.engine_url = f"duckdb:///{self.path}"
        self.catalog = catalog
        self.definitions_dir = Path(definitions_dir)
        self.timeout_seconds = timeout_seconds
        self.row_cap = row_cap
        self.memory_limit = memory_limit
        self.query_memory_limit = query_memory_limit
        self._lock = threading.RLock()
        self.heavy_queries = max(1, heavy_queries)
        self.heavy_wait_seconds = heavy_wait_seconds
        self._heavy_slots = threading.BoundedSemaphore(self.heavy_queries)
        self._open: _OpenFile | None = None
        self._prepared: dict[tuple[str, int, str], _Prepared] = {}
        self._compiled: dict[tuple, CompiledQuery] = {}
        self._file_definitions: dict[str, MetricDefinition] | None = None
        self._connect()

    # -- connection -------------------------------------------------------------------------
    def _file_stamp(self) -> tuple[int, int]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            raise WarehouseError(f"there is no warehouse at {self.path}; build one with "
                                 "`python -m metrics demo` or `python -m metrics ingest DIR`.") from None
        return (st.st_ino, st.st_mtime_ns)

    def _connect(self) -> None:
        """Open the file now at the path; the file opened before is retired (under the lock)."""
        stamp = self._file_stamp()
        con = open_hardened(self.path, memory_limit=self.memory_limit,
                            query_memory_limit=self.query_memory_limit)
        try:
            meta = con.execute("SELECT as_of, built_at, source FROM warehouse_meta").fetchone()
            schema = table_schema(con)
            # What the data records (stages with events, touches per team, known amounts, where
            # it begins): a metric over an input the export lacks has no value, not 0 %.
            profile = read_profile(con)
            day_rollups = rolled_up(con)
        except duckdb.CatalogException:
            con.close()
            raise WarehouseError(f"{self.path} is not a Handoff warehouse (a table it needs is "
                                 "missing); rebuild it with `python -m metrics demo` or "
                                 "`python -m metrics ingest DIR`.") from None
        except duckdb.Error as exc:
            con.close()
            raise WarehouseError(f"{self.path} could not be read ({exc}); rebuild it with "
                                 "`python -m metrics demo` or `python -m metrics ingest DIR`."
                                 ) from None
        self._retire()
        self._open = _OpenFile(con, stamp)
        self.as_of: dt.datetime = meta[0]
        self.built_at: dt.datetime = meta[1]
        self.source: str = meta[2]
        self.schema = schema
        self.lead_columns = {c.lower(): t for c, t in schema.get("leads", {}).items()}
        self.lead_copies = lead_column_copies(schema)
        self.profile: DataProfile = profile
        # {definition_key: lead dimensions} of the definitions metric_day_counts holds.
        self.day_rollups: dict[str, frozenset[str]] = day_rollups
        self.stage_events: dict[str, int] = profile.stage_events
        self.data_starts: dt.datetime | None = profile.data_starts
        self._prepared.clear()
        self._compiled.clear()
        # Compiled SQL survives the process (metrics.compile_cache), keyed by this file's data.
        self._compile_cache = CompileCache(cache_path(self.path), {
            "schema": schema, "lead_copies": self.lead_copies,
            "row_cap": self.row_cap, "as_of": self.as_of, "built_at": self.built_at})

    def _retire(self) -> None:
        if self._open is not None:
            self._open.retired = True
            self._open.close_if_idle()
            self._open = None

    def refresh(self) -> bool:
        """Reopen if the file was replaced by a new load; True when it was."""
        with self._lock:
            if self._open is not None and self._file_stamp() == self._open.stamp:
                return False
            self._connect()
            return True

    def close(self) -> None:
        with self._lock:
            self._retire()

    @contextmanager
    def _cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on the current file for one query; the file stays open until it ends."""
        with self._lock:
            if self._open is None:
                raise WarehouseError("the warehouse has been closed.")
            try:
                self.refresh()
            except WarehouseError:
                # The path is between two files or unreadable for a moment: keep answering
                # from the file already open rather than failing the page.
                pass
            opened = self._open
            # The parent connection refuses concurrent calls, so cursors are made under the lock.
            try:
                cursor = query_cursor(opened.con, query_memory_limit=self.query_memory_limit)
            except duckdb.Error as exc:
                raise WarehouseError(f"cannot query the warehouse {self.path}: {exc}") from None
            opened.running += 1
        try:
            yield cursor
        finally:
            cursor.close()
            with self._lock:
                opened.running -= 1
                opened.close_if_idle()

    @contextlib.contextmanager
    def heavy_slot(self, label: str):
        """Hold one of the `heavy_queries` slots for heavy work, waiting at most
        `heavy_wait_seconds`; WarehouseBusy (a sentence saying so) when none comes free."""
        if not self._heavy_slots.acquire(timeout=self.heavy_wait_seconds):
            raise WarehouseBusy(
                f"{label} was not run: the warehouse was busy for {self.heavy_wait_seconds:g} s "
                f"with other heavy work (at most {self.heavy_queries} draft, version or "
                "breakdown queries run at once, so the dashboards stay fast for everyone). "
                "Try again in a moment.")
        try:
            yield
        finally:
            self._heavy_slots.release()

    def execute(self, sql: str, params: Mapping[str, object] | None = None, *,
                label: str = "query") -> pd.DataFrame:
        """Run one read-only statement with the time limit; return the whole result."""
        return self._run(sql, params, label, lambda cursor: cursor.df())

    def execute_rows(self, sql: str, params: Mapping[str, object] | None = None, *,
                     label: str = "query") -> tuple[list[str], list[tuple]]:
        """Like `execute`, as (column names, rows of Python values): for small results that
        are split up before they become frames, where a DataFrame would only cost time."""
        return self._run(sql, params, label,
                         lambda cursor: ([d[0] for d in cursor.description], cursor.fetchall()))

    def _run(self, sql: str, params: Mapping[str, object] | None, label: str, fetch):
        with self._cursor() as cursor:
            timer = threading.Timer(self.timeout_seconds, cursor.interrupt)
            timer.start()
            try:
                return fetch(cursor.execute(sql, dict(params or {})))
            except duckdb.InterruptException:
                raise QueryTimeout(f"{label} took longer than {self.timeout_seconds:g} s and was "
                                   "stopped; narrow the date range or simplify the SQL.") from None
            except duckdb.OutOfMemoryException:
                raise QueryError(f"{label} needed more memory than a query may use "
                                 f"({self.query_memory_limit}, METRICS_QUERY_MEMORY_LIMIT); "
                                 "narrow the date range or simplify the SQL.") from None
            except duckdb.Error as exc:
                message = str(exc).split("\n")[0]
                raise QueryError(f"{label} failed in the warehouse: {message}") from None
            finally:
                timer.cancel()

    # -- definitions --------------------------------------------------------------------------
    def definitions(self) -> dict[str, MetricDefinition]:
        """The active definition of every metric, by name."""
        if self.catalog is not None:
            return self.catalog.active_definitions()
        if self._file_definitions is None:
            self._file_definitions = load_definition_files(self.definitions_dir)
        return self._file_definitions

    def definition(self, name: str, version: int | None = None) -> MetricDefinition:
        if self.catalog is not None:
            return self.catalog.definition(name, version)
        defs = self.definitions()
        if name not in defs:
            raise QueryError(f"there is no metric '{name}'; `python -m metrics list` shows them.")
        if version not in (None, defs[name].version):
            raise QueryError(f"{name} has only version {defs[name].version} without a catalog; "
                             "versions live in the catalog (--catalog).")
        return defs[name]

    def prepare(self, defn: MetricDefinition) -> _Prepared:
        """Validate a definition against this warehouse's schema (cached per text)."""
        key = (defn.name, defn.version, defn.text)
        if key not in self._prepared:
            # A definition that fails is never stored, so it fails again with its message.
            validated = self._compile_cache.get_or_compile(
                ("validated", *key), lambda: _validated(defn, self.schema))
            remember_reads(defn.text, validated.reads)
            self._prepared[key] = _Prepared(defn, validated)
        return self._prepared[key]

    # -- queries ----------------------------------------------------------------------------
    def query(self, name: str | MetricDefinition, *, start: object = None, end: object = None,
              grain: str = "month", by: str | None = None,
              where: LeadFilter | Mapping[str, object] | None = None,
              version: int | None = None) -> pd.DataFrame:
        """One metric as a DataFrame: [period], [by], value (+ numerator, denominator).

        `attrs` carries metric, version, label, unit, kind, direction, as_of, notes, sql and
        incomplete_periods (periods whose cohorts have not had `maturity_days` to convert, or
        that are not over yet).
        """
        defn = name if isinstance(name, MetricDefinition) else self.definition(name, version)
        prepared = self.prepare(defn)
        request = QueryRequest(start=_to_utc_naive(start, "start"), end=_to_utc_naive(end, "end"),
                               grain=grain, by=by, where=LeadFilter.of(where))
        compiled = self._compile_from_rollup(prepared, request) or self._compile(prepared, request)
        # A draft, another version or a breakdown is heavy work, which the pages everyone reads
        # (the active versions' totals and trends) never wait behind.
        heavy = isinstance(name, MetricDefinition) or version is not None or by is not None
        label = f"metric {defn.name} v{defn.version}"
        with self.heavy_slot(label) if heavy else contextlib.nullcontext():
            frame = self.execute(compiled.sql, compiled.bind(request, self.as_of), label=label)
        if len(frame) > self.row_cap:
            raise QueryError(f"{defn.name} returned more than {self.row_cap} rows; use a coarser "
                             "grain or a breakdown with fewer values.", source=defn.name)
        return self._finish(frame, defn, compiled, grain)

    def query_windows(self, name: str | MetricDefinition, *,
                      windows: Sequence[tuple[object, object]],
                      trend: tuple[object, object] | None = None, grain: str = "month",
                      where: LeadFilter | Mapping[str, object] | None = None,
                      version: int | None = None) -> tuple[list[pd.DataFrame], pd.DataFrame | None]:
        """Totals over several windows and a trend of one metric, from one scan of its rows.

        Returns ([one frame per window], trend frame or None); each frame is what `query`
        returns for that window with grain "total" (the windows) or `grain` (the trend),
        attrs included. A scorecard tile (this period, the previous one, last year and a
        sparkline) costs one query instead of four.
        """
        defn = name if isinstance(name, MetricDefinition) else self.definition(name, version)
        prepared = self.prepare(defn)
        request, window_bounds, trend_bounds = _window_request(windows, trend, grain, where)
        compiled = self._compiled_once(
            (defn.name, defn.version, defn.text, request_shape(request),
             window_shape(window_bounds, trend_bounds)),
            lambda: compile_windows(defn, prepared.query, request, windows=window_bounds,
                                    trend=trend_bounds, metric_columns=prepared.columns,
                                    lead_columns=self.lead_columns, row_cap=self.row_cap,
                                    as_of=self.as_of, lead_copies=self.lead_copies))
        columns, rows = self._run_windows(compiled, request, window_bounds, trend_bounds,
                                          f"metric {defn.name} v{defn.version}")
        return self._split_windows(defn, compiled, columns, rows, "", len(windows),
                                   trend is not None, grain)

    def query_window_batch(self, names: Sequence[str | MetricDefinition], *,
                           windows: Sequence[tuple[object, object]],
                           trend: tuple[object, object] | None = None, grain: str = "month",
                           where: LeadFilter | Mapping[str, object] | None = None
                           ) -> dict[str, WindowResults | MetricError]:
        """`query_windows` for several metrics, sharing scans: metrics that read exactly the
        same rows (compiler.batch_key) are answered by one query. A page of tiles costs one
        scan per distinct source instead of one per tile.

        Returns {name: (totals, trend) or the MetricError of that metric}: a broken metric
        fails alone. If a shared query fails, its metrics are retried one by one so the error
        lands on the metric that caused it.
        """
        labels = [n.name if isinstance(n, MetricDefinition) else n for n in names]
        results: dict[str, WindowResults | MetricError] = {}
        groups: dict[tuple, list[tuple[MetricDefinition, _Prepared]]] = {}
        for name, label in zip(names, labels):
            try:
                defn = name if isinstance(name, MetricDefinition) else self.definition(name)
                prepared = self.prepare(defn)
            except MetricError as exc:
                results[label] = exc
                continue
            key = prepared.validated.batch_key
            groups.setdefault(key if key is not None else ("alone", defn.name), []).append(
                (defn, prepared))
        for group in groups.values():
            if len(group) > 1:
                try:
                    results.update(self._batch(group, windows, trend, grain, where))
                    continue
                except MetricError:
                    pass  # answered one by one below, so each metric reports its own error
            for defn, _ in group:
                try:
                    results[defn.name] = self.query_windows(defn, windows=windows, trend=trend,
                                                            grain=grain, where=where)
                except MetricError as exc:
                    results[defn.name] = exc
        return {label: results[label] for label in labels}

    def _batch(self, group: list[tuple[MetricDefinition, _Prepared]],
               windows: Sequence[tuple[object, object]], trend: tuple[object, object] | None,
               grain: str, where: LeadFilter | Mapping[str, object] | None) -> dict[str, WindowResults]:
        """One query for metrics with the same batch key; QueryError if they cannot share it."""
        defs = [defn for defn, _ in group]
        request, window_bounds, trend_bounds = _window_request(windows, trend, grain, where)

        def compile_batch() -> CompiledQuery:
            merged = merge_metric_queries([prepared.query for _, prepared in group])
            if merged is None:
                raise QueryError("these metrics give a shared column different meanings.")
            columns = list(dict.fromkeys(c for _, prepared in group for c in prepared.columns))
            return compile_window_batch(defs, merged, request, windows=window_bounds,
                                        trend=trend_bounds, metric_columns=columns,
                                        lead_columns=self.lead_columns, row_cap=self.row_cap,
                                        as_of=self.as_of, lead_copies=self.lead_copies)

        compiled = self._compiled_once(
            ("batch", tuple((d.name, d.version, d.text) for d in defs), request_shape(request),
             window_shape(window_bounds, trend_bounds)), compile_batch)
        columns, rows = self._run_windows(compiled, request, window_bounds, trend_bounds,
                                          "metrics " + ", ".join(d.name for d in defs))
        return {defn.name: self._split_windows(defn, compiled, columns, rows, batch_suffix(i),
                                               len(windows), trend is not None, grain)
                for i, defn in enumerate(defs)}

    def _run_windows(self, compiled: CompiledQuery, request: QueryRequest, window_bounds,
                     trend_bounds, label: str) -> tuple[list[str], list[tuple]]:
        params = {**request_params(request, self.as_of),
                  **window_params(window_bounds, trend_bounds)}
        return self.execute_rows(
            compiled.sql, {k: v for k, v in params.items() if k in compiled.params}, label=label)

    def _split_windows(self, defn: MetricDefinition, compiled: CompiledQuery, columns: list[str],
                       rows: list[tuple], suffix: str, windows: int, trend: bool, grain: str
                       ) -> WindowResults:
        """One metric's frames from a windowed result: its columns are those ending in
        `suffix` (all value columns when the result holds one metric)."""
        value_at, value_columns = [], []
        for i, column in enumerate(columns):
            base, sep, index = column.rpartition("__") if suffix else (column, "", "")
            if column not in (WINDOW_SET, "period") and sep + index == suffix:
                value_at.append(i)
                value_columns.append(base)
        totals = []
        for w in range(windows):
            found = [tuple(row[i] for i in value_at) for row in rows if row[0] == w]
            if not found:  # no rows in the window: what an aggregate over nothing gives
                found = [tuple(0 if c == "value" and defn.kind == "count" else None
                               for c in value_columns)]
            totals.append(self._finish(self._frame(found, value_columns, defn), defn, compiled,
                                       "total"))
        series = None
        if trend:
            found = [(row[1], *(row[i] for i in value_at)) for row in rows if row[0] == TREND_SET]
            if len(found) > self.row_cap:
                raise QueryError(f"{defn.name} returned more than {self.row_cap} rows; use a "
                                 "coarser grain.", source=defn.name)
            series = self._finish(self._frame(found, ["period", *value_columns], defn), defn,
                                  compiled, grain)
        return totals, series

    @staticmethod
    def _frame(rows: list[tuple], columns: list[str], defn: MetricDefinition) -> pd.DataFrame:
        """A small result typed as `execute` would give it: a count as int64, other numbers as
        float64 (NULL as NaN)."""
        data = {}
        for i, column in enumerate(columns):
            values = [row[i] for row in rows]
            if column == "period":
                data[column] = np.array(values, dtype=object)
            elif column == "value" and defn.kind == "count":
                data[column] = np.array(values, dtype=np.int64)
            else:
                data[column] = np.array([np.nan if v is None else v for v in values],
                                        dtype=np.float64)
        return pd.DataFrame(data, copy=False)

    def _finish(self, frame: pd.DataFrame, defn: MetricDefinition, compiled: CompiledQuery,
                grain: str) -> pd.DataFrame:
        """A query's rows as the API returns them: dated periods and the metric's attrs."""
        if "period" in frame and not (len(frame) and isinstance(frame["period"].iloc[0], dt.date)
                                      and not isinstance(frame["period"].iloc[0], dt.datetime)):
            frame["period"] = pd.to_datetime(frame["period"]).dt.date
        notes = []
        missing = [stage for stage in stages_read(defn.text) if not self.stage_events.get(stage)]
        if missing:
            names = ", ".join(stage.upper() if len(stage) <= 3 else stage for stage in missing)
            notes.append(f"This warehouse has no {names} events, so {defn.label} has no value "
                         "here (it is not 0).")
        notes += missing_inputs(defn.text, defn.label, self.profile)
        if notes:
            for column in ("value", "numerator"):
                if column in frame:
                    frame[column] = np.nan
        if compiled.unsplit_dimensions and defn_has_unallocated_rows(defn):
            notes.append("Campaign cost is not split by " + ", ".join(compiled.unsplit_dimensions)
                         + ": the full cost of the selected campaigns and channels is counted.")
        frame.attrs.update(
            metric=defn.name, version=defn.version, label=defn.label, unit=defn.unit,
            kind=defn.kind, direction=defn.direction, owners=list(defn.owners),
            as_of=self.as_of, notes=notes, sql=compiled.sql, engine=self.engine_url,
            incomplete_periods=self._incomplete_periods(frame, grain, defn),
            partial_periods=self._incomplete_periods(frame, grain, None),
            missing_stages=missing, missing_inputs=bool(notes),
        )
        return frame

    def _compiled_once(self, key: tuple, compile_: Callable[[], CompiledQuery]) -> CompiledQuery:
        """The compiled SQL for `key`, compiling it with `compile_()` the first time."""
        with self._lock:
            compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compile_cache.get_or_compile(key, compile_)
            with self._lock:
                if len(self._compiled) >= _COMPILED_CACHE_SIZE:
                    self._compiled.clear()
                self._compiled[key] = compiled
        return compiled

    def _compile(self, prepared: _Prepared, request: QueryRequest) -> CompiledQuery:
        """The metric's SQL for requests of this shape, compiled once (values are parameters)."""
        defn = prepared.definition
        return self._compiled_once(
            (defn.name, defn.version, defn.text, request_shape(request)),
            lambda: compile_metric(defn, prepared.query, request,
                                   metric_columns=prepared.columns,
                                   lead_columns=self.lead_columns, row_cap=self.row_cap,
                                   as_of=self.as_of, lead_copies=self.lead_copies))

    def _compile_from_rollup(self, prepared: _Prepared, request: QueryRequest
                             ) -> CompiledQuery | None:
        """The query on metric_day_counts for this definition text and request, or None when
        the rollup does not hold the text or cannot answer the request exactly."""
        defn = prepared.definition
        key = definition_key(defn)
        lead_dimensions = self.day_rollups.get(key)
        if lead_dimensions is None:
            return None
        compile_ = functools.partial(
            compile_from_day_rollup, defn, METRIC_ROLLUP_TABLE, key, lead_dimensions, request,
            dimensions=ROLLUP_DIMENSIONS, row_cap=self.row_cap, as_of=self.as_of)
        if not day_rollup_fits(defn, request, ROLLUP_DIMENSIONS):
            return None
        return self._compiled_once(
            ("day rollup", defn.name, defn.version, defn.text, request_shape(request)), compile_)

    def _incomplete_periods(self, frame: pd.DataFrame, grain: str,
                            defn: MetricDefinition | None) -> list[dt.date]:
        """Periods not over at as_of plus, for a definition, the metric's maturity window
        (its cohorts are still converting); defn=None: only the periods not over yet (partial
        counts, a subset of the incomplete ones)."""
        if "period" not in frame or grain == "total" or frame.empty:
            return []
        periods = sorted(set(frame["period"]))
        step = _GRAIN_STEP[grain]
        maturity = pd.Timedelta(days=defn.maturity_days if defn else 0)
        return [p for p in periods if pd.Timestamp(p) + step + maturity > pd.Timestamp(self.as_of)]


@functools.lru_cache(maxsize=512)
def stages_read(text: str) -> tuple[str, ...]:
    """The lead stages a definition's SQL depends on: lifecycle columns first_<stage>_at and
    string literals naming a stage ('sal'), in model order; 'lead' is never missing.

    >>> stages_read("SELECT lead_id, first_mql_at AS at, first_sal_at IS NOT NULL AS numerator "
    ...             "FROM lead_lifecycle")
    ('mql', 'sal')
    """
    from metrics.model import load_model

    known = [stage for stage in load_model().funnel_stages if stage != "lead"]
    found = {name[len("first_"):-len("_at")] for name in names_read(text)
             if name.startswith("first_") and name.endswith("_at")}
    found |= literals_read(text)
    return tuple(stage for stage in known if stage in found)


def _window_request(windows: Sequence[tuple[object, object]], trend: tuple[object, object] | None,
                    grain: str, where: LeadFilter | Mapping[str, object] | None
                    ) -> tuple[QueryRequest, tuple, tuple | None]:
    """The request a windowed query scans (the union of its windows and trend, with the
    filters), and the windows' and trend's bounds, each checked as a single query's are."""
    bounds = [(_to_utc_naive(s, "start"), _to_utc_naive(e, "end"))
              for s, e in [*windows, *([trend] if trend else [])]]
    starts, ends = [s for s, _ in bounds], [e for _, e in bounds]
    request = QueryRequest(start=None if None in starts else min(starts),
                           end=None if None in ends else max(ends),
                           grain=grain if trend else "total", where=LeadFilter.of(where))
    for s, e in bounds:
        QueryRequest(start=s, end=e, grain=grain)
    return request, tuple(bounds[:len(windows)]), (bounds[-1] if trend else None)


def defn_has_unallocated_rows(defn: MetricDefinition) -> bool:
    """Metrics that read campaign cost produce rows with no lead_id."""
    return _reads_campaign_cost(defn.sql)


@functools.lru_cache(maxsize=1024)
def _reads_campaign_cost(sql: str) -> bool:
    # Asked for every frame of every filtered query (each window of a tile): parse once per text.
    tables = {t.name.lower() for t in exp.maybe_parse(sql, dialect="duckdb").find_all(exp.Table)}
    return bool(tables & {"campaign_spend", "campaigns"})


def open_warehouse(path: Path | str | None = None, *, catalog: Catalog | None = None,
                   engine: str | None = None, **options) -> Warehouse:
    """Open a warehouse for metric queries (DESIGN.md section 7).

    `engine` is an engine URL (metrics.engines; default METRICS_ENGINE, else DuckDB at `path`):
    `duckdb:///path` opens that file, any other URL the tables published to that engine.
    """
    from metrics.engines import configured_engine_url, engine_name, open_engine, url_path

    url = configured_engine_url(engine)
    if url is None or engine_name(url) == "duckdb":
        # A DuckDB URL given here names the file; one from the environment yields to `path`.
        file = url_path(url) if url and (engine or path is None) else path
        return Warehouse(file, catalog=catalog, **options)
    from metrics.engines.warehouse import EngineWarehouse

    return EngineWarehouse(open_engine(url), catalog=catalog, **options)
