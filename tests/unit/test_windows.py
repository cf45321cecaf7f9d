"""A scorecard tile's windowed query (several totals and a trend from one scan) gives exactly
the answers of the separate queries it replaces, for every metric and kind (medians too)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from metrics.definitions import load_definition_files, parse_definition
from metrics.errors import QueryError

NAMES = sorted(load_definition_files())
D = dt.datetime
# (windows, trend): overlapping windows, one with no data at all, an open-ended one, a trend
# that starts mid-month, and a window with a filter that matches nothing.
CASES = [
    ([(D(2025, 1, 1), D(2025, 4, 1)), (D(2024, 10, 1), D(2025, 1, 1))], (D(2024, 10, 1), D(2025, 4, 1))),
    ([(D(2025, 2, 1), D(2025, 3, 1)), (D(2010, 1, 1), D(2010, 2, 1))], (D(2025, 1, 15), D(2025, 6, 1))),
    ([(None, D(2025, 3, 1)), (D(2025, 1, 10), None)], None),
]
WHERES = [None, {"segment": ["SMB"]}, {"region": ["EMEA"], "source_channel": ["webinars"]},
          {"segment": ["nobody"]}]



def assert_same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True),
                                  check_dtype=False)
    assert got["value"].dtype.kind == expected["value"].dtype.kind  # a count stays an integer
    for key in ("metric", "version", "unit", "notes", "incomplete_periods"):
        assert got.attrs[key] == expected.attrs[key], key


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("where", WHERES)
def test_windows_match_separate_queries_on_the_tiny_warehouse(tiny, name, where):
    for windows, trend in CASES:
        totals, series = tiny.query_windows(name, windows=windows, trend=trend, where=where)
        assert len(totals) == len(windows)
        for (start, end), total in zip(windows, totals):
            assert_same(total, tiny.query(name, start=start, end=end, grain="total", where=where))
        if trend is None:
            assert series is None
        else:
            assert_same(series, tiny.query(name, start=trend[0], end=trend[1], grain="month",
                                           where=where))


@pytest.mark.parametrize("name", NAMES)
def test_windows_match_separate_queries_on_a_demo_warehouse(demo, name):
    end = D(2026, 10, 1)
    windows = [(D(2025, 10, 1), end), (D(2024, 10, 1), D(2025, 10, 1)), (D(2025, 7, 1), D(2025, 10, 1))]
    trend = (D(2025, 9, 1), end)
    for where in (None, {"segment": ["Enterprise", "SMB"]}):
        totals, series = demo.query_windows(name, windows=windows, trend=trend, grain="week",
                                            where=where)
        for (start, stop), total in zip(windows, totals):
            assert_same(total, demo.query(name, start=start, end=stop, grain="total", where=where))
        assert_same(series, demo.query(name, start=trend[0], end=trend[1], grain="week",
                                       where=where))


@pytest.mark.parametrize("name, shape", [("mql_to_sal_rate", "WITH CELLS AS"),
                                         ("median_hours_to_first_touch", "GROUPING SETS")])
def test_windows_read_the_rows_once(tiny, name, shape):
    """Additive kinds sum partial aggregates of a few cells; a median cannot, so it groups
    by grouping sets. Either way the metric's rows are read once."""
    totals, _ = tiny.query_windows(name, windows=[(D(2025, 1, 1), D(2025, 2, 1))],
                                   trend=(D(2025, 1, 1), D(2025, 4, 1)))
    sql = totals[0].attrs["sql"].upper()
    assert shape in sql and sql.count("FROM LEAD_LIFECYCLE") == 1


def test_windows_check_their_bounds_like_a_query(tiny):
    with pytest.raises(QueryError, match="must be after the start"):
        tiny.query_windows("new_leads", windows=[(D(2025, 3, 1), D(2025, 1, 1))])
    with pytest.raises(QueryError, match="not a dimension"):
        tiny.query_windows("new_leads", windows=[(None, None)], where={"colour": ["red"]})


# -- several metrics per query -----------------------------------------------------------------

MQL_COHORT = ["mql_to_sal_rate", "mql_to_opportunity_rate", "revenue_per_mql",
              "sla_first_touch_compliance"]


