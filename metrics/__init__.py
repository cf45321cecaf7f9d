"""Handoff's metric engine: warehouse, versioned definitions, SQL guard, compiler, catalog.

Importable without Streamlit. The public API:

    wh = metrics.open_warehouse("data/warehouse.duckdb")
    wh.query("mql_to_sal_rate", start="2025-01-01", grain="month", by="segment")
    cat = metrics.open_catalog("data/catalog.sqlite", roles="roles.toml")
"""

from __future__ import annotations

from metrics.errors import (
    CatalogError,
    DefinitionError,
    MetricError,
    QueryError,
    QueryTimeout,
    UnsafeSQLError,
    WarehouseError,
)
from metrics.warehouse import Warehouse, open_warehouse


def open_catalog(*args, **kwargs):
    """Open the SQLite catalog of metric versions (see metrics.catalog.open_catalog)."""
    from metrics.catalog import open_catalog as _open_catalog

    return _open_catalog(*args, **kwargs)


__all__ = [
    "CatalogError", "DefinitionError", "MetricError", "QueryError", "QueryTimeout",
    "UnsafeSQLError", "Warehouse", "WarehouseError", "open_catalog", "open_warehouse",
]
