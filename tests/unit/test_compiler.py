"""The compiler's plans give the same answers as the plain one: lead dimensions read from the
metric's own table instead of a join, and compiled SQL reused across requests of one shape."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from metrics.compiler import QueryRequest, compile_metric, request_shape
from metrics.selection import LeadFilter
from metrics.definitions import load_definition_files, parse_definition

NAMES = sorted(load_definition_files())
# (by, where): lead dimensions in a breakdown, in filters, several values, non-VARCHAR types.
CASES = [
    ("segment", None),
    ("region", {"segment": ["SMB", "Enterprise"]}),
    (None, {"source_channel": ["paid_search", "webinars"], "sourced_by": ["marketing"]}),
    ("industry", {"region": ["EMEA"]}),
    ("sourced_by", {"campaign_id": ["C001", "C002", "C1"]}),
    (None, {"lead_score": ["0.5", "80"]}),
]



def joined(wh, name: str, **kwargs) -> pd.DataFrame:
    """The metric computed with every lead dimension joined from `leads` (no copies used)."""
    defn = wh.definition(name)
    prepared = wh.prepare(defn)
    request = QueryRequest(grain=kwargs.get("grain", "month"), by=kwargs.get("by"),
                           where=LeadFilter.of(kwargs.get("where")))
    compiled = compile_metric(defn, prepared.query, request, metric_columns=prepared.columns,
                              lead_columns=wh.lead_columns, row_cap=wh.row_cap, as_of=wh.as_of)
    frame = wh.execute(compiled.sql, compiled.params)
    if "period" in frame:
        frame["period"] = pd.to_datetime(frame["period"]).dt.date
    return frame


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("by", "where"), CASES)
@pytest.mark.parametrize("warehouse", ["tiny", "demo"])
def test_lead_dimensions_without_the_join_give_the_joins_answers(request, warehouse, name, by,
                                                                 where):
    wh = request.getfixturevalue(warehouse)
    for grain in ("month", "total"):
        got = wh.query(name, grain=grain, by=by, where=where)
        expected = joined(wh, name, grain=grain, by=by, where=where)
        pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False)


@pytest.mark.parametrize("name", ["mql_to_sal_rate", "new_leads", "win_rate", "pipeline_to_spend",
                                  "marketing_cac", "marketing_sourced_pipeline_share"])
def test_metrics_on_lifecycle_tables_filter_without_joining_leads(tiny, name):
    frame = tiny.query(name, by="region", where={"segment": "SMB"})
    assert " JOIN " not in frame.attrs["sql"].upper()


def _custom(sql: str, anchor: str = "occurred_at"):
    return parse_definition(f"""-- name: custom
-- label: Custom
-- owners: marketing
-- kind: count
-- unit: count
-- direction: up
-- anchor: {anchor}
-- description: A test metric.
{sql}""")


@pytest.mark.parametrize(("sql", "anchor", "by"), [
    # touches.campaign_id is the touch's campaign, not the lead's: never a copy.
    ("SELECT lead_id, occurred_at, 1 AS value FROM touches", "occurred_at", "campaign_id"),
    # opportunity_lifecycle repeats some lead columns, not industry.
    ("SELECT lead_id, closed_at, 1 AS value FROM opportunity_lifecycle", "closed_at", "industry"),
    # a join in the metric: the source of a lead column is ambiguous.
    ("SELECT l.lead_id, l.created_at, 1 AS value FROM lead_lifecycle l "
     "JOIN opportunity_lifecycle o ON o.lead_id = l.lead_id", "created_at", "segment"),
    # one row per lead made by aggregating: a new column would change the grouping.
    ("SELECT lead_id, MIN(occurred_at) AS occurred_at, 1 AS value FROM lead_events "
     "GROUP BY lead_id", "occurred_at", "segment"),
    # a UNION that removes duplicates: an extra column would change which rows are duplicates.
    ("SELECT lead_id, created_at, 1 AS value FROM lead_lifecycle UNION "
     "SELECT lead_id, created_at, 1 AS value FROM lead_lifecycle", "created_at", "segment"),
])
def test_other_metric_shapes_join_leads_and_agree(tiny, sql, anchor, by):
    defn = _custom(sql, anchor)
    frame = tiny.query(defn, grain="total", by=by, where={"region": "NA"})
    assert " JOIN LEADS AS D " in frame.attrs["sql"].upper()


def test_requests_of_one_shape_share_their_sql_and_bind_their_own_values(tiny):
    first = tiny.query("mqls", grain="total", start="2025-01-01", where={"segment": "SMB"})
    second = tiny.query("mqls", grain="total", start="2025-02-01", where={"segment": "Enterprise"})
    assert first.attrs["sql"] == second.attrs["sql"]
    assert (first["value"][0], second["value"][0]) == (3, 0)  # L1 L5 L6 / L2 is in January
    shapes = {request_shape(QueryRequest(start=dt.datetime(2025, m, 1),
                                         where=LeadFilter.of({"region": r})))
              for m, r in ((1, "NA"), (2, "EMEA"))}
    assert len(shapes) == 1
