"""Signing in for real: a real OpenID Connect provider on loopback, its login form in Chromium.

The provider is panva's oidc-provider (OpenID Certified), pinned in tests/e2e/oidc/ and
installed by `make test` (npm ci); tests/e2e/oidc/provider.mjs gives it this test's accounts
and Handoff as its one client. The app runs under `streamlit run` with an [auth] section in a
secrets file of this test's own, exactly as a deployment configures st.login, so nothing here
stands in for the identity provider, Authlib or Streamlit's cookie.

The first test must be the first request the app server sees: it checks that a deep link on a
freshly started server asks for sign-in.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import ROOT, _free_port, photograph

PROVIDER_DIR = ROOT / "tests" / "e2e" / "oidc"
NODE = shutil.which("node") or "/usr/bin/node"
METRIC = "mql_to_sal_rate"
# Who signs in, and what the provider says about them; their roles come from roles.toml.
PEOPLE = {
    "cmo@example.com": {"name": "Chief Marketing Officer", "email_verified": True},
    "marketing.ops@example.com": {"name": "Marketing Ops", "email_verified": True},
    "analyst@example.com": {"name": "Analyst", "email_verified": True},
    "new.hire@example.com": {"name": "New Hire", "email_verified": False},
}
LEADS = ("lead_id,created_at,source_channel,segment\n"
         "A1,2025-01-02T10:00:00Z,email,SMB\nA2,2025-01-03T10:00:00Z,webinars,Enterprise\n")
EVENTS = ("event_id,lead_id,stage,occurred_at\n"
          "e1,A1,lead,2025-01-02T10:00:00Z\ne2,A1,mql,2025-01-03T10:00:00Z\n")


def _wait_until_up(url: str, process: subprocess.Popen, log: Path, what: str) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} stopped at start (exit {process.returncode}):\n"
                        f"{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"{what} did not answer {url} within 60 s; see {log}")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def signed_in_app(tmp_path_factory):
    """(app URL, passwords): the identity provider and the app, each on a free loopback port."""
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("the sign-in test needs the identity provider installed: `make test` runs "
                    "`npm ci` in tests/e2e/oidc (Node.js from Debian's nodejs package).")
    from demo_warehouse import build_demo_warehouse

    import metrics

    folder = tmp_path_factory.mktemp("oidc")
    warehouse = build_demo_warehouse(folder / "warehouse.duckdb")
    catalog = metrics.open_catalog(folder / "catalog.sqlite")
    text = catalog.text(METRIC).replace("first_sal_at IS NOT NULL", "first_sql_at IS NOT NULL", 1)
    catalog.propose(METRIC, text, author="sales.ops@example.com", reason="accepted = qualified")

    app_port = _free_port()
    provider_port = next(port for port in iter(_free_port, None) if port != app_port)
    app_url = f"http://127.0.0.1:{app_port}"
    issuer = f"http://127.0.0.1:{provider_port}"
    passwords = {email: secrets.token_urlsafe(12) for email in PEOPLE}
    client_secret = secrets.token_urlsafe(24)
    settings = folder / "provider.json"
    settings.write_text(json.dumps({
        "port": provider_port, "app_url": app_url, "client_id": "handoff",
        "client_secret": client_secret,
        "users": {email: {**who, "password": passwords[email]} for email, who in PEOPLE.items()},
    }), encoding="utf-8")
    provider_log = folder / "provider.log"
    provider = subprocess.Popen([NODE, str(PROVIDER_DIR / "provider.mjs"), str(settings)],
                                cwd=PROVIDER_DIR, stdout=provider_log.open("w"),
                                stderr=subprocess.STDOUT)
    _wait_until_up(f"{issuer}/.well-known/openid-configuration", provider, provider_log,
                   "the identity provider")

    # The [auth] section a deployment writes; prompt=login because the default select_account
    # is a prompt this provider (like many) does not offer.
    secrets_file = folder / "secrets.toml"
    secrets_file.write_text(f"""
