"""Import of the canonical format (DESIGN.md section 4): bad files stop, bad rows are kept aside.

Every folder is written by the test itself; nothing here needs ../shared.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metrics.ingest import IngestFileError, IngestReport, ingest, preview_ingest, read_quarantine
from metrics.ingest_mapping import MappingError
from metrics.paths import REPO_ROOT

LEADS = """\
lead_id,created_at,source_channel,sourced_by,segment,lead_score
L1,2024-01-05T09:00:00Z,web,marketing,SMB,40
L2,2024-01-06T10:00:00Z,events,sales,Enterprise,75
L3,2024-01-07T11:00:00Z,partner,partner,SMB,
"""
EVENTS = """\
event_id,lead_id,stage,occurred_at
E1,L1,lead,2024-01-05T09:00:00Z
E2,L1,mql,2024-01-05T12:00:00Z
E3,L2,mql,2024-01-07T08:00:00Z
E4,L2,sal,2024-01-08T08:00:00Z
"""


def write_folder(folder: Path, **files: str | bytes) -> Path:
    """Write `name_ext=content` files (e.g. leads_csv=...) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for key, content in files.items():
        stem, ext = key.rsplit("_", 1)
        path = folder / f"{stem}.{ext}"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def canonical(tmp_path: Path, **files: str | bytes) -> Path:
    """A folder with the good leads and events, overridden or completed by `files`."""
    return write_folder(tmp_path / "in", **{"leads_csv": LEADS, "lead_events_csv": EVENTS,
                                            **files})


