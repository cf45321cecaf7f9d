"""Import a folder of export files into a new warehouse, and lose nothing (DESIGN.md section 4).

    python -m metrics ingest DIR [--warehouse PATH] [--mapping NAME] [--timezone TZ]
                                 [--encoding NAME] [--as-of TIME] [--dry-run]
                                 [--quarantine-out FILE.csv]

The pipeline, all of it in DuckDB so a 5 GB file streams instead of filling memory:

1. find the files, read their headers, check the mapping's columns exist (else exit code 2,
   naming every unusable file and column at once);
2. stage every file as text in a scratch database next to the new warehouse (a file in
   another encoding than UTF-8 is transcoded first);
3. per canonical table, in load order: the mapping makes candidate rows, `ingest_checks`
   converts and judges them, good rows go to the table and bad ones to `quarantine` with
   their reason; loaded + quarantined = rows read, per table, always;
4. write `load_report`, drop the scratch database, build the derived tables and swap the new
   file in (metrics.build), so a failed load leaves the previous warehouse serving.

`ingest()` and `preview_ingest()` are the API of the app's import page; `register()` adds the
CLI command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.csv as pa_csv
from sqlglot import exp

from metrics.build import build_warehouse, create_schema
from metrics.data_sets import describe_import
from metrics.errors import MetricError
from metrics.ingest_checks import (
    LIMIT_PARAMETERS, LOAD_ORDER, CanonicalTable, canonical_tables, check_table, count_rows,
    insert_loaded, insert_quarantined, limits, quarantined_lead_ids, reason_counts,
    unknown_values, warning_counts,
)
from metrics.ingest_files import (
    IngestFileError, IngestResourceError, ProgressFn, SourceFile, check_encoding,
    combine_file_errors, execute_with_progress, find_files, inspect_file, resource_error,
    stage_file,
)
from metrics.ingest_mapping import (
    MAPPINGS_DIR, Mapping, MappingError, Plan, StagedFile, candidate_select, canonical_mapping,
    check_columns, check_timezone, id_macro_sql, load_mapping, plan, used_columns,
)
from metrics.model import StageModel
from metrics.paths import DATA_DIR, default_warehouse_path
from metrics.progress import ProgressBar

__all__ = [
    "FileReport", "IngestError", "IngestFileError", "IngestReport", "IngestResourceError",
    "MappingError", "ProgressCallback", "ReasonCount", "TableReport", "UnknownValue", "ingest",
    "preview_ingest", "read_quarantine", "register",
]

ProgressCallback = Callable[[float, str], None]
SCRATCH = "ingest_staging"
QUARANTINE_COLUMNS = ("table_name", "file", "row_number", "reason", "raw")
DEFAULT_QUARANTINE_ROWS = 10_000
# The import page saves uploads in folders here; they are copies, removed once loaded or, if
# never loaded, by the next import a day later.
UPLOADS_DIR = DATA_DIR / "uploads"
ABANDONED_UPLOAD_SECONDS = 24 * 3600
# Stages whose absence the report points out: metrics based on them can have no value.
_FUNNEL_STAGES = ("mql", "sal", "sql", "opportunity", "won")
# Share of the progress bar for staging the files; the rest is checking and building.
_STAGING_SHARE = 0.6
_CHECKING_END = 0.95


class IngestError(MetricError):
    """The import request itself is unusable (bad --as-of, bad time zone...): exit code 2."""

    exit_code = 2


@dataclass(frozen=True)
class TableReport:
    """What happened to one canonical table: rows read = loaded + quarantined, always."""

    table: str
    files: tuple[str, ...]
    read: int
    loaded: int
    quarantined: int
    warnings: int


@dataclass(frozen=True)
class ReasonCount:
    """Rows of `table` quarantined (kind 'quarantined') or loaded with a warning ('warning')."""

    table: str
    kind: str
    reason: str
    rows: int


@dataclass(frozen=True)
class FileReport:
    """One file read: its rows, its encoding ("UTF-8", "Windows-1252"...; "parquet" for
    Parquet), and the columns no mapping entry used (ignored, not fatal)."""

    name: str
    format: str
    rows: int
    ignored_columns: tuple[str, ...]
    encoding: str = "UTF-8"


@dataclass(frozen=True)
class UnknownValue:
    """A value of an enum column (a CRM status, a stage) no map knew: `rows` were quarantined."""

    table: str
    column: str
    value: str
    rows: int


@dataclass(frozen=True)
class IngestReport:
    """The load report of an import or of a preview (`warehouse` is None for a preview).

    `tables` has one entry per canonical table (in load order), `reasons` the quarantine and
    warning counts per table and reason. `quarantined` holds up to `max_quarantined_rows` of
    the quarantined rows (columns table_name, file, row_number, reason, raw); all of them are
    in the warehouse's `quarantine` table. `as_of` is the data's as-of time (naive UTC).
    """

    directory: str
    warehouse: str | None
    mapping: str
    timezone: str
    as_of: dt.datetime | None
    tables: tuple[TableReport, ...]
    reasons: tuple[ReasonCount, ...]
    files: tuple[FileReport, ...]
    skipped_entries: tuple[str, ...]
    ignored_files: tuple[str, ...]
    seconds: float
    quarantined: pd.DataFrame = field(default_factory=lambda: _empty_quarantine(),
                                      compare=False, repr=False)
    notes: tuple[str, ...] = ()
    unknown_values: tuple[UnknownValue, ...] = ()
    missing_stages: tuple[str, ...] = ()

    @property
    def rows_read(self) -> int:
        return sum(t.read for t in self.tables)

    @property
    def rows_loaded(self) -> int:
        return sum(t.loaded for t in self.tables)

    @property
    def rows_quarantined(self) -> int:
        return sum(t.quarantined for t in self.tables)

    @property
    def warnings(self) -> int:
        return sum(t.warnings for t in self.tables)

    @property
    def file_rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def rows_per_second(self) -> float:
        """Rows read from the files per second of the whole import."""
        return self.file_rows / self.seconds if self.seconds > 0 else 0.0

    def table(self, name: str) -> TableReport:
        for report in self.tables:
            if report.table == name:
                return report
        raise KeyError(name)

    def to_frame(self) -> pd.DataFrame:
        """The report as the warehouse's `load_report` table: table_name, kind, reason, rows.

        One 'loaded' row per canonical table (reason empty), one row per quarantine reason and
        one per warning.
        """
        return _report_frame(self.tables, self.reasons)

    def to_dict(self) -> dict:
        """A JSON-ready dict (without the quarantined rows)."""
        data = asdict(self)
        data.pop("quarantined")
        data["as_of"] = self.as_of.isoformat() if self.as_of else None
        data.update(rows_read=self.rows_read, rows_loaded=self.rows_loaded,
                    rows_quarantined=self.rows_quarantined, warnings=self.warnings,
                    rows_per_second=round(self.rows_per_second, 1))
        return data

    def format(self) -> str:
        """The report as text for a terminal."""
        done = (f"Imported {self.directory} into {self.warehouse}" if self.warehouse else
                f"Checked {self.directory} (dry run: nothing was written)")
        encodings = ", ".join(f"{f.name} {f.encoding}" for f in self.files)
        lines = [
            f"{done}; mapping: {self.mapping}; naive times read in {self.timezone}",
            f"Encodings: {encodings or '-'}",
            f"{self.file_rows:,} file rows in {self.seconds:.1f} s "
            f"({self.rows_per_second:,.0f} rows/s)"
            + (f"; data as of {self.as_of:%Y-%m-%d %H:%M:%S} UTC" if self.as_of else ""),
            "",
            f"{'table':<14}{'read':>13}{'loaded':>13}{'quarantined':>13}{'warnings':>10}  files",
        ]
        for t in self.tables:
            lines.append(f"{t.table:<14}{t.read:>13,}{t.loaded:>13,}{t.quarantined:>13,}"
                         f"{t.warnings:>10,}  {', '.join(t.files) or '-'}")
        lines.append(f"{'total':<14}{self.rows_read:>13,}{self.rows_loaded:>13,}"
                     f"{self.rows_quarantined:>13,}{self.warnings:>10,}")
        for kind, title in (("quarantined", "Quarantined rows by reason"),
                            ("warning", "Warnings (rows loaded anyway)")):
            rows = [r for r in self.reasons if r.kind == kind]
            if rows:
                lines += ["", f"{title}:"]
                lines += [f"  {r.table}: {r.reason}: {r.rows:,}" for r in rows]
        if self.unknown_values:
            lines += ["", "Values no map knows (their rows are quarantined; add them to the "
                          "mapping):"]
            lines += [f"  {u.table}.{u.column}: {u.value!r}: {u.rows:,}"
                      for u in self.unknown_values]
        if self.missing_stages:
            lines += ["", "No events of the stages " + ", ".join(self.missing_stages)
                      + ": metrics based on them have no value in this warehouse."]
        if self.notes:
            lines += ["", "Notes:"] + [f"  {note}" for note in self.notes]
        ignored = [f for f in self.files if f.ignored_columns]
        if ignored:
            lines += ["", "Ignored columns (not used by the mapping):"]
            lines += [f"  {f.name}: {_short_list(f.ignored_columns)}" for f in ignored]
        if self.ignored_files:
            lines += ["", f"Ignored files: {_short_list(self.ignored_files)}"]
        if self.skipped_entries:
            lines += ["", f"Optional files not present: {_short_list(self.skipped_entries)}"]
        return "\n".join(lines)


def _short_list(items: tuple[str, ...], limit: int = 15) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _empty_quarantine() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in QUARANTINE_COLUMNS})


def _report_rows(tables: tuple[TableReport, ...], reasons: tuple[ReasonCount, ...]
                 ) -> list[tuple[str, str, str | None, int]]:
    rows: list[tuple[str, str, str | None, int]] = [
        (t.table, "loaded", None, t.loaded) for t in tables]
    return rows + [(r.table, r.kind, r.reason, r.rows) for r in reasons]


def _report_frame(tables: tuple[TableReport, ...], reasons: tuple[ReasonCount, ...]
                  ) -> pd.DataFrame:
    return pd.DataFrame(_report_rows(tables, reasons),
                        columns=["table_name", "kind", "reason", "rows"])


# ---------------------------------------------------------------------------------------------
# The API


def ingest(directory: Path | str, warehouse_path: Path | str | None = None, *,
           mapping: str | Path | Mapping | None = None, timezone: str | None = None,
           as_of: dt.datetime | None = None, progress: ProgressCallback | None = None,
           quarantine_out: Path | str | None = None, model: StageModel | None = None,
           max_quarantined_rows: int = DEFAULT_QUARANTINE_ROWS,
           encoding: str | None = None) -> IngestReport:
    """Load the folder into a new warehouse at `warehouse_path` and swap it in atomically.

    `mapping`: None for the canonical format, a name from mappings/, a TOML path or a Mapping.
    `timezone`: the zone of naive timestamps (default: the mapping's, else UTC). `as_of`:
    naive UTC; default the data's latest timestamp. `progress(fraction, message)` is called
    from the calling thread. `quarantine_out`: also write every quarantined row to this CSV.
    `encoding`: the text encoding of every CSV (default: detected per file). Raises
    IngestFileError / MappingError / IngestError (exit code 2) or IngestResourceError (a full
    disk, exit code 1) with the previous warehouse untouched. A folder of the import page's
    uploads is deleted once loaded.
    """
    target = Path(warehouse_path) if warehouse_path else default_warehouse_path()
    directory = Path(directory)
    detected = mapping is None and (mapping := detect_mapping(directory)) is not None
    if as_of is not None and as_of.tzinfo is not None:
        as_of = as_of.astimezone(dt.UTC).replace(tzinfo=None)
    load_time = max(_now(), as_of) if as_of else _now()
    started = time.perf_counter()
    bar = _Progress(progress)
    outcome: list[_Outcome] = []
    remove_abandoned_uploads(directory)

    def fill(con: duckdb.DuckDBPyConnection) -> None:
        outcome.append(_load(con, directory, mapping, timezone, bar, encoding, load_time))
        bar.report(_CHECKING_END, "building the derived tables")

    def inspect(con: duckdb.DuckDBPyConnection) -> tuple[dt.datetime, pd.DataFrame]:
        # Read the new file before the swap: in a running app the path may be held open by the
        # dashboard's read-only connection to the old file.
        if quarantine_out:
            write_quarantine_csv(con, Path(quarantine_out))
        built = con.execute("SELECT as_of FROM warehouse_meta").fetchone()[0]
        return built, _quarantine_frame(con, max_quarantined_rows)

    with _resources_named(target.parent):
        built_as_of, quarantined = build_warehouse(
            target, fill, as_of=as_of, model=model, inspect=inspect,
            source=describe_import(directory, _mapping_label(mapping)))
    seconds = time.perf_counter() - started
    bar.report(1.0, "done")
    _remove_loaded_upload(directory)
    return outcome[0].report(directory, str(target), built_as_of, seconds, quarantined,
                             detected)


def preview_ingest(directory: Path | str, *, mapping: str | Path | Mapping | None = None,
                   timezone: str | None = None, progress: ProgressCallback | None = None,
                   quarantine_out: Path | str | None = None, model: StageModel | None = None,
                   max_quarantined_rows: int = DEFAULT_QUARANTINE_ROWS,
                   encoding: str | None = None) -> IngestReport:
    """Validate the folder exactly as `ingest` would, into a throw-away warehouse.

    Nothing is swapped or kept; the report's `quarantined` frame holds the rejected rows (up
    to `max_quarantined_rows`) so a user can fix the export before importing it.
    """
    directory = Path(directory)
    detected = mapping is None and (mapping := detect_mapping(directory)) is not None
    started = time.perf_counter()
    bar = _Progress(progress)
    remove_abandoned_uploads(directory)
    with tempfile.TemporaryDirectory(prefix="handoff-preview-") as scratch, \
            _resources_named(Path(scratch)):
        con = duckdb.connect(str(Path(scratch) / "preview.duckdb"))
        try:
            create_schema(con, model)
            outcome = _load(con, directory, mapping, timezone, bar, encoding, _now())
            quarantined = _quarantine_frame(con, max_quarantined_rows)
            if quarantine_out:
                write_quarantine_csv(con, Path(quarantine_out))
        finally:
            con.close()
    bar.report(1.0, "done")
    return outcome.report(directory, None, None, time.perf_counter() - started, quarantined,
                          detected)


def read_quarantine(warehouse_path: Path | str, *, table: str | None = None,
                    limit: int | None = None) -> pd.DataFrame:
    """The quarantined rows of a warehouse (optionally of one table), in file order."""
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        return _quarantine_frame(con, limit, table)
    finally:
        con.close()


def write_quarantine_csv(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Stream the `quarantine` table to a CSV file, whatever its size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    reader = con.sql(_quarantine_query(None, None)).to_arrow_reader(50_000)
    with pa_csv.CSVWriter(str(path), reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)


def _quarantine_query(limit: int | None, table: str | None) -> str:
    select = (exp.select(*QUARANTINE_COLUMNS).from_("quarantine")
              .order_by(*(exp.column(c) for c in ("table_name", "file", "row_number", "reason"))))
    if table is not None:
        select = select.where(exp.column("table_name").eq(exp.Placeholder(this="table")))
    if limit is not None:
        select = select.limit(exp.Placeholder(this="limit"))
    return select.sql("duckdb")


def _quarantine_frame(con: duckdb.DuckDBPyConnection, limit: int | None,
                      table: str | None = None) -> pd.DataFrame:
    params: dict[str, object] = {}
    if limit is not None:
        params["limit"] = int(limit)
    if table is not None:
        params["table"] = table
    return con.execute(_quarantine_query(limit, table), params).df()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


class _resources_named:
    """Turn a full disk or exhausted memory, from DuckDB or the OS, into IngestResourceError."""

    def __init__(self, where: Path) -> None:
        self.where = where

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, traceback) -> bool:
        if exc is None or isinstance(exc, (MetricError, KeyboardInterrupt)):
            return False
        named = resource_error(exc, self.where)
        if named is not None:
            raise named from None
        return False


def _is_upload(directory: Path) -> bool:
    try:
        return directory.resolve().parent == UPLOADS_DIR.resolve()
    except OSError:
        return False


def remove_abandoned_uploads(directory: Path, *, now: float | None = None) -> list[Path]:
    """When `directory` is an upload folder: delete the other upload folders older than a
    day (checked but never loaded). Returns the folders removed."""
    if not _is_upload(directory):
        return []
    cutoff = (now if now is not None else time.time()) - ABANDONED_UPLOAD_SECONDS
    removed = []
    for folder in UPLOADS_DIR.iterdir():
        try:
            stale = folder.is_dir() and folder.stat().st_mtime < cutoff
        except OSError:
            continue
        if stale and folder.resolve() != directory.resolve():
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _remove_loaded_upload(directory: Path) -> None:
    # The upload was a copy made for this load; the warehouse now holds its rows.
    if _is_upload(directory):
        shutil.rmtree(directory, ignore_errors=True)


def _mapping_label(mapping: str | Path | Mapping | None) -> str:
    if mapping is None:
        return "canonical"
    return mapping.name if isinstance(mapping, Mapping) else str(mapping)


# ---------------------------------------------------------------------------------------------
# The load itself


class _Progress:
    """Maps the steps of a load onto one 0..1 bar and calls the user's callback."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self.callback = callback
        self.last = 0.0

    def report(self, fraction: float, message: str) -> None:
        # Never go backwards: DuckDB's estimate of one statement may shrink.
        self.last = max(self.last, min(fraction, 1.0))
        if self.callback is not None:
            self.callback(self.last, message)

    def span(self, start: float, end: float, message: str) -> ProgressFn | None:
        """A callback for one statement, moving the bar from `start` to `end`."""
        self.report(start, message)
        if self.callback is None:
            return None
        return lambda done: self.report(start + (end - start) * done, message)


