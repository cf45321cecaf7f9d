"""Loads keep the warehouse they replace, a restore puts it back, and both are in the audit log."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import metrics
from metrics.backups import KEEP_ENV, list_backups, restore_backup
from metrics.catalog import PermissionDeniedError
from metrics.data_sets import describe_data_set, summarize
from metrics.errors import WarehouseError
from metrics.ingest import ingest
from metrics.loads import AuditLogError, data_history, load_files, restore_warehouse
from metrics.roles import load_roles

ROOT = Path(__file__).resolve().parents[2]
LEADS = ("lead_id,created_at,source_channel,segment\n"
         "A1,2025-01-02T10:00:00Z,email,SMB\n"
         "A2,2025-01-03T10:00:00Z,webinars,Enterprise\n"
         "A3,2025-01-04T10:00:00Z,email,SMB\n")
EVENTS = ("event_id,lead_id,stage,occurred_at\n"
          "e1,A1,lead,2025-01-02T10:00:00Z\n"
          "e2,A1,mql,2025-01-03T10:00:00Z\n"
          "e3,ZZ,mql,2025-01-04\n")  # an event for an unknown lead: quarantined
ROLES = load_roles({"users": {"ops@example.com": {"ops": True},
                              "cmo@example.com": {"role": "approver", "teams": ["marketing"]}}})


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """A 300-lead demo warehouse in its own folder, so its kept copies are this test's."""
    from demo_warehouse import build_demo_warehouse

    return build_demo_warehouse(tmp_path / "wh" / "warehouse.duckdb", leads=300)


@pytest.fixture
def catalog(tmp_path: Path):
    return metrics.open_catalog(tmp_path / "catalog.sqlite", roles={"users": {}}, sync=False)


def export(tmp_path: Path, name: str = "export") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "leads.csv").write_text(LEADS, encoding="utf-8")
    (folder / "lead_events.csv").write_text(EVENTS, encoding="utf-8")
    return folder


def test_a_load_keeps_the_warehouse_it_replaced_and_a_restore_puts_it_back(
        tmp_path, warehouse, catalog):
    demo = summarize(warehouse)
    assert demo.rows["leads"] == 300

    loaded = load_files(export(tmp_path), warehouse, user="ops@example.com", catalog=catalog,
                        roles=ROLES)
    assert summarize(warehouse).rows["leads"] == 3
    assert loaded.replaced.rows == demo.rows
    [kept] = list_backups(warehouse)
    assert loaded.kept_as == kept and kept.summary.rows == demo.rows

    restored = restore_warehouse(kept.id, warehouse, user="ops@example.com", catalog=catalog,
                                 roles=ROLES)
    assert summarize(warehouse) == demo  # the same data, as of and build time as before
    assert metrics.open_warehouse(warehouse).query("new_leads", grain="total").iloc[0, 0] == 300
    # The import it replaced is kept in turn, and the restored copy is still there to reuse.
    assert restored.kept_as.summary.rows["leads"] == 3
    assert [b.id for b in list_backups(warehouse)] == [restored.kept_as.id, kept.id]


def test_loads_and_restores_are_in_the_audit_log_with_who_files_and_counts(
        tmp_path, warehouse, catalog):
    load_files(export(tmp_path), warehouse, user="ops@example.com", catalog=catalog)
    kept = list_backups(warehouse)[0]
    restore_warehouse(kept.id, warehouse, user="revops.admin@example.com", catalog=catalog)

    restore, load = data_history(catalog)
    assert load["action"] == "load_data" and load["user"] == "ops@example.com"
    assert load["at"] < restore["at"]
    assert {f["name"]: f["rows"] for f in load["details"]["files"]} == {
        "leads.csv": 3, "lead_events.csv": 3}
    assert load["details"]["rows_before"]["leads"] == 300
    assert load["details"]["rows_after"] == {
        "leads": 3, "lead_events": 2, "touches": 0, "opportunities": 0, "campaigns": 0, "reps": 0}
    assert load["details"]["quarantined"] == {"lead_events": 1}
    assert load["details"]["kept_as"] == kept.id
    assert load["details"]["replaced"].startswith("Demo data, 300 leads (seed 11)")

    assert restore["action"] == "restore_data" and restore["user"] == "revops.admin@example.com"
    assert restore["details"]["restored"] == kept.id
    assert restore["details"]["rows_before"]["leads"] == 3
    assert restore["details"]["rows_after"]["leads"] == 300
    assert restore["details"]["files"] == "demo leads=300 seed=11"


