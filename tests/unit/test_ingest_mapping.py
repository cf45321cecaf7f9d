"""Mappings: shipped examples load with their mappings, and each mapping feature does its job."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

import duckdb
import pytest

from metrics.ingest import IngestFileError, IngestReport, ingest
from metrics.ingest_checks import canonical_tables
from metrics.ingest_mapping import MAPPINGS_DIR, MappingError, load_mapping, parse_mapping
from metrics.build import create_schema
from metrics.paths import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"


def rows(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def reasons(report: IngestReport, table: str, kind: str = "quarantined") -> dict[str, int]:
    return {r.reason: r.rows for r in report.reasons if r.table == table and r.kind == kind}


def assert_accounted(report: IngestReport) -> None:
    for t in report.tables:
        assert t.loaded + t.quarantined == t.read, t


@pytest.fixture(scope="module")
def tables() -> dict:
    con = duckdb.connect(":memory:")
    create_schema(con)
    try:
        return canonical_tables(con)
    finally:
        con.close()


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return folder


def write_mapping(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "custom.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# The shipped mappings and examples


@pytest.mark.parametrize("path", sorted(MAPPINGS_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_mapping_is_valid(path: Path, tables: dict) -> None:
    mapping = load_mapping(path.stem, tables)
    assert mapping.sources_for("leads") and mapping.sources_for("lead_events")


def test_salesforce_example_loads(tmp_path: Path) -> None:
    wh = tmp_path / "sf.duckdb"
    report = ingest(EXAMPLES / "salesforce", wh, mapping="salesforce")
    assert_accounted(report)
    assert {t.table: t.loaded for t in report.tables} == {
        "campaigns": 4, "reps": 5, "leads": 44, "lead_events": 128, "touches": 67,
        "opportunities": 9}
    # The example's deliberate oddities: an opportunity opened on an account (no lead: its
    # record and both its events), and a task logged on a contact.
    assert reasons(report, "opportunities") == {"missing lead_id": 1}
    assert reasons(report, "lead_events") == {"missing lead_id": 2}
    assert reasons(report, "touches") == {"unknown lead_id: no lead has this id": 1}
    assert rows(wh, "SELECT stage::VARCHAR, count(DISTINCT lead_id) FROM lead_events "
                    "GROUP BY 1 ORDER BY 1") == [
        ("disqualified", 5), ("lead", 44), ("lost", 2), ("mql", 24), ("opportunity", 9),
        ("recycled", 1), ("sal", 17), ("sql", 11), ("won", 6)]
    # Only closed opportunities have a closed_at; status comes from IsWon / IsClosed.
    assert rows(wh, "SELECT status::VARCHAR, count(*), count(closed_at) FROM opportunities "
                    "GROUP BY 1 ORDER BY 1") == [("lost", 2, 2), ("open", 1, 0), ("won", 6, 6)]
    assert rows(wh, "SELECT sourced_by::VARCHAR, count(*) FROM leads GROUP BY 1 ORDER BY 1") == [
        ("marketing", 33), ("partner", 4), ("sales", 7)]
    assert rows(wh, "SELECT team::VARCHAR, count(*) FROM touches GROUP BY 1 ORDER BY 1") == [
        ("marketing", 33), ("sales", 34)]
    # LeadHistory holds 67 Status changes and 2 Owner changes: only the former are events.
    assert {f.name: f.rows for f in report.files}["LeadHistory.csv"] == 69
    assert rows(wh, "SELECT count(*) FROM lead_events WHERE event_id LIKE '017%'") == [(67,)]


def test_hubspot_example_loads(tmp_path: Path) -> None:
    wh = tmp_path / "hs.duckdb"
    report = ingest(EXAMPLES / "hubspot", wh, mapping="hubspot")
    assert_accounted(report)
    assert {t.table: t.loaded for t in report.tables} == {
        "campaigns": 0, "reps": 3, "leads": 36, "lead_events": 74, "touches": 0,
        "opportunities": 7}
    # A deal without an associated contact, and a contact whose MQL date precedes its creation.
    assert reasons(report, "opportunities") == {"missing lead_id": 1}
    assert reasons(report, "lead_events", "warning") == {
        "occurred_at before its lead's created_at": 1}
    assert rows(wh, "SELECT stage::VARCHAR, count(*) FROM lead_events GROUP BY 1 ORDER BY 1") == [
        ("lead", 36), ("lost", 1), ("mql", 19), ("opportunity", 7), ("sql", 8), ("won", 3)]
    assert rows(wh, "SELECT status::VARCHAR, count(*), count(closed_at) FROM opportunities "
                    "GROUP BY 1 ORDER BY 1") == [("lost", 1, 1), ("open", 3, 0), ("won", 3, 3)]
    assert rows(wh, "SELECT count(*) FROM leads WHERE segment IS NULL OR sourced_by IS NULL") == [
        (0,)]
    assert rows(wh, "SELECT name FROM reps ORDER BY 1")[0] == ("Maya Chen",)


OLIST_MQLS = """\
mql_id,first_contact_date,landing_page_id,origin
m1,2018-02-01,lp1,social
m2,2018-03-10,lp2,
m3,2018-03-12,lp1,paid search
m4,2018-04-01,lp3,organic search
"""
OLIST_DEALS = """\
mql_id,seller_id,sdr_id,sr_id,won_date,business_segment,lead_type,lead_behaviour_profile,has_company,has_gtin,average_stock,business_type,declared_product_catalog_size,declared_monthly_revenue
m1,s1,sdr1,sr1,2018-02-20 13:10:00,pet,online medium,cat,,,,reseller,,0.0
m3,s3,sdr1,sr1,2018-03-09 19:00:00,home decor,industry,,,,,manufacturer,,25000.0
m4,s4,sdr2,sr2,2018-05-02 03:00:00,,online big,eagle,,,,reseller,,0.0
"""


def test_olist_mapping_on_an_olist_shaped_sample(tmp_path: Path) -> None:
    folder = write(tmp_path / "olist", {
        "olist_marketing_qualified_leads_dataset.csv": OLIST_MQLS,
        "olist_closed_deals_dataset.csv": OLIST_DEALS, "SOURCE.md": "about"})
    wh = tmp_path / "olist.duckdb"
    report = ingest(folder, wh, mapping="olist")
    assert_accounted(report)
    assert report.rows_quarantined == 0
    assert rows(wh, "SELECT lead_id, source_channel, industry, segment, owner_id, campaign_id "
                    "FROM leads ORDER BY 1") == [
        ("m1", "social", "pet", "online medium", "sr1", "lp1"),
        ("m2", None, None, None, None, "lp2"),
        ("m3", "paid search", "home decor", "industry", "sr1", "lp1"),
        ("m4", "organic search", None, "online big", "sr2", "lp3")]
    assert rows(wh, "SELECT stage::VARCHAR, count(*) FROM lead_events GROUP BY 1 ORDER BY 1") == [
        ("mql", 4), ("won", 3)]
    # Revenue 0 means "not declared": no amount rather than a zero deal.
    assert rows(wh, "SELECT lead_id, amount, created_at, closed_at FROM opportunities "
                    "ORDER BY 1") == [
        ("m1", None, dt.datetime(2018, 2, 1), dt.datetime(2018, 2, 20, 13, 10)),
        ("m3", 300000.0, dt.datetime(2018, 3, 12), dt.datetime(2018, 3, 9, 19)),
        ("m4", None, dt.datetime(2018, 4, 1), dt.datetime(2018, 5, 2, 3))]
    # m3 was won before its first contact: loaded, with warnings.
    assert reasons(report, "lead_events", "warning") == {
        "occurred_at before its lead's created_at": 1}
    assert reasons(report, "opportunities", "warning") == {"closed_at before created_at": 1}
    assert rows(wh, "SELECT rep_id FROM reps ORDER BY 1") == [("sr1",), ("sr2",)]
    assert report.table("reps").read == 2
    assert report.ignored_files == ()  # SOURCE.md is not a data file


# ---------------------------------------------------------------------------------------------
# Mapping features, one small export at a time

CONTACTS = """\
Record ID,Created,Source,Owner,Size,Lead date,MQL date,Won date,Flags
1,2024-03-01 10:00,Web,o1,big,2024-03-01 10:00,2024-03-02 09:00,,
2,2024-03-02 11:00,Cold,o2,small,2024-03-02 11:00,,,
3,2024-03-03 12:00,Fax,o1,tiny,,2024-03-04 08:00,2024-03-20 16:00,test
"""
DEALS = """\
Deal,Contacts,Value,Stage,Opened,Closed
d1,1;9,"1,000",won,2024-03-05 10:00,2024-03-10 10:00
d2,2,250,open,2024-03-06 10:00,2024-04-30 10:00
d3,,99,lost,2024-03-07 10:00,2024-03-08 10:00
"""
FEATURES = """\
timezone = "Europe/Paris"

