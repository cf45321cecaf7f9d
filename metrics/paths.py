"""Where the product's files live, and the environment variables that move them."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = REPO_ROOT / "sql"
SCHEMA_FILE = SQL_DIR / "schema.sql"
MODEL_FILE = SQL_DIR / "model.toml"
METRICS_DIR = SQL_DIR / "metrics"
DATA_DIR = REPO_ROOT / "data"


def definitions_dir() -> Path:
    """`METRICS_DEFINITIONS` if set, else sql/metrics: the version-1 definition files."""
    return Path(os.environ.get("METRICS_DEFINITIONS") or METRICS_DIR)


def default_warehouse_path() -> Path:
    """`METRICS_WAREHOUSE` if set, else data/warehouse.duckdb."""
    return Path(os.environ.get("METRICS_WAREHOUSE") or DATA_DIR / "warehouse.duckdb")


def default_catalog_path() -> Path:
    """`METRICS_CATALOG` if set, else data/catalog.sqlite."""
    return Path(os.environ.get("METRICS_CATALOG") or DATA_DIR / "catalog.sqlite")


def default_roles_path() -> Path:
    """`METRICS_ROLES` if set, else roles.toml at the repo root."""
    return Path(os.environ.get("METRICS_ROLES") or REPO_ROOT / "roles.toml")
