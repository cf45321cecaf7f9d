"""The agreed scorecard targets: sql/targets.toml, overridden by targets approvers set in the app.

The app's tiles and the alert rules must judge a number against the same target, so both read
it here.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from metrics.errors import MetricError
from metrics.formatting import is_missing
from metrics.paths import SQL_DIR

# Count and sum targets are agreed per month; other grains scale by their length.
MONTHS_PER_GRAIN = {"day": 12 / 365.25, "week": 12 / 52.18, "month": 1.0, "quarter": 3.0,
                    "year": 12.0}

if TYPE_CHECKING:
    from metrics.catalog import Catalog

TARGETS_FILE = SQL_DIR / "targets.toml"


def file_targets(path: Path = TARGETS_FILE) -> dict[str, float]:
    """The `[targets]` table of the targets file (empty when the file is missing or unreadable)."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8")).get("targets", {})
        return {str(k): float(v) for k, v in raw.items()}
    except (OSError, tomllib.TOMLDecodeError, ValueError, TypeError):
        return {}


def agreed_targets(catalog: Catalog | None, grain: str | None = None) -> dict[str, float]:
    """The file's targets overridden by the catalog's (those of `grain` when given)."""
    merged = file_targets()
    if catalog is not None:
        try:
            merged.update(catalog.targets(grain))
        except MetricError:
            pass
    return merged


def attainment(value, target, direction: str) -> float | None:
    """How much of the target is met, 1.0 = exactly; for 'down' metrics lower is better.

    >>> attainment(0.6, 0.75, "up").__round__(6), attainment(25000, 20000, "down")
    (0.8, 0.8)
    """
    if is_missing(value) or target in (None, 0) or (direction == "down" and value == 0):
        return None
    return value / target if direction == "up" else target / value
