"""The agreed stage model and SLA policy, read from sql/model.toml."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from metrics.errors import DefinitionError
from metrics.paths import MODEL_FILE

_STAGE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Stage:
    name: str
    label: str
    definition: str
    exit: bool = False


@dataclass(frozen=True)
class SlaPolicy:
    """First sales touch within `hours` business hours of the first MQL."""

    hours: float
    timezone: str
    business_days: tuple[str, ...]
    day_starts: dt.time
    day_ends: dt.time
    description: str
    segment_hours: dict[str, float] = field(default_factory=dict)

    @property
    def weekmask(self) -> str:
        """numpy busday weekmask, e.g. '1111100' for Monday to Friday."""
        return "".join("1" if d in self.business_days else "0" for d in _WEEKDAYS)

    def hours_for(self, segment: str | None) -> float:
        return self.segment_hours.get(segment or "", self.hours)


@dataclass(frozen=True)
class StageModel:
    stages: tuple[Stage, ...]
    sla: SlaPolicy

    @property
    def stage_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stages)

    @property
    def funnel_stages(self) -> tuple[str, ...]:
        """The ordered, non-exit stages: the waterfall."""
        return tuple(s.name for s in self.stages if not s.exit)

    def stage(self, name: str) -> Stage:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(name)


def _time(value: str, key: str, source: str) -> dt.time:
    try:
        return dt.time.fromisoformat(value)
    except (TypeError, ValueError):
        raise DefinitionError(f"sla.{key} must be a time like 09:00, not {value!r}.", source=source)


def parse_model(data: dict, source: str = "model.toml") -> StageModel:
    """Build a StageModel from the parsed TOML, checking every value."""
    stages = []
    for i, raw in enumerate(data.get("stages", [])):
        name = str(raw.get("name", ""))
        if not _STAGE_NAME.match(name):
            raise DefinitionError(
                f"stage {i + 1} needs a lowercase name of letters, digits and _, not {name!r}.",
                source=source,
            )
        stages.append(
            Stage(name, str(raw.get("label", name)), str(raw.get("definition", "")),
                  bool(raw.get("exit", False)))
        )
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        raise DefinitionError("stage names must be unique.", source=source)
    for required in ("lead", "mql"):
        if required not in names:
            raise DefinitionError(f"the stage model must define the stage {required!r}.", source=source)
    raw_sla = data.get("sla", {})
    tz = str(raw_sla.get("timezone", "UTC"))
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise DefinitionError(f"sla.timezone {tz!r} is not a known IANA time zone.", source=source)
    days = tuple(str(d).lower()[:3] for d in raw_sla.get("business_days", _WEEKDAYS[:5]))
    if not days or any(d not in _WEEKDAYS for d in days):
        raise DefinitionError("sla.business_days must list days like 'mon', 'tue'.", source=source)
    starts = _time(raw_sla.get("day_starts", "09:00"), "day_starts", source)
    ends = _time(raw_sla.get("day_ends", "17:00"), "day_ends", source)
    if ends <= starts:
        raise DefinitionError("sla.day_ends must be later than sla.day_starts.", source=source)
    hours = float(raw_sla.get("hours", 8))
    segment_hours = {str(k): float(v) for k, v in raw_sla.get("segment_hours", {}).items()}
    if hours <= 0 or any(v <= 0 for v in segment_hours.values()):
        raise DefinitionError("SLA hours must be positive.", source=source)
    sla = SlaPolicy(hours, tz, days, starts, ends, str(raw_sla.get("description", "")), segment_hours)
    return StageModel(tuple(stages), sla)


@lru_cache(maxsize=8)
def load_model(path: Path = MODEL_FILE) -> StageModel:
    """Read and check the stage model file."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DefinitionError(f"cannot read the stage model: {exc}", source=str(path))
    return parse_model(data, source=str(path))