[maps.segment]
big = "Enterprise"
small = "SMB"

[[leads]]
file = "contacts"
where = { Flags = { present = false } }
columns.lead_id = "Record ID"
columns.created_at = "Created"
columns.source_channel = { column = "Source", null_if = ["Fax"] }
columns.sourced_by = { column = "Source", map = { Web = "marketing", Cold = "sales" }, other = "" }
columns.segment = { column = "Size", map = "segment" }
columns.owner_id = "Owner"
columns.region = { column = "Region", optional = true }

[[lead_events]]
file = "contacts"
where = { Flags = { present = false } }
unpivot = { columns = { "Lead date" = "lead", "MQL date" = "mql", "Won date" = "won", "SAL date" = "sal" }, name = "step", value = "when", optional = true }
columns.event_id = { template = "{Record ID}/{step}" }
columns.lead_id = "Record ID"
columns.stage = "step"
columns.occurred_at = "when"

[[opportunities]]
file = "deals"
columns.opportunity_id = "Deal"
columns.lead_id = { column = "Contacts", split = ";" }
columns.created_at = "Opened"
columns.closed_at = { column = "Closed", only_if = { Stage = ["won", "lost"] } }
columns.amount = { column = "Value", multiply = 2 }
columns.status = { when = [{ column = "Stage", in = ["won"], value = "won" }, { column = "Stage", in = "lost", value = "lost" }], else = "open" }

