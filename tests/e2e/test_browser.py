"""A real Chromium walks every page of the running app and photographs it."""

from __future__ import annotations


PAGES = [("", "overview"), ("funnel", "funnel"), ("sla", "sla"), ("volume", "volume"),
         ("campaigns", "campaigns"), ("definitions", "definitions"),
         ("metric_detail?metric=mql_to_sal_rate&by=segment", "metric-explorer")]


def test_every_page_renders_without_an_exception(server, page, wait_for_app, artifacts):
    for path, name in PAGES:
        page.goto(f"{server}/{path}")
        wait_for_app(page)
        exceptions = page.locator('[data-testid="stException"]')
        assert exceptions.count() == 0, f"{name}: {exceptions.first.inner_text()}"
        assert page.locator("h1").count() >= 1, f"{name} has no title"
        page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def test_filters_travel_in_the_url(server, page, wait_for_app):
    page.goto(f"{server}/funnel?segment=Enterprise&grain=quarter")
    wait_for_app(page)
    assert "Segment: Enterprise" in page.inner_text("body")
    page.get_by_role("link", name="Metrics that matter").click()
    wait_for_app(page)
    assert "segment=Enterprise" in page.url
