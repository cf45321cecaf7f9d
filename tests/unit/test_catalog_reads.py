"""Reading the catalog needs no write access and never waits behind a writer."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import metrics.catalog
from metrics.catalog import open_catalog
from metrics.paths import METRICS_DIR, REPO_ROOT

NOBODY = 65534
MKT_EDITOR = "marketing.ops@example.com"


@pytest.fixture
def read_only_catalog():
    """A synced catalog in a folder that the tests' reader may read but not write.

    As root, permissions do not stop writes, so the reader is another user (nobody).
    """
    if os.geteuid() == 0 and not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: cannot read as a user without write access")
    folder = Path(tempfile.mkdtemp(prefix="handoff-read-only-"))
    definitions = folder / "definitions"
    shutil.copytree(METRICS_DIR, definitions)
    path = folder / "catalog.sqlite"
    open_catalog(path, REPO_ROOT / "roles.toml", definitions_dir=definitions)
    for item in (path, *definitions.iterdir()):
        item.chmod(0o444)
    for directory in (definitions, folder):
        directory.chmod(0o555)
    yield path, definitions
    for directory in (folder, definitions):
        directory.chmod(0o755)
    shutil.rmtree(folder)


def _run_as_reader(*args: str) -> subprocess.CompletedProcess:
    """Run Python as someone who may read the catalog but not write it."""
    prefix = (["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
              if os.geteuid() == 0 else [])
    return subprocess.run([*prefix, sys.executable, *args], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})


def test_history_and_pending_work_on_a_read_only_catalog(read_only_catalog):
    path, definitions = read_only_catalog
    for command in (["history", "mqls"], ["pending"], ["diff", "mqls", "1", "1"]):
        done = _run_as_reader("-m", "metrics", *command, "--catalog", str(path),
                              "--definitions", str(definitions))
        assert done.returncode == 0, done.stderr
    history = _run_as_reader("-m", "metrics", "history", "mqls", "--catalog", str(path),
                             "--definitions", str(definitions))
    assert "imported from" in history.stdout


def test_a_change_to_a_read_only_catalog_is_refused_in_words_and_files_are_not_imported(
        read_only_catalog):
    path, definitions = read_only_catalog
    script = f"""
import metrics
from metrics.catalog import ReadOnlyCatalogError
catalog = metrics.open_catalog({str(path)!r}, definitions_dir={str(definitions)!r})
print(len(catalog.history("mqls")))
print(catalog.sync_problems[0] if catalog.sync_problems else "no problem")
try:
    catalog.propose("mqls", catalog.text("mqls") + "\\n", author={MKT_EDITOR!r}, reason="x")
except ReadOnlyCatalogError as exc:
    print("refused:", exc)
"""
    done = _run_as_reader("-c", script)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "1"
    assert lines[1] == "no problem"
    assert lines[2].startswith("refused: ") and "is read-only here, so nothing was changed" in \
        lines[2]


def test_opening_a_read_only_catalog_whose_files_changed_still_reads(read_only_catalog):
    path, _ = read_only_catalog
    changed = Path(tempfile.mkdtemp(prefix="handoff-changed-"))
    shutil.copytree(METRICS_DIR, changed / "defs")
    mqls = changed / "defs" / "mqls.sql"
    mqls.write_text(mqls.read_text().replace("-- label: MQLs", "-- label: MQLs (all)"))
    for item in (changed, changed / "defs"):
        item.chmod(0o755)
    try:
        done = _run_as_reader("-m", "metrics", "history", "mqls", "--catalog", str(path),
                              "--definitions", str(changed / "defs"))
    finally:
        shutil.rmtree(changed)
    assert done.returncode == 0, done.stderr
    assert "imported from" in done.stdout
    assert "read-only here, so 1 changed definition file(s) were not imported: mqls" in done.stderr


@pytest.mark.parametrize("lock", ["BEGIN IMMEDIATE", "BEGIN EXCLUSIVE"])
def test_a_held_write_lock_does_not_make_reads_wait(tmp_path, monkeypatch, lock):
    # Were reads to wait for the lock, they would fail after this (shortened) busy timeout.
    monkeypatch.setattr(metrics.catalog, "BUSY_TIMEOUT_SECONDS", 1.0)
    path = tmp_path / "catalog.sqlite"
    open_catalog(path)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute(lock)
    writer.execute("INSERT INTO audit_log (at, user, action) VALUES ('now', 'w', 'uncommitted')")
    try:
        catalog = open_catalog(path)
        assert [v["version"] for v in catalog.history("mqls")] == [1]
        assert catalog.pending() == []
        assert catalog.active_version("mqls") == 1
        assert "uncommitted" not in {e["action"] for e in catalog.audit()}
    finally:
        writer.execute("ROLLBACK")
        writer.close()