def rows(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def reasons(report: IngestReport, table: str, kind: str = "quarantined") -> dict[str, int]:
    return {r.reason: r.rows for r in report.reasons if r.table == table and r.kind == kind}


def assert_accounted(report: IngestReport, warehouse: Path | None = None) -> None:
    """loaded + quarantined = read for every table, and the warehouse agrees."""
    for t in report.tables:
        assert t.loaded + t.quarantined == t.read, t
        assert sum(reasons(report, t.table).values()) == t.quarantined, t
        if warehouse is not None:
            assert rows(warehouse, f"SELECT count(*) FROM {t.table}")[0][0] == t.loaded
            assert rows(warehouse, "SELECT count(*) FROM quarantine WHERE table_name = "
                                   f"'{t.table}'")[0][0] == t.quarantined


# ---------------------------------------------------------------------------------------------
# The happy path


def test_canonical_folder_loads_and_reports(tmp_path: Path) -> None:
    wh = tmp_path / "wh.duckdb"
    report = ingest(canonical(tmp_path), wh)
    assert report.table("leads").loaded == 3
    assert report.table("lead_events").loaded == 4
    assert report.rows_quarantined == 0
    assert report.as_of == dt.datetime(2024, 1, 8, 8, 0)
    assert rows(wh, "SELECT as_of FROM warehouse_meta") == [(dt.datetime(2024, 1, 8, 8, 0),)]
    assert rows(wh, "SELECT first_mql_at FROM lead_lifecycle WHERE lead_id = 'L2'") == [
        (dt.datetime(2024, 1, 7, 8, 0),)]
    frame = report.to_frame()
    assert list(frame.columns) == ["table_name", "kind", "reason", "rows"]
    stored = rows(wh, "SELECT table_name, kind, reason, rows FROM load_report ORDER BY ALL")
    assert sorted(map(tuple, frame.astype(object).where(frame.notna(), None).values.tolist())
                  ) == sorted(stored)
    assert report.rows_per_second > 0
    assert_accounted(report, wh)


def test_as_of_can_be_given(tmp_path: Path) -> None:
    wh = tmp_path / "wh.duckdb"
    ingest(canonical(tmp_path), wh, as_of=dt.datetime(2024, 2, 1))
    assert rows(wh, "SELECT as_of FROM warehouse_meta") == [(dt.datetime(2024, 2, 1),)]


def test_optional_tables_load_and_extra_columns_are_ignored(tmp_path: Path) -> None:
    folder = canonical(
        tmp_path,
        leads_csv="\n".join(line + ",blue" for line in LEADS.splitlines()).replace(
            "lead_score,blue", "lead_score,favourite_colour") + "\n",
        touches_csv="touch_id,lead_id,occurred_at,team,kind\n"
                    "T1,L1,2024-01-05T13:00:00Z,sales,call\n",
        opportunities_csv="opportunity_id,lead_id,created_at,closed_at,amount,status\n"
                          "O1,L2,2024-01-09,2024-02-01,12000,won\n",
        campaigns_csv="campaign_id,name,channel,cost,started_on,ended_on\n"
                      "C1,Webinar,events,1500.5,2024-01-01,2024-01-31\n",
        reps_csv="rep_id,name,team,region\nR1,Maya,sales,EMEA\n",
        notes_txt="not an export",
    )
    wh = tmp_path / "wh.duckdb"
    report = ingest(folder, wh)
    assert {t.table: t.loaded for t in report.tables} == {
        "campaigns": 1, "reps": 1, "leads": 3, "lead_events": 4, "touches": 1,
        "opportunities": 1}
    leads_file = next(f for f in report.files if f.name == "leads.csv")
    assert leads_file.ignored_columns == ("favourite_colour",)
    assert "favourite_colour" in report.format()
    assert rows(wh, "SELECT cost, started_on FROM campaigns") == [(1500.5, dt.date(2024, 1, 1))]
    assert rows(wh, "SELECT amount, status::VARCHAR FROM opportunities") == [(12000.0, "won")]


def test_excel_style_csv_with_bom_crlf_and_quoted_newlines(tmp_path: Path) -> None:
    leads = ("\ufefflead_id,created_at,industry\r\n"
             'L1,2024-01-05,"Food, drink\r\nand more"\r\n'
             "L2,2024-01-06,Retail\r\n"
             "L3,oops,Retail\r\n")
    folder = canonical(tmp_path, leads_csv=leads.encode("utf-8"))
    wh = tmp_path / "wh.duckdb"
    report = ingest(folder, wh)
    assert rows(wh, "SELECT lead_id, industry FROM leads ORDER BY 1") == [
        ("L1", "Food, drink\r\nand more"), ("L2", "Retail")]
    # The row number counts records, not lines: a quoted newline does not shift it.
    assert rows(wh, "SELECT row_number FROM quarantine") == [(3,)]
    assert report.rows_quarantined == 1


def test_repeated_or_blank_header_names_are_fatal_only_when_used(tmp_path: Path) -> None:
    folder = canonical(tmp_path, leads_csv="lead_id,created_at,notes,notes,\n"
                                           "L1,2024-01-05,a,b,c\nL2,2024-01-06,a,b,c\n"
                                           "L3,2024-01-07,a,b,c\n")
    report = ingest(folder, tmp_path / "wh.duckdb")
    assert next(f for f in report.files if f.name == "leads.csv").ignored_columns == (
        "notes", "column_5")
    folder = canonical(tmp_path, leads_csv="lead_id,created_at,created_at\nL1,2024-01-05,x\n")
    with pytest.raises(IngestFileError, match="'created_at' appears more than once"):
        ingest(folder, tmp_path / "wh.duckdb")


def test_header_only_optional_file_loads_nothing(tmp_path: Path) -> None:
    folder = canonical(tmp_path, touches_csv="touch_id,lead_id,occurred_at,team\n")
    report = ingest(folder, tmp_path / "wh.duckdb")
    assert report.table("touches").read == 0


# ---------------------------------------------------------------------------------------------
# Unusable files: exit code 2, file and column named, previous warehouse untouched


def test_missing_mandatory_file(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "in", leads_csv=LEADS)
    with pytest.raises(IngestFileError, match=r"lead_events\.csv") as info:
        ingest(folder, tmp_path / "wh.duckdb")
    assert info.value.exit_code == 2
    assert not (tmp_path / "wh.duckdb").exists()


def test_missing_mandatory_column(tmp_path: Path) -> None:
    folder = canonical(tmp_path, leads_csv="lead_id,source_channel\nL1,web\n")
    with pytest.raises(IngestFileError, match=r"leads\.csv: no column 'created_at'") as info:
        ingest(folder, tmp_path / "wh.duckdb")
    assert (info.value.file, info.value.column_name, info.value.exit_code) == (
        "leads.csv", "created_at", 2)


def test_wrong_delimiter(tmp_path: Path) -> None:
    folder = canonical(tmp_path, leads_csv=LEADS.replace(",", ";"))
    with pytest.raises(IngestFileError, match=r"leads\.csv: no column 'lead_id'.*"
                                              r"semicolon-separated") as info:
        ingest(folder, tmp_path / "wh.duckdb")
    assert info.value.exit_code == 2


@pytest.mark.parametrize("padding_rows", [0, 40_000], ids=["in-header-probe", "deep-in-file"])
def test_a_windows_1252_file_is_detected_and_reported(tmp_path: Path, padding_rows: int) -> None:
    # Latin-1 bytes near the top (seen while reading the header) or past the first megabyte
    # (seen by DuckDB while staging, then the whole file is scanned).
    padding = "".join(f"P{i},2024-01-01T00:00:00Z,web\n" for i in range(padding_rows))
    body = ("lead_id,created_at,source_channel\n" + padding).encode() + \
        "L1,2024-01-05,caf\u00e9 \u20ac\n".encode("cp1252")
    folder = canonical(tmp_path, leads_csv=body)
    wh = tmp_path / "wh.duckdb"
    report = ingest(folder, wh)
    assert rows(wh, "SELECT source_channel FROM leads WHERE lead_id = 'L1'") == [
        ("caf\u00e9 \u20ac",)]
    assert {f.name: f.encoding for f in report.files}["leads.csv"] == "Windows-1252"
    assert "leads.csv Windows-1252" in report.format()


def test_a_file_mixing_utf8_and_latin1_is_refused(tmp_path: Path) -> None:
    body = ("lead_id,created_at,source_channel\nL0,2024-01-01,caf\u00e9\n".encode()
            + "L1,2024-01-05,caf\u00e9\n".encode("latin-1"))
    with pytest.raises(IngestFileError, match=r"leads\.csv: the file mixes UTF-8 with another "
                                              r"encoding \(byte 0xE9 on line 3") as info:
        ingest(canonical(tmp_path, leads_csv=body), tmp_path / "wh.duckdb")
    assert info.value.exit_code == 2


@pytest.mark.parametrize("encoding, label", [("utf-16", "UTF-16"), ("utf-8-sig", "UTF-8 with BOM")])
def test_files_with_a_byte_order_mark_are_read(tmp_path: Path, encoding: str, label: str) -> None:
    folder = canonical(tmp_path, leads_csv='"lead_id","created_at"\r\nL1,2024-01-05\r\n'
                       .encode(encoding))
    wh = tmp_path / "wh.duckdb"
    report = ingest(folder, wh)
    assert rows(wh, "SELECT lead_id FROM leads") == [("L1",)]
    assert {f.name: f.encoding for f in report.files}["leads.csv"] == label


def test_a_declared_encoding_wins_and_a_wrong_one_is_hinted(tmp_path: Path) -> None:
    folder = canonical(tmp_path, leads_csv="lead_id,cr\u00e9ated_at\nL1,2024-01-05\n".encode())
    mapping = tmp_path / "m.toml"
    mapping.write_text("[[leads]]\nfile = 'leads'\ncolumns.lead_id = 'lead_id'\n"
                       "columns.created_at = 'cr\u00e9ated_at'\n[[lead_events]]\n"
                       "file = 'lead_events'\ncolumns.event_id = 'event_id'\n"
                       "columns.lead_id = 'lead_id'\ncolumns.stage = 'stage'\n"
                       "columns.occurred_at = 'occurred_at'\n", encoding="utf-8")
    assert ingest(folder, tmp_path / "ok.duckdb", mapping=mapping).table("leads").loaded == 1
    with pytest.raises(IngestFileError, match=r"is UTF-8 but was read as Windows-1252; leave "
                                              r"out --encoding"):
        ingest(folder, tmp_path / "wh.duckdb", mapping=mapping, encoding="cp1252")
    with pytest.raises(IngestFileError, match="not a known text encoding"):
        ingest(folder, tmp_path / "wh.duckdb", encoding="klingon")


def test_empty_file(tmp_path: Path) -> None:
    folder = canonical(tmp_path, lead_events_csv="")
    with pytest.raises(IngestFileError, match=r"lead_events\.csv: the file is empty"):
        ingest(folder, tmp_path / "wh.duckdb")


def test_row_with_too_many_values_names_the_line(tmp_path: Path) -> None:
    folder = canonical(tmp_path, leads_csv=LEADS + "L9,2024-01-09,web,marketing,SMB,1,extra\n")
    with pytest.raises(IngestFileError, match=r"leads\.csv: line 5 has 7 comma-separated values"):
        ingest(folder, tmp_path / "wh.duckdb")


def test_csv_and_parquet_of_one_table_is_ambiguous(tmp_path: Path) -> None:
    folder = canonical(tmp_path)
    pq.write_table(pa.table({"lead_id": ["L1"]}), folder / "leads.parquet")
    with pytest.raises(IngestFileError, match="keep only one"):
        ingest(folder, tmp_path / "wh.duckdb")


def test_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="not a known IANA time zone") as info:
        ingest(canonical(tmp_path), tmp_path / "wh.duckdb", timezone="Mars/Olympus")
    assert info.value.exit_code == 2


