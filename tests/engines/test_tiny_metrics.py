"""tests/unit/test_metrics.py's hand-counted cases, run unchanged on PostgreSQL, ClickHouse and
Spark (this folder's `tiny` fixture is the tiny warehouse published to each engine)."""

from __future__ import annotations

from unit.test_metrics import *  # noqa: F403  (the same test functions, collected here again)
from unit.test_metrics import CASES


def test_results_name_the_engine_that_computed_them(tiny, engine):
    frame = tiny.query("new_leads", grain="total")
    assert frame.attrs["engine"].startswith({"postgres": "postgresql://", "clickhouse": "chdb://",
                                             "spark": "spark://"}[engine])
    assert frame["value"][0] == 7


def test_every_metric_of_the_catalog_has_a_hand_counted_case_here_too():
    from metrics.paths import METRICS_DIR

    assert {case[0] for case in CASES} == {path.stem for path in METRICS_DIR.glob("*.sql")}
