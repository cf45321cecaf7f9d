"""The Funnel, SLA and Campaigns pages served from PostgreSQL (METRICS_ENGINE) open with the
numbers DuckDB gives on the same warehouse, not a refusal; the Lead scoring page says in a
sentence that it needs DuckDB."""

from __future__ import annotations

from pathlib import Path

import pytest

import metrics
from metrics import analysis
from metrics.selection import resolve_range
from ui.filters import DEFAULT_RANGE

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture(scope="module")
def demo_on_postgres(engine_servers, tmp_path_factory):
    from demo_warehouse import build_demo_warehouse

    folder = tmp_path_factory.mktemp("pages-on-postgres")
    path = build_demo_warehouse(folder / "warehouse.duckdb")
    engine_servers.warehouse("postgres", path, "demo")
    return engine_servers.published[("postgres", "demo")], path, folder


@pytest.fixture
def page_on_postgres(demo_on_postgres, monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    url, path, folder = demo_on_postgres
    monkeypatch.setenv("METRICS_ENGINE", url)
    monkeypatch.setenv("METRICS_WAREHOUSE", str(path))
    monkeypatch.setenv("METRICS_CATALOG", str(folder / "catalog.sqlite"))
    # The app's warehouse is cached per process by file path: drop the DuckDB one other tests
    # opened, and this one after.
    st.cache_resource.clear()
    st.cache_data.clear()

    def open_page(page: str, *, refused: bool = False):
        at = AppTest.from_file(APP, default_timeout=120)
        at.switch_page(page)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        refusals = [i.value for i in at.info if "DuckDB" in str(i.value)]
        assert bool(refusals) == refused, refusals
        from ui import data  # the page read PostgreSQL, not the DuckDB file beside it

        assert getattr(data.get_warehouse(), "engine_url", None) == url
        return at

    yield open_page
    st.cache_resource.clear()
    st.cache_data.clear()


def _table_with(at, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_funnel_page_shows_duckdbs_funnel(page_on_postgres, demo_on_postgres):
    at = page_on_postgres("views/funnel.py")
    shown = _table_with(at, "recorded")
    duck = metrics.open_warehouse(demo_on_postgres[1])
    try:  # the page's default period, as the sidebar resolves it
        start, end = resolve_range(DEFAULT_RANGE, duck.as_of, None)
        expected = analysis.funnel(duck, start=start, end=end)
    finally:
        duck.close()
    assert shown["leads"].tolist() == expected["leads"].tolist()
    assert shown["leads"].iloc[0] > 0


@pytest.mark.parametrize("page", ["views/sla.py", "views/campaigns.py"])
def test_sla_and_campaigns_pages_open_with_numbers(page_on_postgres, page):
    at = page_on_postgres(page)
    assert at.dataframe, "the page shows no table"
    assert any(len(d.value) for d in at.dataframe)


def test_lead_scoring_page_says_it_needs_duckdb(page_on_postgres):
    at = page_on_postgres("views/lead_scoring.py", refused=True)
    assert any("runs on DuckDB only for now" in str(i.value) for i in at.info)
