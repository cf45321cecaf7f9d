"""Hostile import input (issue 19): absurd dates and numbers, broken links, full disks, killed
loads, forgotten uploads. Every folder is written by the test itself."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

import metrics.ingest as ingest_module
from metrics.ingest import IngestFileError, IngestResourceError, ingest, preview_ingest
from metrics.ingest_files import resource_error

LEADS = """\
lead_id,created_at,lead_score
L1,2024-01-05T09:00:00Z,40
L2,2024-01-06T10:00:00Z,75
"""
EVENTS = """\
event_id,lead_id,stage,occurred_at
E1,L1,mql,2024-01-05T12:00:00Z
E2,L2,mql,2024-01-07T08:00:00Z
"""


def folder_with(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    for key, content in {"leads_csv": LEADS, "lead_events_csv": EVENTS, **files}.items():
        stem, ext = key.rsplit("_", 1)
        (folder / f"{stem}.{ext}").write_text(content, encoding="utf-8")
    return folder


def reasons(report, table: str) -> dict[str, int]:
    return {r.reason: r.rows for r in report.reasons if r.table == table
            and r.kind == "quarantined"}


def as_of(warehouse: Path) -> dt.datetime:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("SELECT as_of FROM warehouse_meta").fetchone()[0]
    finally:
        con.close()


@pytest.mark.parametrize("when", ["9999-12-31T23:00:00Z", "2999-01-01", "2200-06-01 10:00"])
def test_an_mql_in_the_far_future_is_quarantined_and_never_becomes_as_of(
        tmp_path: Path, when: str) -> None:
    # 9999-12-31 23:00 used to crash the SLA clock with a traceback (year 10000).
    folder = folder_with(tmp_path, lead_events_csv=EVENTS + f"E3,L1,sal,{when}\n")
    wh = tmp_path / "wh.duckdb"
    report = ingest(folder, wh)
    assert reasons(report, "lead_events") == {"occurred_at in the future (after the load time)": 1}
    assert as_of(wh) == dt.datetime(2024, 1, 7, 8)


def test_a_lead_created_in_the_future_takes_its_events_along(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, leads_csv=LEADS + "L3,2999-01-01,10\n",
                         lead_events_csv=EVENTS + "E3,L3,mql,2024-01-08\n")
    report = ingest(folder, tmp_path / "wh.duckdb")
    assert reasons(report, "leads") == {"created_at in the future (after the load time)": 1}
    assert reasons(report, "lead_events") == {"unknown lead_id: its lead is quarantined": 1}


def test_campaign_dates_may_be_planned_but_not_forever(tmp_path: Path) -> None:
    soon = (dt.date.today() + dt.timedelta(days=200)).isoformat()
    folder = folder_with(tmp_path, campaigns_csv="campaign_id,cost,started_on,ended_on\n"
                                                 f"C1,100,2024-01-01,{soon}\n"
                                                 "C2,100,2024-01-01,9999-12-31\n")
    report = ingest(folder, tmp_path / "wh.duckdb")
    assert report.table("campaigns").loaded == 1
    assert reasons(report, "campaigns") == {"ended_on more than 5 years ahead": 1}


def test_a_two_digit_year_is_refused_unless_a_format_declares_it(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, leads_csv="Id,Created\nL1,01/08/24 02:05 PM\n")
    mapping = tmp_path / "m.toml"
    body = """
