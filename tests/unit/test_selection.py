"""The one lead-filter compiler: each filter shape -> the SQL condition and its bound values,
and the same answer from the metric compiler and the page analyses."""

from __future__ import annotations

import datetime as dt

import pytest

from metrics.errors import QueryError
from metrics.selection import (
    LeadFilter,
    Selection,
    columns_of,
    lead_condition,
    resolve_range,
)

TYPES = {"segment": "VARCHAR", "region": "VARCHAR", "source_channel": "VARCHAR",
         "campaign_id": "VARCHAR", "lead_score": "DOUBLE",
         "sourced_by": "ENUM('marketing', 'sales', 'partner')", "industry": "VARCHAR"}
# lead_lifecycle-like table carrying some lead columns; the others are looked up in leads.
CARRIED = ("segment", "region", "source_channel", "campaign_id", "lead_score", "sourced_by")

SHAPES = [
    ({}, "TRUE", {}),
    ({"segment": "SMB"}, "l.segment IN ($f0_0)", {"f0_0": "SMB"}),
    ({"segment": ["SMB", "Enterprise"]}, "l.segment IN ($f0_0, $f0_1)",
     {"f0_0": "Enterprise", "f0_1": "SMB"}),
    ({"Region": ["NA"], "segment": []}, "l.region IN ($f0_0)", {"f0_0": "NA"}),
    ({"source_channel": ["paid_search"], "campaign_id": ["C1"]},
     "l.campaign_id IN ($f0_0) AND l.source_channel IN ($f1_0)",
     {"f0_0": "C1", "f1_0": "paid_search"}),
    ({"lead_score": ["72"]}, "l.lead_score IN (TRY_CAST($f0_0 AS DOUBLE))", {"f0_0": "72"}),
    ({"sourced_by": "marketing"}, "CAST(l.sourced_by AS TEXT) IN ($f0_0)",
     {"f0_0": "marketing"}),
    ({"industry": ["Retail"]},
     "l.lead_id IN (SELECT lead_id FROM leads WHERE industry IN ($f0_0))", {"f0_0": "Retail"}),
    ((("segment", ("SMB",)),), "l.segment IN ($f0_0)", {"f0_0": "SMB"}),
]


@pytest.mark.parametrize(("where", "sql", "params"), SHAPES)
def test_each_filter_shape_compiles_to_one_condition(where, sql, params):
    condition, bound, unsplit = lead_condition(LeadFilter.of(where),
                                               columns_of("l", TYPES, CARRIED), prefix="f")
    assert condition.sql("duckdb") == sql
    assert bound == params
    assert unsplit == ()


def test_an_unknown_dimension_is_refused_with_the_choices():
    with pytest.raises(QueryError, match="'colour' is not a lead column.*segment"):
        lead_condition(LeadFilter.of({"colour": "red"}), columns_of("l", TYPES), prefix="f")


def test_every_form_of_a_filter_is_the_same_value_and_cache_key():
    forms = [{"segment": ["SMB", "Enterprise"]}, {"SEGMENT": ("Enterprise", "SMB")},
             (("segment", ("SMB", "Enterprise")),), LeadFilter.of({"segment": ["Enterprise", "SMB"]})]
    filters = {LeadFilter.of(form) for form in forms}
    assert len(filters) == 1
    selection = Selection(dt.datetime(2025, 1, 1), dt.datetime(2025, 2, 1), where=forms[0])
    assert isinstance(selection.where, LeadFilter) and selection.where in filters


@pytest.mark.parametrize("where", [{"segment": ["SMB"]}, {"region": ["NA"], "segment": ["SMB"]},
                                   {"source_channel": ["paid_search"]},
                                   {"campaign_id": ["C1", "C2"]}, {"industry": ["Software"]},
                                   {"lead_score": ["80"]}, {"segment": ["nobody"]}])
def test_the_analyses_and_the_metrics_count_the_same_filtered_leads(tiny, where):
    from metrics.analysis import funnel, lead_count

    created = funnel(tiny, where=where)["leads"].iloc[0]
    metric = tiny.query("new_leads", grain="total", where=where)
    counted = int(metric["value"].iloc[0]) if len(metric) else 0
    assert created == counted
    assert lead_count(tiny, where=where) == counted


def test_last_12_months_is_twelve_complete_months_and_its_comparisons_coincide():
    start, end = resolve_range("last_12_months", dt.datetime(2026, 12, 2, 9, 30))
    assert (start, end) == (dt.datetime(2025, 12, 1), dt.datetime(2026, 12, 1))
    selection = Selection(start, end, as_of=dt.datetime(2026, 12, 2, 9, 30))
    assert not selection.partial
    assert (selection.previous().start, selection.previous().end) == (
        selection.last_year().start, selection.last_year().end)


def test_year_to_date_is_partial_and_says_so():
    as_of = dt.datetime(2026, 12, 2, 9, 30)
    selection = Selection(*resolve_range("year_to_date", as_of), as_of=as_of)
    assert selection.partial
    assert selection.describe() == "01 Jan 2026 – 02 Dec 2026"
