"""Alert rules versioned in the catalog: file sync, proposals validated by the rule parser,
two-team sign-off, rollback, and the run using the approved version, never a proposed one.

Findings are counted by hand in tests/alert_warehouse.py: with a 7-day lookback the breaches
are A2, A3, A9 and A10; a 60-day lookback adds A8 (deadline Mon 3 Feb).
"""

from __future__ import annotations

import pytest

import metrics
from alert_warehouse import BREACHES, SLA_RULES, build_alert_warehouse, write_rules
from metrics.alert_rules import parse_rule
from metrics.alert_run import preview_rule, run_alerts
from metrics.catalog import PermissionDeniedError, rule_key
from metrics.delivery import DeliveryConfig
from metrics.errors import CatalogError, DefinitionError

ROLES = {"users": {
    "cmo@example.com": {"teams": ["marketing"], "role": "approver"},
    "vp.sales@example.com": {"teams": ["sales"], "role": "approver"},
    "sales.director@example.com": {"teams": ["sales"], "role": "approver"},
    "sales.ops@example.com": {"teams": ["sales"], "role": "editor"},
    "analyst@example.com": {"teams": [], "role": "viewer"},
}}
BREACH = rule_key("sla_breach")
LONGER = SLA_RULES["sla_breach"].replace("lookback_days = 7", "lookback_days = 60")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    wh = metrics.open_warehouse(build_alert_warehouse(
        tmp_path_factory.mktemp("rule-versions") / "warehouse.duckdb"))
    yield wh
    wh.close()


@pytest.fixture
def rules_dir(tmp_path):
    return write_rules(tmp_path / "alerts", {"sla_breach": SLA_RULES["sla_breach"]})


@pytest.fixture
def catalog(tmp_path, rules_dir):
    cat = metrics.open_catalog(tmp_path / "catalog.sqlite", roles=ROLES,
                               definitions_dir=tmp_path / "no-metrics")
    cat.sync_rule_files(rules_dir)
    return cat


def breaches(report) -> set[str]:
    return {a.subject for a in report.found if a.rule == "sla_breach"}


def test_the_file_is_version_1_and_a_proposal_round_trips_unchanged(catalog, rules_dir):
    [first] = catalog.history(BREACH)
    assert (first["version"], first["status"], first["origin"]) == (1, "active", "file")
    assert first["owners"] == ["sales", "marketing"]
    version = catalog.propose(BREACH, LONGER, author="sales.ops@example.com",
                              reason="a week hides the old breaches")
    assert version == 2
    assert catalog.text(BREACH, 2) == LONGER
    assert catalog.rule("sla_breach", 2).setting("lookback_days") == 60
    assert catalog.rule("sla_breach").version == 1           # still the file's until approved
    assert catalog.history(BREACH)[1]["signoff_teams"] == ["marketing", "sales"]
    # Syncing the unchanged file again creates nothing; rules never show up as metrics.
    assert catalog.sync_rule_files(rules_dir) == []
    assert BREACH not in catalog.names()


def test_a_broken_or_hostile_rule_is_refused_with_its_file_and_line_and_nothing_is_stored(
        catalog):
    broken = SLA_RULES["sla_breach"].replace("lookback_days = 7", "lookback_days = = 7")
    with pytest.raises(DefinitionError, match=r"sla_breach\.toml \(proposed\) line 6, "
                                              "column 17: is not valid TOML"):
        catalog.propose(BREACH, broken, author="sales.ops@example.com", reason="typo")
    hostile = SLA_RULES["sla_breach"] + 'sql = "DROP TABLE leads"\n'
    with pytest.raises(DefinitionError,
                       match=r"proposed\) line 7: a sla_breach rule has no setting sql"):
        catalog.propose(BREACH, hostile, author="sales.ops@example.com", reason="x")
    with pytest.raises(DefinitionError, match="owners lists the teams"):
        catalog.propose(BREACH, SLA_RULES["sla_breach"].replace('"sales", "marketing"',
                                                                '"finance"'),
                        author="sales.ops@example.com", reason="x")
    assert [v["version"] for v in catalog.history(BREACH)] == [1]
    assert [e["action"] for e in catalog.audit(BREACH)] == ["file_import"]


def test_a_viewer_is_told_who_may_propose_and_a_new_rule_starts_as_a_file(catalog):
    with pytest.raises(PermissionDeniedError, match="viewer and cannot propose"):
        catalog.propose(BREACH, LONGER, author="analyst@example.com", reason="x")
    with pytest.raises(CatalogError, match="new rule starts as a file"):
        catalog.propose(rule_key("brand_new"), LONGER, author="cmo@example.com", reason="x")