# ---------------------------------------------------------------------------------------------
# Bad rows: quarantined with their reason


def test_unparseable_dates_are_quarantined(tmp_path: Path) -> None:
    folder = canonical(
        tmp_path,
        leads_csv=LEADS + "L4,31/02/2024,web,marketing,SMB,1\nL5,yesterday,web,,SMB,1\n",
        lead_events_csv=EVENTS + "E5,L1,sal,2024-13-45T00:00:00Z\n")
    wh = tmp_path / "wh.duckdb"
    report = ingest(folder, wh)
    assert reasons(report, "leads") == {"unparseable created_at": 2}
    assert reasons(report, "lead_events") == {"unparseable occurred_at": 1}
    stored = rows(wh, "SELECT file, row_number, reason, raw FROM quarantine "
                      "WHERE table_name = 'leads' ORDER BY row_number")
    assert [(f, n, r) for f, n, r, _ in stored] == [
        ("leads.csv", 4, "unparseable created_at"), ("leads.csv", 5, "unparseable created_at")]
    assert json.loads(stored[0][3]) == {
        "lead_id": "L4", "created_at": "31/02/2024", "source_channel": "web",
        "sourced_by": "marketing", "segment": "SMB", "lead_score": "1"}
    assert_accounted(report, wh)


def test_unparseable_numbers_and_missing_values_are_quarantined(tmp_path: Path) -> None:
    folder = canonical(tmp_path, leads_csv=LEADS + "L4,2024-01-09,web,,SMB,lots\n"
                                                   ",2024-01-09,web,,SMB,1\n"
                                                   "L6,  ,web,,SMB,1\n"
                                                   "L7,2024-01-09,web,,SMB,nan\n")
    report = ingest(folder, tmp_path / "wh.duckdb")
    assert reasons(report, "leads") == {"unparseable lead_score": 2, "missing lead_id": 1,
                                        "missing created_at": 1}


