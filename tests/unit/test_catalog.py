"""The metric catalog: versions, sign-off, conflicts, rights, file sync, targets, snapshots, CLI."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from metrics.build import reference_schema
from metrics.catalog import (
    Catalog,
    ConflictError,
    PermissionDeniedError,
    UnknownMetricError,
    open_catalog,
)
from metrics.errors import CatalogError, DefinitionError, MetricError, QueryError, UnsafeSQLError
from metrics.paths import METRICS_DIR, REPO_ROOT

ROLES = {"users": {
    "cmo@example.com": {"teams": ["marketing"], "role": "approver"},
    "demand.gen@example.com": {"teams": ["marketing"], "role": "approver"},
    "vp.sales@example.com": {"teams": ["sales"], "role": "approver"},
    "sales.director@example.com": {"teams": ["sales"], "role": "approver"},
    "marketing.ops@example.com": {"teams": ["marketing"], "role": "editor"},
    "sales.ops@example.com": {"teams": ["sales"], "role": "editor"},
    "revops.admin@example.com": {"teams": ["marketing", "sales"], "role": "admin"},
    "analyst@example.com": {"teams": [], "role": "viewer"},
}}
MKT_EDITOR = "marketing.ops@example.com"
SALES_EDITOR = "sales.ops@example.com"
CMO = "cmo@example.com"
DEMAND_GEN = "demand.gen@example.com"
VP_SALES = "vp.sales@example.com"
SALES_DIRECTOR = "sales.director@example.com"
ADMIN = "revops.admin@example.com"
VIEWER = "analyst@example.com"

HEADER = """-- name: {name}
-- label: {label}
-- owners: {owners}
-- kind: {kind}
-- unit: {unit}
-- direction: up
-- anchor: {anchor}
-- description: {description}
"""
JOINT_SQL = ("SELECT lead_id, first_mql_at, CASE WHEN first_sal_at IS NOT NULL THEN 1 ELSE 0 END "
             "AS numerator, 1 AS denominator FROM lead_lifecycle WHERE first_mql_at IS NOT NULL\n")
METRICS = {
    "joint_rate": dict(label="MQL to SAL", owners="marketing, sales", kind="ratio",
                       unit="percent", anchor="first_mql_at", sql=JOINT_SQL),
    "mkt_count": dict(label="New leads", owners="marketing", kind="count", unit="count",
                      anchor="created_at",
                      sql="SELECT lead_id, created_at, 1 AS value FROM leads\n"),
    "sales_pipeline": dict(label="Pipeline", owners="sales", kind="sum", unit="currency",
                           anchor="created_at",
                           sql="SELECT lead_id, created_at, amount AS value FROM opportunities\n"),
}


def metric_text(name: str, description: str = "The first wording.", **overrides: str) -> str:
    """A whole definition file for one of the test metrics."""
    fields = {**METRICS[name], **overrides}
    return HEADER.format(name=name, description=description, **fields) + fields["sql"]


@pytest.fixture(scope="module")
def schema() -> dict:
    return reference_schema()


@pytest.fixture
def defs_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "definitions"
    folder.mkdir()
    for name in METRICS:
        (folder / f"{name}.sql").write_text(metric_text(name), encoding="utf-8")
    return folder


@pytest.fixture
def catalog(tmp_path: Path, defs_dir: Path, schema: dict) -> Catalog:
    return open_catalog(tmp_path / "catalog.sqlite", ROLES, definitions_dir=defs_dir,
                        schema=schema)


def reopen(catalog: Catalog, schema: dict) -> Catalog:
    return open_catalog(catalog.path, ROLES, definitions_dir=catalog.definitions_dir,
                        schema=schema)


def state(catalog: Catalog) -> str:
    """Everything in the catalog file, to prove a refused call changed nothing."""
    con = sqlite3.connect(catalog.path)
    try:
        return "\n".join(con.iterdump())
    finally:
        con.close()


# -- file sync ----------------------------------------------------------------------------------

def test_each_file_is_version_1_active_from_file(catalog: Catalog) -> None:
    assert catalog.names() == sorted(METRICS)
    for name in METRICS:
        assert catalog.active_version(name) == 1
        (v1,) = catalog.history(name)
        assert v1["version"] == 1 and v1["status"] == "active" and v1["origin"] == "file"
        assert v1["author"] == "file" and v1["base_version"] is None
        assert v1["approvals"] == [] and v1["activated_at"] == v1["created_at"]
        assert v1["created_at"].endswith("+00:00")
        assert catalog.text(name) == metric_text(name)
    assert catalog.sync_problems == ()


def test_reopening_with_the_same_files_creates_nothing(catalog: Catalog, schema: dict) -> None:
    before = state(catalog)
    again = reopen(catalog, schema)
    assert again.sync_files() == []
    assert state(again) == before


def test_changed_file_becomes_a_new_active_version_from_the_file(
        catalog: Catalog, defs_dir: Path, schema: dict) -> None:
    path = defs_dir / "mkt_count.sql"
    path.write_text(metric_text("mkt_count", "Changed in git."), encoding="utf-8")
    again = reopen(catalog, schema)
    v1, v2 = again.history("mkt_count")
    assert v1["status"] == "superseded"
    assert v2["status"] == "active" and v2["origin"] == "file" and v2["base_version"] == 1
    assert v2["author"].startswith("file:") and v2["author"].endswith("mkt_count.sql")
    assert again.definition("mkt_count").description == "Changed in git."
    assert again.definition("mkt_count").version == 2
    assert [v for v, _ in again.activations("mkt_count")] == [1, 2]
    before = state(again)
    reopen(again, schema)
    assert state(again) == before


def test_file_equal_to_the_active_version_creates_nothing_and_reverts_nothing(
        catalog: Catalog, defs_dir: Path, schema: dict) -> None:
    v2 = catalog.propose("mkt_count", metric_text("mkt_count", "v2"), author=MKT_EDITOR)
    assert catalog.approve("mkt_count", v2, user=CMO) == "active"
    catalog.export(defs_dir)  # the app's version committed back to git
    again = reopen(catalog, schema)
    assert [v["version"] for v in again.history("mkt_count")] == [1, 2]
    v3 = again.propose("mkt_count", metric_text("mkt_count", "v3"), author=MKT_EDITOR)
    again.approve("mkt_count", v3, user=DEMAND_GEN)
    # The file still holds v2's text; having been seen already, it must not undo v3.
    third = reopen(again, schema)
    assert third.active_version("mkt_count") == 3
    assert len(third.history("mkt_count")) == 3


def test_invalid_file_is_skipped_and_reported(tmp_path: Path, defs_dir: Path,
                                              schema: dict) -> None:
    (defs_dir / "broken.sql").write_text(
        HEADER.format(name="broken", description="x", **{
            k: v for k, v in METRICS["mkt_count"].items() if k != "sql"})
        + "SELECT lead_id, created_at, nope AS value FROM leads", encoding="utf-8")
    catalog = open_catalog(tmp_path / "c.sqlite", ROLES, definitions_dir=defs_dir, schema=schema)
    assert "broken" not in catalog.names()
    assert len(catalog.sync_problems) == 1 and "nope" in catalog.sync_problems[0]
    assert "not imported" in catalog.sync_problems[0]


def test_real_definition_files_import_cleanly(tmp_path: Path, schema: dict) -> None:
    files = sorted(METRICS_DIR.glob("*.sql"))
    if not files:
        pytest.skip("no definition files in sql/metrics yet")
    catalog = open_catalog(tmp_path / "c.sqlite", ROLES, definitions_dir=METRICS_DIR,
                           schema=schema)
    assert catalog.sync_problems == ()
    assert catalog.names() == sorted(p.stem for p in files)
    assert all(d.version == 1 for d in catalog.active_definitions().values())


def test_defaults_come_from_the_environment(tmp_path: Path, defs_dir: Path, schema: dict,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    roles = tmp_path / "roles.toml"
    roles.write_text('[users."boss@example.com"]\nrole = "admin"\n', encoding="utf-8")
    monkeypatch.setenv("METRICS_CATALOG", str(tmp_path / "sub" / "env.sqlite"))
    monkeypatch.setenv("METRICS_ROLES", str(roles))
    catalog = open_catalog(definitions_dir=defs_dir, schema=schema)
    assert catalog.path == tmp_path / "sub" / "env.sqlite" and catalog.path.exists()
    assert catalog.roles.role("boss@example.com") == "admin"


def test_not_a_catalog_file_is_a_sentence(tmp_path: Path, defs_dir: Path) -> None:
    bogus = tmp_path / "bogus.sqlite"
    bogus.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(CatalogError, match="not a usable catalog file"):
        open_catalog(bogus, ROLES, definitions_dir=defs_dir)


# -- the sign-off workflow ---------------------------------------------------------------------

def test_joint_metric_goes_live_only_when_both_teams_approve(catalog: Catalog) -> None:
    v = catalog.propose("joint_rate", metric_text("joint_rate", "Clearer."), author=CMO,
                        reason="clarify the wording")
    assert v == 2
    proposal = catalog.history("joint_rate")[-1]
    assert proposal["status"] == "proposed" and proposal["base_version"] == 1
    assert proposal["author"] == CMO and proposal["reason"] == "clarify the wording"
    assert proposal["origin"] == "app" and proposal["signoff_teams"] == ["marketing", "sales"]

    before = state(catalog)
    with pytest.raises(PermissionDeniedError, match="nobody approves their own proposal"):
        catalog.approve("joint_rate", v, user=CMO)
    assert state(catalog) == before

    status = catalog.approve("joint_rate", v, user=DEMAND_GEN, comment="fine by marketing")
    assert status == "proposed"
    assert catalog.active_version("joint_rate") == 1
    assert catalog.history("joint_rate")[-1]["missing_teams"] == ["sales"]

    assert catalog.approve("joint_rate", v, user=VP_SALES) == "active"
    assert catalog.active_version("joint_rate") == 2
    v1, v2 = catalog.history("joint_rate")
    assert v1["status"] == "superseded" and v2["status"] == "active"
    assert v2["activated_at"] is not None
    assert [(a["team"], a["user"], a["decision"]) for a in v2["approvals"]] == [
        ("marketing", DEMAND_GEN, "approve"), ("sales", VP_SALES, "approve")]
    assert v2["approvals"][0]["comment"] == "fine by marketing"
    assert catalog.definition("joint_rate").description == "Clearer."
    assert [v for v, _ in catalog.activations("joint_rate")] == [1, 2]


def test_a_second_approver_of_the_same_team_is_not_enough(catalog: Catalog) -> None:
    v = catalog.propose("joint_rate", metric_text("joint_rate", "x"), author=MKT_EDITOR)
    catalog.approve("joint_rate", v, user=CMO)
    with pytest.raises(CatalogError, match="it now waits for sales"):
        catalog.approve("joint_rate", v, user=DEMAND_GEN)
    with pytest.raises(CatalogError, match="already approved"):
        catalog.approve("joint_rate", v, user=CMO)
    assert catalog.active_version("joint_rate") == 1


def test_single_owner_metric_needs_one_approval_not_the_authors(catalog: Catalog) -> None:
    v = catalog.propose("mkt_count", metric_text("mkt_count", "x"), author=CMO)
    with pytest.raises(PermissionDeniedError, match="own proposal"):
        catalog.approve("mkt_count", v, user=CMO)
    assert catalog.approve("mkt_count", v, user=DEMAND_GEN) == "active"
    assert catalog.history("mkt_count")[-1]["signoff_teams"] == ["marketing"]


def test_an_admin_signs_for_one_team_only(catalog: Catalog) -> None:
    v = catalog.propose("joint_rate", metric_text("joint_rate", "x"), author=MKT_EDITOR)
    assert catalog.approve("joint_rate", v, user=ADMIN, team="sales") == "proposed"
    with pytest.raises(CatalogError, match="one person signs for one team"):
        catalog.approve("joint_rate", v, user=ADMIN, team="marketing")
    assert catalog.approve("joint_rate", v, user=CMO) == "active"
    teams = {a["team"]: a["user"] for a in catalog.history("joint_rate")[-1]["approvals"]}
    assert teams == {"sales": ADMIN, "marketing": CMO}


def test_an_admins_own_proposal_still_needs_others(catalog: Catalog) -> None:
    v = catalog.propose("joint_rate", metric_text("joint_rate", "x"), author=ADMIN)
    with pytest.raises(PermissionDeniedError, match="own proposal"):
        catalog.approve("joint_rate", v, user=ADMIN)
    catalog.approve("joint_rate", v, user=CMO)
    assert catalog.approve("joint_rate", v, user=SALES_DIRECTOR) == "active"


def test_reject(catalog: Catalog) -> None:
    v = catalog.propose("joint_rate", metric_text("joint_rate", "x"), author=MKT_EDITOR)
    catalog.approve("joint_rate", v, user=CMO)
    catalog.reject("joint_rate", v, user=VP_SALES, reason="SAL must exclude recycled leads")
    entry = catalog.history("joint_rate")[-1]
    assert entry["status"] == "rejected" and entry["missing_teams"] == []
    assert entry["approvals"][-1] == {**entry["approvals"][-1], "team": "sales",
                                      "user": VP_SALES, "decision": "reject",
                                      "comment": "SAL must exclude recycled leads"}
    assert catalog.active_version("joint_rate") == 1
    with pytest.raises(CatalogError, match="already rejected"):
        catalog.approve("joint_rate", v, user=SALES_DIRECTOR)
    with pytest.raises(CatalogError, match="already rejected"):
        catalog.reject("joint_rate", v, user=SALES_DIRECTOR)


def test_rights_to_reject(catalog: Catalog) -> None:
    v = catalog.propose("mkt_count", metric_text("mkt_count", "x"), author=MKT_EDITOR)
    for user in (VIEWER, SALES_EDITOR, VP_SALES, "stranger@example.com"):
        with pytest.raises(PermissionDeniedError, match="cannot reject"):
            catalog.reject("mkt_count", v, user=user)
    catalog.reject("mkt_count", v, user=MKT_EDITOR, reason="I made a mistake")
    assert catalog.history("mkt_count")[-1]["status"] == "rejected"
    assert catalog.audit("mkt_count")[0]["action"] == "withdraw"


def test_a_stale_proposal_is_refused_as_a_conflict(catalog: Catalog) -> None:
    first = catalog.propose("joint_rate", metric_text("joint_rate", "first"), author=MKT_EDITOR)
    second = catalog.propose("joint_rate", metric_text("joint_rate", "second"), author=SALES_EDITOR)
    assert catalog.history("joint_rate")[-1]["base_version"] == 1
    catalog.approve("joint_rate", second, user=CMO)
    catalog.approve("joint_rate", first, user=DEMAND_GEN)
    catalog.approve("joint_rate", first, user=VP_SALES)
    assert catalog.active_version("joint_rate") == first
    assert catalog.history("joint_rate")[second - 1]["stale"]

    before = state(catalog)
    with pytest.raises(ConflictError, match=f"propose it again based on v{first}"):
        catalog.approve("joint_rate", second, user=SALES_DIRECTOR)
    assert state(catalog) == before
    # The way out the message names works: propose again on top of the current version.
    redo = catalog.propose("joint_rate", metric_text("joint_rate", "second"), author=SALES_EDITOR)
    assert catalog.history("joint_rate")[-1]["base_version"] == first
    catalog.approve("joint_rate", redo, user=CMO)
    assert catalog.approve("joint_rate", redo, user=SALES_DIRECTOR) == "active"
    catalog.reject("joint_rate", second, user=VP_SALES, reason="superseded by the redo")


def test_a_new_metric_proposed_twice_conflicts(catalog: Catalog) -> None:
    text = metric_text("mkt_count").replace("mkt_count", "brand_new")
    a = catalog.propose("brand_new", text, author=ADMIN)
    b = catalog.propose("brand_new", text.replace("first", "other"), author=ADMIN)
    assert (a, b) == (1, 2)
    with pytest.raises(UnknownMetricError, match="no active version yet"):
        catalog.active_version("brand_new")
    assert catalog.approve("brand_new", a, user=CMO) == "active"
    with pytest.raises(ConflictError, match="propose it again based on v1"):
        catalog.approve("brand_new", b, user=DEMAND_GEN)


def test_rollback_proposes_an_earlier_text_again(catalog: Catalog) -> None:
    v2 = catalog.propose("mkt_count", metric_text("mkt_count", "v2"), author=MKT_EDITOR)
    catalog.approve("mkt_count", v2, user=CMO)
    with pytest.raises(CatalogError, match="already the active version"):
        catalog.rollback("mkt_count", v2, author=MKT_EDITOR)
    v3 = catalog.rollback("mkt_count", 1, author=MKT_EDITOR, reason="v2 broke the funnel")
    entry = catalog.history("mkt_count")[-1]
    assert v3 == 3 and entry["status"] == "proposed" and entry["restores_version"] == 1
    assert entry["text"] == catalog.text("mkt_count", 1)
    assert catalog.active_version("mkt_count") == 2  # same sign-off rules: not live yet
    with pytest.raises(PermissionDeniedError, match="own proposal"):
        catalog.approve("mkt_count", v3, user=MKT_EDITOR)
    catalog.approve("mkt_count", v3, user=DEMAND_GEN)
    assert catalog.definition("mkt_count").text == metric_text("mkt_count")
    assert catalog.definition("mkt_count").version == 3
    v4 = catalog.propose("mkt_count", metric_text("mkt_count", "never"), author=MKT_EDITOR)
    catalog.reject("mkt_count", v4, user=CMO)
    with pytest.raises(CatalogError, match="never active"):
        catalog.rollback("mkt_count", v4, author=MKT_EDITOR)
    (logged,) = [e for e in catalog.audit("mkt_count") if e["action"] == "rollback"]
    assert logged["version"] == v3 and logged["details"]["restores_version"] == 1
    assert len(catalog.audit("mkt_count", limit=2)) == 2


def test_proposing_the_active_text_again_is_refused(catalog: Catalog) -> None:
    with pytest.raises(CatalogError, match="same as the active version v1"):
        catalog.propose("mkt_count", metric_text("mkt_count"), author=MKT_EDITOR)


def test_approving_a_decided_or_missing_version_is_refused(catalog: Catalog) -> None:
    with pytest.raises(CatalogError, match="already active"):
        catalog.approve("mkt_count", 1, user=CMO)
    with pytest.raises(UnknownMetricError, match="no version 9; its versions are v1 to v1"):
        catalog.approve("mkt_count", 9, user=CMO)
    with pytest.raises(UnknownMetricError, match="no metric 'nope'; the metrics are"):
        catalog.approve("nope", 1, user=CMO)
    with pytest.raises(UnknownMetricError):
        catalog.history("nope")
    with pytest.raises(QueryError):  # the warehouse's query path catches QueryError
        catalog.definition("nope")


# -- rights of each role -----------------------------------------------------------------------

@pytest.mark.parametrize(("user", "name", "allowed"), [
    (MKT_EDITOR, "mkt_count", True),
    (MKT_EDITOR, "joint_rate", True),
    (MKT_EDITOR, "sales_pipeline", False),
    (SALES_EDITOR, "joint_rate", True),
    (SALES_EDITOR, "mkt_count", False),
    (CMO, "mkt_count", True),
    (CMO, "sales_pipeline", False),
    (VP_SALES, "sales_pipeline", True),
    (ADMIN, "sales_pipeline", True),
    (VIEWER, "mkt_count", False),
    ("stranger@example.com", "joint_rate", False),
    ("", "joint_rate", False),
])
def test_who_may_propose(catalog: Catalog, user: str, name: str, allowed: bool) -> None:
    assert catalog.can_propose(name, user) is allowed
    text = metric_text(name, "A new wording.")
    if allowed:
        assert catalog.propose(name, text, author=user) == 2
    else:
        before = state(catalog)
        with pytest.raises(PermissionDeniedError):
            catalog.propose(name, text, author=user)
        assert state(catalog) == before


@pytest.mark.parametrize(("user", "allowed"), [
    (ADMIN, True), (CMO, False), (MKT_EDITOR, False), (VIEWER, False)])
def test_only_admins_create_metrics(catalog: Catalog, user: str, allowed: bool) -> None:
    text = metric_text("mkt_count").replace("mkt_count", "brand_new")
    if allowed:
        assert catalog.propose("brand_new", text, author=user) == 1
        assert catalog.history("brand_new")[0]["base_version"] is None
    else:
        with pytest.raises(PermissionDeniedError, match="only admins create new metrics"):
            catalog.propose("brand_new", text, author=user)


@pytest.mark.parametrize(("user", "message"), [
    (VIEWER, "is a viewer and cannot approve"),
    ("stranger@example.com", "is a viewer and cannot approve"),
    (SALES_EDITOR, "is an editor and cannot approve"),
    (VP_SALES, "signed off by marketing"),
])
def test_who_may_not_approve(catalog: Catalog, user: str, message: str) -> None:
    v = catalog.propose("mkt_count", metric_text("mkt_count", "x"), author=MKT_EDITOR)
    before = state(catalog)
    with pytest.raises(PermissionDeniedError, match=message):
        catalog.approve("mkt_count", v, user=user)
    assert state(catalog) == before


def test_approver_cannot_choose_a_team_they_are_not_in(catalog: Catalog) -> None:
    v = catalog.propose("joint_rate", metric_text("joint_rate", "x"), author=MKT_EDITOR)
    with pytest.raises(PermissionDeniedError, match="cannot approve for sales"):
        catalog.approve("joint_rate", v, user=CMO, team="sales")


def test_dropping_an_owner_needs_that_owners_sign_off(catalog: Catalog) -> None:
    text = metric_text("joint_rate", "sales only now", owners="sales")
    v = catalog.propose("joint_rate", text, author=SALES_EDITOR)
    assert catalog.history("joint_rate")[-1]["signoff_teams"] == ["marketing", "sales"]
    assert catalog.approve("joint_rate", v, user=VP_SALES) == "proposed"
    assert catalog.approve("joint_rate", v, user=CMO) == "active"
    assert catalog.definition("joint_rate").owners == ("sales",)
    assert not catalog.can_propose("joint_rate", MKT_EDITOR)


# -- what may be stored ------------------------------------------------------------------------

HOSTILE = {
    "two statements": JOINT_SQL.rstrip() + "; SELECT 1",
    "read_csv": "SELECT lead_id, first_mql_at, 1 AS numerator, 1 AS denominator "
                "FROM read_csv('/etc/passwd')",
    "drop": "DROP TABLE leads",
    "unknown column": "SELECT lead_id, first_mql_at, no_such_column AS numerator, "
                      "1 AS denominator FROM lead_lifecycle",
    "unknown table": "SELECT lead_id, first_mql_at, 1 AS numerator, 1 AS denominator "
                     "FROM sqlite_master",
    "attach": "ATTACH '/tmp/x.db' AS x",
    "missing measure": "SELECT lead_id, first_mql_at FROM lead_lifecycle",
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_invalid_or_hostile_sql_is_never_stored(catalog: Catalog, case: str) -> None:
    before = state(catalog)
    text = metric_text("joint_rate", "evil", sql=HOSTILE[case])
    with pytest.raises(UnsafeSQLError) as caught:
        catalog.propose("joint_rate", text, author=MKT_EDITOR)
    assert "joint_rate (proposed)" in str(caught.value)
    assert state(catalog) == before
    assert [v["version"] for v in catalog.history("joint_rate")] == [1]


@pytest.mark.parametrize(("text", "message"), [
    ("SELECT 1", "header is missing"),
    (metric_text("mkt_count").replace("-- name: mkt_count", "-- name: other"),
     "make them the same"),
    (metric_text("mkt_count").replace("owners: marketing", "owners: finance"), "not a team"),
    ("   ", "is empty"),
])
def test_malformed_definitions_are_never_stored(catalog: Catalog, text: str, message: str) -> None:
    before = state(catalog)
    with pytest.raises(MetricError, match=message):
        catalog.propose("mkt_count", text, author=MKT_EDITOR)
    assert state(catalog) == before


def test_definition_errors_are_the_definition_family(catalog: Catalog) -> None:
    with pytest.raises(DefinitionError):
        catalog.propose("mkt_count", "SELECT 1", author=MKT_EDITOR)


def test_descriptions_and_text_are_stored_as_given(catalog: Catalog) -> None:
    description = 'Leads <script>alert("x")</script> & “quotes” — ünïcode; it\'s fine.'
    text = metric_text("mkt_count", description) + "\n-- trailing comment kept\n\n"
    v = catalog.propose("mkt_count", text, author=MKT_EDITOR, reason="<b>why</b>")
    assert catalog.text("mkt_count", v) == text
    assert catalog.history("mkt_count")[-1]["reason"] == "<b>why</b>"
    assert catalog.definition("mkt_count", v).description == description
    assert catalog.definition("mkt_count", v).version == v


# -- reading -----------------------------------------------------------------------------------

def test_definitions_carry_their_version(catalog: Catalog) -> None:
    v = catalog.propose("mkt_count", metric_text("mkt_count", "two"), author=MKT_EDITOR)
    assert catalog.definition("mkt_count").version == 1
    assert catalog.definition("mkt_count", v).version == v
    assert catalog.definition("mkt_count", v).description == "two"
    catalog.approve("mkt_count", v, user=CMO)
    active = catalog.active_definitions()
    assert sorted(active) == sorted(METRICS)
    assert active["mkt_count"].version == 2 and active["joint_rate"].version == 1
    assert active["joint_rate"].owners == ("marketing", "sales")


def test_pending_lists_what_a_user_may_approve(catalog: Catalog) -> None:
    v = catalog.propose("joint_rate", metric_text("joint_rate", "x"), author=MKT_EDITOR)
    m = catalog.propose("mkt_count", metric_text("mkt_count", "x"), author=CMO)

    def pending(user: str | None) -> set[tuple[str, int]]:
        return {(p["name"], p["version"]) for p in catalog.pending(for_user=user)}

    assert pending(None) == {("joint_rate", v), ("mkt_count", m)}
    assert pending(CMO) == {("joint_rate", v)}  # not their own mkt_count proposal
    assert pending(DEMAND_GEN) == {("joint_rate", v), ("mkt_count", m)}
    assert pending(VP_SALES) == {("joint_rate", v)}
    assert pending(MKT_EDITOR) == set() and pending(VIEWER) == set()
    catalog.approve("joint_rate", v, user=DEMAND_GEN)
    assert pending(CMO) == set()  # marketing has signed already
    assert pending(DEMAND_GEN) == {("mkt_count", m)}
    (item,) = catalog.pending(for_user=SALES_DIRECTOR)
    assert item["missing_teams"] == ["sales"] and item["can_approve"] and not item["stale"]
    assert item["active_version"] == 1


def test_pending_flags_stale_proposals(catalog: Catalog) -> None:
    a = catalog.propose("mkt_count", metric_text("mkt_count", "a"), author=MKT_EDITOR)
    b = catalog.propose("mkt_count", metric_text("mkt_count", "b"), author=MKT_EDITOR)
    catalog.approve("mkt_count", a, user=CMO)
    (item,) = catalog.pending(for_user=DEMAND_GEN)
    assert item["version"] == b and item["stale"] and not item["can_approve"]


def test_diff(catalog: Catalog) -> None:
    v = catalog.propose("mkt_count", metric_text("mkt_count", "Second wording."), author=CMO)
    diff = catalog.diff("mkt_count", 1, v)
    assert diff.startswith("--- mkt_count v1\n+++ mkt_count v2\n")
    assert "--- description: The first wording." in diff
    assert "+-- description: Second wording." in diff
    assert catalog.diff("mkt_count", 1, 1) == ""


def test_export_writes_the_active_definitions(catalog: Catalog, tmp_path: Path,
                                              schema: dict) -> None:
    v = catalog.propose("mkt_count", metric_text("mkt_count", "exported"), author=MKT_EDITOR)
    catalog.approve("mkt_count", v, user=CMO)
    out = tmp_path / "out" / "metrics"
    written = catalog.export(out)
    assert sorted(p.name for p in written) == sorted(f"{n}.sql" for n in METRICS)
    exported = (out / "mkt_count.sql").read_text(encoding="utf-8")
    assert exported == metric_text("mkt_count", "exported")
    fresh = open_catalog(tmp_path / "fresh.sqlite", ROLES, definitions_dir=out, schema=schema)
    assert fresh.definition("mkt_count").description == "exported"


def test_audit_records_every_action_and_no_refusal(catalog: Catalog) -> None:
    imports = catalog.audit()
    assert {e["action"] for e in imports} == {"file_import"} and len(imports) == 3
    v = catalog.propose("joint_rate", metric_text("joint_rate", "x"), author=MKT_EDITOR,
                        reason="why")
    with pytest.raises(PermissionDeniedError):
        catalog.approve("joint_rate", v, user=MKT_EDITOR)
    catalog.approve("joint_rate", v, user=CMO)
    catalog.approve("joint_rate", v, user=VP_SALES)
    log = catalog.audit("joint_rate")
    assert [e["action"] for e in log] == ["activate", "approve", "approve", "propose",
                                         "file_import"]
    assert log[3]["user"] == MKT_EDITOR and log[3]["details"]["reason"] == "why"
    assert log[3]["details"]["base_version"] == 1
    assert log[0]["details"]["approved_by"] == {"marketing": CMO, "sales": VP_SALES}
    assert all(e["at"] for e in log)


def test_versions_are_immutable_in_the_file(catalog: Catalog) -> None:
    con = sqlite3.connect(catalog.path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="immutable"):
            con.execute("UPDATE metric_versions SET text = 'x' WHERE name = 'mkt_count'")
        with pytest.raises(sqlite3.IntegrityError):  # one active version per metric
            con.execute("INSERT INTO metric_versions (name, version, text, owners, signoff_teams,"
                        " author, created_at, status, origin) VALUES ('mkt_count', 2, '', '', '',"
                        " 'x', 'now', 'active', 'app')")
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        con.close()


# -- targets and snapshots ---------------------------------------------------------------------

def test_targets(catalog: Catalog) -> None:
    catalog.set_target("mkt_count", 500, user=CMO)
    catalog.set_target("joint_rate", 0.4, user=VP_SALES)
    catalog.set_target("joint_rate", 0.45, user=ADMIN, grain="quarter")
    assert catalog.targets() == {"mkt_count": 500.0, "joint_rate": 0.4}
    assert catalog.targets("quarter") == {"mkt_count": 500.0, "joint_rate": 0.45}
    catalog.set_target("mkt_count", 600, user=DEMAND_GEN)
    assert catalog.targets()["mkt_count"] == 600.0
    details = {(t["name"], t["grain"]): t for t in catalog.target_details()}
    assert details[("mkt_count", "any")]["set_by"] == DEMAND_GEN
    catalog.set_target("mkt_count", None, user=CMO)
    assert "mkt_count" not in catalog.targets()
    assert catalog.audit("mkt_count")[0]["action"] == "clear_target"
    assert catalog.audit("mkt_count")[0]["details"]["previous"] == 600.0


@pytest.mark.parametrize(("name", "value", "user", "grain", "error", "message"), [
    ("mkt_count", 1, MKT_EDITOR, "any", PermissionDeniedError, "only approvers and admins"),
    ("mkt_count", 1, VP_SALES, "any", PermissionDeniedError, "of marketing"),
    ("mkt_count", 1, VIEWER, "any", PermissionDeniedError, "is a viewer"),
    ("nope", 1, CMO, "any", UnknownMetricError, "no live metric 'nope'"),
    ("mkt_count", 1, CMO, "fortnight", CatalogError, "grain is one of"),
    ("mkt_count", "lots", CMO, "any", CatalogError, "must be a number"),
    ("mkt_count", float("nan"), CMO, "any", CatalogError, "finite"),
])
def test_refused_targets(catalog: Catalog, name: str, value: object, user: str, grain: str,
                         error: type, message: str) -> None:
    before = state(catalog)
    with pytest.raises(error, match=message):
        catalog.set_target(name, value, user=user, grain=grain)
    assert state(catalog) == before


def test_snapshots(catalog: Catalog) -> None:
    frame = pd.DataFrame({"period": pd.to_datetime(["2025-01-01", "2025-02-01"]),
                          "value": [0.25, 0.5]})
    first = catalog.save_snapshot("Pipeline review", {"mql_to_sal_rate": frame, "n": 3},
                                  user=VIEWER)
    second = catalog.save_snapshot("Next review", [1, 2], user=CMO)
    assert [s["id"] for s in catalog.snapshots()] == [second, first]
    assert set(catalog.snapshots()[0]) == {"id", "created_at", "user", "title"}
    saved = catalog.snapshot(first)
    assert saved["title"] == "Pipeline review" and saved["user"] == VIEWER
    assert saved["payload"]["n"] == 3
    assert saved["payload"]["mql_to_sal_rate"][1]["value"] == 0.5
    assert saved["payload"]["mql_to_sal_rate"][0]["period"].startswith("2025-01-01")
    with pytest.raises(CatalogError, match="title"):
        catalog.save_snapshot(" ", {}, user=CMO)
    with pytest.raises(UnknownMetricError, match="no snapshot 99"):
        catalog.snapshot(99)


# -- CLI ---------------------------------------------------------------------------------------

def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "metrics", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def write_roles_toml(path: Path) -> Path:
    lines = []
    for email, entry in ROLES["users"].items():
        teams = ", ".join(f'"{t}"' for t in entry["teams"])
        lines += [f'[users."{email}"]', f"teams = [{teams}]", f'role = "{entry["role"]}"', ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_cli_history_export_and_workflow(catalog: Catalog, tmp_path: Path) -> None:
    roles = write_roles_toml(tmp_path / "roles.toml")
    common = ["--catalog", str(catalog.path), "--roles", str(roles),
              "--definitions", str(catalog.definitions_dir)]
    proposal = tmp_path / "proposal.sql"
    proposal.write_text(metric_text("joint_rate", "From the CLI."), encoding="utf-8")

    done = run_cli("propose", "joint_rate", str(proposal), "--author", MKT_EDITOR,
                   "--reason", "ops script", *common)
    assert done.returncode == 0, done.stderr
    assert "proposed joint_rate v2" in done.stdout

    refused = run_cli("approve", "joint_rate", "2", "--user", MKT_EDITOR, *common)
    assert refused.returncode == 1
    assert "own proposal" in refused.stderr and refused.stderr.startswith("error: ")

    assert run_cli("approve", "joint_rate", "2", "--user", CMO, *common).returncode == 0
    done = run_cli("approve", "joint_rate", "2", "--user", VP_SALES, *common)
    assert done.returncode == 0 and "now active" in done.stdout

    table = run_cli("history", "joint_rate", *common)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["version", "status", "origin"]
    assert lines[1].split()[:3] == ["1", "superseded", "file"]
    assert lines[2].split()[:4] == ["2", "active", "app", MKT_EDITOR]

    as_json = json.loads(run_cli("history", "joint_rate", "--format", "json", *common).stdout)
    assert [v["version"] for v in as_json] == [1, 2]
    assert {a["user"] for a in as_json[1]["approvals"]} == {CMO, VP_SALES}

    out = tmp_path / "exported"
    done = run_cli("export", str(out), *common)
    assert done.returncode == 0, done.stderr
    assert (out / "joint_rate.sql").read_text(encoding="utf-8") == metric_text("joint_rate",
                                                                              "From the CLI.")
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.sql" for n in METRICS)

    missing = run_cli("history", "no_such_metric", *common)
    assert missing.returncode == 1 and "no metric 'no_such_metric'" in missing.stderr


def test_cli_pending_diff_and_reject(catalog: Catalog, tmp_path: Path) -> None:
    roles = write_roles_toml(tmp_path / "roles.toml")
    common = ["--catalog", str(catalog.path), "--roles", str(roles),
              "--definitions", str(catalog.definitions_dir)]
    v = catalog.propose("mkt_count", metric_text("mkt_count", "Pending."), author=MKT_EDITOR)
    listed = json.loads(run_cli("pending", "--user", CMO, "--format", "json", *common).stdout)
    assert [(p["name"], p["version"]) for p in listed] == [("mkt_count", v)]
    diff = run_cli("diff", "mkt_count", "1", str(v), *common)
    assert "+-- description: Pending." in diff.stdout
    done = run_cli("reject", "mkt_count", str(v), "--user", CMO, "--reason", "not yet", *common)
    assert done.returncode == 0, done.stderr
    assert catalog.history("mkt_count")[-1]["status"] == "rejected"
