"""The one family of errors the engine raises; each reads as a sentence a user can act on."""

from __future__ import annotations


class MetricError(Exception):
    """Base of every error the engine raises on purpose.

    `source` names the file or metric it came from, `line`/`column` (1-based) point into the
    metric SQL when known.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.source or ""
        if self.line is not None:
            where += f" line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where.strip()}: {self.message}" if where.strip() else self.message


class DefinitionError(MetricError):
    """A metric file's header or SQL is malformed."""


class UnsafeSQLError(DefinitionError):
    """Metric SQL tries something the guard does not allow (DDL, files, unknown tables...)."""


class QueryError(MetricError):
    """A query request is invalid (unknown metric, dimension, grain) or its execution failed."""


class QueryTimeout(QueryError):
    """A metric query ran past its time limit and was interrupted."""


class WarehouseBusy(QueryError):
    """Every slot for heavy work (drafts, other versions, breakdowns) was taken for too long."""


class WarehouseError(MetricError):
    """The warehouse file is missing, unreadable or not built by this product."""


class CatalogError(MetricError):
    """A catalog action was refused (no right, own proposal, conflict, invalid definition)."""
