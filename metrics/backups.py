"""Previous warehouses: every build that replaces one keeps it, so a bad load can be undone.

A build writes a new file and renames it over the warehouse (metrics.build). Just before the
rename, `replace_keeping_previous` gives the current file a second name in the folder
`<name>.previous/` beside it: a hard link, so keeping it copies nothing (it costs its disk
space once it is replaced, as any kept copy would). Beside each kept file a small JSON
manifest says what it held (metrics.data_sets.WarehouseSummary), so listing them opens no
database. The newest `METRICS_KEEP_WAREHOUSES` (default 3) are kept; 0 keeps none.

`restore_backup` copies a kept file back in through the same swap, so the warehouse it
replaces is kept in turn and a restore can itself be undone.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from metrics.data_sets import WarehouseSummary, summarize
from metrics.errors import WarehouseError

KEEP_ENV = "METRICS_KEEP_WAREHOUSES"
DEFAULT_KEEP = 3
_ID_FORMAT = "%Y%m%dT%H%M%S%fZ"


@dataclass(frozen=True)
class Backup:
    """A kept previous warehouse: when it was replaced and what it held."""

    id: str
    path: Path
    replaced_at: dt.datetime
    summary: WarehouseSummary | None

    @property
    def description(self) -> str:
        return self.summary.description if self.summary else "a warehouse Handoff cannot read"


def kept_count() -> int:
    """How many previous warehouses to keep: METRICS_KEEP_WAREHOUSES, default 3."""
    text = os.environ.get(KEEP_ENV, "").strip()
    if not text:
        return DEFAULT_KEEP
    if not text.isdigit():
        raise WarehouseError(f"{KEEP_ENV} must be a whole number of previous warehouses to keep "
                             f"(0 keeps none), not {text!r}.")
    return int(text)


def backups_dir(target: Path | str) -> Path:
    """Where the previous versions of the warehouse at `target` are kept."""
    target = Path(target)
    return target.with_name(f"{target.name}.previous")


def replace_keeping_previous(new_file: Path, target: Path, *, keep: int | None = None
                             ) -> Backup | None:
    """Rename `new_file` over `target`, first keeping the current `target` as a backup.

    Returns the backup made (None when there was no warehouse to keep, or keep is 0).
    """
    keep = kept_count() if keep is None else keep
    backup = None
    if keep > 0 and target.exists():
        backup = _keep(target)
    try:
        os.replace(new_file, target)
    except OSError:
        if backup:  # nothing was replaced, so nothing needs keeping
            _remove(backup.path)
        raise
    if keep > 0:
        prune(target, keep)
    return backup


def _keep(target: Path) -> Backup:
    folder = backups_dir(target)
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    backup_id = now.strftime(_ID_FORMAT)
    path = folder / f"{backup_id}.duckdb"
    try:
        os.link(target, path)
    except FileExistsError:  # two builds in the same microsecond: tell them apart
        backup_id = f"{backup_id}-{uuid.uuid4().hex[:6]}"
        path = folder / f"{backup_id}.duckdb"
        os.link(target, path)
    except OSError:  # a file system without hard links: copy instead
        shutil.copy2(target, path)
    summary = summarize(path)
    manifest = {"id": backup_id, "replaced_at": now.isoformat(),
                "summary": summary.to_dict() if summary else None}
    path.with_suffix(".json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return Backup(backup_id, path, now, summary)


def list_backups(target: Path | str) -> list[Backup]:
    """The kept previous warehouses of `target`, newest first."""
    folder = backups_dir(target)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("*.duckdb"):
        found.append(_read(path))
    return sorted(found, key=lambda b: (b.replaced_at, b.id), reverse=True)


def _read(path: Path) -> Backup:
    try:
        manifest = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        summary = (WarehouseSummary.from_dict(manifest["summary"])
                   if manifest.get("summary") else None)
        return Backup(manifest["id"], path, dt.datetime.fromisoformat(manifest["replaced_at"]),
                      summary)
    except (OSError, ValueError, KeyError, TypeError):
        # No or a damaged manifest: read what it can from the file itself.
        replaced = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).replace(tzinfo=None)
        return Backup(path.stem, path, replaced, summarize(path))


def find_backup(target: Path | str, backup_id: str) -> Backup:
    """The kept warehouse with this id; a WarehouseError naming the ones there are if none."""
    backups = list_backups(target)
    for backup in backups:
        if backup.id == backup_id:
            return backup
    known = ", ".join(b.id for b in backups) or "none is kept yet"
    raise WarehouseError(f"there is no previous warehouse {backup_id!r}; the ones kept are: "
                         f"{known}. `python -m metrics restore --list` shows them.")


def prune(target: Path | str, keep: int) -> list[Backup]:
    """Delete all but the newest `keep` previous warehouses; returns those deleted."""
    stale = list_backups(target)[keep:]
    for backup in stale:
        _remove(backup.path)
    return stale


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.with_suffix(".json").unlink(missing_ok=True)


def restore_backup(target: Path | str, backup_id: str, *, keep: int | None = None
                   ) -> tuple[Backup, Backup | None]:
    """Put the kept warehouse `backup_id` back at `target`; the current one is kept in turn.

    Returns (the backup restored, the backup of the warehouse it replaced). The kept file is
    copied, not moved, so it stays restorable; a file Handoff cannot read is refused and the
    current warehouse is left as it is.
    """
    target = Path(target)
    backup = find_backup(target, backup_id)
    if summarize(backup.path) is None:
        raise WarehouseError(f"the previous warehouse {backup_id} cannot be read as a Handoff "
                             "warehouse, so it was not restored; the current one is unchanged.")
    # Named like a build's files, so a restore killed half-way is cleaned up as they are.
    temp = target.with_name(
        f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.building-restore")
    try:
        shutil.copyfile(backup.path, temp)
        replaced = replace_keeping_previous(temp, target, keep=keep)
    except OSError as exc:
        raise WarehouseError(f"restoring the previous warehouse {backup_id} failed ({exc}); "
                             "the current one is unchanged.") from None
    finally:
        temp.unlink(missing_ok=True)
    return backup, replaced