def test_both_owning_teams_approve_and_never_the_author(catalog):
    version = catalog.propose(BREACH, LONGER, author="vp.sales@example.com", reason="longer")
    with pytest.raises(PermissionDeniedError, match="proposed v2 of alert_rule:sla_breach "
                                                    "yourself"):
        catalog.approve(BREACH, version, user="vp.sales@example.com")
    assert catalog.approve(BREACH, version, user="cmo@example.com") == "proposed"
    assert catalog.rule("sla_breach").version == 1
    assert catalog.approve(BREACH, version, user="sales.director@example.com") == "active"
    assert catalog.rule("sla_breach").setting("lookback_days") == 60
    actions = [e["action"] for e in reversed(catalog.audit(BREACH))]
    assert actions == ["file_import", "propose", "approve", "approve", "activate"]


def test_a_rejected_change_never_goes_live_and_a_rollback_needs_the_same_sign_off(catalog):
    rejected = catalog.propose(BREACH, LONGER, author="sales.ops@example.com", reason="longer")
    catalog.reject(BREACH, rejected, user="cmo@example.com", reason="too noisy")
    assert catalog.history(BREACH)[-1]["status"] == "rejected"
    again = catalog.propose(BREACH, LONGER, author="sales.ops@example.com", reason="retry")
    catalog.approve(BREACH, again, user="cmo@example.com")
    catalog.approve(BREACH, again, user="vp.sales@example.com")
    back = catalog.rollback(BREACH, 1, author="sales.ops@example.com", reason="back to 7 days")
    assert catalog.rule("sla_breach").version == again
    catalog.approve(BREACH, back, user="cmo@example.com")
    catalog.approve(BREACH, back, user="vp.sales@example.com")
    assert catalog.rule("sla_breach").setting("lookback_days") == 7
    assert catalog.history(BREACH)[-1]["restores_version"] == 1


def test_the_run_uses_the_approved_version_and_not_the_proposed_one(warehouse, catalog,
                                                                     rules_dir):
    version = catalog.propose(BREACH, LONGER, author="sales.ops@example.com", reason="longer")
    proposed = run_alerts(warehouse, catalog, config=DeliveryConfig(None, {}),
                          rules_dir=rules_dir, dry_run=True)
    assert breaches(proposed) == BREACHES                    # A2, A3, A9, A10
    catalog.approve(BREACH, version, user="cmo@example.com")
    catalog.approve(BREACH, version, user="vp.sales@example.com")
    approved = run_alerts(warehouse, catalog, config=DeliveryConfig(None, {}),
                          rules_dir=rules_dir, dry_run=True)
    assert breaches(approved) == BREACHES | {"A8"}


def test_the_preview_counts_the_alerts_and_whom_they_go_to(warehouse, catalog, rules_dir):
    active = preview_rule(warehouse, catalog, catalog.rule("sla_breach"), rules_dir=rules_dir)
    assert len(active.alerts) == 4
    # The sales lead hears every breach; Ana owns A3 and A10, Ben A2; R9 (A9) has no address.
    assert active.recipients == {"vp.sales@example.com": 4, "ana.ruiz@example.com": 2,
                                 "ben.okafor@example.com": 1}
    draft = preview_rule(warehouse, catalog, parse_rule("sla_breach", LONGER),
                         rules_dir=rules_dir)
    assert len(draft.alerts) == 5                            # A8 (R1, Ana) too
    assert draft.recipients == {"vp.sales@example.com": 5, "ana.ruiz@example.com": 3,
                                "ben.okafor@example.com": 1}


def test_a_rule_file_broken_in_git_keeps_the_active_version_and_says_why(catalog, rules_dir):
    (rules_dir / "sla_breach.toml").write_text(LONGER.replace("lookback_days = 60",
                                                              "lookback_days = -1"))
    rules = catalog.active_rules(rules_dir)
    assert (rules["sla_breach"].version, rules["sla_breach"].setting("lookback_days")) == (1, 7)
    [problem] = catalog.rule_sync_problems
    assert "sla_breach.toml line 6: lookback_days must be at least 1" in problem
    assert "not imported" in problem
    # Fixed in git, the file becomes v2 at once: a file's review is its sign-off.
    (rules_dir / "sla_breach.toml").write_text(LONGER)
    assert catalog.active_rules(rules_dir)["sla_breach"].version == 2
    assert catalog.history(BREACH)[-1]["origin"] == "file"