def test_someone_without_the_ops_right_is_refused_and_nothing_changes(
        tmp_path, warehouse, catalog):
    before = summarize(warehouse)
    with pytest.raises(PermissionDeniedError, match="only people with ops = true"):
        load_files(export(tmp_path), warehouse, user="cmo@example.com", catalog=catalog,
                   roles=ROLES)
    with pytest.raises(PermissionDeniedError, match="ask ops@example.com"):
        restore_warehouse("anything", warehouse, user="cmo@example.com", catalog=catalog,
                          roles=ROLES)
    assert summarize(warehouse) == before
    assert list_backups(warehouse) == [] and data_history(catalog) == []


def test_only_the_last_n_are_kept_and_zero_keeps_none(tmp_path, warehouse, monkeypatch):
    monkeypatch.setenv(KEEP_ENV, "2")
    for i in range(3):
        ingest(export(tmp_path, f"export{i}"), warehouse)
    assert len(list_backups(warehouse)) == 2
    monkeypatch.setenv(KEEP_ENV, "0")
    ingest(export(tmp_path, "export-last"), warehouse)
    assert len(list_backups(warehouse)) == 2  # none added, none pruned
    monkeypatch.setenv(KEEP_ENV, "three")
    with pytest.raises(WarehouseError, match="must be a whole number"):
        ingest(export(tmp_path, "export-bad"), warehouse)


def test_an_unknown_or_unreadable_backup_is_refused_and_the_warehouse_is_unchanged(
        tmp_path, warehouse):
    with pytest.raises(WarehouseError, match="no previous warehouse 'nope'; the ones kept "
                                             "are: none is kept yet"):
        restore_backup(warehouse, "nope")
    ingest(export(tmp_path), warehouse)
    [kept] = list_backups(warehouse)
    kept.path.unlink()
    kept.path.write_bytes(b"not a warehouse")
    before = summarize(warehouse)
    with pytest.raises(WarehouseError, match="cannot be read as a Handoff warehouse"):
        restore_backup(warehouse, kept.id)
    assert summarize(warehouse) == before


def test_an_import_names_its_files_and_mapping_never_the_folder(tmp_path, warehouse):
    folder = export(tmp_path, "3f2a9c-upload")
    ingest(folder, warehouse)
    summary = summarize(warehouse)
    assert summary.source == "lead_events.csv, leads.csv · canonical format"
    assert str(tmp_path) not in summary.description and "3f2a9c" not in summary.description
    assert summary.description.startswith("lead_events.csv, leads.csv · canonical format · "
                                          "loaded ")
    # A warehouse from before sources were described held the folder: it is not shown.
    assert describe_data_set(f"ingest {folder} (mapping canonical)") == (
        "Imported files · canonical format")


def test_the_restore_command_lists_restores_and_records(tmp_path, warehouse):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("METRICS_")},
           "METRICS_CATALOG": str(tmp_path / "cli-catalog.sqlite")}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "metrics", *args, "--warehouse",
                               str(warehouse)], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)

    assert "No previous warehouse is kept yet" in run("restore").stdout
    result = subprocess.run([sys.executable, "-m", "metrics", "ingest", str(export(tmp_path)),
                             "--warehouse", str(warehouse)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    listing = run("restore", "--list")
    assert "Demo data, 300 leads (seed 11)" in listing.stdout and "300" in listing.stdout
    result = run("restore", "--latest")
    assert result.returncode == 0, result.stderr
    assert "Restored" in result.stdout and "is kept as" in result.stdout
    assert summarize(warehouse).rows["leads"] == 300
    assert run("restore", "nope").returncode == 1
    history = data_history(metrics.open_catalog(tmp_path / "cli-catalog.sqlite",
                                                roles={"users": {}}, sync=False))
    assert [e["action"] for e in history] == ["restore_data", "load_data"]
    assert all(e["user"].endswith("(command line)") for e in history)


def test_a_load_the_audit_log_cannot_record_says_it_is_done_all_the_same(
        tmp_path, warehouse, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("METRICS_CATALOG", str(blocker / "catalog.sqlite"))
    with pytest.raises(AuditLogError, match="the data was loaded, but the audit log could not "
                                            "record it"):
        load_files(export(tmp_path), warehouse, user="ops@example.com")
    assert summarize(warehouse).rows["leads"] == 3