@dataclass(frozen=True)
class _Outcome:
    """What `_load` found, before the timing and the warehouse's as_of are known."""

    mapping: str
    timezone: str
    tables: tuple[TableReport, ...]
    reasons: tuple[ReasonCount, ...]
    files: tuple[FileReport, ...]
    skipped_entries: tuple[str, ...]
    ignored_files: tuple[str, ...]
    notes: tuple[str, ...]
    unknown_values: tuple[UnknownValue, ...]
    missing_stages: tuple[str, ...]

    def report(self, directory: Path, warehouse: str | None, as_of: dt.datetime | None,
               seconds: float, quarantined: pd.DataFrame, detected: bool = False
               ) -> IngestReport:
        # A mapping found from the file names is said so, with how to choose another.
        mapping = (f"{self.mapping} (detected from the file names; --mapping chooses another)"
                   if detected else self.mapping)
        return IngestReport(
            directory=str(directory), warehouse=warehouse, mapping=mapping,
            timezone=self.timezone, as_of=as_of, tables=self.tables, reasons=self.reasons,
            files=self.files, skipped_entries=self.skipped_entries,
            ignored_files=self.ignored_files, seconds=seconds, quarantined=quarantined,
            notes=self.notes, unknown_values=self.unknown_values,
            missing_stages=self.missing_stages)


