"""A real Chromium walks every page of the running app, with and without filters, follows the
in-page links, and photographs each page."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

PAGES = [("", "overview"), ("funnel", "funnel"), ("sla", "sla"), ("volume", "volume"),
         ("campaigns", "campaigns"), ("lead_scoring", "lead-scoring"), ("alerts", "alerts"),
         ("definitions", "definitions"),
         ("metric_detail?metric=mql_to_sal_rate&by=segment", "metric-explorer")]
# One filter shape per page, so every section is seen filtered (labels, as the URL carries them).
FILTERED = [("?segment=SMB", "overview-smb"), ("funnel?region=EMEA", "funnel-emea"),
            ("sla?channel=Paid+search&grain=Week", "sla-paid-search"),
            ("volume?segment=Enterprise&range=Year+to+date", "volume-enterprise-ytd"),
            ("campaigns?segment=SMB&region=NA", "campaigns-smb-na"),
            ("lead_scoring?segment=Enterprise", "lead-scoring-enterprise"),
            ("definitions?segment=SMB", "definitions-smb"),
            ("metric_detail?metric=win_rate&segment=Mid-Market", "metric-explorer-mid-market"),
            ("import_data?region=EMEA&range=Last+quarter", "import-emea")]


def assert_page_is_sound(page, name: str) -> None:
    """No Streamlit exception box and no red error box anywhere on the page."""
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, f"{name}: {exceptions.first.inner_text()}"
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, f"{name}: {errors.first.inner_text()}"
    assert page.locator("h1").count() >= 1, f"{name} has no title"


def test_every_page_renders_without_an_exception(server, page, wait_for_app, artifacts):
    for path, name in PAGES + FILTERED:
        page.goto(f"{server}/{path}")
        wait_for_app(page)
        assert_page_is_sound(page, name)
        page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def test_filters_travel_in_the_url(server, page, wait_for_app):
    page.goto(f"{server}/funnel?segment=Enterprise&grain=Quarter")
    wait_for_app(page)
    assert "Segment: Enterprise" in page.inner_text("body")
    # An in-page link, then the sidebar's navigation: the address keeps the filter each time,
    # once, so a link copied from any page opens the same view.
    for go_to, lands_on in ((lambda: page.get_by_role("link", name="Metrics that matter").click(),
                             lambda url: "/funnel" not in url),
                            (lambda: page.get_by_test_id("stSidebarNav")
                             .get_by_role("link", name="SLA").click(),
                             lambda url: "/sla" in url)):
        go_to()
        # The old page's heading is still there right after the click: wait for the new page.
        page.wait_for_url(lands_on, timeout=60000)
        wait_for_app(page)
        page.wait_for_function("() => /Segment: Enterprise/.test(document.body.innerText)",
                               timeout=30000)
        page.wait_for_url(lambda url: "grain=Quarter" in url, timeout=30000)
        query = parse_qs(urlparse(page.url).query)
        assert query.get("segment") == ["Enterprise"], page.url
        assert query.get("grain") == ["Quarter"], page.url


def test_tile_links_open_the_metric_they_name_and_keep_the_url_short(server, page, wait_for_app):
    page.goto(f"{server}/?segment=SMB")
    wait_for_app(page)
    lengths = []
    for _ in range(3):
        page.get_by_role("link", name="Trend and breakdown").nth(1).click()
        wait_for_app(page)
        query = parse_qs(urlparse(page.url).query)
        assert query["metric"] == ["mql_to_opportunity_rate"], page.url
        assert query["segment"] == ["SMB"], page.url
        assert "MQL → opportunity" in page.locator("h1").first.inner_text()
        assert_page_is_sound(page, "explorer from a tile")
        lengths.append(len(page.url))
        page.get_by_role("link", name="Metrics that matter").click()
        wait_for_app(page)
        lengths.append(len(page.url))
    assert len(set(lengths[0::2])) == 1 and len(set(lengths[1::2])) == 1, lengths
