"""Find the export files of an import and copy them, unchanged and as text, into staging tables.

Every value is staged as VARCHAR (CSV read with explicit all-text columns, Parquet columns cast
to text) so that nothing can fail while reading: a bad value is judged later, in SQL, and
quarantined with its reason instead of aborting the load. Staged columns are named `c1..cN` by
position, so a header name (spaces, quotes, `rowid`...) never has to be trusted as an
identifier; the header names only reappear as JSON keys of a quarantined row.

Only a file that cannot be read at all (missing, empty, not UTF-8, not comma-separated, broken
quoting) raises `IngestFileError`, whose exit code is 2 (DESIGN.md section 4).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
from sqlglot import exp

from metrics.errors import MetricError

FORMATS = {".csv": "csv", ".parquet": "parquet"}
# The header is parsed in Python from the first bytes: enough for any real header row.
HEADER_PROBE_BYTES = 1 << 20
# DuckDB's default (2 MB) is too small for rich-text fields some CRMs export.
MAX_LINE_BYTES = 64 << 20
_OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}
_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")

ProgressFn = Callable[[float], None]


class IngestFileError(MetricError):
    """An import file is missing, unreadable or lacks a column the import needs.

    Exit code 2: the input is unusable as given, and nothing was changed. `file` names the
    file, `column_name` the missing or ambiguous column when there is one (`column` is
    MetricError's position in SQL text, unused here).
    """

    exit_code = 2

    def __init__(self, message: str, *, file: str, column: str | None = None,
                 source: str | None = None) -> None:
        super().__init__(message, source=source or file)
        self.file = file
        self.column_name = column


@dataclass(frozen=True)
class SourceFile:
    """One export file: where it is, its format and its header (column names in file order)."""

    path: Path
    format: str
    columns: tuple[str, ...]
    size: int

    @property
    def name(self) -> str:
        return self.path.name

    def staging_column(self, column: str) -> str:
        """The staged name (`c1`, `c2`...) of the first column with this header name."""
        return f"c{self.columns.index(column) + 1}"

    @property
    def duplicated_columns(self) -> frozenset[str]:
        return frozenset(c for c in self.columns if self.columns.count(c) > 1)

    def delimiter_hint(self) -> str:
        """A sentence about a wrong delimiter when the header did not split, else ''."""
        if len(self.columns) != 1:
            return ""
        for delimiter, label in _OTHER_DELIMITERS.items():
            if delimiter in self.columns[0]:
                return (f" The header is one single column {self.columns[0]!r}: the file looks "
                        f"{label}-separated; export it comma-separated.")
        return ""


def find_files(directory: Path) -> dict[str, Path]:
    """{lower-case file stem: path} of the .csv and .parquet files directly in `directory`.

    A stem present both as CSV and as Parquet is ambiguous and refused, rather than guessed.
    """
    if not directory.is_dir():
        raise IngestFileError("is not a folder: give the folder that holds the export files.",
                              file=str(directory))
    found: dict[str, Path] = {}
    for path in sorted(directory.iterdir()):
        if not path.is_file() or path.suffix.lower() not in FORMATS:
            continue
        key = path.stem.lower()
        if key in found:
            raise IngestFileError(
                f"both {found[key].name} and {path.name} are present; keep only one of them.",
                file=path.name)
        found[key] = path
    return found


def inspect_file(path: Path, con: duckdb.DuckDBPyConnection) -> SourceFile:
    """Read a file's header (CSV) or schema (Parquet), refusing files that cannot be read."""
    fmt = FORMATS[path.suffix.lower()]
    columns = _csv_header(path) if fmt == "csv" else _parquet_columns(path, con)
    return SourceFile(path=path, format=fmt, columns=columns, size=path.stat().st_size)


def _csv_header(path: Path) -> tuple[str, ...]:
    with path.open("rb") as handle:
        head = handle.read(HEADER_PROBE_BYTES)
    if not head.strip():
        raise IngestFileError("the file is empty: it needs at least a header row naming the "
                              "columns.", file=path.name)
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        text = decoder.decode(head, final=len(head) < HEADER_PROBE_BYTES)
    except UnicodeDecodeError as exc:
        line = head[:exc.start].count(b"\n") + 1
        raise IngestFileError(
            f"the file is not UTF-8 text (byte 0x{head[exc.start]:02X} on line {line}); export "
            "or save it as UTF-8 (\"CSV UTF-8\") and import again.", file=path.name) from None
    header = next(csv.reader(io.StringIO(text, newline="")), None)
    if not header or not any(name.strip() for name in header):
        raise IngestFileError("the first line is blank: it must be the header row naming the "
                              "columns.", file=path.name)
    # A blank header cell still holds data; give it a name so its values survive in quarantine.
    return tuple(name.strip() or f"column_{i + 1}" for i, name in enumerate(header))


def _parquet_columns(path: Path, con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    try:
        rows = con.execute("DESCRIBE SELECT * FROM read_parquet($path)",
                           {"path": str(path)}).fetchall()
    except duckdb.Error as exc:
        raise IngestFileError(f"not a readable Parquet file ({_first_line(exc)}).",
                              file=path.name) from None
    return tuple(row[0] for row in rows)


def stage_file(con: duckdb.DuckDBPyConnection, source: SourceFile, target: exp.Table,
               progress: ProgressFn | None = None) -> int:
    """Copy a file into the table `target` as text columns c1..cN; return its row count.

    The table keeps the file's row order (DuckDB preserves insertion order), so
    `rowid + 1` is the row's position after the header: the row number reported in quarantine.
    """
    if source.format == "csv":
        select = exp.select("*").from_(exp.func(
            "read_csv", exp.Placeholder(this="path"),
            *(exp.EQ(this=exp.var(k), expression=v) for k, v in _CSV_OPTIONS.items())))
        params: dict[str, object] = {
            "path": str(source.path),
            "columns": {f"c{i + 1}": "VARCHAR" for i in range(len(source.columns))},
            "max_line_size": MAX_LINE_BYTES,
        }
    else:
        select = exp.select(*(
            exp.cast(exp.column(name, quoted=True), "VARCHAR").as_(f"c{i + 1}")
            for i, name in enumerate(source.columns)
        )).from_(exp.func("read_parquet", exp.Placeholder(this="path")))
        params = {"path": str(source.path)}
    create = exp.Create(this=target, kind="TABLE", expression=select)
    try:
        execute_with_progress(con, create.sql("duckdb"), params, progress)
    except duckdb.Error as exc:
        raise IngestFileError(_read_error(exc, source), file=source.name) from None
    return con.execute(exp.select("count(*)").from_(target).sql("duckdb")).fetchone()[0]


_CSV_OPTIONS: Mapping[str, exp.Expression] = {
    "header": exp.true(),
    "delim": exp.Literal.string(","),
    "quote": exp.Literal.string('"'),
    "escape": exp.Literal.string('"'),
    "auto_detect": exp.false(),
    "strict_mode": exp.true(),
    "encoding": exp.Literal.string("utf-8"),
    "columns": exp.Placeholder(this="columns"),
    "max_line_size": exp.Placeholder(this="max_line_size"),
}


def _read_error(exc: duckdb.Error, source: SourceFile) -> str:
    """A sentence for a file DuckDB could not read, with the line when it says which."""
    text = str(exc)
    match = _CSV_LINE.search(text)
    where = f"line {match.group(1)}" if match else "the file"
    if "unicode" in text.lower():
        return (f"{where} is not UTF-8 text; export or save the file as UTF-8 (\"CSV UTF-8\") "
                "and import again.")
    columns = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    if columns:
        return (f"{where} has {columns.group(2)} comma-separated values where the header has "
                f"{columns.group(1)}; check the delimiter and the quoting of that line.")
    if "unterminated quote" in text.lower():
        return f"{where} opens a quoted value that is never closed; fix the quoting."
    if source.format == "parquet":
        return f"the Parquet file cannot be read ({_first_line(exc)})."
    return f"{where} cannot be read as comma-separated UTF-8 ({_first_line(exc)})."


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def execute_with_progress(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None,
                          progress: ProgressFn | None) -> None:
    """Run one statement; while it runs, report DuckDB's own progress (0..1) to `progress`.

    The statement runs in a worker thread and the progress is polled from the calling thread,
    so the callback is always called from the caller's thread (Streamlit needs that).
    """
    if progress is None:
        con.execute(sql, params or {})
        return
    failure: list[BaseException] = []

    def run() -> None:
        try:
            con.execute(sql, params or {})
        except BaseException as exc:  # re-raised in the calling thread
            failure.append(exc)

    worker = threading.Thread(target=run, name="ingest-sql", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.25)
            done = con.query_progress()
            if done >= 0:
                progress(min(done, 100.0) / 100.0)
    except BaseException:
        con.interrupt()
        worker.join()
        raise
    if failure:
        raise failure[0]
    progress(1.0)