def test_negative_amounts_are_quarantined(tmp_path: Path) -> None:
    folder = canonical(
        tmp_path,
        opportunities_csv="opportunity_id,lead_id,created_at,amount,status\n"
                          "O1,L1,2024-01-09,5000,open\nO2,L2,2024-01-09,-5000,won\n"
                          "O3,L2,2024-01-09,0,lost\n",
        campaigns_csv="campaign_id,cost\nC1,100\nC2,-1\n")
    report = ingest(folder, tmp_path / "wh.duckdb")
    assert reasons(report, "opportunities") == {"negative amount": 1}
    assert reasons(report, "campaigns") == {"negative cost": 1}
    assert report.table("opportunities").loaded == 2


@pytest.mark.parametrize("file, body, reason", [
    ("lead_events_csv", EVENTS + "E9,L1,prospect,2024-01-09\n", "unknown stage value"),
    ("leads_csv", LEADS + "L9,2024-01-09,web,marketing-ish,SMB,1\n", "unknown sourced_by value"),
    ("touches_csv", "touch_id,lead_id,occurred_at,team\nT1,L1,2024-01-09,finance\n",
     "unknown team value"),
    ("opportunities_csv", "opportunity_id,lead_id,created_at,status\nO1,L1,2024-01-09,pending\n",
     "unknown status value"),
])
def test_unknown_enum_values_are_quarantined(tmp_path: Path, file: str, body: str,
                                             reason: str) -> None:
    report = ingest(canonical(tmp_path, **{file: body}), tmp_path / "wh.duckdb")
    table = file.removesuffix("_csv")
    assert reasons(report, table) == {reason: 1}


