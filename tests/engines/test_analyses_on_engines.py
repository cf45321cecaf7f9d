"""Every page analysis on PostgreSQL, ClickHouse and Spark gives DuckDB's frame on the same
warehouse: under the default view, a segment filter, a short period and an empty period.

DuckDB's frame is the expectation: exact for counts (integer columns), 1e-9 relative for the
rest (medians, shares, fractional credits). A missing value only equals a missing value.
PostgreSQL and ClickHouse run every analysis under every view on the generated warehouse;
Spark (about a second per query) runs a sample of a few dozen queries on the edge warehouse
(sub-second times, year edges, null segments), and everything with `-m spark_full`.
The Lead scoring page's analyses (metrics.scoring) are not yet portable and say so.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import metrics
from metrics import analysis, attribution, scoring
from metrics.engines.dialects import EngineSQLError

# A short period per warehouse (the edge one's crosses a year edge) and one with no data.
SHORT = {"generated": (dt.datetime(2026, 6, 1), dt.datetime(2026, 7, 1)),
         "edge": (dt.datetime(2024, 12, 15), dt.datetime(2025, 1, 15))}
EMPTY = (dt.datetime(2030, 1, 1), dt.datetime(2030, 2, 1))
VIEWS = ("default", "segment", "short", "empty")


@pytest.fixture(scope="session")
def warehouses(engine_servers, engine, request):
    """(the engine's, DuckDB's) warehouse and its label: the generated one, or on Spark the
    edge one it already holds (publishing another costs Spark minutes)."""
    label = "edge" if engine == "spark" else "generated"
    path = request.getfixturevalue(f"{label}_warehouse_path")
    duck = metrics.open_warehouse(path)
    yield engine_servers.warehouse(engine, path, label), duck, label
    duck.close()


def _view(name: str, label: str) -> dict:
    if name == "segment":
        return {"where": {"segment": ["SMB"]}}
    if name == "short":
        return dict(zip(("start", "end"), SHORT[label]))
    if name == "empty":
        return dict(zip(("start", "end"), EMPTY))
    return {}


def _first_campaign(duck) -> str:
    return str(duck.execute("SELECT MIN(campaign_id) AS c FROM leads")["c"].iloc[0])


def _busiest_lead(duck) -> str:
    """The lead with the most stage events and touches (ties broken by id)."""
    return str(duck.execute("""
        SELECT lead_id FROM (SELECT lead_id FROM lead_events UNION ALL
                             SELECT lead_id FROM touches) AS e
        GROUP BY lead_id ORDER BY COUNT(*) DESC, lead_id LIMIT 1""")["lead_id"].iloc[0])


# name -> (run(warehouse, view kwargs, DuckDB warehouse), the views Spark's sample runs)
ANALYSES = {
    "funnel": (lambda wh, v, d: analysis.funnel(wh, **v), ("default", "segment")),
    "funnel split": (lambda wh, v, d: analysis.breakdown_funnel(wh, dimension="region", **v),
                     ("default",)),
    "MQL cohorts": (lambda wh, v, d: analysis.cohort_progress(wh, **v), ("default", "short")),
    "stage velocity": (lambda wh, v, d: analysis.stage_velocity(wh, **v), ("default", "segment")),
    "pipeline velocity": (lambda wh, v, d: analysis.pipeline_velocity(wh, **v), ("default",)),
    "SLA distribution": (lambda wh, v, d: analysis.sla_response_distribution(wh, **v),
                         ("default", "empty")),
    "SLA by rep": (lambda wh, v, d: analysis.sla_by_rep(wh, **v), ("default", "segment")),
    "rejection reasons": (lambda wh, v, d: analysis.rejection_reasons(wh, **v), ("default",)),
    "campaign performance": (lambda wh, v, d: analysis.campaign_performance(wh, **v),
                             ("default", "segment")),
    "channel performance": (lambda wh, v, d: analysis.channel_performance(wh, **v), ("short",)),
    "campaign leads": (lambda wh, v, d: analysis.campaign_leads(wh, _first_campaign(d), **v),
                       ("default",)),
    "campaign leads at SQL": (lambda wh, v, d: analysis.campaign_leads(
        wh, _first_campaign(d), reached="sql", **v), ()),
    "attribution credits": (lambda wh, v, d: attribution.attribution_credits(
        wh, model="w_shaped", **v), ("default",)),
    "time decay, 3-day half-life": (lambda wh, v, d: attribution.attribution(
        wh, model="time_decay", half_life_days=3.0, level="channel", **v), ("short",)),
}
for _model in attribution.MODELS:
    for _level in attribution.LEVELS:
        for _path in ("rollup", "touches"):
            ANALYSES[f"{_model} {_level} attribution from the {_path}"] = (
                lambda wh, v, d, m=_model, lv=_level, p=_path: attribution.attribution(
                    wh, model=m, level=lv, use_rollup=p == "rollup", **v),
                ("default",) if (_level, _path) == ("campaign", "rollup")
                or (_model, _level) == ("linear", "channel") else ())
# Not by period: the queue as of the data, and one lead's story.
UNDATED = {
    "untouched MQLs": (lambda wh, v, d: analysis.untouched_mqls(wh, **v), ("default",)),
    "untouched MQLs of 30 days": (lambda wh, v, d: analysis.untouched_mqls(
        wh, max_age_days=30, **v), ("segment",)),
    "untouched summary": (lambda wh, v, d: analysis.untouched_summary(wh, **v), ("default",)),
}


def assert_same_analysis(got, want, what: str) -> None:
    """DuckDB's frame (`want`) and an engine's: same columns, rows and values (see above)."""
    if not isinstance(want, pd.DataFrame):
        assert got == want, what
        return
    pd.testing.assert_frame_equal(_comparable(got), _comparable(want), check_dtype=False,
                                  rtol=1e-9, obj=what)


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """One spelling of each value whatever the driver's dtype: missing as None, text as str,
    times in microseconds, nullable integers as floats (NaN, never 0)."""
    frame = frame.reset_index(drop=True).copy()
    for column in frame.columns:
        values = frame[column]
        if values.isna().all():
            frame[column] = pd.Series([None] * len(values), dtype=object)
        elif str(values.dtype).startswith("datetime64"):
            frame[column] = values.astype("datetime64[us]")
        elif values.dtype == object or isinstance(values.dtype, pd.StringDtype):
            frame[column] = values.astype(object).where(values.notna(), None)
        elif isinstance(values.dtype, pd.api.extensions.ExtensionDtype) \
                and values.dtype.kind in "iuf":
            frame[column] = values.astype("float64")
    return frame


def _check(on_engine, duck, label: str, run, views, what: str) -> None:
    for view in views:
        kwargs = _view(view, label)
        assert_same_analysis(run(on_engine, kwargs, duck), run(duck, kwargs, duck),
                             f"{what}, {view} view")


def _views(engine: str, views, sample):
    """All views, or on Spark its sample (none: the analysis runs there with -m spark_full)."""
    if engine != "spark":
        return views
    if not sample:
        pytest.skip("on Spark this analysis runs with -m spark_full (make test: a sample)")
    return sample


@pytest.mark.parametrize("name", list(ANALYSES))
def test_analysis_gives_duckdbs_numbers(warehouses, engine, name):
    run, sample = ANALYSES[name]
    _check(*warehouses, run, _views(engine, VIEWS, sample), f"{engine} {name}")


@pytest.mark.parametrize("name", list(UNDATED))
def test_undated_analysis_gives_duckdbs_numbers(warehouses, engine, name):
    run, sample = UNDATED[name]
    _check(*warehouses, run, _views(engine, ("default", "segment"), sample), f"{engine} {name}")


def test_lead_journey_gives_duckdbs_story(warehouses, engine):
    on_engine, duck, _ = warehouses
    lead = _busiest_lead(duck)
    journey = analysis.lead_journey(duck, lead)
    assert len(journey) > 3  # a story worth comparing: events, touches, an opportunity or two
    assert_same_analysis(analysis.lead_journey(on_engine, lead), journey, f"{engine} {lead}")


@pytest.mark.spark_full
@pytest.mark.parametrize("name", [*ANALYSES, *UNDATED])
def test_every_analysis_and_view_on_spark(engine_servers, edge_warehouse_path, name):
    spark = engine_servers.warehouse("spark", edge_warehouse_path, "edge")
    duck = metrics.open_warehouse(edge_warehouse_path)
    try:
        run, _ = {**ANALYSES, **UNDATED}[name]
        views = VIEWS if name in ANALYSES else ("default", "segment")
        _check(spark, duck, "edge", run, views, f"spark {name}")
    finally:
        duck.close()


def test_sql_without_a_faithful_translation_is_refused_in_a_sentence(warehouses, engine):
    if engine == "spark":
        pytest.skip("the refusal happens before any query; PostgreSQL and ClickHouse show it")
    with pytest.raises(EngineSQLError, match=r"The lead sample analysis is written for DuckDB "
                                             r"and cannot run on .*arg_min.*duckdb:///"):
        warehouses[0].execute("SELECT arg_min(lead_id, created_at) AS first FROM leads",
                              label="lead sample")


def test_lead_scoring_says_it_needs_duckdb(warehouses, engine):
    if engine == "spark":
        pytest.skip("the refusal happens before any query; PostgreSQL and ClickHouse show it")
    with pytest.raises(EngineSQLError, match=r"The score profile analysis \(Lead scoring page\) "
                                             r"runs on DuckDB only for now; .*duckdb:///"):
        scoring.score_profile(warehouses[0])
