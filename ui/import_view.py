"""The import page's plumbing: uploaded files to a folder, ingest with a Streamlit progress bar."""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from pathlib import Path

import streamlit as st

from metrics.paths import DATA_DIR, REPO_ROOT

MAPPINGS_DIR = REPO_ROOT / "mappings"
UPLOADS_DIR = DATA_DIR / "uploads"
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