def test_enum_values_are_case_insensitive(tmp_path: Path) -> None:
    folder = canonical(tmp_path, lead_events_csv=EVENTS + "E5,L3,MQL,2024-01-09\n")
    wh = tmp_path / "wh.duckdb"
    report = ingest(folder, wh)
    assert report.rows_quarantined == 0
    assert rows(wh, "SELECT stage::VARCHAR FROM lead_events WHERE event_id = 'E5'") == [("mql",)]


def test_duplicate_ids_keep_the_first_row(tmp_path: Path) -> None:
    folder = canonical(tmp_path,
                       leads_csv=LEADS + "L1,2024-02-01,dup,marketing,SMB,1\n",
                       lead_events_csv=EVENTS + "E1,L2,won,2024-02-01\n")
    wh = tmp_path / "wh.duckdb"
    report = ingest(folder, wh)
    assert reasons(report, "leads") == {"duplicate lead_id": 1}
    assert reasons(report, "lead_events") == {"duplicate event_id": 1}
    assert rows(wh, "SELECT source_channel FROM leads WHERE lead_id = 'L1'") == [("web",)]
    assert rows(wh, "SELECT row_number FROM quarantine WHERE table_name = 'leads'") == [(4,)]


def test_a_bad_first_copy_does_not_make_the_good_one_a_duplicate(tmp_path: Path) -> None:
    folder = canonical(tmp_path, leads_csv=LEADS.replace("L3,2024-01-07T11:00:00Z",
                                                         "L3,not a date")
                       + "L3,2024-01-07,partner,partner,SMB,\n")
    report = ingest(folder, tmp_path / "wh.duckdb")
    assert reasons(report, "leads") == {"unparseable created_at": 1}
    assert report.table("leads").loaded == 3


def test_rows_for_unknown_leads_are_quarantined(tmp_path: Path) -> None:
    folder = canonical(
        tmp_path,
        lead_events_csv=EVENTS + "E5,L404,mql,2024-01-09\n",
        touches_csv="touch_id,lead_id,occurred_at,team\nT1,L404,2024-01-09,sales\n",
        opportunities_csv="opportunity_id,lead_id,created_at\nO1,L404,2024-01-09\n")
    report = ingest(folder, tmp_path / "wh.duckdb")
    for table in ("lead_events", "touches", "opportunities"):
        assert reasons(report, table) == {"unknown lead_id: no lead has this id": 1}


def test_events_of_a_quarantined_lead_are_quarantined_too(tmp_path: Path) -> None:
    folder = canonical(tmp_path, leads_csv=LEADS.replace("L2,2024-01-06T10:00:00Z",
                                                         "L2,someday"),
                       lead_events_csv=EVENTS + "E5,L404,mql,2024-01-09\n")
    report = ingest(folder, tmp_path / "wh.duckdb")
    assert reasons(report, "leads") == {"unparseable created_at": 1}
    # The two causes of an unknown lead_id are told apart.
    assert reasons(report, "lead_events") == {"unknown lead_id: its lead is quarantined": 2,
                                              "unknown lead_id: no lead has this id": 1}


