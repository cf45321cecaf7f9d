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
