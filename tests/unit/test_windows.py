"""A scorecard tile's windowed query (several totals and a trend from one scan) gives exactly
the answers of the separate queries it replaces, for every metric and kind (medians too)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import metrics
from metrics.definitions import load_definition_files
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


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from demo_warehouse import build_demo_warehouse

    wh = metrics.open_warehouse(build_demo_warehouse(
        tmp_path_factory.mktemp("windows") / "warehouse.duckdb", leads=2000))
    yield wh
    wh.close()


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