def test_events_before_their_lead_are_loaded_with_a_warning(tmp_path: Path) -> None:
    folder = canonical(tmp_path, lead_events_csv=EVENTS + "E5,L3,mql,2024-01-01T00:00:00Z\n")
    wh = tmp_path / "wh.duckdb"
    report = ingest(folder, wh)
    assert report.table("lead_events").loaded == 5
    assert report.table("lead_events").warnings == 1
    assert reasons(report, "lead_events", "warning") == {
        "occurred_at before its lead's created_at": 1}
    assert rows(wh, "SELECT rows FROM load_report WHERE kind = 'warning'") == [(1,)]


def test_loaded_plus_quarantined_is_rows_read_on_a_messy_folder(tmp_path: Path) -> None:
    folder = canonical(
        tmp_path,
        leads_csv=LEADS + "L1,2024-01-05,web,,SMB,1\n,2024-01-05,web,,SMB,1\n"
                          "L8,never,web,,SMB,1\nL9,2024-01-05,web,robots,SMB,x\n",
        lead_events_csv=EVENTS + "E1,L1,mql,2024-01-05\nE6,L9,mql,2024-01-05\n"
                                 "E7,L1,nope,2024-01-05\nE8,,mql,\nE9,L1,mql,2023-12-31\n",
        touches_csv="touch_id,lead_id,occurred_at,team\nT1,L1,2024-01-06,sales\n"
                    "T1,L1,2024-01-06,sales\nT2,L2,soon,marketing\n",
        opportunities_csv="opportunity_id,lead_id,created_at,amount\nO1,L1,2024-01-09,-1\n"
                          "O2,L2,2024-01-09,12.5\n")
    wh = tmp_path / "wh.duckdb"
    report = ingest(folder, wh)
    assert [(t.table, t.read) for t in report.tables] == [
        ("campaigns", 0), ("reps", 0), ("leads", 7), ("lead_events", 9), ("touches", 3),
        ("opportunities", 2)]
    assert report.rows_read == report.rows_loaded + report.rows_quarantined == 21
    assert_accounted(report, wh)


# ---------------------------------------------------------------------------------------------
# Time zones and formats


@pytest.mark.parametrize("text, timezone, stored", [
    ("2024-01-05", "UTC", dt.datetime(2024, 1, 5)),
    ("2024-01-05", "America/New_York", dt.datetime(2024, 1, 5)),  # a date alone: midnight UTC
    ("2024-01-05T10:00:00+02:00", "America/New_York", dt.datetime(2024, 1, 5, 8)),
    ("2024-01-05T10:00:00.250-0500", "UTC", dt.datetime(2024, 1, 5, 15, 0, 0, 250000)),
    ("2024-01-05T10:00:00Z", "Asia/Tokyo", dt.datetime(2024, 1, 5, 10)),
    ("2024-01-05 10:00", "UTC", dt.datetime(2024, 1, 5, 10)),
    ("2024-01-05 10:00", "America/New_York", dt.datetime(2024, 1, 5, 15)),
    ("2024-07-05T10:00:00", "Europe/Paris", dt.datetime(2024, 7, 5, 8)),  # summer time
])
def test_timestamps_are_stored_in_utc(tmp_path: Path, text: str, timezone: str,
                                      stored: dt.datetime) -> None:
    folder = canonical(tmp_path, leads_csv=f"lead_id,created_at\nL1,{text}\n",
                       lead_events_csv="event_id,lead_id,stage,occurred_at\n")
    wh = tmp_path / "wh.duckdb"
    ingest(folder, wh, timezone=timezone)
    assert rows(wh, "SELECT created_at FROM leads") == [(stored,)]


def test_a_zone_is_never_dropped_silently(tmp_path: Path) -> None:
    # DuckDB's plain TIMESTAMP cast ignores a trailing zone or AM/PM; such values must either
    # convert correctly or be quarantined.
    folder = canonical(tmp_path, leads_csv="lead_id,created_at\nL1,2024-01-05 10:00:00 PM\n"
                                           "L2,2024-01-05T10:00:00 Europe/Paris\n",
                       lead_events_csv="event_id,lead_id,stage,occurred_at\n")
    wh = tmp_path / "wh.duckdb"
    report = ingest(folder, wh)
    assert reasons(report, "leads") == {"unparseable created_at": 1}
    assert rows(wh, "SELECT lead_id, created_at FROM leads") == [
        ("L2", dt.datetime(2024, 1, 5, 9))]


