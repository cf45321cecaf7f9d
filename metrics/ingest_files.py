"""Find the export files of an import and copy them, unchanged and as text, into staging tables.

Every value is staged as VARCHAR (CSV read with explicit all-text columns, Parquet columns cast
to text) so that nothing can fail while reading: a bad value is judged later, in SQL, and
quarantined with its reason instead of aborting the load. Staged columns are named `c1..cN` by
position, so a header name (spaces, quotes, `rowid`...) never has to be trusted as an
identifier; the header names only reappear as JSON keys of a quarantined row.

Text encodings: a file is read as UTF-8 unless it says otherwise. A byte-order mark names its
encoding (UTF-8 or UTF-16, as Excel writes them); a file that is not valid UTF-8 and holds no
UTF-8 multi-byte sequence at all is Windows-1252 (Salesforce's weekly Data Export writes
ISO-8859-1 / Windows-1252, of which ISO-8859-1's printable characters are a subset). Such files
are transcoded to UTF-8 beside the scratch database before DuckDB reads them. `--encoding`
overrides the detection. The encoding used is reported per file.

Header names match case-insensitively (Data Loader writes `ID`, `CREATEDDATE`): an exact match
wins, then the only header equal ignoring case.

Only a file that cannot be read at all (missing, empty, undecodable, not comma-separated,
broken quoting) raises `IngestFileError`, whose exit code is 2 (DESIGN.md section 4). A full
disk or memory is not bad input: it raises `IngestResourceError` (exit code 1).
"""

from __future__ import annotations

import codecs
import csv
import errno
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
# A valid UTF-8 multi-byte sequence: in a file that is not valid UTF-8 it means a mix of
# encodings (refused), where a Windows-1252 file practically never holds one.
_UTF8_SEQUENCE = re.compile(rb"[\xC2-\xDF][\x80-\xBF]|[\xE0-\xEF][\x80-\xBF]{2}"
                            rb"|[\xF0-\xF4][\x80-\xBF]{3}")
# DuckDB reads these itself; any other encoding is transcoded to UTF-8 first.
_DUCKDB_ENCODINGS = {"utf-8", "utf-8-sig"}
ENCODING_LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "utf-16": "UTF-16",
                   "cp1252": "Windows-1252", "latin-1": "ISO-8859-1"}
_SCAN_CHUNK_BYTES = 16 << 20

ProgressFn = Callable[[float], None]


class IngestFileError(MetricError):
    """An import file is missing, unreadable or lacks a column the import needs.

    Exit code 2: the input is unusable as given, and nothing was changed. `file` names the
    file, `column_name` the missing or ambiguous column when there is one (`column` is
    MetricError's position in SQL text, unused here).
    """

    exit_code = 2

    def __init__(self, message: str, *, file: str, column: str | None = None,
                 source: str | None = None,
                 problems: tuple[IngestFileError, ...] = ()) -> None:
        super().__init__(message, source=file if source is None else source)
        self.file = file
        self.column_name = column
        # Every problem found in one run (this error alone unless it sums up several).
        self.problems = problems or (self,)


def combine_file_errors(errors: list[IngestFileError]) -> IngestFileError:
    """One error for every unusable file and column found, so one run lists them all."""
    problems = tuple(p for error in errors for p in error.problems)
    if len(problems) == 1:
        return problems[0]
    listed = "\n".join(f"  - {p}" for p in problems)
    return IngestFileError(
        f"{len(problems)} problems with the export files; nothing was imported:\n{listed}",
        file=problems[0].file, column=problems[0].column_name, source="", problems=problems)


class IngestResourceError(MetricError):
    """The machine ran out of disk or memory while importing: not bad input (exit code 1)."""

    exit_code = 1