def detect_mapping(directory: Path) -> str | None:
    """The shipped mapping an export folder is in, when no --mapping is given: None when the
    folder holds the canonical files; else the one mapping in mappings/ whose mandatory files
    are all here (the one using the most of the folder's files if several fit). When none
    fits, the canonical format's own error names the missing files, plus a hint."""
    files = find_files(directory)
    con = duckdb.connect(":memory:")
    try:
        create_schema(con)
        tables = canonical_tables(con)
    finally:
        con.close()
    try:
        plan(canonical_mapping(files, tables), files, directory)
        return None
    except IngestFileError:
        pass
    fits: list[tuple[int, str]] = []
    for path in sorted(MAPPINGS_DIR.glob("*.toml")):
        try:
            fitted = plan(load_mapping(path.stem, tables), files, directory)
        except (IngestFileError, MappingError):
            continue
        fits.append((len(set(fitted.files.values())), path.stem))
    if not fits:
        return None
    fits.sort(reverse=True)
    return fits[0][1]


def _resolve_mapping(mapping: str | Path | Mapping | None, files: dict[str, Path],
                     tables: dict[str, CanonicalTable]) -> Mapping:
    if mapping is None:
        return canonical_mapping(files, tables)
    if isinstance(mapping, Mapping):
        return mapping
    return load_mapping(mapping, tables)


