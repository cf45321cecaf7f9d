"""What a warehouse holds, in words a person recognises: the files they loaded, the mapping, when.

A warehouse records where its data came from in `warehouse_meta.source`. An import writes the
names of the files it read and the mapping (`describe_import`), never the folder they were in:
that is a temporary upload folder or a server path, which means nothing to the person and is
not theirs to see. `describe_data_set` turns a source (including those of older warehouses,
which did hold a path) into the line the sidebar and the Import page show.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from metrics.build import CANONICAL_TABLES

if TYPE_CHECKING:
    from metrics.warehouse import Warehouse

IMPORT_FORMATS = (".csv", ".parquet")
# How many file names a one-line description shows before "and N more".
SHOWN_FILES = 4
_DEMO = re.compile(r"^demo leads=(\d+) seed=(\d+)$")
# Warehouses built before sources were described held "ingest <folder> (mapping <name>)".
_LEGACY_IMPORT = re.compile(r"^ingest .* \(mapping (?P<mapping>[^()]*)\)$")


@dataclass(frozen=True)
class WarehouseSummary:
    """What one warehouse file holds: its source, as-of and build time, and rows per table."""

    source: str
    as_of: dt.datetime
    built_at: dt.datetime
    rows: Mapping[str, int] = field(default_factory=dict)

    @property
    def description(self) -> str:
        return describe_data_set(self.source, self.built_at)

    def to_dict(self) -> dict:
        return {"source": self.source, "description": self.description,
                "as_of": self.as_of.isoformat(), "built_at": self.built_at.isoformat(),
                "rows": dict(self.rows)}

    @classmethod
    def from_dict(cls, data: Mapping) -> WarehouseSummary:
        return cls(source=str(data["source"]), as_of=dt.datetime.fromisoformat(data["as_of"]),
                   built_at=dt.datetime.fromisoformat(data["built_at"]),
                   rows={str(k): int(v) for k, v in dict(data.get("rows", {})).items()})


_ROW_COUNTS = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in CANONICAL_TABLES)


def summarize(path: Path | str) -> WarehouseSummary | None:
    """The summary of the warehouse file at `path`; None when there is none or it is not one.

    For a file no connection of this process holds (the command line, a kept copy). The app
    reads its own warehouse with `summarize_open`: a second connection to the dashboard's file,
    open at the moment the dashboard reopens it after a load, would keep the old file alive.
    """
    from metrics.warehouse import open_hardened  # metrics.warehouse imports metrics.build

    if not Path(path).exists():
        return None
    try:
        con = open_hardened(path)
    except Exception:  # noqa: BLE001 - an unreadable file is simply not a warehouse to describe
        return None
    try:
        source, as_of, built_at = con.execute(
            "SELECT source, as_of, built_at FROM warehouse_meta").fetchone()
        rows = {table: int(n) for table, n in con.execute(_ROW_COUNTS).fetchall()}
    except duckdb.Error:
        return None
    finally:
        con.close()
    return WarehouseSummary(source=source, as_of=as_of, built_at=built_at, rows=rows)


def summarize_open(wh: Warehouse) -> WarehouseSummary:
    """The summary of an open warehouse, read through its own connection."""
    _, counts = wh.execute_rows(_ROW_COUNTS, label="counting the rows per table")
    return WarehouseSummary(source=wh.source, as_of=wh.as_of, built_at=wh.built_at,
                            rows={table: int(n) for table, n in counts})


def describe_import(directory: Path | str, mapping: str | None) -> str:
    """The source an import records: its file names and mapping, not the folder they are in.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("lead_events.csv", "leads.csv", "notes.txt"):
    ...     _ = (folder / name).write_text("")
    >>> describe_import(folder, None)
    'lead_events.csv, leads.csv · canonical format'
    >>> describe_import(folder, "/srv/mappings/our_crm.toml")
    'lead_events.csv, leads.csv · our_crm mapping'
    """
    try:
        names = sorted(p.name for p in Path(directory).iterdir()
                       if p.suffix.lower() in IMPORT_FORMATS and p.is_file())
    except OSError:
        names = []
    return f"{', '.join(names) or 'no files'} · {_mapping_words(mapping)}"


def _mapping_words(mapping: str | None) -> str:
    if not mapping or mapping == "canonical":
        return "canonical format"
    # A mapping given as a file is named by its stem: its folder is nobody's business on screen.
    return f"{Path(mapping).stem if mapping.endswith('.toml') else mapping} mapping"


def describe_data_set(source: str, built_at: dt.datetime | None = None) -> str:
    """The one line that names a data set on screen: what was loaded and when, never a path.

    >>> at = dt.datetime(2026, 12, 2, 14, 5)
    >>> describe_data_set("demo leads=200000 seed=7", at)
    'Demo data, 200,000 leads (seed 7) · built 2 Dec 2026 14:05 UTC'
    >>> describe_data_set("Lead.csv, LeadHistory.csv · salesforce mapping", at)
    'Lead.csv, LeadHistory.csv · salesforce mapping · loaded 2 Dec 2026 14:05 UTC'
    >>> describe_data_set("ingest /srv/uploads/3f2a-x (mapping hubspot)")
    'Imported files · hubspot mapping'
    >>> describe_data_set("a.csv, b.csv, c.csv, d.csv, e.csv, f.csv · canonical format")
    'a.csv, b.csv, c.csv, d.csv and 2 more · canonical format'
    """
    when = f" {built_at:%-d %b %Y %H:%M} UTC" if built_at else ""
    demo = _DEMO.match(source)
    if demo:
        return (f"Demo data, {int(demo[1]):,} leads (seed {demo[2]})"
                + (f" · built{when}" if when else ""))
    legacy = _LEGACY_IMPORT.match(source)
    if legacy:
        text = f"Imported files · {_mapping_words(legacy['mapping'])}"
    else:
        files, sep, rest = source.partition(" · ")
        names = files.split(", ")
        if sep and len(names) > SHOWN_FILES:
            files = f"{', '.join(names[:SHOWN_FILES])} and {len(names) - SHOWN_FILES} more"
        text = f"{files}{sep}{rest}"
    return text + (f" · loaded{when}" if when else "")
