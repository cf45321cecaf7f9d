"""Role gates under OIDC sign-in (st.user as st.login sets it): who may propose, approve, load
and restore, and who is not let in at all. Local mode's gates are in test_definitions_workflow
and test_import_page; the real identity provider is in tests/e2e/test_oidc_signin.py."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import metrics

from .conftest import APP

METRIC = "mql_to_sal_rate"
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
        "client_id": "handoff", "client_secret": "s",
        "server_metadata_url": "https://id.example/.well-known/openid-configuration"}


@pytest.fixture
def catalog(demo_env, tmp_path, monkeypatch):
    """A fresh catalog with one proposal by sales ops waiting for both teams."""
    path = tmp_path / "catalog.sqlite"
    monkeypatch.setenv("METRICS_CATALOG", str(path))
    cat = metrics.open_catalog(path)
    text = cat.text(METRIC).replace("first_sal_at IS NOT NULL", "first_sql_at IS NOT NULL", 1)
    cat.propose(METRIC, text, author="sales.ops@example.com", reason="accepted = qualified")
    return cat


def signed_in(page: str, user: dict, **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, **user}
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def as_email(email: str) -> dict:
    return {"email": email, "email_verified": True}


def plain(text: str) -> str:
    """Markdown as a reader sees it: no escapes, no code ticks (emails are shown as code)."""
    return text.replace("\\", "").replace("`", "")


def texts(at) -> str:
    kinds = ("error", "warning", "info", "success", "markdown", "caption")
    return plain("\n".join(str(e.value) for k in kinds for e in getattr(at, k)))


def labels(at) -> list[str]:
    return [b.label for b in at.button]


@pytest.mark.parametrize("email, may_approve", [
    ("cmo@example.com", True),               # approver of marketing
    ("marketing.ops@example.com", False),    # editor: proposes, never approves
    ("analyst@example.com", False),          # viewer
    ("sales.ops@example.com", False),        # its author: nobody approves their own
])
def test_only_approvers_of_an_owning_team_get_an_approve_button(catalog, email, may_approve):
    at = signed_in("views/inbox.py", as_email(email))
    approve = [b for b in at.button if b.label.startswith("Approve")]
    assert bool(approve) is may_approve, labels(at)


@pytest.mark.parametrize("email, refusal", [
    ("analyst@example.com", "is a viewer and cannot propose"),
    ("sales.ops@example.com", None),
])
def test_proposing_needs_an_editor_of_an_owning_team(catalog, email, refusal):
    at = signed_in("views/editor.py", as_email(email), metric=METRIC)
    if refusal:
        assert refusal in texts(at)
        # No form they cannot use: the sentence says who may propose instead.
        assert not [b for b in at.button if b.label.startswith("Propose")], labels(at)
        assert not [t for t in at.text_input if t.key == "propose-reason"]
    else:
        assert "cannot propose" not in texts(at)


@pytest.mark.parametrize("email, may_load", [
    ("marketing.ops@example.com", True), ("revops.admin@example.com", True),
    ("cmo@example.com", False), ("analyst@example.com", False),
    ("someone.new@example.com", False),  # signed in, but not in roles.toml: a viewer
])
def test_only_ops_and_admins_may_load_or_restore(catalog, email, may_load):
    at = signed_in("views/import_data.py", as_email(email))
    assert bool(at.get("file_uploader")) is may_load
    if not may_load:
        assert "only people with ops = true in roles.toml and admins may do it" in texts(at)


def test_signed_in_people_are_not_offered_local_modes_picker(catalog):
    at = signed_in("views/overview.py", as_email("analyst@example.com"),
                   **{"as": "revops.admin@example.com"})
    assert "Analyst <analyst@example.com> · viewer · no team" in texts(at)
    assert "LOCAL MODE" not in texts(at)
    assert not [s for s in at.selectbox if s.key == "acting-as"]


@pytest.mark.parametrize("user, refusal", [
    ({"email": "new.hire@example.com", "email_verified": False},
     "says new.hire@example.com is not verified"),
    ({"name": "No Mail"}, "did not send an email address"),
])
def test_without_a_verified_email_nobody_gets_in(catalog, user, refusal):
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, **user}
    at.run()
    assert not at.exception
    assert refusal in plain(at.error[0].value)
    assert labels(at) == ["Sign out"] and not at.metric and not at.sidebar.selectbox


@pytest.mark.parametrize("email, may_set", [
    ("cmo@example.com", True),              # approver of marketing
    ("vp.sales@example.com", True),         # approver of sales
    ("marketing.ops@example.com", False),   # editor
    ("analyst@example.com", False),         # viewer
])
def test_only_approvers_may_import_targets_and_the_others_are_told_who(catalog, email, may_set):
    at = signed_in("views/reviews.py", as_email(email))
    assert not at.exception, [e.value for e in at.exception]
    assert bool(at.get("file_uploader")) is may_set
    if not may_set:
        shown = texts(at)
        assert "Only approvers of a metric's owning team import its targets" in shown
        assert "cmo@example.com" in shown and "vp.sales@example.com" in shown