def _load(con: duckdb.DuckDBPyConnection, directory: Path,
          mapping_arg: str | Path | Mapping | None, timezone: str | None,
          bar: _Progress, encoding: str | None, load_time: dt.datetime) -> _Outcome:
    """Fill the canonical tables, `quarantine` and `load_report` of the connected warehouse."""
    # Casting a zoned time to text, and reading a Parquet TIMESTAMPTZ, must not depend on the
    # machine's zone.
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    tables = canonical_tables(con)
    if encoding:
        encoding = check_encoding(encoding)
    files = find_files(directory)
    mapping = _resolve_mapping(mapping_arg, files, tables)
    zone = check_timezone(timezone or mapping.timezone or "UTC")
    macro = id_macro_sql(mapping.id_format)
    if macro:
        con.execute(macro)
    plan_ = plan(mapping, files, directory)
    headers, problems = _inspect_all(plan_, con, encoding)
    try:
        check_columns(plan_, headers)
    except IngestFileError as exc:
        problems.append(exc)
    if problems:
        raise combine_file_errors(problems)
    con.execute("""
        CREATE TABLE quarantine (table_name VARCHAR NOT NULL, file VARCHAR NOT NULL,
                                 row_number BIGINT NOT NULL, reason VARCHAR NOT NULL,
                                 raw VARCHAR NOT NULL);
        CREATE TABLE load_report (table_name VARCHAR NOT NULL, kind VARCHAR NOT NULL,
                                  reason VARCHAR, rows BIGINT NOT NULL);
    """)
    database = con.execute("SELECT path FROM duckdb_databases() "
                           "WHERE database_name = current_database()").fetchone()[0]
    scratch = Path(f"{database}.staging")
    con.execute(f"ATTACH $path AS {SCRATCH}", {"path": str(scratch)})
    try:
        staged = _stage(con, plan_, headers, bar, scratch)
        checks = _check_all(con, plan_, tables, staged, zone, mapping, bar, limits(load_time))
    finally:
        con.execute(f"DETACH {SCRATCH}")
        for leftover in (scratch, scratch.with_name(scratch.name + ".wal")):
            leftover.unlink(missing_ok=True)
    con.executemany("INSERT INTO load_report VALUES (?, ?, ?, ?)",
                    _report_rows(checks.tables, checks.reasons))
    used = used_columns(plan_, headers)
    file_reports, reported = [], set()
    for key, (s, s_rows) in staged.items():
        if s.source.path in reported:
            continue
        reported.add(s.source.path)
        in_use = set().union(*(used[k] for k, (o, _) in staged.items()
                               if o.source.path == s.source.path))
        file_reports.append(FileReport(
            name=s.source.name, format=s.source.format, rows=s_rows,
            ignored_columns=tuple(c for c in dict.fromkeys(s.source.columns) if c not in in_use),
            encoding=s.source.encoding_label))
    needed = set(plan_.files.values())
    ignored_files = tuple(p.name for p in files.values() if p not in needed)
    present = {stage for (stage,) in con.execute(
        "SELECT DISTINCT stage::VARCHAR FROM lead_events").fetchall()}
    missing_stages = tuple(s for s in _FUNNEL_STAGES if s not in present) if present else ()
    return _Outcome(mapping=mapping.name, timezone=zone, tables=checks.tables,
                    reasons=checks.reasons, files=tuple(file_reports),
                    skipped_entries=plan_.skipped, ignored_files=ignored_files,
                    notes=plan_.notes, unknown_values=checks.unknown,
                    missing_stages=missing_stages)