[[reps]]
file = "contacts"
distinct = true
columns.rep_id = "Owner"
columns.name = { lookup = { file = "owners", key = "id", on = "Owner", value = "full name" } }
"""


def test_mapping_features(tmp_path: Path) -> None:
    folder = write(tmp_path / "in", {"contacts.csv": CONTACTS, "deals.csv": DEALS,
                                     "owners.csv": "id,full name\no1,Ann\no1,Ann B\no2,\n"})
    wh = tmp_path / "wh.duckdb"
    report = ingest(folder, wh, mapping=write_mapping(tmp_path, FEATURES))
    assert_accounted(report)
    # `where` keeps contacts without Flags; Size "tiny" is not in the map, so it is kept as is.
    assert rows(wh, "SELECT lead_id, created_at, source_channel, sourced_by::VARCHAR, segment, "
                    "region FROM leads ORDER BY 1") == [
        ("1", dt.datetime(2024, 3, 1, 9), "Web", "marketing", "Enterprise", None),
        ("2", dt.datetime(2024, 3, 2, 10), "Cold", "sales", "SMB", None)]
    # Unpivot: one event per non-empty date; a missing optional column is skipped.
    assert rows(wh, "SELECT event_id, stage::VARCHAR, occurred_at FROM lead_events ORDER BY 1") == [
        ("1/lead", "lead", dt.datetime(2024, 3, 1, 9)),
        ("1/mql", "mql", dt.datetime(2024, 3, 2, 8)),
        ("2/lead", "lead", dt.datetime(2024, 3, 2, 10))]
    # split takes the first id; "1,000" is not a number, so it is quarantined, not guessed.
    assert rows(wh, "SELECT opportunity_id, lead_id, amount, status::VARCHAR, closed_at "
                    "FROM opportunities ORDER BY 1") == [
        ("d2", "2", 500.0, "open", None)]
    assert reasons(report, "opportunities") == {"unparseable amount": 1, "missing lead_id": 1}
    # Distinct reps, named by the first non-empty lookup value.
    assert rows(wh, "SELECT rep_id, name FROM reps ORDER BY 1") == [("o1", "Ann"), ("o2", None)]
    quarantined = rows(wh, "SELECT raw FROM quarantine WHERE reason = 'unparseable amount'")
    assert json.loads(quarantined[0][0])["Value"] == "1,000"


def test_unmapped_values_are_reported_not_dropped(tmp_path: Path) -> None:
    folder = write(tmp_path / "in", {"contacts.csv": CONTACTS})
    mapping = write_mapping(tmp_path, """
        [[leads]]
        file = "contacts"
        columns.lead_id = "Record ID"
        columns.created_at = "Created"

        [[lead_events]]
        file = "contacts"
        columns.event_id = "Record ID"
        columns.lead_id = "Record ID"
        columns.stage = { column = "Size", map = { big = "mql", small = "lead" } }
        columns.occurred_at = "Created"
    """)
    report = ingest(folder, tmp_path / "wh.duckdb", mapping=mapping)
    assert reasons(report, "lead_events") == {"unknown stage value": 1}


def test_timestamp_formats_and_cli_timezone(tmp_path: Path) -> None:
    folder = write(tmp_path / "in", {"people.csv": """\
        id,created
        a,1/31/2024 9:15 PM
        b,02/01/2024
        c,2024-02-02T10:00:00+01:00
        """})
    mapping = write_mapping(tmp_path, """
        timestamp_formats = ["%m/%d/%Y %I:%M %p", "%m/%d/%Y"]
        [[leads]]
        file = "people"
        columns.lead_id = "id"
        columns.created_at = "created"
        [[lead_events]]
        file = "people"
        columns.event_id = "id"
        columns.lead_id = "id"
        columns.stage = { value = "lead" }
        columns.occurred_at = "created"
    """)
    wh = tmp_path / "wh.duckdb"
    ingest(folder, wh, mapping=mapping, timezone="America/Chicago")
    assert rows(wh, "SELECT lead_id, created_at FROM leads ORDER BY 1") == [
        ("a", dt.datetime(2024, 2, 1, 3, 15)),   # local 9:15 PM in Chicago
        ("b", dt.datetime(2024, 2, 1)),          # a date alone: midnight UTC
        ("c", dt.datetime(2024, 2, 2, 9))]       # the offset wins over --timezone


# ---------------------------------------------------------------------------------------------
# Mapping errors: exit code 2, with the mapping file and the key


MINIMAL = """
[[leads]]
file = "contacts"
columns.lead_id = "Record ID"
columns.created_at = "Created"
[[lead_events]]
file = "contacts"
columns.event_id = "Record ID"
columns.lead_id = "Record ID"
columns.stage = { value = "lead" }
columns.occurred_at = "Created"
"""


@pytest.mark.parametrize("text, message", [
    (MINIMAL + "\n[[deals]]\nfile = 'x'\n", r"unknown top-level keys \['deals'\]"),
    (MINIMAL.replace("columns.created_at = \"Created\"", "columns.created = \"Created\""),
     r"leads has no column 'created'"),
    (MINIMAL.replace("columns.created_at = \"Created\"\n[[lead", "\n[[lead"),
     r"must give the required leads columns \['created_at'\]"),
    (MINIMAL.replace('{ value = "lead" }', '{ value = "lead", column = "x" }'),
     r"needs exactly one of column, value"),
    (MINIMAL.replace('{ value = "lead" }', '{ column = "x", map = "nope" }'),
     r"unknown map 'nope'"),
    ("[[leads]]\nfile = 'a'\ncolumns.lead_id = 'x'\ncolumns.created_at = 'y'\n",
     r"mandatory table lead_events"),
    ("timezone = 'Nowhere/Land'\n" + MINIMAL, "not a known IANA time zone"),
])
def test_mapping_errors(tmp_path: Path, tables: dict, text: str, message: str) -> None:
    path = write_mapping(tmp_path, text)
    with pytest.raises(MappingError, match=message) as info:
        load_mapping(path, tables)
    assert info.value.exit_code == 2 and str(path) in str(info.value)


def test_unknown_mapping_name_lists_the_known_ones(tables: dict) -> None:
    with pytest.raises(MappingError, match=r"no mapping 'sap'.*hubspot.*salesforce"):
        load_mapping("sap", tables)


def test_a_mapped_column_missing_from_the_export_names_file_and_column(tmp_path: Path) -> None:
    folder = write(tmp_path / "in", {"contacts.csv": "Record ID,Created\n1,2024-01-01\n"})
    mapping = write_mapping(tmp_path, MINIMAL.replace('"Created"\n[[lead_events]]',
                                                      '"Created"\ncolumns.owner_id = "Owner"\n'
                                                      '[[lead_events]]'))
    with pytest.raises(IngestFileError, match=r"contacts\.csv: no column 'Owner', which mapping "
                                              r"'custom' uses for leads\.owner_id"):
        ingest(folder, tmp_path / "wh.duckdb", mapping=mapping)


def test_a_missing_export_file_is_named(tmp_path: Path) -> None:
    folder = write(tmp_path / "in", {"Lead.csv": "Id,CreatedDate\n1,2024-01-01\n"})
    with pytest.raises(IngestFileError, match=r"no contacts\.csv or contacts\.parquet or "
                                              r"hubspot-crm-exports-all-contacts-\*\.csv or "
                                              r"hubspot-crm-exports-all-contacts-\*\.parquet in "
                                              r"this folder, which mapping 'hubspot' needs for "
                                              r"leads") as info:
        ingest(folder, tmp_path / "wh.duckdb", mapping="hubspot")
    assert info.value.exit_code == 2


def test_without_lead_history_the_lead_row_must_date_its_status(tmp_path: Path) -> None:
    # LeadHistory is optional; then Status and a date for it are needed, all named at once.
    folder = write(tmp_path / "in", {"Lead.csv": "Id,CreatedDate\n1,2024-01-01\n"})
    with pytest.raises(IngestFileError) as info:
        ingest(folder, tmp_path / "wh.duckdb", mapping="salesforce")
    assert [(p.file, p.column_name) for p in info.value.problems] == [
        ("Lead.csv", "Status"), ("Lead.csv", "ConvertedDate")]
    assert "no column 'ConvertedDate' (nor 'LastModifiedDate')" in str(info.value)


def test_parse_mapping_accepts_a_dict(tables: dict) -> None:
    import tomllib

    mapping = parse_mapping(tomllib.loads(MINIMAL), tables, name="inline", origin="<test>")
    assert [s.table for s in mapping.sources] == ["leads", "lead_events"]