[auth]
redirect_uri = "{app_url}/oauth2callback"
cookie_secret = "{secrets.token_urlsafe(32)}"
client_id = "handoff"
client_secret = "{client_secret}"
server_metadata_url = "{issuer}/.well-known/openid-configuration"
client_kwargs = {{ prompt = "login" }}
""", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "HANDOFF_LOCAL_MODE"}
    env.update(METRICS_WAREHOUSE=str(warehouse), METRICS_CATALOG=str(folder / "catalog.sqlite"))
    app_log = folder / "streamlit.log"
    app = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(app_port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
         "--secrets.files", str(secrets_file)],
        cwd=ROOT, env=env, stdout=app_log.open("w"), stderr=subprocess.STDOUT)
    try:
        _wait_until_up(f"{app_url}/_stcore/health", app, app_log, "streamlit")
        yield app_url, passwords
    finally:
        _stop(app)
        _stop(provider)


def _open(page, wait_for_app, url: str) -> None:
    page.goto(url)
    wait_for_app(page)


def _sidebar(page) -> str:
    return page.inner_text('[data-testid="stSidebar"]')


def _assert_gate(page) -> None:
    """The sign-in gate: a Sign in button and nothing of the dashboard."""
    page.get_by_role("button", name="Sign in").wait_for(timeout=30000)
    body = page.inner_text("body")
    assert "Sign in with your company account" in body
    for dashboard in ("Period", "Import data", "Review inbox", "Acting as", "Data as of"):
        assert dashboard not in body, f"{dashboard!r} shown before sign-in"


def _sign_in(page, wait_for_app, email: str, password: str, *, wrong_first: bool = False,
             shot: Path | None = None) -> None:
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Example Corp sign-in").wait_for(timeout=30000)
    assert page.url.startswith("http://127.0.0.1:") and "/interaction/" in page.url
    if wrong_first:
        page.get_by_label("E-mail").fill(email)
        page.get_by_label("Password").fill(password + "-wrong")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("alert").wait_for(timeout=10000)
        assert "Wrong e-mail or password." in page.inner_text("body")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    if shot:
        page.screenshot(path=str(shot), full_page=True)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"http://127\.0\.0\.1:\d+/(\?.*)?$"), timeout=30000)
    wait_for_app(page)


def _sign_out(page, wait_for_app, shot: Path | None = None) -> None:
    page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign out of Example Corp?").wait_for(timeout=30000)
    page.get_by_role("button", name="Yes, sign me out").click()
    wait_for_app(page)
    _assert_gate(page)
    if shot:
        page.screenshot(path=str(shot), full_page=True)


def test_deep_links_need_sign_in_and_roles_follow_roles_toml(
        signed_in_app, page, wait_for_app, artifacts):
    app_url, passwords = signed_in_app
    # 1. A deep link is the freshly started server's first request: the gate, not the page.
    _open(page, wait_for_app, f"{app_url}/import_data?as=revops.admin@example.com")
    _assert_gate(page)
    page.screenshot(path=str(artifacts / "signin-gate.png"), full_page=True)
    for deep_link in ("inbox", "editor?metric=mql_to_sal_rate", "history", ""):
        _open(page, wait_for_app, f"{app_url}/{deep_link}")
        _assert_gate(page)

    # 2. The CMO signs in through the provider's form (a wrong password is refused there).
    _sign_in(page, wait_for_app, "cmo@example.com", passwords["cmo@example.com"],
             wrong_first=True, shot=artifacts / "signin-provider-form.png")
    sidebar = _sidebar(page)
    assert "Chief Marketing Officer <cmo@example.com> · approver · marketing" in sidebar
    assert "LOCAL MODE" not in sidebar and "Acting as" not in sidebar
    assert page.get_by_role("button", name="Sign out").is_visible()
    photograph(page, artifacts / "signin-signed-in.png")
    # Local mode's ?as= changes nothing once sign-in is configured.
    _open(page, wait_for_app, f"{app_url}/inbox?as=analyst@example.com")
    assert "cmo@example.com" in _sidebar(page) and "analyst@example.com" not in _sidebar(page)
    approve = page.get_by_role("button", name="Approve for marketing")
    approve.wait_for(timeout=30000)
    assert approve.is_enabled(), "an approver may approve for their team"

    # 3. Signing out goes through the provider and back to the gate; deep links need it again.
    _sign_out(page, wait_for_app, shot=artifacts / "signin-signed-out.png")
    _open(page, wait_for_app, f"{app_url}/inbox")
    _assert_gate(page)

    # 4. Marketing ops (an editor with the ops right) proposes and loads data, never approves.
    _sign_in(page, wait_for_app, "marketing.ops@example.com",
             passwords["marketing.ops@example.com"])
    assert "Marketing Ops <marketing.ops@example.com> · editor · marketing" in _sidebar(page)
    _open(page, wait_for_app, f"{app_url}/inbox")
    page.get_by_text("approves nothing").wait_for(timeout=30000)
    assert page.get_by_role("button", name=re.compile("^Approve")).count() == 0
    _open(page, wait_for_app, f"{app_url}/import_data")
    _load_and_restore(page, wait_for_app, artifacts)
    _sign_out(page, wait_for_app)

    # 5. A viewer sees the numbers but no editor or ops action.
    _sign_in(page, wait_for_app, "analyst@example.com", passwords["analyst@example.com"])
    assert "Analyst <analyst@example.com> · viewer · no team" in _sidebar(page)
    _open(page, wait_for_app, f"{app_url}/editor?metric={METRIC}")
    page.get_by_text("is a viewer and cannot propose").wait_for(timeout=30000)
    assert page.get_by_role("button", name=re.compile("^Propose")).count() == 0
    assert page.get_by_label("Reason for the change").count() == 0
    _open(page, wait_for_app, f"{app_url}/import_data")
    page.get_by_text("analyst@example.com is a viewer without the ops right").wait_for()
    assert page.locator('[data-testid="stFileUploader"]').count() == 0
    assert page.get_by_role("button", name=re.compile("^(Check|Load|Restore)")).count() == 0
    photograph(page, artifacts / "import-viewer.png")
    _sign_out(page, wait_for_app)


def _load_and_restore(page, wait_for_app, artifacts: Path) -> None:
    """Ops in a real browser: upload, check, confirm what is replaced, load, restore."""
    folder = artifacts.parent / "upload"
    folder.mkdir(exist_ok=True)
    (folder / "leads.csv").write_text(LEADS, encoding="utf-8")
    (folder / "lead_events.csv").write_text(EVENTS, encoding="utf-8")
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        [str(folder / "leads.csv"), str(folder / "lead_events.csv")])
    page.get_by_role("button", name="Check the files").click()
    wait_for_app(page)
    page.get_by_role("button", name="Load into the warehouse…").click()
    page.get_by_text("Replace the data for everyone?").wait_for(timeout=30000)
    wait_for_app(page)
    photograph(page, artifacts / "import.png")
    page.get_by_role("button", name="Replace the data for everyone").click()
    page.get_by_text("Loaded 4 rows").wait_for(timeout=60000)
    wait_for_app(page)
    assert "lead_events.csv, leads.csv · canonical format · loaded" in _sidebar(page)
    assert "/tmp" not in page.inner_text("body") and "uploads" not in _sidebar(page)
    photograph(page, artifacts / "import-loaded.png")
    page.get_by_role("button", name=re.compile("^Restore the data replaced")).first.click()
    page.get_by_text("Restored Demo data, 4,000 leads").wait_for(timeout=60000)
    wait_for_app(page)
    assert "Demo data, 4,000 leads (seed 11)" in _sidebar(page)


def test_an_unverified_email_is_refused(signed_in_app, page, wait_for_app, artifacts):
    app_url, passwords = signed_in_app
    _open(page, wait_for_app, f"{app_url}/inbox")
    _assert_gate(page)
    _sign_in(page, wait_for_app, "new.hire@example.com", passwords["new.hire@example.com"])
    page.get_by_text("says new.hire@example.com is not verified").wait_for(timeout=30000)
    body = page.inner_text("body")
    assert "Review inbox" not in body and "Data as of" not in body and "Period" not in body
    page.screenshot(path=str(artifacts / "signin-unverified.png"), full_page=True)
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign out of Example Corp?").wait_for(timeout=30000)
    page.get_by_role("button", name="Yes, sign me out").click()
    wait_for_app(page)
    _assert_gate(page)
