"""metric_day_counts: a metric answered from its per-day sums gives the numbers its own tables
give, for every rolled-up definition, grain, filter, breakdown and period; and requests the
sums cannot answer exactly read the tables."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil

import duckdb
import pandas as pd
import pytest

import metrics
from metrics.metric_rollup import INDEX_TABLE, ROLLUP_TABLE

WINDOWS = [(None, None), (dt.datetime(2025, 1, 1), dt.datetime(2025, 3, 1)),
           (dt.datetime(2025, 2, 10), None)]


def answered_from_rollup(frame: pd.DataFrame) -> bool:
    return ROLLUP_TABLE in frame.attrs["sql"]


def without_rollups(path) -> metrics.Warehouse:
    wh = metrics.open_warehouse(path)
    wh.day_rollups = {}
    return wh


def assert_same_answer(rolled: pd.DataFrame, base: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(rolled.reset_index(drop=True), base.reset_index(drop=True),
                                  rtol=1e-12)
    for attr in ("notes", "incomplete_periods", "partial_periods", "version", "missing_inputs"):
        assert rolled.attrs[attr] == base.attrs[attr], attr


def requests(wh: metrics.Warehouse, grains: tuple[str, ...]):
    con = wh._open.con
    segments = [v for (v,) in con.execute("SELECT DISTINCT segment FROM leads "
                                          "WHERE segment IS NOT NULL ORDER BY 1").fetchall()]
    campaign = con.execute("SELECT MIN(campaign_id) FROM leads").fetchone()[0]
    channel = con.execute("SELECT MIN(source_channel) FROM leads").fetchone()[0]
    wheres = [None, {"segment": segments[0]}, {"segment": segments[:2], "region": ["NA"]},
              {"campaign_id": campaign}, {"source_channel": channel}]
    for grain in grains:
        for where in wheres:
            for start, end in WINDOWS:
                for by in (None, "segment"):
                    yield dict(grain=grain, where=where, start=start, end=end, by=by)


@pytest.mark.parametrize(("fixture", "grains"), [("tiny_warehouse_path", ("total", "month", "day")),
                                                 ("demo", ("total", "week"))])
def test_every_rolled_up_metric_matches_its_tables(request, fixture, grains):
    value = request.getfixturevalue(fixture)
    path = value if fixture == "tiny_warehouse_path" else value.path
    rolled, base = metrics.open_warehouse(path), without_rollups(path)
    try:
        assert len(rolled.day_rollups) >= 15  # every v1 metric but the medians
        answered = 0
        for name, defn in sorted(rolled.definitions().items()):
            for ask in requests(rolled, grains):
                got, want = rolled.query(name, **ask), base.query(name, **ask)
                assert not answered_from_rollup(want)
                assert_same_answer(got, want)
                answered += answered_from_rollup(got)
                assert answered_from_rollup(got) == (defn.kind != "median"), (name, ask)
        assert answered > 500
    finally:
        rolled.close()
        base.close()


def test_hand_counted_mql_to_sal_rate_from_the_rollup(tiny):
    # Tiny warehouse, by first MQL: January L1 (accepted) and L2 (skipped SAL); February L4
    # (recycled) and L5 (disqualified); March L6 (L4's second MQL stays in February).
    frame = tiny.query("mql_to_sal_rate", start=dt.datetime(2025, 1, 1),
                       end=dt.datetime(2025, 4, 1), grain="month")
    assert answered_from_rollup(frame)
    counted = {str(p): (n, d) for p, n, d in
               zip(frame["period"], frame["numerator"], frame["denominator"])}
    assert counted == {"2025-01-01": (1.0, 2.0), "2025-02-01": (0.0, 2.0),
                       "2025-03-01": (0.0, 1.0)}


def test_what_the_sums_cannot_answer_reads_the_tables(tiny):
    inside_a_day = tiny.query("mqls", start=dt.datetime(2025, 1, 7, 15), grain="total")
    industry = tiny.query("mqls", where={"industry": "Software"}, grain="total")
    median = tiny.query("median_hours_to_first_touch", grain="total")
    draft = dataclasses.replace(tiny.definition("mqls"),
                                text=tiny.definition("mqls").text + "\n-- a reviewer's note")
    assert not any(map(answered_from_rollup, (inside_a_day, industry, median,
                                              tiny.query(draft, grain="total"))))
    # First MQLs (UTC): L1 7 Jan 14:00, L2 13 Jan, L4 4 Feb, L5 10 Feb, L6 28 Mar. From 15:00 on
    # the 7th L1 is out; the day's sums would still count it.
    assert inside_a_day["value"].tolist() == [4]
    from_the_7th = tiny.query("mqls", start=dt.datetime(2025, 1, 7), grain="total")
    assert answered_from_rollup(from_the_7th) and from_the_7th["value"].tolist() == [5]


def test_a_warehouse_built_before_the_rollup_is_answered_from_its_tables(tiny_warehouse_path,
                                                                         tmp_path):
    path = tmp_path / "older.duckdb"
    shutil.copy(tiny_warehouse_path, path)
    con = duckdb.connect(str(path))
    con.execute(f"DROP TABLE {ROLLUP_TABLE}")
    con.execute(f"DROP TABLE {INDEX_TABLE}")
    con.close()
    wh = metrics.open_warehouse(path)
    try:
        assert wh.day_rollups == {}
        frame = wh.query("mqls", grain="total")
        assert not answered_from_rollup(frame) and frame["value"].tolist() == [5]
    finally:
        wh.close()
