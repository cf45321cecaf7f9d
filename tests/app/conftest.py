from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


@pytest.fixture(scope="session")
def demo_env(tmp_path_factory):
    """Point the app at a fresh demo warehouse and an empty catalog for the whole session."""
    from demo_warehouse import build_demo_warehouse

    folder = tmp_path_factory.mktemp("app")
    warehouse = build_demo_warehouse(folder / "warehouse.duckdb")
    saved = {k: os.environ.get(k) for k in ("METRICS_WAREHOUSE", "METRICS_CATALOG")}
    os.environ["METRICS_WAREHOUSE"] = str(warehouse)
    os.environ["METRICS_CATALOG"] = str(folder / "catalog.sqlite")
    yield folder
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def app(demo_env):
    from streamlit.testing.v1 import AppTest

    def make(page: str | None = None, **params: str | list[str]):
        at = AppTest.from_file(APP, default_timeout=60)
        for key, value in params.items():
            at.query_params[key] = value
        at.run()
        if page:
            at.switch_page(page).run()
        return at

    return make


@pytest.fixture
def link(demo_env):
    """Open a page as a shared link arrives: a fresh session on the page's URL with its query
    parameters (not the default page first)."""
    from streamlit.testing.v1 import AppTest

    def open_link(page: str, params: dict | None = None):
        at = AppTest.from_file(APP, default_timeout=90)
        for key, value in (params or {}).items():
            at.query_params[key] = value
        at.switch_page(page)
        at.run()
        return at

    return open_link


@pytest.fixture
def fresh_catalog(demo_env, tmp_path, monkeypatch):
    """An empty catalog for this test only, shared by the app and the test; local mode as
    roles.toml sets it (no HANDOFF_LOCAL_MODE from the environment)."""
    import metrics

    path = tmp_path / "catalog.sqlite"
    monkeypatch.setenv("METRICS_CATALOG", str(path))
    monkeypatch.delenv("HANDOFF_LOCAL_MODE", raising=False)
    return metrics.open_catalog(path)