[[leads]]
file = "leads"
columns.lead_id = "Id"
columns.created_at = "Created"
[[lead_events]]
file = "leads"
columns.event_id = "Id"
columns.lead_id = "Id"
columns.stage = { value = "lead" }
columns.occurred_at = "Created"
"""
    # A four-digit-year format reads "24" as the year 0024: refused, with what to do.
    mapping.write_text('timestamp_formats = ["%m/%d/%Y %I:%M %p"]\n' + body)
    report = ingest(folder, tmp_path / "wh.duckdb", mapping=mapping)
    assert reasons(report, "leads") == {
        "created_at before 1900 (a two-digit year? declare a %y format)": 1}
    mapping.write_text('timestamp_formats = ["%m/%d/%y %I:%M %p"]\n' + body)
    wh = tmp_path / "ok.duckdb"
    ingest(folder, wh, mapping=mapping)
    con = duckdb.connect(str(wh), read_only=True)
    assert con.execute("SELECT created_at FROM leads").fetchall() == [
        (dt.datetime(2024, 1, 8, 14, 5),)]
    con.close()


def test_absurd_amounts_and_scores_are_quarantined(tmp_path: Path) -> None:
    folder = folder_with(
        tmp_path, leads_csv=LEADS + "L3,2024-01-06,1e308\n",
        opportunities_csv="opportunity_id,lead_id,created_at,amount\n"
                          "O1,L1,2024-01-06,1e30\nO2,L2,2024-01-06,250000\n",
        campaigns_csv="campaign_id,cost\nC1,5e15\n")
    report = ingest(folder, tmp_path / "wh.duckdb")
    assert reasons(report, "leads") == {"implausible lead_score (1,000,000 or more)": 1}
    assert reasons(report, "opportunities") == {
        "implausible amount (1,000,000,000,000 or more)": 1}
    assert reasons(report, "campaigns") == {"implausible cost (1,000,000,000,000 or more)": 1}
    assert report.table("opportunities").loaded == 1


def test_a_broken_symlink_is_named(tmp_path: Path) -> None:
    folder = folder_with(tmp_path)
    (folder / "touches.csv").symlink_to(tmp_path / "moved-away.csv")
    with pytest.raises(IngestFileError, match=r"touches\.csv: is a link to .*moved-away\.csv, "
                                              r"which does not exist") as info:
        ingest(folder, tmp_path / "wh.duckdb")
    assert info.value.exit_code == 2


def test_every_unusable_file_and_column_is_named_at_once(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, leads_csv="lead_id\nL1\n",
                         lead_events_csv="event_id,lead_id\nE1,L1\n",
                         touches_csv="")
    with pytest.raises(IngestFileError) as info:
        ingest(folder, tmp_path / "wh.duckdb")
    text = str(info.value)
    assert text.startswith("4 problems with the export files; nothing was imported:")
    for expected in ("touches.csv: the file is empty", "leads.csv: no column 'created_at'",
                     "lead_events.csv: no column 'stage'", "lead_events.csv: no column "
                     "'occurred_at'"):
        assert expected in text
    assert len(info.value.problems) == 4 and info.value.exit_code == 2


def test_headers_match_whatever_their_case(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, leads_csv=LEADS.replace("lead_id,created_at,lead_score",
                                                           "LEAD_ID,CREATED_AT,Lead_Score"),
                         lead_events_csv=EVENTS.replace("event_id,lead_id,stage,occurred_at",
                                                        "EVENT_ID,Lead_Id,STAGE,OccurredAt")
                         .replace("OccurredAt", "Occurred_At"))
    report = ingest(folder, tmp_path / "wh.duckdb")
    assert report.table("leads").loaded == 2 and report.table("lead_events").loaded == 2
    # Two headers that differ only by case make the name ambiguous: said, not guessed.
    folder = folder_with(tmp_path, leads_csv="Lead_Id,LEAD_ID,created_at\nL1,L2,2024-01-01\n")
    with pytest.raises(IngestFileError, match=r"'Lead_Id' and 'LEAD_ID', which differ only by "
                                              r"case"):
        ingest(folder, tmp_path / "wh.duckdb")


def test_a_full_disk_is_not_called_bad_input(tmp_path: Path) -> None:
    # A real ENOSPC from the OS: /dev/full refuses every write.
    with pytest.raises(OSError) as raised:
        with open("/dev/full", "w") as full:
            full.write("x" * 100_000)
            full.flush()
    error = resource_error(raised.value, tmp_path)
    assert isinstance(error, IngestResourceError) and error.exit_code == 1
    assert "is full" in str(error) and "nothing was changed" in str(error)
    duckdb_error = duckdb.IOException('Could not write file "x.staging": No space left on device')
    assert isinstance(resource_error(duckdb_error, tmp_path), IngestResourceError)
    assert resource_error(ValueError("a bad value"), tmp_path) is None


def dead_pid() -> int:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    return int(finished.stdout)


def test_a_killed_load_leaves_nothing_the_next_load_keeps(tmp_path: Path) -> None:
    wh = tmp_path / "wh.duckdb"
    pid = dead_pid()
    abandoned = [tmp_path / f".wh.duckdb.{pid}.0badf00d.building",
                 tmp_path / f".wh.duckdb.{pid}.0badf00d.building.wal",
                 tmp_path / f".wh.duckdb.{pid}.0badf00d.building.staging",
                 tmp_path / f".wh.duckdb.{pid}.0badf00d.building.staging.src_1.csv"]
    for path in abandoned:
        path.write_bytes(b"\0" * 1024)
    spill = tmp_path / f".wh.duckdb.{pid}.0badf00d.building.tmp"
    spill.mkdir()
    (spill / "duckdb_temp_storage-0.tmp").write_bytes(b"\0" * 1024)
    running = tmp_path / f".wh.duckdb.{os.getpid()}.c0ffee00.building"
    running.write_bytes(b"")  # a build of a process still running is left alone
    ingest(folder_with(tmp_path), wh)
    assert not any(p.exists() for p in [*abandoned, spill])
    assert running.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["in", "wh.duckdb", running.name])


def test_uploads_are_removed_once_loaded_or_abandoned(tmp_path: Path, monkeypatch) -> None:
    uploads = tmp_path / "uploads"
    monkeypatch.setattr(ingest_module, "UPLOADS_DIR", uploads)
    upload = folder_with(tmp_path)
    upload = upload.rename(uploads / "abcd1234-x") if uploads.mkdir() is None else upload
    stale, fresh = uploads / "old-check", uploads / "new-check"
    for folder in (stale, fresh):
        folder.mkdir()
        (folder / "leads.csv").write_text(LEADS)
    day_ago = time.time() - 25 * 3600
    os.utime(stale, (day_ago, day_ago))
    preview_ingest(upload)
    assert not stale.exists() and fresh.exists() and upload.exists()
    ingest(upload, tmp_path / "wh.duckdb")
    assert not upload.exists() and fresh.exists()
    # A folder elsewhere is the user's own: never deleted.
    mine = folder_with(tmp_path)
    ingest(mine, tmp_path / "wh.duckdb")
    assert mine.exists()