def resource_error(exc: BaseException, where: Path) -> IngestResourceError | None:
    """The sentence for a full disk or exhausted memory, or None for any other failure."""
    text = str(exc).lower()
    full = (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or any(
        marker in text for marker in ("no space left on device", "disk is full",
                                      "not enough space on the disk"))
    if full:
        return IngestResourceError(
            f"the disk holding {where} is full, so the import stopped; nothing was changed. "
            "Free some space (an import needs about twice the size of its files) and import "
            "again.")
    if isinstance(exc, MemoryError) or "out of memory" in text:
        return IngestResourceError(
            "the import ran out of memory; nothing was changed. Lower METRICS_BUILD_MEMORY or "
            "free memory, and import again.")
    return None


@dataclass(frozen=True)
class SourceFile:
    """One export file: where it is, its format and its header (column names in file order)."""

    path: Path
    format: str
    columns: tuple[str, ...]
    size: int
    encoding: str | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def encoding_label(self) -> str:
        """The encoding as people name it ("Windows-1252"), or the format for Parquet."""
        if self.encoding is None:
            return self.format
        return ENCODING_LABELS.get(self.encoding, self.encoding)

    def resolve(self, column: str) -> str | None:
        """The header name this column refers to: the exact name, else the only header equal
        to it ignoring case; None when absent.

        >>> SourceFile(Path("Lead.csv"), "csv", ("ID", "CREATEDDATE"), 0).resolve("CreatedDate")
        'CREATEDDATE'
        """
        if column in self.columns:
            return column
        folded = [c for c in dict.fromkeys(self.columns) if c.casefold() == column.casefold()]
        if len(folded) > 1:
            raise IngestFileError(
                f"the header has {' and '.join(repr(c) for c in folded)}, which differ only "
                f"by case, so {column!r} is ambiguous; rename one of them.",
                file=self.name, column=column)
        return folded[0] if folded else None

    def has(self, column: str) -> bool:
        return self.resolve(column) is not None

    def staging_column(self, column: str) -> str:
        """The staged name (`c1`, `c2`...) of the first column with this header name."""
        resolved = self.resolve(column)
        if resolved is None:
            raise IngestFileError(f"no column {column!r}.", file=self.name, column=column)
        return f"c{self.columns.index(resolved) + 1}"

    @property
    def duplicated_columns(self) -> frozenset[str]:
        return frozenset(c for c in self.columns if self.columns.count(c) > 1)

    def encoding_hint(self, column: str) -> str:
        """A sentence when a header would be `column` read in UTF-8 instead, else ''."""
        if self.encoding in (None, *_DUCKDB_ENCODINGS):
            return ""
        for header in self.columns:
            try:
                repaired = header.encode(self.encoding).decode("utf-8")
            except (UnicodeError, LookupError):
                continue
            if repaired != header and repaired.casefold() == column.casefold():
                return (f" The header has {header!r}, which is {repaired!r} in UTF-8: the file "
                        f"is UTF-8 but was read as {self.encoding_label}; leave out --encoding.")
        return ""

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
    problems: list[IngestFileError] = []
    for path in sorted(directory.iterdir()):
        if path.suffix.lower() not in FORMATS:
            continue
        if path.is_symlink() and not path.exists():
            # A link to a file that moved would otherwise vanish from the import unnoticed.
            problems.append(IngestFileError(
                f"is a link to {path.readlink()}, which does not exist; copy the file itself "
                "into the folder or fix the link.", file=path.name))
            continue
        if not path.is_file():
            continue
        key = path.stem.lower()
        if key in found:
            problems.append(IngestFileError(
                f"both {found[key].name} and {path.name} are present; keep only one of them.",
                file=path.name))
            continue
        found[key] = path
    if problems:
        raise combine_file_errors(problems)
    return found


def inspect_file(path: Path, con: duckdb.DuckDBPyConnection,
                 encoding: str | None = None) -> SourceFile:
    """Read a file's header (CSV) or schema (Parquet), refusing files that cannot be read.

    `encoding`: the CSV's text encoding as declared by the user; None detects it.
    """
    fmt = FORMATS[path.suffix.lower()]
    if fmt == "parquet":
        return SourceFile(path=path, format=fmt, columns=_parquet_columns(path, con),
                          size=path.stat().st_size)
    with path.open("rb") as handle:
        head = handle.read(HEADER_PROBE_BYTES)
    if not head.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise IngestFileError("the file is empty: it needs at least a header row naming the "
                              "columns.", file=path.name)
    chosen = check_encoding(encoding) if encoding else detect_encoding(head, path.name)
    columns = _csv_header(head, chosen, path.name)
    return SourceFile(path=path, format=fmt, columns=columns, size=path.stat().st_size,
                      encoding=chosen)


def check_encoding(name: str) -> str:
    """The codec name of a declared encoding, or an IngestError-like sentence (exit code 2)."""
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise IngestFileError(f"{name!r} is not a known text encoding (e.g. utf-8, cp1252, "
                              "latin-1, utf-16).", file="--encoding") from None
    # Read UTF-8 as utf-8-sig, so a BOM never sticks to the first header name.
    return {"utf-8": "utf-8-sig", "iso8859-1": "latin-1", "utf-16-le": "utf-16",
            "utf-16-be": "utf-16"}.get(codec, codec)


def detect_encoding(head: bytes, name: str) -> str:
    """The encoding of a CSV from its first bytes: a BOM's, else UTF-8, else Windows-1252.

    >>> detect_encoding("Id,Company\\nL1,Société\\n".encode("cp1252"), "Lead.csv")
    'cp1252'
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < HEADER_PROBE_BYTES)
        return "utf-8"
    except UnicodeDecodeError as exc:
        return _not_utf8(head, exc, name)


def _not_utf8(data: bytes, exc: UnicodeDecodeError, name: str, line_offset: int = 0) -> str:
    """Windows-1252 for bytes that are not UTF-8 at all; refuse a mix of encodings."""
    if _UTF8_SEQUENCE.search(data):
        line = line_offset + data[:exc.start].count(b"\n") + 1
        raise IngestFileError(
            f"the file mixes UTF-8 with another encoding (byte 0x{data[exc.start]:02X} on line "
            f"{line} is not UTF-8, while other characters are); save it again as UTF-8 "
            "(\"CSV UTF-8\"), or give --encoding.", file=name)
    return "cp1252"


def _csv_header(head: bytes, encoding: str, name: str) -> tuple[str, ...]:
    decoder = codecs.getincrementaldecoder(encoding)(errors=_decode_errors(encoding))
    try:
        text = decoder.decode(head, final=len(head) < HEADER_PROBE_BYTES)
    except UnicodeDecodeError as exc:
        line = head[:exc.start].count(b"\n") + 1
        raise IngestFileError(
            f"the file is not {ENCODING_LABELS.get(encoding, encoding)} text (byte "
            f"0x{head[exc.start]:02X} on line {line}); give its encoding with --encoding, or "
            "save it as UTF-8 (\"CSV UTF-8\") and import again.", file=name) from None
    header = next(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")), None)
    if not header or not any(cell.strip() for cell in header):
        raise IngestFileError("the first line is blank: it must be the header row naming the "
                              "columns.", file=name)
    # A blank header cell still holds data; give it a name so its values survive in quarantine.
    return tuple(cell.strip() or f"column_{i + 1}" for i, cell in enumerate(header))


def _latin1_fallback(exc: UnicodeError) -> tuple[str, int]:
    # The five bytes Windows-1252 leaves undefined read as their ISO-8859-1 control characters.
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start:exc.end].decode("latin-1"), exc.end


codecs.register_error("handoff_latin1_fallback", _latin1_fallback)


def _decode_errors(encoding: str) -> str:
    return "handoff_latin1_fallback" if encoding == "cp1252" else "strict"


def transcode_to_utf8(source: Path, target: Path, encoding: str) -> None:
    """Copy a text file into `target` as UTF-8, in chunks (a 5 GB export streams)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors=_decode_errors(encoding))
    with source.open("rb") as read, target.open("w", encoding="utf-8", newline="") as write:
        while chunk := read.read(_SCAN_CHUNK_BYTES):
            write.write(decoder.decode(chunk))
        write.write(decoder.decode(b"", final=True))


