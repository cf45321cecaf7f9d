"""The review pack: a PDF with every section, charts titled with unit and definition version,
people's text printed as written (text extracted with pypdf)."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys

import pytest
from pypdf import PdfReader

import metrics
import tiny_warehouse
from metrics.catalog import open_catalog
from metrics.pack import PackError, build_pack, para_text, plain, write_pack
from metrics.paths import METRICS_DIR, REPO_ROOT
from metrics.review import freeze_review, load_review
from metrics.selection import LeadFilter, Selection

ROLES = {"users": {"cmo@example.com": {"teams": ["marketing"], "role": "approver"},
                   "vp.sales@example.com": {"teams": ["sales"], "role": "approver"}}}


@pytest.fixture(scope="module")
def frozen(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pack")
    catalog = open_catalog(folder / "catalog.sqlite", ROLES, definitions_dir=METRICS_DIR)
    wh = metrics.open_warehouse(tiny_warehouse.build_tiny_warehouse(folder / "wh.duckdb"),
                                catalog=catalog)
    selection = Selection(dt.datetime(2025, 1, 1), dt.datetime(2025, 4, 1), "month",
                          LeadFilter(), "Custom", as_of=wh.as_of)
    first = freeze_review(wh, catalog, selection, title="January review", user="cmo@example.com")
    catalog.add_review_item(first, "action", "Fix the SLA report", user="cmo@example.com",
                            owner_team="marketing", due_on="2025-03-01")
    catalog.add_annotation("2025-02-10", "Pricing <b>change</b>", user="cmo@example.com")
    catalog.add_annotation("2025-06-01", "After the period", user="cmo@example.com")
    review_id = freeze_review(wh, catalog, selection, title="Q1 <i>pipeline</i> review",
                              user="cmo@example.com")
    catalog.add_review_item(review_id, "decision", "Count <b>SQLs</b> as accepted & go",
                            user="cmo@example.com")
    catalog.add_review_item(review_id, "note", "SMB acceptance is low", user="vp.sales@example.com")
    catalog.add_review_item(review_id, "action", "Call back untouched MQLs",
                            user="vp.sales@example.com", owner_team="sales", due_on="2025-04-15")
    wh.close()
    return folder, catalog, load_review(catalog, review_id)


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_pack_has_every_section_and_labels_its_charts(frozen):
    _, catalog, review = frozen
    pdf, pages = build_pack(review, items=catalog.review_items(review.id),
                            open_actions=catalog.open_actions(before=review.id))
    assert pdf.startswith(b"%PDF") and pages == len(PdfReader(io.BytesIO(pdf)).pages) >= 4
    text = " ".join(pdf_text(pdf).split())
    for section in ("Scorecard: the metrics that matter", "Funnel", "Follow-up SLA",
                    "Lead volume & quality", "Campaign contribution by channel",
                    "Notes, decisions and actions", "Definitions that produced these numbers"):
        assert section in text, section
    assert "FROZEN REVIEW · Frozen on" in text and "data as of 31 Mar 2025" in text
    # Charts: title, unit and the definition version that produced them.
    # (→ prints as '->' only where DejaVu is missing: `make` installs it, see the Makefile.)
    assert plain("MQL → SAL acceptance rate") in text
    assert "% · definition mql_to_sal_rate v1" in text
    assert "count · new_leads v1, mqls v1" in text
    # Hand-counted frozen numbers: 1 of 5 MQLs accepted; 7 leads created.
    assert "20.0%" in text and "mql_to_sal_rate v1" in text
    # People's text is printed as written, never read as markup.
    assert "Q1 <i>pipeline</i> review" in text
    assert "Count <b>SQLs</b> as accepted & go" in text
    assert "Call back untouched MQLs sales 2025-04-15 open" in text
    # Events of the period, frozen with the review; people's text as written.
    assert "Events in the period" in text and "2025-02-10 Pricing <b>change</b> all" in text
    assert "After the period" not in text
    # The action still open from the January review is carried to this one.
    assert "Still open from earlier reviews" in text and "Fix the SLA report" in text


def test_paragraph_text_is_escaped():
    assert para_text("<b>x</b> & <font size=40>") == (
        "&lt;b&gt;x&lt;/b&gt; &amp; &lt;font size=40&gt;")


def test_pack_cli_and_an_unwritable_destination(frozen, tmp_path):
    folder, _, review = frozen
    out = tmp_path / "review.pdf"
    result = subprocess.run([sys.executable, "-m", "metrics", "pack", str(review.id), "--out",
                             str(out), "--catalog", str(folder / "catalog.sqlite")],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(b"%PDF") and "pages) for review 2" in result.stdout
    with pytest.raises(PackError, match="choose a folder that exists"):
        write_pack(review, tmp_path / "missing" / "review.pdf")
