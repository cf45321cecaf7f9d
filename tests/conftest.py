from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


@pytest.fixture(scope="session")
def tiny_warehouse_path(tmp_path_factory) -> Path:
    from tiny_warehouse import build_tiny_warehouse

    return build_tiny_warehouse(tmp_path_factory.mktemp("tiny") / "warehouse.duckdb")


@pytest.fixture(scope="session")
def tiny(tiny_warehouse_path):
    import metrics

    wh = metrics.open_warehouse(tiny_warehouse_path)
    yield wh
    wh.close()


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """A small generated warehouse (3,000 leads): realistic data for comparing two ways of
    computing the same numbers, where the tiny warehouse has too few rows to tell them apart."""
    import metrics
    from demo_warehouse import build_demo_warehouse

    wh = metrics.open_warehouse(build_demo_warehouse(
        tmp_path_factory.mktemp("demo") / "warehouse.duckdb", leads=3000))
    yield wh
    wh.close()


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/<dialect>/*.sql from the current compiler")


@pytest.fixture(scope="session")
def update_golden(request) -> bool:
    return bool(request.config.getoption("--update-golden"))
