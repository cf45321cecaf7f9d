"""Roles: who may propose, approve and set targets (DESIGN.md section 9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from metrics.errors import CatalogError
from metrics.paths import REPO_ROOT
from metrics.roles import ROLES, Roles, load_roles

ROLES_DICT = {"users": {
    "cmo@example.com": {"teams": ["marketing"], "role": "approver"},
    "vp.sales@example.com": {"teams": ["sales"], "role": "approver"},
    "marketing.ops@example.com": {"teams": ["marketing"], "role": "editor"},
    "sales.ops@example.com": {"teams": ["sales"], "role": "editor"},
    "revops.admin@example.com": {"teams": ["marketing", "sales"], "role": "admin"},
    "lonely.admin@example.com": {"role": "admin"},
    "analyst@example.com": {"teams": ["marketing"], "role": "viewer"},
}}


@pytest.fixture
def roles() -> Roles:
    return load_roles(ROLES_DICT)


@pytest.mark.parametrize(("user", "owners", "allowed"), [
    ("marketing.ops@example.com", ["marketing"], True),
    ("marketing.ops@example.com", ["marketing", "sales"], True),
    ("marketing.ops@example.com", ["sales"], False),
    ("sales.ops@example.com", ["marketing", "sales"], True),
    ("cmo@example.com", ["marketing"], True),
    ("cmo@example.com", ["sales"], False),
    ("revops.admin@example.com", ["sales"], True),
    ("lonely.admin@example.com", ["sales"], True),
    ("analyst@example.com", ["marketing"], False),
    ("stranger@example.com", ["marketing"], False),
    ("", ["marketing"], False),
    # A metric that does not exist yet: admins only.
    ("revops.admin@example.com", None, True),
    ("marketing.ops@example.com", None, False),
    ("cmo@example.com", [], False),
])
def test_can_propose(roles: Roles, user: str, owners: list[str] | None, allowed: bool) -> None:
    assert roles.can_propose(user, owners) is allowed


@pytest.mark.parametrize(("user", "team", "allowed"), [
    ("cmo@example.com", "marketing", True),
    ("cmo@example.com", "sales", False),
    ("vp.sales@example.com", "sales", True),
    ("marketing.ops@example.com", "marketing", False),
    ("revops.admin@example.com", "marketing", True),
    ("revops.admin@example.com", "sales", True),
    ("lonely.admin@example.com", "marketing", False),
    ("analyst@example.com", "marketing", False),
    ("stranger@example.com", "marketing", False),
])
def test_can_approve(roles: Roles, user: str, team: str, allowed: bool) -> None:
    assert roles.can_approve(user, team) is allowed


def test_unknown_user_is_a_viewer_and_emails_ignore_case(roles: Roles) -> None:
    assert roles.role("nobody@example.com") == "viewer"
    assert roles.teams("nobody@example.com") == ()
    assert roles.role("  CMO@Example.COM ") == "approver"
    assert roles.can_approve("CMO@EXAMPLE.COM", "marketing")


def test_refusals_are_sentences(roles: Roles) -> None:
    why = roles.why_not_propose("sales.ops@example.com", ["marketing"], metric="mqls")
    assert "mqls is owned by marketing" in why and why.endswith(".")
    why = roles.why_not_propose("analyst@example.com", ["marketing"], metric="mqls")
    assert "viewer" in why
    why = roles.why_not_propose("cmo@example.com", None, metric="brand_new")
    assert "only admins create new metrics" in why


def test_targets_need_an_approver_of_an_owning_team(roles: Roles) -> None:
    assert roles.can_set_target("cmo@example.com", ["marketing", "sales"])
    assert not roles.can_set_target("cmo@example.com", ["sales"])
    assert not roles.can_set_target("marketing.ops@example.com", ["marketing"])
    assert roles.can_set_target("revops.admin@example.com", ["sales"])


@pytest.mark.parametrize(("data", "message"), [
    ({"users": {"a@example.com": {"role": "boss", "teams": ["sales"]}}}, "role 'boss'"),
    ({"users": {"a@example.com": {"role": "editor", "teams": ["finance"]}}}, "team 'finance'"),
    ({"users": {"a@example.com": {"role": "editor"}}}, "without a team"),
    ({"users": {"a@example.com": {"role": "editor", "team": ["sales"]}}}, "unknown key 'team'"),
    ({"users": {"not-an-email": {"role": "viewer"}}}, "not an email"),
    ({"users": {"A@example.com": {}, "a@example.com": {}}}, "listed twice"),
    ({"people": {}}, "only \\[users"),
    ({"users": {"a@example.com": "admin"}}, "must be a table"),
])
def test_invalid_roles_are_refused_with_a_sentence(data: dict, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        load_roles(data)


def test_roles_file(tmp_path: Path) -> None:
    path = tmp_path / "roles.toml"
    path.write_text('[users."cmo@example.com"]\nteams = ["marketing"]\nrole = "approver"\n',
                    encoding="utf-8")
    assert load_roles(path).can_approve("cmo@example.com", "marketing")
    assert load_roles(str(path)).role("cmo@example.com") == "approver"
    path.write_text("[users.\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid TOML"):
        load_roles(path)
    with pytest.raises(CatalogError, match="does not exist"):
        load_roles(tmp_path / "missing.toml")


def test_roles_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "other.toml"
    path.write_text('[users."x@example.com"]\nrole = "admin"\n', encoding="utf-8")
    monkeypatch.setenv("METRICS_ROLES", str(path))
    assert load_roles().role("x@example.com") == "admin"


def test_repo_roles_file_has_two_approvers_per_team() -> None:
    roles = load_roles(REPO_ROOT / "roles.toml")
    assert all(p.role in ROLES for p in roles.people.values())
    for team in ("marketing", "sales"):
        assert len(roles.approvers(team)) >= 3  # two approvers plus the admin
    assert roles.role("cmo@example.com") == "approver"
    assert roles.role("vp.sales@example.com") == "approver"
    assert roles.role("marketing.ops@example.com") == "editor"
    assert roles.role("sales.ops@example.com") == "editor"
    assert roles.role("revops.admin@example.com") == "admin"
    assert roles.role("analyst@example.com") == "viewer"


@pytest.mark.parametrize(("entry", "allowed"), [
    ({"role": "viewer", "ops": True}, True),  # the ops right does not follow the catalog role
    ({"role": "editor", "teams": ["sales"], "ops": True}, True),
    ({"role": "approver", "teams": ["sales"]}, False),
    ({"role": "editor", "teams": ["sales"], "ops": False}, False),
    ({"role": "admin"}, True),
])
def test_loading_data_needs_the_ops_right_or_admin(entry: dict, allowed: bool) -> None:
    roles = load_roles({"users": {"x@example.com": entry, "ops@example.com": {"ops": True}}})
    assert (roles.why_not_load_data("x@example.com") is None) is allowed


def test_a_refused_load_says_who_may_do_it_and_names_no_path() -> None:
    roles = load_roles(REPO_ROOT / "roles.toml")
    why = roles.why_not_load_data("cmo@example.com")
    assert why.startswith("cmo@example.com is an approver without the ops right.")
    assert "marketing.ops@example.com, revops.admin@example.com or sales.ops@example.com" in why
    assert "in roles.toml" in why and str(REPO_ROOT) not in why
    assert roles.why_not_load_data(None).startswith("Sign in (or pick who you are) first.")
    assert "nobody has that right yet" in load_roles({"users": {}}).why_not_load_data("a@b.co")


def test_ops_must_be_true_or_false() -> None:
    with pytest.raises(CatalogError, match="ops = 'yes'; write ops = true or ops = false"):
        load_roles({"users": {"a@example.com": {"ops": "yes"}}})
