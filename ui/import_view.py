"""The import page's plumbing: uploads to a folder, a progress bar, and the page's tables."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
import uuid
from pathlib import Path

import pandas as pd
import streamlit as st

from metrics.backups import Backup
from metrics.data_sets import WarehouseSummary, describe_data_set
from metrics.ingest import UPLOADS_DIR, IngestReport
from metrics.loads import RESTORE_ACTION
from metrics.paths import REPO_ROOT
from ui.format import escape_markdown, humanise

MAPPINGS_DIR = REPO_ROOT / "mappings"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")


def mapping_choices() -> dict[str, str]:
    """{'': 'Canonical format', 'salesforce': 'Salesforce ...', ...} from mappings/*.toml."""
    import tomllib

    choices = {"": "Canonical format (leads.csv, lead_events.csv, …)"}
    for path in sorted(MAPPINGS_DIR.glob("*.toml")):
        try:
            description = tomllib.loads(path.read_text()).get("description", path.stem)
        except (OSError, tomllib.TOMLDecodeError):
            continue
        choices[path.stem] = f"{path.stem}: {description}"
    return choices


def save_uploads(files) -> Path:
    """Write uploaded files to a fresh folder (names sanitised: no paths from the browser)."""
    UPLOADS_DIR.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{uuid.uuid4().hex[:8]}-", dir=UPLOADS_DIR))
    for upload in files:
        name = _SAFE_NAME.sub("_", Path(upload.name).name) or "upload.csv"
        with open(folder / name, "wb") as out:
            shutil.copyfileobj(upload, out)
            upload.seek(0)
    return folder


def progress_callback(label: str):
    """A progress(fraction, message) callback drawing a Streamlit progress bar."""
    bar = st.progress(0.0, text=label)

    def update(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=f"{label}: {message}")

    return update


def data_set_caption(wh) -> str:
    """The sidebar's name for the data on screen: what was loaded and when, escaped for
    Markdown (file names are the uploader's), never a server or upload path."""
    return escape_markdown(describe_data_set(wh.source, wh.built_at))


def replacement_frame(before: WarehouseSummary | None, report: IngestReport) -> pd.DataFrame:
    """Rows per table now and after the checked load: what the confirmation names."""
    rows = []
    for table in report.tables:
        now = before.rows.get(table.table, 0) if before else 0
        rows.append({"Table": humanise(table.table), "Now": f"{now:,}",
                     "After the load": f"{table.loaded:,}",
                     "Change": f"{table.loaded - now:+,}" if table.loaded != now else "same"})
    return pd.DataFrame(rows)


def backups_frame(backups: list[Backup]) -> pd.DataFrame:
    """The kept previous warehouses as a table, newest first."""
    return pd.DataFrame([{
        "Replaced (UTC)": f"{b.replaced_at:%-d %b %Y %H:%M}",
        "Data set": b.description,
        "Data as of": f"{b.summary.as_of:%-d %b %Y}" if b.summary else "—",
        "Leads": f"{b.summary.rows.get('leads', 0):,}" if b.summary else "—",
        "Lead events": f"{b.summary.rows.get('lead_events', 0):,}" if b.summary else "—",
    } for b in backups])


def history_frame(entries: list[dict]) -> pd.DataFrame:
    """Loads and restores from the audit log: when, who, what, and the rows they changed."""
    def before_after(entry: dict, table: str) -> str:
        details = entry["details"]
        before = details.get("rows_before", {}).get(table)
        after = details.get("rows_after", {}).get(table)
        return f"{before or 0:,} → {after or 0:,}"

    def what(entry: dict) -> str:
        details = entry["details"]
        if entry["action"] == RESTORE_ACTION:
            return f"Restored: {details.get('data_set') or '—'}"
        files = ", ".join(f["name"] for f in details.get("files", []))
        return f"Loaded {files or 'no files'} ({details.get('mapping', 'canonical')})"

    return pd.DataFrame([{
        "When (UTC)": f"{dt.datetime.fromisoformat(e['at']):%-d %b %Y %H:%M}",
        "Who": e["user"], "What": what(e),
        "Leads": before_after(e, "leads"), "Lead events": before_after(e, "lead_events"),
    } for e in entries])


def keeping_sentence(kept: int) -> str:
    """What the confirmation promises about the data a load replaces."""
    if kept <= 0:
        return ("This server keeps no previous warehouse (METRICS_KEEP_WAREHOUSES=0): the data "
                "it replaces cannot be put back.")
    return (f"The data it replaces is kept (the last {kept} are), and ops or an admin can put "
            "it back from this page or with `python -m metrics restore`.")


def report_frame(report: IngestReport) -> pd.DataFrame:
    """The check's report per table and reason, in words (its CSV twin is the warehouse's
    load_report table, which keeps the codes)."""
    frame = report.to_frame()
    return pd.DataFrame({
        "Table": frame["table_name"].map(humanise),
        "Rows": frame["rows"].map("{:,}".format),
        "What": frame["kind"].map(humanise),
        "Reason": frame["reason"].fillna("—"),
    })


def as_sentence(exc: Exception) -> str:
    """An engine error (written to follow 'error: ') as a sentence on its own."""
    text = str(exc)
    return text[:1].upper() + text[1:]