# ---------------------------------------------------------------------------------------------
# Parquet


def test_parquet_input(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "in", lead_events_csv=EVENTS)
    pq.write_table(pa.table({
        "lead_id": ["L1", "L2", "L3"],
        "created_at": pa.array([dt.datetime(2024, 1, 5, 9), dt.datetime(2024, 1, 6, 10),
                                dt.datetime(2024, 1, 7, 11)], pa.timestamp("us")),
        "lead_score": pa.array([40.5, None, -1.0]),
        "segment": ["SMB", "Enterprise", None],
    }), folder / "leads.parquet")
    pq.write_table(pa.table({
        "touch_id": ["T1", "T2"], "lead_id": ["L1", "L2"],
        "occurred_at": pa.array([dt.datetime(2024, 1, 5, 9, tzinfo=dt.timezone.utc),
                                 dt.datetime(2024, 1, 6, 9, tzinfo=dt.timezone.utc)],
                                pa.timestamp("us", tz="UTC")),
        "team": ["sales", "marketing"],
    }), folder / "touches.parquet")
    wh = tmp_path / "wh.duckdb"
    report = ingest(folder, wh, timezone="Europe/Paris")
    assert report.rows_quarantined == 0
    # A naive Parquet TIMESTAMP is local time like any naive value; a UTC one stays UTC.
    assert rows(wh, "SELECT lead_id, created_at, lead_score FROM leads ORDER BY 1") == [
        ("L1", dt.datetime(2024, 1, 5, 8), 40.5), ("L2", dt.datetime(2024, 1, 6, 9), None),
        ("L3", dt.datetime(2024, 1, 7, 10), -1.0)]
    assert rows(wh, "SELECT occurred_at FROM touches ORDER BY 1") == [
        (dt.datetime(2024, 1, 5, 9),), (dt.datetime(2024, 1, 6, 9),)]
    assert {f.format for f in report.files} == {"csv", "parquet"}


# ---------------------------------------------------------------------------------------------
# Idempotence and atomicity


def warehouse_content(path: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables "
                                             "ORDER BY 1").fetchall()]
        content = {}
        for table in tables:
            # built_at is the wall-clock time of the build, the only thing allowed to differ.
            select = ("SELECT * EXCLUDE (built_at) FROM warehouse_meta" if table == "warehouse_meta"
                      else f"SELECT * FROM {table}")
            content[table] = con.execute(select).fetchall()
        return content
    finally:
        con.close()


def test_reloading_the_same_files_gives_the_same_warehouse(tmp_path: Path) -> None:
    folder = canonical(tmp_path, leads_csv=LEADS + "L1,2024-02-01,dup,,SMB,1\n",
                       lead_events_csv=EVENTS + "E1,L1,won,2024-02-01\nE9,L9,mql,2024-01-01\n")
    wh = tmp_path / "wh.duckdb"
    ingest(folder, wh)
    first = warehouse_content(wh)
    ingest(folder, wh)
    assert warehouse_content(wh) == first
    assert first["quarantine"] and first["load_report"]


def test_a_failed_load_keeps_the_previous_warehouse(tmp_path: Path) -> None:
    wh = tmp_path / "wh.duckdb"
    ingest(canonical(tmp_path), wh)
    before = warehouse_content(wh)
    # Fails late: after the good files are staged, on a broken row of the last file.
    broken = write_folder(tmp_path / "broken", leads_csv=LEADS,
                          lead_events_csv=EVENTS + 'E9,L1,"mql,2024-01-09\n')
    with pytest.raises(IngestFileError):
        ingest(broken, wh)
    with pytest.raises(IngestFileError):
        ingest(write_folder(tmp_path / "nocol", leads_csv="lead_id\nL1\n",
                            lead_events_csv=EVENTS), wh)
    assert warehouse_content(wh) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken", "in", "nocol", "wh.duckdb"]


