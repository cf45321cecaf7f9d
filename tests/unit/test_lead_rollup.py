"""The daily lead counts built at load time give the funnel and SLA pages exactly the numbers
lead_lifecycle gives.

The funnel, its split and the SLA response distribution are computed both ways on the generated
demo warehouse (3,000 leads) under several sidebar filters and periods, and must agree; a
request the counts cannot answer exactly (a filter on another column, a bound inside a day)
reads lead_lifecycle, which the labels of the queries run prove.
"""

from __future__ import annotations

import pandas as pd
import pytest

from metrics import analysis
from metrics.lead_rollup import ROLLUP_TABLE

FILTERS = (
    None,
    {"segment": ["Enterprise"]},
    {"region": ["EMEA"], "source_channel": ["paid_search", "webinars"]},
    {"segment": ["SMB", "Mid-Market"], "region": ["NA"]},
    {"campaign_id": ["C001", "C002", "C003"]},
)
# Each computed with the rollup, then as on a warehouse built before it existed.
ANALYSES = (
    ("funnel", {}),
    ("breakdown_funnel", {"dimension": "segment"}),
    ("breakdown_funnel", {"dimension": "source_channel"}),
    ("sla_response_distribution", {}),
)


def _periods(wh) -> list[tuple]:
    end = pd.Timestamp(wh.as_of).normalize()
    return [(None, None), (end - pd.DateOffset(months=12), end),
            (end - pd.DateOffset(months=3), end - pd.DateOffset(months=1)),
            (pd.Timestamp("2000-01-01"), pd.Timestamp("2000-02-01"))]  # no leads at all


class QueryLabels:
    """The labels of the queries a warehouse runs, so a test can tell which table answered."""

    def __init__(self, wh, monkeypatch) -> None:
        self.labels: list[str] = []
        execute = wh.execute

        def recording(sql, params=None, *, label="query"):
            self.labels.append(label)
            return execute(sql, params, label=label)

        monkeypatch.setattr(wh, "execute", recording)

    def take(self) -> list[str]:
        taken, self.labels = self.labels, []
        return taken


def test_the_demo_warehouse_has_the_daily_counts_and_they_are_fewer_rows(demo):
    assert ROLLUP_TABLE in demo.schema
    rows, leads, mqls = demo.execute(
        f"SELECT COUNT(*), SUM(leads) FILTER (WHERE cohort = 'created'), "
        f"SUM(leads) FILTER (WHERE cohort = 'mql') FROM {ROLLUP_TABLE}").iloc[0]
    total, with_mql = demo.execute(
        "SELECT COUNT(*), COUNT(first_mql_at) FROM lead_lifecycle").iloc[0]
    assert (leads, mqls) == (total, with_mql)  # every lead counted once in each of its cohorts
    assert 0 < rows


@pytest.mark.parametrize("where", FILTERS, ids=lambda w: "all" if w is None else "+".join(w))
def test_daily_counts_equal_the_lifecycle_table(demo, monkeypatch, where):
    with_rollup = demo.schema
    without = {table: columns for table, columns in with_rollup.items() if table != ROLLUP_TABLE}
    queries = QueryLabels(demo, monkeypatch)
    counted = 0
    for start, end in _periods(demo):
        for name, kwargs in ANALYSES:
            compute = getattr(analysis, name)
            fast = compute(demo, start=start, end=end, where=where, **kwargs)
            assert all("daily counts" in label for label in queries.take())
            monkeypatch.setattr(demo, "schema", without)
            slow = compute(demo, start=start, end=end, where=where, **kwargs)
            assert not any("daily counts" in label for label in queries.take())
            monkeypatch.setattr(demo, "schema", with_rollup)
            pd.testing.assert_frame_equal(fast, slow, check_dtype=False)
            if name == "funnel":
                counted = max(counted, int(slow["leads"].iloc[0]))
    assert counted > 100  # the comparison covered real leads, not empty periods


@pytest.mark.parametrize("where, start_hour", [
    ({"industry": ["Software"]}, 0),  # industry is not a rollup column
    (None, 9),                        # the period starts at 09:00, inside a day
], ids=["other-column", "part-of-a-day"])
def test_a_request_the_counts_cannot_answer_reads_the_lifecycle_table(demo, monkeypatch, where,
                                                                        start_hour):
    end = pd.Timestamp(demo.as_of).normalize()
    start = end - pd.DateOffset(months=6) + pd.Timedelta(hours=start_hour)
    queries = QueryLabels(demo, monkeypatch)
    frame = analysis.funnel(demo, start=start, end=end, where=where)
    analysis.sla_response_distribution(demo, start=start, end=end, where=where)
    assert queries.take() == ["funnel", "SLA response distribution"]
    assert frame["leads"].iloc[0] > 0
