"""The import page: only ops load; check, confirm what is replaced, load, restore; all audited."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import metrics
from metrics.backups import list_backups
from metrics.data_sets import summarize
from metrics.loads import data_history

OPS = "marketing.ops@example.com"
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
def private_warehouse(demo_env, tmp_path, monkeypatch):
    """A copy of the demo warehouse and a catalog this test may change, so others keep theirs."""
    import shutil

    import streamlit as st

    target = tmp_path / "wh" / "warehouse.duckdb"
    target.parent.mkdir()
    shutil.copy(os.environ["METRICS_WAREHOUSE"], target)
    monkeypatch.setenv("METRICS_WAREHOUSE", str(target))
    monkeypatch.setenv("METRICS_CATALOG", str(tmp_path / "catalog.sqlite"))
    monkeypatch.delenv("HANDOFF_LOCAL_MODE", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield target
    st.cache_resource.clear()
    st.cache_data.clear()


def _texts(at, *kinds: str) -> str:
    """The page's text as a reader sees it (Markdown escapes removed)."""
    kinds = kinds or ("error", "warning", "info", "success", "markdown", "caption")
    return _plain("\n".join(str(e.value) for kind in kinds for e in getattr(at, kind)))


def _plain(text: str) -> str:
    """Markdown as a reader sees it: no escapes, no code ticks (emails are shown as code)."""
    return text.replace("\\", "").replace("`", "")


def _sidebar(at) -> str:
    return _plain(" ".join(c.value for c in at.sidebar.caption))


def _button(at, label: str):
    matches = [b for b in at.button if b.label.startswith(label)]
    assert matches, f"no button {label!r}: {[b.label for b in at.button]}"
    return matches[0]


def _checked(app, user: str = OPS):
    at = app("views/import_data.py", **{"as": user})
    assert not at.exception, [e.value for e in at.exception]
    at.file_uploader(key="uploads-0").set_value([
        ("leads.csv", LEADS, "text/csv"), ("lead_events.csv", EVENTS, "text/csv")]).run()
    _button(at, "Check the files").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _catalog(path: Path):
    return metrics.open_catalog(path.parent.parent / "catalog.sqlite", roles={"users": {}},
                                sync=False)


def test_check_shows_the_report_then_loading_asks_what_it_replaces_before_it_does(
        app, private_warehouse: Path):
    at = _checked(app)
    shown = {m.label: m.value for m in at.metric}
    # 3 leads + 4 events read; the bad date, the unknown stage and the unknown lead quarantined.
    assert shown["Rows read"] == "7" and shown["Quarantined"] == "3" and shown["Would load"] == "4"
    before = summarize(private_warehouse)

    _button(at, "Load into the warehouse").click().run()
    assert summarize(private_warehouse) == before, "the first click only asks"
    assert "Replace the data for everyone?" in _texts(at, "markdown")
    assert "Demo data, 4,000 leads (seed 11)" in _texts(at, "markdown")
    replaced = next(d.value for d in at.dataframe if "After the load" in d.value.columns)
    leads = replaced.set_index("Table").loc["Leads"]
    assert (leads["Now"], leads["After the load"], leads["Change"]) == ("4,000", "2", "-3,998")
    assert "python -m metrics restore" in _texts(at, "caption")

    _button(at, "Replace the data for everyone").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Loaded 4 rows" in s.value for s in at.success)
    assert summarize(private_warehouse).rows["leads"] == 2
    # The sidebar, drawn again after the load, names what was loaded, never a path.
    sidebar = _sidebar(at)
    assert "lead_events.csv, leads.csv · canonical format · loaded" in sidebar
    assert str(private_warehouse.parent.parent) not in sidebar and "uploads" not in sidebar
    assert at.file_uploader(key="uploads-1").value in (None, []), "loaded files are gone"
    assert str(private_warehouse.parent) not in _texts(at)

    [entry] = data_history(_catalog(private_warehouse))
    assert entry["user"] == OPS and entry["action"] == "load_data"
    assert entry["details"]["rows_before"]["leads"] == 4000
    assert entry["details"]["rows_after"]["leads"] == 2
    assert sorted(f["name"] for f in entry["details"]["files"]) == ["lead_events.csv",
                                                                    "leads.csv"]


def test_cancel_changes_nothing(app, private_warehouse: Path):
    at = _checked(app)
    before = summarize(private_warehouse)
    _button(at, "Load into the warehouse").click().run()
    _button(at, "Cancel").click().run()
    assert not at.exception
    assert not [b for b in at.button if b.label.startswith("Replace")]
    assert summarize(private_warehouse) == before
    assert list_backups(private_warehouse) == []


def test_a_load_can_be_undone_in_one_click_and_both_are_audited(app, private_warehouse: Path):
    at = _checked(app)
    _button(at, "Load into the warehouse").click().run()
    _button(at, "Replace the data for everyone").click().run()
    assert summarize(private_warehouse).rows["leads"] == 2
    [kept] = list_backups(private_warehouse)
    table = next(d.value for d in at.dataframe if "Replaced (UTC)" in d.value.columns)
    assert table["Leads"].tolist() == ["4,000"]

    _button(at, "Restore the data replaced").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert summarize(private_warehouse).rows["leads"] == 4000
    assert "Restored Demo data, 4,000 leads" in _texts(at, "success")
    assert "Demo data, 4,000 leads (seed 11)" in _sidebar(at)
    history = next(d.value for d in at.dataframe if "Who" in d.value.columns)
    assert history["Who"].tolist() == [OPS, OPS]
    assert history["Leads"].tolist() == ["2 → 4,000", "4,000 → 2"]
    restore, _ = data_history(_catalog(private_warehouse))
    assert restore["action"] == "restore_data" and restore["details"]["restored"] == kept.id


@pytest.mark.parametrize("user, why", [
    (None, "Sign in (or pick who you are) first."),
    ("cmo@example.com", "cmo@example.com is an approver without the ops right."),
    ("analyst@example.com", "analyst@example.com is a viewer without the ops right."),
])
def test_people_without_the_ops_right_cannot_load_or_restore_and_are_told_who_can(
        app, private_warehouse: Path, user, why):
    from metrics.ingest import ingest

    folder = private_warehouse.parent / "export"
    folder.mkdir()
    (folder / "leads.csv").write_bytes(LEADS)
    (folder / "lead_events.csv").write_bytes(EVENTS)
    ingest(folder, private_warehouse)  # so that there is something one could restore
    at = app("views/import_data.py", **({"as": user} if user else {}))
    assert not at.exception
    refusal = _texts(at, "info")
    assert why in refusal
    assert "marketing.ops@example.com, revops.admin@example.com or sales.ops@example.com" in refusal
    assert not at.get("file_uploader")
    assert not [b for b in at.button if b.label.startswith(("Check", "Load", "Restore"))]


def test_an_admin_may_load(app, private_warehouse: Path):
    at = _checked(app, "revops.admin@example.com")
    assert [b for b in at.button if b.label.startswith("Load into the warehouse")]


def test_an_unusable_file_is_explained_and_nothing_changes(app, private_warehouse: Path):
    at = app("views/import_data.py", **{"as": OPS})
    unusable = [("leads.csv", b"id;when\n1;2025\n", "text/csv")]
    at.file_uploader(key="uploads-0").set_value(unusable).run()
    _button(at, "Check the files").click().run()
    assert not at.exception
    assert at.error and "lead" in at.error[0].value.lower()
    assert not at.metric
