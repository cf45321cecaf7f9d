"""Loading and restoring data as ops actions: who may, what it replaces, and the audit entry.

The Import page and the command line both go through `load_files` and `restore_warehouse`, so
every load and every restore is recorded the same way, whoever makes it: in the catalog's
audit log (action `load_data` or `restore_data`, no metric name) with who, when, the files,
the rows per table before and after, and the kept warehouse that undoes it.

The app passes the roles, and a person without the right to load data (Roles.why_not_load_data)
is refused before anything happens. The command line passes none: whoever can run commands on
the server already holds the files, so there it is recorded under their login name.
"""

from __future__ import annotations

import getpass
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metrics.backups import Backup, list_backups, restore_backup
from metrics.catalog import Catalog, PermissionDeniedError, open_catalog
from metrics.data_sets import WarehouseSummary, summarize
from metrics.errors import MetricError
from metrics.ingest import IngestReport, ingest
from metrics.paths import default_warehouse_path
from metrics.roles import Roles

LOAD_ACTION = "load_data"
RESTORE_ACTION = "restore_data"
DATA_ACTIONS = (LOAD_ACTION, RESTORE_ACTION)


@dataclass(frozen=True)
class LoadResult:
    """A finished load: its report, what it replaced and where that is kept (None: nothing)."""

    report: IngestReport
    replaced: WarehouseSummary | None
    kept_as: Backup | None


@dataclass(frozen=True)
class RestoreResult:
    """A finished restore: the warehouse put back, what it replaced and where that is kept."""

    restored: Backup
    replaced: WarehouseSummary | None
    kept_as: Backup | None


def command_line_user() -> str:
    """Who runs a command on the server, as the audit log names them: 'alice (command line)'."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for the uid, as in some containers
        name = f"uid {os.getuid()}"
    return f"{name} (command line)"


def _check_right(roles: Roles | None, user: str) -> None:
    if roles is not None:
        why = roles.why_not_load_data(user)
        if why:
            raise PermissionDeniedError(why)


def load_files(directory: Path | str, warehouse_path: Path | str | None = None, *, user: str,
               catalog: Catalog | None = None, roles: Roles | None = None,
               current: WarehouseSummary | None = None, **ingest_options: Any) -> LoadResult:
    """Import the folder (metrics.ingest.ingest, same options), keep and record what it replaced.

    `catalog` receives the audit entry (default: the catalog at METRICS_CATALOG or
    data/catalog.sqlite). With `roles`, a user without the right to load data is refused
    (PermissionDeniedError, nothing changed). `current`: the summary of the warehouse being
    replaced, when the caller holds it open (data_sets.summarize_open); else it is read here.
    """
    _check_right(roles, user)
    target = Path(warehouse_path) if warehouse_path else default_warehouse_path()
    replaced = current or summarize(target)
    report = ingest(directory, target, **ingest_options)
    kept_as = _backup_of(target, replaced)
    rows_after = {t.table: t.loaded for t in report.tables}
    _record(catalog, user, LOAD_ACTION, {
        "files": [{"name": f.name, "rows": f.rows} for f in report.files],
        "mapping": report.mapping, "timezone": report.timezone,
        "as_of": report.as_of.isoformat() if report.as_of else None,
        "rows_before": dict(replaced.rows) if replaced else {},
        "rows_after": rows_after,
        "quarantined": {t.table: t.quarantined for t in report.tables if t.quarantined},
        "replaced": replaced.description if replaced else None,
        "kept_as": kept_as.id if kept_as else None,
    })
    return LoadResult(report, replaced, kept_as)


def restore_warehouse(backup_id: str, warehouse_path: Path | str | None = None, *, user: str,
                      catalog: Catalog | None = None, roles: Roles | None = None,
                      current: WarehouseSummary | None = None) -> RestoreResult:
    """Put a kept previous warehouse back (metrics.backups) and record it in the audit log.

    `catalog`, `roles` and `current` as for `load_files`.
    """
    _check_right(roles, user)
    target = Path(warehouse_path) if warehouse_path else default_warehouse_path()
    replaced = current or summarize(target)
    restored, kept_as = restore_backup(target, backup_id)
    after = restored.summary
    _record(catalog, user, RESTORE_ACTION, {
        "restored": restored.id,
        "files": after.source if after else None,
        "data_set": restored.description,
        "as_of": after.as_of.isoformat() if after else None,
        "rows_before": dict(replaced.rows) if replaced else {},
        "rows_after": dict(after.rows) if after else {},
        "replaced": replaced.description if replaced else None,
        "kept_as": kept_as.id if kept_as else None,
    })
    return RestoreResult(restored, replaced, kept_as)


def _backup_of(target: Path, replaced: WarehouseSummary | None) -> Backup | None:
    """The kept copy of the warehouse that was at `target` (known by its build time)."""
    if replaced is None:
        return None
    for backup in list_backups(target):
        if backup.summary and backup.summary.built_at == replaced.built_at:
            return backup
    return None


class AuditLogError(MetricError):
    """The load or restore is done, but the audit log could not record it."""


def _record(catalog: Catalog | None, user: str, action: str, details: Mapping) -> None:
    try:
        # Roles do not matter for writing the log, and the command line may run without
        # roles.toml.
        catalog = catalog or open_catalog(roles={"users": {}}, sync=False)
        catalog.record(user, action, **details)
    except (MetricError, sqlite3.Error) as exc:
        done = "loaded" if action == LOAD_ACTION else "restored"
        raise AuditLogError(f"the data was {done}, but the audit log could not record it "
                            f"({exc}); note who did it and when, and check the catalog "
                            "file.") from None


def data_history(catalog: Catalog, *, limit: int = 20) -> list[dict[str, Any]]:
    """The latest loads and restores in the audit log, newest first."""
    return [entry for entry in catalog.audit(limit=None) if entry["action"] in DATA_ACTIONS
            ][:limit]


__all__ = ["DATA_ACTIONS", "AuditLogError", "LoadResult", "RestoreResult", "command_line_user", "data_history",
           "load_files", "restore_warehouse"]