def _inspect_all(plan_: Plan, con: duckdb.DuckDBPyConnection, encoding: str | None
                 ) -> tuple[dict[str, SourceFile], list[IngestFileError]]:
    """The header of every readable needed file, and the problems of the unreadable ones."""
    headers: dict[str, SourceFile] = {}
    problems: list[IngestFileError] = []
    for key in plan_.needed_files:
        try:
            headers[key] = inspect_file(plan_.files[key], con, encoding)
        except IngestFileError as exc:
            problems.append(exc)
    return headers, problems


def _stage(con: duckdb.DuckDBPyConnection, plan_: Plan, headers: dict[str, SourceFile],
           bar: _Progress, scratch: Path) -> dict[str, tuple[StagedFile, int]]:
    """Copy every needed file into the scratch database; {key: (staged file, rows)}.

    A file two mapping keys name (an alternative and a pattern) is staged once.
    """
    total = sum(headers[key].size for key in plan_.needed_files) or 1
    done = 0
    staged: dict[str, tuple[StagedFile, int]] = {}
    by_path: dict[Path, tuple[StagedFile, int]] = {}
    for i, key in enumerate(plan_.needed_files):
        source = headers[key]
        if source.path in by_path:
            staged[key] = by_path[source.path]
            continue
        table = exp.table_(f"src_{i + 1}", db=SCRATCH)
        start = _STAGING_SHARE * done / total
        done += source.size
        step = bar.span(start, _STAGING_SHARE * done / total, f"reading {source.name}")
        settled, rows = stage_file(con, source, table, step, scratch=scratch)
        staged[key] = by_path[source.path] = (StagedFile(index=i + 1, source=settled,
                                                         table=table), rows)
    return staged


