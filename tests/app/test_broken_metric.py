"""A metric that fails at run time breaks its own tile, never the page."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def broken_definitions(demo_env, tmp_path):
    import streamlit as st

    folder = tmp_path / "metrics"
    shutil.copytree(ROOT / "sql" / "metrics", folder)
    path = folder / "revenue_per_mql.sql"
    # Valid for the guard (one SELECT, known columns) but fails in DuckDB: 'x' is no number.
    path.write_text(path.read_text().replace("COALESCE(won_amount, 0) AS numerator",
                                             "CAST('x' || lead_id AS DOUBLE) AS numerator"))
    saved = {k: os.environ.get(k) for k in ("METRICS_DEFINITIONS", "METRICS_CATALOG")}
    os.environ["METRICS_DEFINITIONS"] = str(folder)
    os.environ["METRICS_CATALOG"] = str(tmp_path / "catalog.sqlite")
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    st.cache_resource.clear()
    st.cache_data.clear()


def test_broken_tile_shows_its_error_and_the_others_render(app, broken_definitions):
    at = app()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "revenue_per_mql" in errors[0] and "failed" in errors[0]
    assert len(at.metric) == 7  # the seven healthy tiles


def test_broken_metric_in_the_explorer_is_a_message_not_a_traceback(app, broken_definitions):
    at = app("views/metric_detail.py")
    at.selectbox(key="metric").set_value("revenue_per_mql").run()
    assert not at.exception
    assert at.error and "revenue_per_mql" in at.error[0].value
