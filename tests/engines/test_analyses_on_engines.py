"""The page analyses on other engines: the portable ones give DuckDB's numbers, the others
say in a sentence that they need DuckDB (never a translation that merely runs)."""

from __future__ import annotations

import pandas as pd
import pytest

import metrics
from metrics import analysis, attribution


@pytest.fixture(scope="session")
def warehouses(engine_servers, engine, request):
    """(the engine's, DuckDB's) warehouse: the generated one, or on Spark the edge one it
    already holds (publishing another costs Spark minutes)."""
    label = "edge" if engine == "spark" else "generated"
    path = request.getfixturevalue(f"{label}_warehouse_path")
    duck = metrics.open_warehouse(path)
    yield engine_servers.warehouse(engine, path, label), duck
    duck.close()


PORTABLE = [
    ("SLA response distribution", lambda wh: analysis.sla_response_distribution(wh)),
    ("pipeline velocity", lambda wh: analysis.pipeline_velocity(wh, where={"segment": "SMB"})),
    ("filter values", lambda wh: analysis.filter_options(wh)),
    ("campaign channels", lambda wh: analysis.campaign_channels(wh)),
    ("lead count", lambda wh: analysis.lead_count(wh, where={"region": "NA"})),
    ("data range", lambda wh: analysis.data_range(wh)),
]


@pytest.mark.parametrize(("label", "run"), PORTABLE, ids=[p[0] for p in PORTABLE])
def test_portable_analyses_give_duckdbs_numbers(warehouses, label, run):
    got, want = run(warehouses[0]), run(warehouses[1])
    if isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True),
                                      check_dtype=False, rtol=1e-9)
    else:
        assert got == want


DUCKDB_ONLY = [
    ("funnel", lambda wh: analysis.funnel(wh)),
    ("MQL cohorts", lambda wh: analysis.cohort_progress(wh)),
    ("campaign performance", lambda wh: analysis.campaign_performance(wh)),
    ("linear attribution", lambda wh: attribution.attribution(wh, model="linear")),
    ("SLA by rep", lambda wh: analysis.sla_by_rep(wh)),
]


@pytest.mark.parametrize(("label", "run"), DUCKDB_ONLY, ids=[p[0] for p in DUCKDB_ONLY])
def test_other_analyses_say_they_need_duckdb(warehouses, label, run):
    with pytest.raises(metrics.MetricError, match=f"The {label}.* analysis runs on DuckDB only"):
        run(warehouses[0])