def scan_encoding(path: Path) -> str | None:
    """Windows-1252 when the whole file is not UTF-8 and holds no UTF-8 sequence, else None.

    For a file whose first megabyte was plain ASCII: only reading it all tells its encoding.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    valid_so_far = True
    with path.open("rb") as handle:
        while chunk := handle.read(_SCAN_CHUNK_BYTES):
            if _UTF8_SEQUENCE.search(chunk):
                return None  # UTF-8 with a bad byte somewhere: a mix, not Windows-1252
            if valid_so_far:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    valid_so_far = False
    return None if valid_so_far else "cp1252"


def _parquet_columns(path: Path, con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    try:
        rows = con.execute("DESCRIBE SELECT * FROM read_parquet($path)",
                           {"path": str(path)}).fetchall()
    except duckdb.Error as exc:
        raise IngestFileError(f"not a readable Parquet file ({_first_line(exc)}).",
                              file=path.name) from None
    return tuple(row[0] for row in rows)


def stage_file(con: duckdb.DuckDBPyConnection, source: SourceFile, target: exp.Table,
               progress: ProgressFn | None = None, *, scratch: Path) -> tuple[SourceFile, int]:
    """Copy a file into the table `target` as text columns c1..cN.

    Returns the file (its encoding settled: a file that turned out to be Windows-1252 past its
    first megabyte is read again as such) and its row count. The table keeps the file's row
    order (DuckDB preserves insertion order), so `rowid + 1` is the row's position after the
    header: the row number reported in quarantine. `scratch` is a path prefix for a UTF-8 copy
    of a file in another encoding, deleted once staged.
    """
    try:
        return source, _stage(con, source, target, progress, scratch)
    except IngestFileError as exc:
        late = (source.encoding == "utf-8" and "not UTF-8" in exc.message
                and scan_encoding(source.path))
        if not late:
            raise
    settled = SourceFile(path=source.path, format=source.format, columns=source.columns,
                         size=source.size, encoding=late)
    return settled, _stage(con, settled, target, progress, scratch)


def _stage(con: duckdb.DuckDBPyConnection, source: SourceFile, target: exp.Table,
           progress: ProgressFn | None, scratch: Path) -> int:
    read_path = source.path
    if source.format == "csv" and source.encoding not in _DUCKDB_ENCODINGS:
        read_path = scratch.with_name(f"{scratch.name}.{target.name}.csv")
        try:
            transcode_to_utf8(source.path, read_path, source.encoding or "utf-8")
        except UnicodeDecodeError as exc:
            read_path.unlink(missing_ok=True)
            raise IngestFileError(
                f"the file is not {source.encoding_label} text (byte "
                f"0x{exc.object[exc.start]:02X}); give its encoding with --encoding.",
                file=source.name) from None
        except BaseException:
            read_path.unlink(missing_ok=True)
            raise
    try:
        return _copy_into(con, source, read_path, target, progress)
    finally:
        if read_path != source.path:
            read_path.unlink(missing_ok=True)


def _copy_into(con: duckdb.DuckDBPyConnection, source: SourceFile, read_path: Path,
               target: exp.Table, progress: ProgressFn | None) -> int:
    if source.format == "csv":
        select = exp.select("*").from_(exp.func(
            "read_csv", exp.Placeholder(this="path"),
            *(exp.EQ(this=exp.var(k), expression=v) for k, v in _CSV_OPTIONS.items())))
        params: dict[str, object] = {
            "path": str(read_path),
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
        full = resource_error(exc, read_path.parent)
        if full is not None:
            raise full from None
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