@dataclass(frozen=True)
class _Checks:
    tables: tuple[TableReport, ...]
    reasons: tuple[ReasonCount, ...]
    unknown: tuple[UnknownValue, ...]


def _check_all(con: duckdb.DuckDBPyConnection, plan_: Plan, tables: dict[str, CanonicalTable],
               staged: dict[str, tuple[StagedFile, int]], zone: str, mapping: Mapping,
               bar: _Progress, bounds: dict[str, object]) -> _Checks:
    files = {key: s for key, (s, _) in staged.items()}
    busy = [t for t in LOAD_ORDER if any(s.table == t for s in plan_.sources)]
    share = (_CHECKING_END - _STAGING_SHARE) / max(len(busy), 1)
    reports: list[TableReport] = []
    reasons: list[ReasonCount] = []
    unknown: list[UnknownValue] = []
    quarantined_leads = exp.table_("quarantined_leads", db=SCRATCH)
    for table_name in LOAD_ORDER:
        table = tables[table_name]
        entries = [(i, s) for i, s in enumerate(plan_.sources, 1) if s.table == table_name]
        if not entries:
            reports.append(TableReport(table_name, (), 0, 0, 0, 0))
            continue
        start = _STAGING_SHARE + share * busy.index(table_name)
        step = bar.span(start, start + share, f"checking {table_name}")

        def run(sql: str, params: dict[str, object] | None, step: ProgressFn | None = step
                ) -> None:
            execute_with_progress(con, sql, {**(params or {}), **_params_in(sql, zone, bounds)},
                                  step)

        checked = exp.table_(f"chk_{table_name}", db=SCRATCH)
        query = candidate_select(entries[0][1], entries[0][0], table, files, mapping.id_format)
        for i, source in entries[1:]:
            query = exp.union(query, candidate_select(source, i, table, files, mapping.id_format),
                              distinct=False)
        leads_checked = any(r.table == "leads" for r in reports if r.files)
        check_table(table, query, checked, mapping.timestamp_formats, run,
                    quarantined_leads if leads_checked else None)
        insert_loaded(table, checked, count_rows(con, checked), run)
        sources = dict.fromkeys(files[s.file.lower()] for _, s in entries)
        for source in sources:
            insert_quarantined(con, table, checked, source.index, source.table,
                               source.source.name, source.json_keys())
        counts = reason_counts(con, checked)
        warnings = warning_counts(con, table, checked)
        unknown += [UnknownValue(table_name, column, value, n)
                    for column, value, n in unknown_values(con, table, checked)]
        read, loaded = sum(counts.values()), counts.get(None, 0)
        # The guarantee of the contract, checked rather than assumed.
        in_table = count_rows(con, exp.table_(table_name, db="main"))
        in_quarantine = con.execute(
            "SELECT count(*) FROM quarantine WHERE table_name = $t", {"t": table_name}
        ).fetchone()[0]
        if in_table != loaded or in_quarantine != read - loaded:
            raise MetricError(
                f"internal error: {table_name} read {read} rows but {in_table} were loaded and "
                f"{in_quarantine} quarantined; the previous warehouse was kept.")
        reports.append(TableReport(table_name, tuple(s.source.name for s in sources), read,
                                   loaded, read - loaded, sum(warnings.values())))
        reasons += [ReasonCount(table_name, "quarantined", r, n)
                    for r, n in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
                    if r is not None]
        reasons += [ReasonCount(table_name, "warning", r, n) for r, n in warnings.items()]
        if table_name == "leads":
            quarantined_lead_ids(con, checked, quarantined_leads)
        con.execute(f"DROP TABLE {checked.sql('duckdb')}")
    return _Checks(tuple(reports), tuple(reasons), tuple(unknown))