# ---------------------------------------------------------------------------------------------
# Preview, quarantine export, progress


def test_preview_validates_without_writing(tmp_path: Path) -> None:
    folder = canonical(tmp_path, lead_events_csv=EVENTS + "E9,L404,mql,2024-01-09\n")
    report = preview_ingest(folder)
    assert report.warehouse is None
    assert reasons(report, "lead_events") == {"unknown lead_id: no lead has this id": 1}
    assert report.quarantined[["table_name", "row_number", "reason"]].values.tolist() == [
        ["lead_events", 5, "unknown lead_id: no lead has this id"]]
    assert list(tmp_path.iterdir()) == [tmp_path / "in"]


def test_quarantined_rows_can_be_written_and_read(tmp_path: Path) -> None:
    folder = canonical(tmp_path, lead_events_csv=EVENTS + "E9,L404,mql,2024-01-09\n"
                                                          "E10,L1,nope,2024-01-09\n")
    wh, out = tmp_path / "wh.duckdb", tmp_path / "out" / "quarantine.csv"
    report = ingest(folder, wh, quarantine_out=out)
    written = pd.read_csv(out)
    assert list(written.columns) == ["table_name", "file", "row_number", "reason", "raw"]
    assert written["reason"].tolist() == ["unknown lead_id: no lead has this id",
                                          "unknown stage value"]
    assert json.loads(written["raw"][1])["stage"] == "nope"
    assert read_quarantine(wh)["reason"].tolist() == written["reason"].tolist()
    assert report.quarantined["reason"].tolist() == written["reason"].tolist()


def test_progress_goes_from_zero_to_one(tmp_path: Path) -> None:
    calls: list[tuple[float, str]] = []
    ingest(canonical(tmp_path), tmp_path / "wh.duckdb",
           progress=lambda fraction, message: calls.append((fraction, message)))
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("leads.csv" in m for _, m in calls)


def test_report_formats_as_text_and_json(tmp_path: Path) -> None:
    report = ingest(canonical(tmp_path, lead_events_csv=EVENTS + "E9,L9,mql,2024-01-09\n"),
                    tmp_path / "wh.duckdb")
    text = report.format()
    assert "lead_events: unknown lead_id: no lead has this id: 1" in text and "rows/s" in text
    data = json.loads(json.dumps(report.to_dict()))
    assert data["rows_quarantined"] == 1 and data["tables"][2]["table"] == "leads"


# ---------------------------------------------------------------------------------------------
# The command line


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "metrics", "ingest", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


def test_cli_imports_and_prints_the_report(tmp_path: Path) -> None:
    wh = tmp_path / "wh.duckdb"
    done = run_cli(str(canonical(tmp_path, lead_events_csv=EVENTS + "E9,L9,mql,2024-01-09\n")),
                   "--warehouse", str(wh), "--quarantine-out", str(tmp_path / "q.csv"))
    assert done.returncode == 0, done.stderr
    assert "lead_events" in done.stdout and "no lead has this id: 1" in done.stdout
    assert rows(wh, "SELECT count(*) FROM leads") == [(3,)]
    assert (tmp_path / "q.csv").read_text().count("\n") == 2


def test_cli_dry_run_writes_nothing(tmp_path: Path) -> None:
    wh = tmp_path / "wh.duckdb"
    done = run_cli(str(canonical(tmp_path)), "--warehouse", str(wh), "--dry-run",
                   "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["warehouse"] is None
    assert not wh.exists()


def test_cli_exit_code_2_names_file_and_column(tmp_path: Path) -> None:
    wh = tmp_path / "wh.duckdb"
    folder = canonical(tmp_path, lead_events_csv="event_id,lead_id,occurred_at\nE1,L1,2024-01-05\n")
    done = run_cli(str(folder), "--warehouse", str(wh))
    assert done.returncode == 2
    assert "lead_events.csv" in done.stderr and "'stage'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not wh.exists()
