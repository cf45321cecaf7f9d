"""A real browser freezes a review, opens it by its link as a viewer, and downloads its PDF."""

from __future__ import annotations

from .conftest import photograph


def test_freeze_a_review_open_it_and_download_the_pack(server, page, wait_for_app, artifacts):
    # A fresh server's first session must not be a deep link (see test_signoff).
    page.goto(f"{server}/")
    wait_for_app(page)

    page.goto(f"{server}/reviews?as=cmo@example.com&segment=SMB")
    wait_for_app(page)
    page.get_by_label("Title").fill("Browser review")
    page.get_by_role("button", name="Freeze this review").click()
    page.get_by_text("Froze review").wait_for(timeout=60000)
    wait_for_app(page)
    body = page.inner_text("body")
    assert "Browser review" in body and "Frozen on" in body
    assert "Scorecard (frozen)" in body and "Segment: SMB" in body
    assert "review=" in page.url
    review_id = page.url.split("review=")[1].split("&")[0]

    with page.expect_download(timeout=60000) as download:
        page.get_by_role("button", name="Download the PDF pack").click()
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    photograph(page, artifacts / "reviews.png")

    # The link opens the same frozen review for someone else, read-only.
    page.goto(f"{server}/reviews?as=analyst@example.com&review={review_id}")
    wait_for_app(page)
    body = page.inner_text("body")
    assert "Browser review" in body and "Frozen on" in body
    assert "Editors, approvers and admins write decisions" in body