def _params_in(sql: str, zone: str, bounds: dict[str, object]) -> dict[str, object]:
    # DuckDB refuses parameters a statement does not use: bind only those that appear.
    params: dict[str, object] = {"timezone": zone} if "$timezone" in sql else {}
    params.update({name: bounds[name] for name in LIMIT_PARAMETERS if f"${name}" in sql})
    return params


# ---------------------------------------------------------------------------------------------
# The command line


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `ingest` to the CLI (see metrics/cli.py)."""
    parser = subparsers.add_parser(
        "ingest", help="import a folder of CSV/Parquet exports into a new warehouse",
        description="Load DIR (one file per canonical table, or exports read through "
                    "--mapping) into a new warehouse and swap it in. Bad rows are quarantined "
                    "with their reason; unusable files stop the import with exit code 2 and "
                    "leave the previous warehouse untouched. See docs/IMPORT.md.")
    parser.add_argument("directory", type=Path, metavar="DIR")
    parser.add_argument("--warehouse", type=Path, default=None, metavar="PATH",
                        help="warehouse file (default: $METRICS_WAREHOUSE or "
                             "data/warehouse.duckdb)")
    parser.add_argument("--mapping", default=None, metavar="NAME",
                        help="a mapping from mappings/ (salesforce, hubspot, olist) or a "
                             ".toml path; default: the canonical format")
    parser.add_argument("--timezone", default=None, metavar="TZ",
                        help="IANA zone of timestamps without an offset (default: the "
                             "mapping's, else UTC)")
    parser.add_argument("--encoding", default=None, metavar="NAME",
                        help="text encoding of the CSV files, e.g. cp1252 or latin-1 (default: "
                             "detected per file: a BOM, else UTF-8, else Windows-1252)")
    parser.add_argument("--as-of", default=None, metavar="TIME",
                        help="the data's as-of time, ISO-8601, UTC unless it has an offset "
                             "(default: the latest timestamp in the data)")
    parser.add_argument("--dry-run", action="store_true",
                        help="check everything and print the report, change nothing")
    parser.add_argument("--quarantine-out", type=Path, default=None, metavar="FILE.csv",
                        help="also write the quarantined rows to this CSV file")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="how to print the report (default: text)")
    parser.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    """`python -m metrics ingest ...`: print the report; 0 on success (even with quarantine)."""
    as_of = _parse_as_of(args.as_of) if args.as_of else None
    bar = ProgressBar("ingest")
    progress = bar.update
    if args.dry_run:
        report = preview_ingest(args.directory, mapping=args.mapping, timezone=args.timezone,
                                progress=progress, quarantine_out=args.quarantine_out,
                                encoding=args.encoding)
    else:
        # Through metrics.loads, so the load is kept undoable and written to the audit log.
        from metrics.loads import command_line_user, load_files

        report = load_files(args.directory, args.warehouse, user=command_line_user(),
                            mapping=args.mapping, timezone=args.timezone, as_of=as_of,
                            progress=progress, quarantine_out=args.quarantine_out,
                            encoding=args.encoding).report
    bar.done(f"{'checked' if args.dry_run else 'imported'} {report.file_rows:,} file rows in "
             f"{report.seconds:.1f} s")
    if args.format == "json":
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.format())
        if report.rows_quarantined and not args.quarantine_out:
            print("\nThe quarantined rows are in the warehouse table `quarantine`; "
                  "--quarantine-out FILE.csv writes them to a file.")
    return 0


def _parse_as_of(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise IngestError(f"--as-of {text!r} is not an ISO-8601 time like 2024-06-30 or "
                          "2024-06-30T18:00:00Z.") from None
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value