@pytest.mark.parametrize("where", WHERES)
def test_a_batch_answers_every_metric_as_its_own_windowed_query(tiny, where):
    for windows, trend in CASES:
        batch = tiny.query_window_batch(NAMES, windows=windows, trend=trend, where=where)
        assert list(batch) == NAMES
        for name in NAMES:
            totals, series = tiny.query_windows(name, windows=windows, trend=trend, where=where)
            got_totals, got_series = batch[name]
            for got, expected in zip(got_totals, totals, strict=True):
                assert_same(got, expected)
            if trend is None:
                assert got_series is None
            else:
                assert_same(got_series, series)


def test_a_batch_matches_on_a_demo_warehouse(demo):
    windows = [(D(2025, 10, 1), D(2026, 10, 1)), (D(2024, 10, 1), D(2025, 10, 1))]
    trend = (D(2025, 9, 1), D(2026, 10, 1))
    batch = demo.query_window_batch(NAMES, windows=windows, trend=trend,
                                    where={"segment": ["SMB"]})
    for name in NAMES:
        totals, series = demo.query_windows(name, windows=windows, trend=trend,
                                            where={"segment": ["SMB"]})
        for got, expected in zip(batch[name][0], totals, strict=True):
            assert_same(got, expected)
        assert_same(batch[name][1], series)


def test_metrics_that_read_the_same_rows_share_one_scan(tiny):
    batch = tiny.query_window_batch(MQL_COHORT + ["new_leads"], windows=[(D(2025, 1, 1), D(2025, 4, 1))])
    shared = {batch[name][0][0].attrs["sql"] for name in MQL_COHORT}
    assert len(shared) == 1
    sql = shared.pop().upper()
    assert sql.count("FROM LEAD_LIFECYCLE") == 1 and "NUMERATOR__3" in sql
    # new_leads counts by created_at: other rows, so its own query.
    assert batch["new_leads"][0][0].attrs["sql"] != batch["mql_to_sal_rate"][0][0].attrs["sql"]


def _variant(name: str, new_name: str, numerator: str):
    """A copy of a metric under another name whose numerator is `numerator`."""
    text = load_definition_files()[name].text
    text = text.replace(f"-- name: {name}", f"-- name: {new_name}")
    text = text.replace("CASE WHEN first_sal_at IS NOT NULL THEN 1 ELSE 0 END", numerator)
    return parse_definition(text, source=f"{new_name}.sql")


def test_a_metric_that_fails_at_run_time_fails_alone(tiny):
    broken = _variant("mql_to_sal_rate", "broken_rate", "CAST(lead_id AS INTEGER)")
    window = [(D(2025, 1, 1), D(2025, 4, 1))]
    batch = tiny.query_window_batch(["mql_to_sal_rate", broken, "revenue_per_mql",
                                     "not_a_metric"], windows=window)
    assert isinstance(batch["broken_rate"], QueryError)
    assert "broken_rate" in str(batch["broken_rate"])
    assert isinstance(batch["not_a_metric"], QueryError)
    for name in ("mql_to_sal_rate", "revenue_per_mql"):
        assert_same(batch[name][0][0], tiny.query_windows(name, windows=window)[0][0])


def test_metrics_that_give_a_shared_column_different_meanings_run_apart(tiny):
    # Same rows, but `touched_by` (kept from the original) would mean two things if merged:
    other = _variant("sla_first_touch_compliance", "other_sla", "1")
    other_text = other.text.replace("first_sales_touch_rep_id AS touched_by",
                                    "owner_id AS touched_by")
    other = parse_definition(other_text, source="other_sla.sql")
    window = [(D(2025, 1, 1), D(2025, 4, 1))]
    batch = tiny.query_window_batch(["sla_first_touch_compliance", other], windows=window)
    for name, defn in (("sla_first_touch_compliance", "sla_first_touch_compliance"),
                       ("other_sla", other)):
        assert_same(batch[name][0][0], tiny.query_windows(defn, windows=window)[0][0])
    assert batch["other_sla"][0][0].attrs["sql"] != \
        batch["sla_first_touch_compliance"][0][0].attrs["sql"]
