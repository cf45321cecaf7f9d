"""The import page: upload, see the report before loading, download the quarantine, load."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

LEADS = (b"lead_id,created_at,source_channel,segment\n"
         b"A1,2025-01-02T10:00:00Z,email,SMB\n"
         b"A2,not a date,email,SMB\n"
         b"A3,2025-01-03,webinars,Enterprise\n")
EVENTS = (b"event_id,lead_id,stage,occurred_at\n"
          b"e1,A1,lead,2025-01-02T10:00:00Z\n"
          b"e2,A1,mql,2025-01-03T10:00:00Z\n"
          b"e3,A3,teleported,2025-01-04\n"
          b"e4,ZZ,mql,2025-01-04\n")


@pytest.fixture
def private_warehouse(demo_env, tmp_path):
    """A copy of the demo warehouse this test may replace, so other tests keep theirs."""
    import shutil

    import streamlit as st

    saved = os.environ["METRICS_WAREHOUSE"]
    target = tmp_path / "warehouse.duckdb"
    shutil.copy(saved, target)
    os.environ["METRICS_WAREHOUSE"] = str(target)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield target
    os.environ["METRICS_WAREHOUSE"] = saved
    st.cache_resource.clear()
    st.cache_data.clear()


def test_check_shows_the_report_and_the_quarantine_then_load_swaps_the_warehouse(
        app, private_warehouse: Path):
    at = app("views/import_data.py")
    assert not at.exception
    at.file_uploader(key="uploads").set_value([
        ("leads.csv", LEADS, "text/csv"), ("lead_events.csv", EVENTS, "text/csv")]).run()
    at.button[0].click().run()  # "Check the files"
    assert not at.exception, [e.value for e in at.exception]
    shown = {m.label: m.value for m in at.metric}
    # 3 leads + 4 events read; the bad date, the unknown stage and the unknown lead quarantined.
    assert shown["Rows read"] == "7" and shown["Quarantined"] == "3" and shown["Would load"] == "4"
    before = private_warehouse.stat().st_mtime_ns
    load = next(b for b in at.button if "Load" in b.label)
    load.click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Loaded 4 rows" in s.value for s in at.success)
    assert private_warehouse.stat().st_mtime_ns != before


def test_an_unusable_file_is_explained_and_nothing_changes(app, private_warehouse: Path):
    at = app("views/import_data.py")
    at.file_uploader(key="uploads").set_value([("leads.csv", b"id;when\n1;2025\n", "text/csv")]).run()
    at.button[0].click().run()
    assert not at.exception
    assert at.error and "lead" in at.error[0].value.lower()
    assert not at.metric
