"""A real browser walks a definition change through propose → approve → approve.

Local mode's `?as=<email>` opens each step as a different person from roles.toml; the
screenshots of the editor, the inbox and the history go to test-artifacts/screenshots.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from .conftest import photograph as _photograph

METRIC = "mql_to_sal_rate"
OLD = "CASE WHEN first_sal_at IS NOT NULL THEN 1 ELSE 0 END AS numerator"
NEW = "CASE WHEN first_sql_at IS NOT NULL THEN 1 ELSE 0 END AS numerator"


def _open(page, wait_for_app, url: str) -> None:
    page.goto(url)
    wait_for_app(page)
    _no_exception(page)


def _no_exception(page) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()


def _settle(page, wait_for_app) -> None:
    page.wait_for_timeout(500)
    wait_for_app(page)
    _no_exception(page)


def test_a_change_goes_live_after_both_teams_sign_off(server, page, wait_for_app, artifacts):
    # Streamlit runs a fresh server's first session as an old-style pages/ app until some
    # session has called st.navigation, so a deep link must not be the first request.
    _open(page, wait_for_app, f"{server}/")

    # 1. Marketing ops edits the definition and proposes v2.
    _open(page, wait_for_app, f"{server}/editor?as=marketing.ops@example.com&metric={METRIC}")
    assert "LOCAL MODE" in page.inner_text('[data-testid="stSidebar"]')
    editor = page.locator("textarea").first
    text = editor.input_value()
    assert OLD in text
    editor.fill(text.replace("first_sal_at", "first_sal_att"))
    editor.press("Control+Enter")
    _settle(page, wait_for_app)
    body = page.inner_text("body")
    assert re.search(r"Line 13, column \d+", body), body[:2000]
    assert page.get_by_role("button", name="Propose v2").is_disabled()

    editor.fill(text.replace(OLD, NEW))
    editor.press("Control+Enter")
    _settle(page, wait_for_app)
    page.get_by_text("The draft lowers MQL → SAL acceptance rate").wait_for(timeout=30000)
    page.get_by_label("Reason for the change").fill("Accepted means sales qualified it")
    _photograph(page, artifacts / "editor.png")
    page.get_by_role("button", name="Propose v2").click()
    page.get_by_text("Proposed v2 of mql_to_sal_rate").wait_for(timeout=30000)
    _settle(page, wait_for_app)

    # 2. The CMO approves for marketing: still proposed.
    _open(page, wait_for_app, f"{server}/inbox?as=cmo@example.com")
    page.get_by_text("v2 lowers MQL → SAL acceptance rate").first.wait_for(timeout=30000)
    assert "Accepted means sales qualified it" in page.inner_text("body")
    _photograph(page, artifacts / "inbox.png")
    page.get_by_label("Comment (required to reject)").fill("Fine for marketing")
    page.get_by_role("button", name="Approve for marketing").click()
    page.get_by_text("now waits for sales").wait_for(timeout=30000)
    _settle(page, wait_for_app)

    # 3. The VP of sales approves for sales: v2 is live.
    _open(page, wait_for_app, f"{server}/inbox?as=vp.sales@example.com")
    assert "approved so far by marketing (cmo@example.com)" in page.inner_text("body")
    page.get_by_role("button", name="Approve for sales").click()
    page.get_by_text("v2 of mql_to_sal_rate is now active").wait_for(timeout=30000)
    _settle(page, wait_for_app)
    _photograph(page, artifacts / "inbox-approved.png")

    # 4. The history shows both versions and who signed v2 off.
    _open(page, wait_for_app, f"{server}/history?as=vp.sales@example.com&metric={METRIC}")
    body = page.inner_text("body")
    assert "active version v2" in body
    _photograph(page, artifacts / "history.png")

    # 5. Every page now computes the metric with v2, and its trend marks when v2 went live.
    _open(page, wait_for_app, f"{server}/")
    assert f"{METRIC} v2" in page.inner_text("body")
    # The explorer's metric picker is bound to the URL by its label.
    _open(page, wait_for_app,
          f"{server}/metric_detail?metric={quote('MQL → SAL acceptance rate')}")
    page.locator(".js-plotly-plot").first.get_by_text("v2 active").wait_for(timeout=30000)
    _photograph(page, artifacts / "explorer-v2.png")
