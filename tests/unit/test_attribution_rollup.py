"""The rollup built at load time gives the campaigns page exactly the numbers the touches give.

Attribution and influence are read from opportunity_campaign_credit when the warehouse has it;
here every model, both levels and the performance tables are computed both ways on the
generated demo warehouse (3,000 leads, many journeys of several touches) under several lead
filters and periods, and must agree row for row.
"""

from __future__ import annotations

import pandas as pd
import pytest

from metrics import analysis
from metrics.attribution import (
    MODELS,
    ROLLUP_HALF_LIFE_DAYS,
    ROLLUP_TABLE,
    attribution,
    uses_rollup,
)

FILTERS = (
    None,
    {"segment": ["Enterprise"]},
    {"region": ["EMEA"], "source_channel": ["paid_search", "webinars"]},
    {"segment": ["SMB", "Mid-Market"], "region": ["NA"]},
    # industry is a lead column opportunity_lifecycle does not repeat: looked up in leads.
    {"industry": ["Software"]},
)


def _periods(wh) -> list[tuple]:
    end = pd.Timestamp(wh.as_of)
    return [(None, None), (end - pd.DateOffset(months=12), end),
            (end - pd.DateOffset(months=3), end - pd.DateOffset(months=1))]


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("key", ignore_index=True)


def test_the_demo_warehouse_has_the_rollup_and_attribution_reads_it(demo):
    assert ROLLUP_TABLE in demo.schema
    assert all(uses_rollup(demo, model) for model in MODELS)
    assert not uses_rollup(demo, "time_decay", ROLLUP_HALF_LIFE_DAYS * 2)


@pytest.mark.parametrize("where", FILTERS, ids=lambda w: "all" if w is None else "+".join(w))
def test_rollup_attribution_equals_the_touches(demo, where):
    journeys = 0
    for start, end in _periods(demo):
        for model in MODELS:
            for level in ("campaign", "channel"):
                fast = attribution(demo, model=model, start=start, end=end, where=where,
                                   level=level)
                slow = attribution(demo, model=model, start=start, end=end, where=where,
                                   level=level, use_rollup=False)
                pd.testing.assert_frame_equal(_keyed(fast), _keyed(slow), check_exact=False,
                                              rtol=1e-9, atol=1e-6)
                journeys = max(journeys, round(slow["credit"].sum()))
    assert journeys > 20  # the comparison covered real journeys, not empty tables


def test_another_half_life_is_computed_from_the_touches(demo):
    half_life = ROLLUP_HALF_LIFE_DAYS * 3
    assert not uses_rollup(demo, "time_decay", half_life)
    default = attribution(demo, model="time_decay")
    longer = attribution(demo, model="time_decay", half_life_days=half_life)
    slow = attribution(demo, model="time_decay", half_life_days=half_life, use_rollup=False)
    pd.testing.assert_frame_equal(_keyed(longer), _keyed(slow))
    # A longer half-life spreads credit differently: the rollup's 7 days was not used.
    assert not _keyed(longer)["credit"].round(6).equals(_keyed(default)["credit"].round(6))


@pytest.mark.parametrize("function", ["campaign_performance", "channel_performance"])
def test_rollup_influence_equals_the_touches(demo, monkeypatch, function):
    compute = getattr(analysis, function)
    with_rollup = demo.schema
    # What a warehouse built before the rollup existed looks like to the engine.
    without = {table: columns for table, columns in with_rollup.items() if table != ROLLUP_TABLE}
    for where in FILTERS:
        for start, end in _periods(demo):
            fast = compute(demo, start=start, end=end, where=where)
            monkeypatch.setattr(demo, "schema", without)
            assert not uses_rollup(demo, "linear")
            slow = compute(demo, start=start, end=end, where=where)
            monkeypatch.setattr(demo, "schema", with_rollup)
            pd.testing.assert_frame_equal(fast, slow, check_exact=False, rtol=1e-9)
    assert (slow["influenced_pipeline"] > 0).any()
