"""Real export shapes (issue 12): each fixture in tests/fixtures/crm/ is built from the vendor's
documented format, loads with the shipped mapping, and gives the numbers counted by hand below.

The SLA is 8 business hours, Mon-Fri 09:00-17:00 America/New_York (sql/model.toml); January
and early March 2024 are EST (UTC-5), from 10 March EDT (UTC-4).
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import metrics
from metrics.ingest import IngestReport, ingest
from metrics.paths import REPO_ROOT

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "crm"
FIVE = ("mqls", "mql_to_sal_rate", "win_rate", "pipeline_created", "sla_first_touch_compliance")


def totals(warehouse: Path) -> dict[str, tuple]:
    """{metric: value, or (numerator, denominator) for a ratio} over all time; a numerator
    the data cannot support (no events of its stage) is None, not 0."""
    wh = metrics.open_warehouse(warehouse)
    found = {}
    for name in FIVE:
        frame = wh.query(name, grain="total")
        row = frame.iloc[0] if len(frame) else None
        if row is None:
            found[name] = None
        elif "numerator" in frame.columns:
            numerator = None if pd.isna(row["numerator"]) else int(row["numerator"])
            found[name] = (numerator, int(row["denominator"]))
        else:
            found[name] = float(row["value"])
    return found


def rows(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def reasons(report: IngestReport, table: str) -> dict[str, int]:
    return {r.reason: r.rows for r in report.reasons if r.table == table
            and r.kind == "quarantined"}


def load(tmp_path: Path, shape: str, mapping: str, **options) -> tuple[IngestReport, Path]:
    wh = tmp_path / "wh.duckdb"
    report = ingest(FIXTURES / shape, wh, mapping=mapping, **options)
    for table in report.tables:
        assert table.loaded + table.quarantined == table.read, table
    return report, wh


# ---------------------------------------------------------------------------------------------
# Salesforce


def test_salesforce_data_loader_export(tmp_path: Path) -> None:
    """Data Loader: quoted upper-case headers, 18-character ids where LeadHistory writes 15,
    +0000 offsets, 000000000000000AAA for "no opportunity", an Export All with a deleted lead.

    MQLs (LeadHistory): L1 Mon 8 Jan 14:00Z, L2 Mon 15:00Z, L3 Mon 14:00Z, L4 Tue 9 Jan 14:00Z,
    L6 Wed 10 Jan 20:00Z = 5. SAL ("Working - Contacted"): L1, L2, L6 = 3 of 5.
    Opportunities: O1 converted from L1, won 10,000; O2 on L2's account, linked by its primary
    contact role to L2's converted contact, lost 5,000; O3 converted from L3, open 20,000; O4 on
    the account L6 was converted into, won 30,000; O5 on an account no lead was converted
    into: quarantined. Win rate 2 of 3, pipeline 65,000.
    SLA: L1 called Mon 16:00Z (deadline Mon 22:00Z) yes; L2 met Tue 14:30Z (an Event; deadline
    Tue 15:00Z) yes; L3: the Mon 15:00Z task is by Priya of Marketing (a marketing touch), the
    sales call was logged on L3's converted contact on Thu 11 Jan: late; L4 never touched
    (its task is Not Started), deadline passed: late; L6 called Thu 19:00Z (deadline Thu
    20:00Z) yes. 3 of 5.
    """
    report, wh = load(tmp_path, "salesforce/data_loader", "salesforce")
    assert totals(wh) == {"mqls": 5.0, "mql_to_sal_rate": (3, 5), "win_rate": (2, 3),
                          "pipeline_created": 65000.0, "sla_first_touch_compliance": (3, 5)}
    assert report.table("leads").loaded == 6  # the deleted lead is not read
    assert reasons(report, "opportunities") == {"missing lead_id": 1}
    # 15- and 18-character ids are one record: stored in the 15-character form.
    assert rows(wh, "SELECT lead_id FROM opportunities ORDER BY opportunity_id") == [
        ("00Q5g00000AbCd1",), ("00Q5g00000AbCd2",), ("00Q5g00000AbCd3",), ("00Q5g00000AbCd6",)]
    assert rows(wh, "SELECT team::VARCHAR, kind, count(*) FROM touches GROUP BY ALL ORDER BY ALL") == [
        ("marketing", "Email", 1), ("marketing", "Responded", 1), ("sales", "Call", 3),
        ("sales", "Event", 1)]
    # The task logged on L3's contact (WhoId 003...) is L3's.
    assert rows(wh, "SELECT lead_id FROM touches WHERE touch_id = '00T5g00000TsKa3AAA'") == [
        ("00Q5g00000AbCd3",)]
    # A campaign response is dated by when the lead responded.
    assert rows(wh, "SELECT occurred_at FROM touches WHERE team = 'marketing' AND kind = "
                    "'Responded'") == [(dt.datetime(2024, 1, 8),)]


def test_salesforce_weekly_data_export(tmp_path: Path) -> None:
    """Weekly Data Export: Windows-1252, GMT times without a zone, booleans 1/0, no
    LeadHistory, a User file without Name, and a status the map does not know ("Nurturing").

    Without history each lead has one status event: W1 MQL (LastModifiedDate Mon 4 Mar
    14:00Z), W5 MQL (Wed 6 Mar 14:00Z), W6 MQL (Thu 7 Mar 15:00Z) = 3 MQLs; W2 is at SAL
    without ever being an MQL, so no MQL reached SAL: 0 of 3. O1 (converted from W4) won 8,000,
    O2 on W4's account lost 2,000: win rate 1 of 2, pipeline 10,000. SLA: W1 called Mon 15:00Z
    (deadline Mon 22:00Z) yes; W5 never touched, late; W6 called Mon 11 Mar (deadline Fri 8
    Mar 15:00Z) late: 1 of 3.
    """
    report, wh = load(tmp_path, "salesforce/weekly_export", "salesforce")
    assert totals(wh) == {"mqls": 3.0, "mql_to_sal_rate": (0, 3), "win_rate": (1, 2),
                          "pipeline_created": 10000.0, "sla_first_touch_compliance": (1, 3)}
    assert {f.encoding for f in report.files} == {"Windows-1252"}
    assert rows(wh, "SELECT name FROM reps ORDER BY 1") == [("Anaïs Lefèvre",), ("José García",)]
    assert [(u.column, u.value, u.rows) for u in report.unknown_values] == [
        ("stage", "Nurturing", 1)]
    assert any("Stage times are approximate" in note for note in report.notes)
    text = report.format()
    assert "'Nurturing': 1" in text and "Stage times are approximate" in text


def test_salesforce_excel_resave(tmp_path: Path) -> None:
    """Excel re-save: UTF-8 with a BOM, 15-character ids, two-digit years (01/08/24 02:05 PM),
    TRUE/FALSE.

    MQLs: X1 Mon 8 Jan 2024 14:00Z, X2 Tue 9 Jan 14:00Z = 2; X1 reached SAL: 1 of 2. XO1 won
    15,000: 1 of 1, pipeline 15,000. SLA: X1 called Mon 15:00Z yes; X2 never: 1 of 2.
    """
    report, wh = load(tmp_path, "salesforce/excel_resave", "salesforce")
    assert totals(wh) == {"mqls": 2.0, "mql_to_sal_rate": (1, 2), "win_rate": (1, 1),
                          "pipeline_created": 15000.0, "sla_first_touch_compliance": (1, 2)}
    assert rows(wh, "SELECT min(created_at), max(created_at) FROM leads") == [
        (dt.datetime(2024, 1, 8, 13), dt.datetime(2024, 1, 9, 10))]
    assert {f.encoding for f in report.files} == {"UTF-8 with BOM"}


# ---------------------------------------------------------------------------------------------
# HubSpot


def test_hubspot_ui_export(tmp_path: Path) -> None:
    """UI export: dated file names, label headers and values, portal-local (New York) times,
    "Associated Contact IDs" joined by ';'.

    MQLs: 51201 Mon 4 Mar 09:00, 51202 Mon 10:00, 51203 Tue 16:00, 51205 Mon 11 Mar 09:00 EDT
    = 4; HubSpot has no SAL: no value of 4 (not 0 %; the report and the metric say so). Deals: 9001 Closed Won 12,000
    (contacts 51201;51204: the first), 9002 Closed Lost 3,000, 9003 open 9,000: win rate 1 of 2,
    pipeline 24,000. SLA (first engagement): 51201 at 11:00 yes; 51202 Wed 10:00 (deadline Tue
    10:00) late; 51203 never, late; 51205 at 16:30 (deadline 17:00) yes: 2 of 4.
    """
    report, wh = load(tmp_path, "hubspot/ui_export", "hubspot", timezone="America/New_York")
    assert totals(wh) == {"mqls": 4.0, "mql_to_sal_rate": (None, 4), "win_rate": (1, 2),
                          "pipeline_created": 24000.0, "sla_first_touch_compliance": (2, 4)}
    warehouse = metrics.open_warehouse(wh)
    sal_rate = warehouse.query("mql_to_sal_rate", grain="total")
    assert sal_rate.attrs["missing_stages"] == ["sal"]
    assert any("no SAL events" in note for note in sal_rate.attrs["notes"])
    warehouse.close()
    assert "sal" in report.missing_stages
    assert "No events of the stages sal" in report.format()
    assert rows(wh, "SELECT opportunity_id, lead_id FROM opportunities ORDER BY 1") == [
        ("9001", "51201"), ("9002", "51202"), ("9003", "51205")]
    # The deal closed lost (a label, "Closed Lost") makes its contact lost on its close date
    # (15 Mar 12:00 New York = 16:00 UTC), so the lifecycle knows the lead left the funnel.
    assert rows(wh, "SELECT lead_id, occurred_at FROM lead_events WHERE stage = 'lost'") == [
        ("51202", dt.datetime(2024, 3, 15, 16))]
    # Portal-local times are stored in UTC.
    assert rows(wh, "SELECT first_mql_at FROM lead_lifecycle WHERE lead_id = '51205'") == [
        (dt.datetime(2024, 3, 11, 13),)]
    assert rows(wh, "SELECT source_channel, sourced_by::VARCHAR FROM leads WHERE lead_id = "
                    "'51204'") == [("offline", "sales")]


def test_hubspot_api_export(tmp_path: Path) -> None:
    """API export: internal names, ISO times and epoch milliseconds, associations and pipeline
    stages in their own files, a second pipeline with its own stage ids.

    MQLs: 101 Mon 4 Mar 14:00Z, 102 (epoch ms) Mon 16:00Z, 103 Tue 20:00Z = 3; no SAL events: no value of 3.
    Deals: 201 won 40,000 (two contacts; the association labelled Primary is 101), 202 lost
    6,000 (renewals pipeline, hs_is_closed), 203 won 5,000 (renewals: only the stage's
    metadata says won), 204 open 11,000: win rate 2 of 3, pipeline 62,000. SLA: 101 engaged
    15:00Z yes; 102 only last contacted Thu 7 Mar 15:00Z (deadline Tue 16:00Z) late; 103
    engaged Wed 15:00Z (deadline Wed 20:00Z) yes: 2 of 3.
    """
    report, wh = load(tmp_path, "hubspot/api_export", "hubspot")
    assert totals(wh) == {"mqls": 3.0, "mql_to_sal_rate": (None, 3), "win_rate": (2, 3),
                          "pipeline_created": 62000.0, "sla_first_touch_compliance": (2, 3)}
    assert rows(wh, "SELECT opportunity_id, lead_id, status::VARCHAR, closed_at IS NOT NULL "
                    "FROM opportunities ORDER BY 1") == [
        ("201", "101", "won", True), ("202", "102", "lost", True), ("203", "103", "won", True),
        ("204", "103", "open", False)]
    # 202 is lost in the renewals pipeline, whose stage id is its own: its lead is lost too,
    # with the deal's reason.
    assert rows(wh, "SELECT lead_id, reason FROM lead_events WHERE stage = 'lost'") == [
        ("102", "Budget")]
    assert rows(wh, "SELECT created_at FROM leads WHERE lead_id = '102'") == [
        (dt.datetime(2024, 3, 4, 15),)]
    assert rows(wh, "SELECT name FROM reps ORDER BY 1") == [("Maya Chen",), ("Omar Haddad",)]


# ---------------------------------------------------------------------------------------------
# The command line, and files as users rename them


def test_cli_loads_a_shape_and_names_the_encoding(tmp_path: Path) -> None:
    wh = tmp_path / "wh.duckdb"
    done = subprocess.run(
        [sys.executable, "-m", "metrics", "ingest", str(FIXTURES / "salesforce/weekly_export"),
         "--mapping", "salesforce", "--warehouse", str(wh)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "Lead.csv Windows-1252" in done.stdout
    # Declared wrongly, the encoding is still honoured: UTF-8 bytes read as Latin-1.
    forced = subprocess.run(
        [sys.executable, "-m", "metrics", "ingest", str(FIXTURES / "salesforce/weekly_export"),
         "--mapping", "salesforce", "--warehouse", str(wh), "--encoding", "latin-1"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=180)
    assert forced.returncode == 0, forced.stderr
    assert "Lead.csv ISO-8859-1" in forced.stdout


def test_two_exports_matching_one_pattern_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    shutil.copytree(FIXTURES / "hubspot/ui_export", folder)
    shutil.copy(folder / "hubspot-crm-exports-all-contacts-2024-04-02.csv",
                folder / "hubspot-crm-exports-all-contacts-2024-05-01.csv")
    with pytest.raises(metrics.ingest.IngestFileError,
                       match=r"all-contacts-2024-04-02\.csv, hubspot-crm-exports-all-contacts-"
                             r"2024-05-01\.csv all match 'hubspot-crm-exports-all-contacts-\*'"):
        ingest(folder, tmp_path / "wh.duckdb", mapping="hubspot")


# ---------------------------------------------------------------------------------------------
# No --mapping: the shipped mapping is recognised from the file names


@pytest.mark.parametrize("shape, mapping", [
    ("salesforce/data_loader", "salesforce"), ("salesforce/weekly_export", "salesforce"),
    ("salesforce/excel_resave", "salesforce"), ("hubspot/ui_export", "hubspot"),
    ("hubspot/api_export", "hubspot"),
])
def test_an_export_loads_without_naming_its_mapping(tmp_path: Path, shape, mapping) -> None:
    from metrics.ingest import detect_mapping

    assert detect_mapping(FIXTURES / shape) == mapping
    detected = ingest(FIXTURES / shape, tmp_path / "detected.duckdb")
    assert detected.mapping.startswith(f"{mapping} (detected from the file names")
    named = ingest(FIXTURES / shape, tmp_path / "named.duckdb", mapping=mapping)
    # The same rows and the same numbers as with --mapping.
    assert [(t.table, t.loaded) for t in detected.tables] == [
        (t.table, t.loaded) for t in named.tables]
    assert totals(tmp_path / "detected.duckdb") == totals(tmp_path / "named.duckdb")


def test_a_canonical_folder_needs_no_mapping_and_an_unknown_one_gets_a_hint(tmp_path: Path):
    from metrics.ingest import detect_mapping
    from metrics.ingest_files import IngestFileError

    canonical = tmp_path / "canonical"
    canonical.mkdir()
    (canonical / "leads.csv").write_text("lead_id,created_at\nL1,2024-01-02 10:00\n")
    (canonical / "lead_events.csv").write_text(
        "event_id,lead_id,stage,occurred_at\nE1,L1,lead,2024-01-02 10:00\n")
    assert detect_mapping(canonical) is None
    unknown = tmp_path / "unknown"
    unknown.mkdir()
    (unknown / "Contacts export.csv").write_text("Name\nAda\n")
    with pytest.raises(IngestFileError, match="name one with --mapping hubspot"):
        ingest(unknown, tmp_path / "w.duckdb")
