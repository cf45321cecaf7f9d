"""Alert rules and their recipients, read from sql/alerts/ (one TOML file per rule).

Which alerts go to whom, and when, is part of the agreement between the teams, so a rule is a
definition file beside the metrics, reviewed like one. `recipients.toml` in the same folder is
the address book the rules name people through: reps' emails, each team's address, lead and
webhook. Webhook URLs themselves are secrets (metrics/delivery.py), never in these files.

A rule file:

    label = "MQL about to miss its follow-up SLA"
    kind = "sla_warning"         # sla_warning | sla_breach | target | metric_shift | digest
    owners = ["sales", "marketing"]
    notify = ["owner"]           # owner | team_lead | owners | team:<name> | an email address
    channels = ["email", "webhook"]
    hours_left = 2               # kind-specific settings, see RULE_SETTINGS

Every error names the file and says what to write instead.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from metrics.definitions import TEAMS
from metrics.errors import DefinitionError
from metrics.paths import SQL_DIR

ALERTS_DIR = SQL_DIR / "alerts"
RECIPIENTS_FILE_NAME = "recipients.toml"
KINDS = ("sla_warning", "sla_breach", "target", "metric_shift", "digest")
CHANNELS = ("email", "webhook")
GRAINS = ("week", "month", "quarter")
CHECKS = ("period_end", "mid_period")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Who a rule may notify: the lead's owner rep, the lead of that rep's team, the teams owning
# the metric, a named team, or a literal address.
RECIPIENT_WORDS = ("owner", "team_lead", "owners")
_EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_TOML_POSITION = re.compile(r"\(at line (?P<line>\d+), column (?P<column>\d+)\)")

# The settings each kind takes beyond the common ones, with their defaults.
RULE_SETTINGS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    "sla_warning": {"hours_left": 2.0},
    "sla_breach": {"lookback_days": 7},
    "target": {"metrics": [], "grain": "month", "checks": ["period_end", "mid_period"],
               "tolerance": 0.0},
    "metric_shift": {"metrics": [], "grain": "week", "threshold": 0.25},
    "digest": {"metrics": [], "weekday": "mon", "hour": 8},
})
_COMMON = ("label", "kind", "owners", "notify", "channels", "description")


@dataclass(frozen=True)
class AlertRule:
    """One rule file: what to watch, whom to tell, through which channels."""

    name: str
    label: str
    kind: str
    owners: tuple[str, ...]
    notify: tuple[str, ...]
    channels: tuple[str, ...]
    description: str
    settings: Mapping[str, Any]
    source: str
    text: str
    #: The catalog version this rule was read from (None: straight from its file).
    version: int | None = None

    def setting(self, key: str) -> Any:
        return self.settings[key]

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(self.settings.get("metrics", ()))


@dataclass(frozen=True)
class Team:
    """A team's address book entry."""

    name: str
    email: str | None = None
    lead: str | None = None
    webhook: str | None = None


@dataclass(frozen=True)
class Recipients:
    """recipients.toml: reps' emails by rep_id, and each team's address, lead and webhook."""

    reps: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    teams: Mapping[str, Team] = field(default_factory=lambda: MappingProxyType({}))
    source: str = "<recipients>"

    def team(self, name: str | None) -> Team:
        return self.teams.get(name or "", Team(name or ""))


def _error(source: str, message: str) -> DefinitionError:
    return DefinitionError(message, source=source)


def _strings(value: Any, key: str, source: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _error(source, f"{key} must be a list of words, e.g. {key} = [\"...\"].")
    return tuple(v.strip() for v in value if v.strip())


def _check_recipient(word: str, source: str) -> str:
    if word in RECIPIENT_WORDS or _EMAIL.match(word):
        return word
    team = word.removeprefix("team:")
    if word.startswith("team:") and _NAME.match(team):
        return word
    raise _error(source, f"notify has {word!r}; write one of {', '.join(RECIPIENT_WORDS)}, "
                 "team:<name> (e.g. team:marketing) or an email address.")


def _number(value: Any, key: str, source: str, *, minimum: float = 0.0,
            strictly: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _error(source, f"{key} must be a number, not {value!r}.")
    if value < minimum or (strictly and value == minimum):
        raise _error(source, f"{key} must be {'more than' if strictly else 'at least'} "
                     f"{minimum:g}, not {value!r}.")
    return float(value)


def _settings(kind: str, raw: Mapping[str, Any], source: str) -> dict[str, Any]:
    defaults = RULE_SETTINGS[kind]
    unknown = sorted(set(raw) - set(defaults) - set(_COMMON))
    if unknown:
        allowed = ", ".join(list(_COMMON) + list(defaults))
        raise _error(source, f"a {kind} rule has no setting {', '.join(unknown)}; it takes "
                     f"{allowed}.")
    settings = {**defaults, **{k: raw[k] for k in defaults if k in raw}}
    if "metrics" in settings:
        settings["metrics"] = list(_strings(settings["metrics"], "metrics", source))
        if not settings["metrics"]:
            raise _error(source, f"a {kind} rule needs metrics = [\"<metric name>\", ...].")
    if "hours_left" in settings:
        settings["hours_left"] = _number(settings["hours_left"], "hours_left", source,
                                         strictly=True)
    if "lookback_days" in settings:
        settings["lookback_days"] = int(_number(settings["lookback_days"], "lookback_days",
                                                source, minimum=1))
    if "threshold" in settings:
        settings["threshold"] = _number(settings["threshold"], "threshold", source, strictly=True)
    if "tolerance" in settings:
        settings["tolerance"] = _number(settings["tolerance"], "tolerance", source)
    if "grain" in settings and settings["grain"] not in GRAINS:
        raise _error(source, f"grain must be one of {', '.join(GRAINS)}, not "
                     f"{settings['grain']!r}.")
    if "checks" in settings:
        checks = _strings(settings["checks"], "checks", source)
        if not checks or any(c not in CHECKS for c in checks):
            raise _error(source, f"checks lists {' and/or '.join(CHECKS)}, not {list(checks)}.")
        settings["checks"] = list(checks)
    if "weekday" in settings:
        day = str(settings["weekday"]).lower()[:3]
        if day not in WEEKDAYS:
            raise _error(source, f"weekday must be a day like 'mon', not {settings['weekday']!r}.")
        settings["weekday"] = day
    if "hour" in settings:
        hour = settings["hour"]
        if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
            raise _error(source, f"hour must be a whole hour from 0 to 23, not {hour!r}.")
    return settings


def _key_line(text: str, message: str) -> int | None:
    """The line of the setting an error is about: its message starts with the key ('notify
    has ...', 'hours_left must ...') or names it ('has no setting threshold')."""
    named = re.search(r"has no setting (\w+)", message)
    key = named.group(1) if named else message.split(" ", 1)[0]
    if not re.fullmatch(r"[a-z_]+", key):
        return None
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        if re.match(rf"\s*{key}\s*=", line):
            return number
    return None


def parse_rule(name: str, text: str, source: str | None = None) -> AlertRule:
    """One rule from its file's text; an error names the line of the setting it is about.

    >>> r = parse_rule("w", 'label = "Soon due"\\nkind = "sla_warning"\\nowners = ["sales"]\\n'
    ...                'notify = ["owner"]\\nhours_left = 3')
    >>> r.kind, r.notify, r.channels, r.setting("hours_left")
    ('sla_warning', ('owner',), ('email',), 3.0)
    """
    try:
        return _parse_rule(name, text, source or f"{name}.toml")
    except DefinitionError as exc:
        if exc.line is not None:
            raise
        line = _key_line(text, exc.message)
        if line is None:
            raise
        raise DefinitionError(exc.message, source=exc.source, line=line) from None


def _parse_rule(name: str, text: str, source: str) -> AlertRule:
    if not _NAME.match(name):
        raise _error(source, "a rule file's name is lowercase letters, digits and _, "
                     "e.g. sla_warning.toml.")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib (Python 3.11) puts the position only in its message: lift it out, so the
        # error names the line and the editor can point at it.
        found = _TOML_POSITION.search(str(exc))
        if found is None:
            raise _error(source, f"is not valid TOML: {exc}.") from None
        raise DefinitionError(f"is not valid TOML: {str(exc)[:found.start()].strip()}.",
                              source=source, line=int(found["line"]),
                              column=int(found["column"])) from None
    kind = raw.get("kind")
    if kind not in KINDS:
        raise _error(source, f"kind must be one of {', '.join(KINDS)}, not {kind!r}.")
    label = str(raw.get("label", "")).strip()
    if not label:
        raise _error(source, "give the rule a label = \"...\": it is the alert's headline.")
    owners = _strings(raw.get("owners", []), "owners", source)
    if not owners or any(o not in TEAMS for o in owners):
        raise _error(source, f"owners lists the teams that agreed the rule ({', '.join(TEAMS)}),"
                     f" not {list(owners)}.")
    notify = tuple(_check_recipient(w, source)
                   for w in _strings(raw.get("notify", []), "notify", source))
    if not notify:
        raise _error(source, "notify must name at least one recipient, e.g. notify = [\"owner\"].")
    channels = _strings(raw.get("channels", ["email"]), "channels", source)
    if not channels or any(c not in CHANNELS for c in channels):
        raise _error(source, f"channels lists {' and/or '.join(CHANNELS)}, not {list(channels)}.")
    return AlertRule(name=name, label=label, kind=kind, owners=owners, notify=notify,
                     channels=channels, description=str(raw.get("description", "")).strip(),
                     settings=MappingProxyType(_settings(kind, raw, source)), source=source,
                     text=text)


def parse_recipients(text: str, source: str = RECIPIENTS_FILE_NAME) -> Recipients:
    """The address book from recipients.toml's text."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _error(source, f"is not valid TOML: {exc}.") from None
    reps = {}
    for rep_id, email in raw.get("reps", {}).items():
        if not isinstance(email, str) or not _EMAIL.match(email.strip()):
            raise _error(source, f"reps.{rep_id} must be an email address, not {email!r}.")
        reps[str(rep_id)] = email.strip()
    teams = {}
    for name, entry in raw.get("teams", {}).items():
        if not isinstance(entry, dict):
            raise _error(source, f"[teams.{name}] must be a table with email, lead and webhook.")
        for key in ("email", "lead"):
            value = entry.get(key)
            if value is not None and not (isinstance(value, str) and _EMAIL.match(value)):
                raise _error(source, f"teams.{name}.{key} must be an email address, "
                             f"not {value!r}.")
        webhook = entry.get("webhook")
        if webhook is not None and not (isinstance(webhook, str) and _NAME.match(webhook)):
            raise _error(source, f"teams.{name}.webhook names a webhook of the secrets file "
                         "(lowercase letters, digits and _), it is not the URL itself.")
        teams[str(name)] = Team(str(name), entry.get("email"), entry.get("lead"), webhook)
    return Recipients(MappingProxyType(reps), MappingProxyType(teams), source)


def load_rules(directory: Path | str = ALERTS_DIR) -> dict[str, AlertRule]:
    """Every rule file of the folder (all but recipients.toml), by name."""
    folder = Path(directory)
    rules = {}
    for path in sorted(folder.glob("*.toml")):
        if path.name == RECIPIENTS_FILE_NAME:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise _error(str(path), f"cannot be read: {exc}.") from None
        rules[path.stem] = parse_rule(path.stem, text, source=str(path))
    return rules


def load_recipients(directory: Path | str = ALERTS_DIR) -> Recipients:
    """recipients.toml of the folder; without one, nobody has an address (alerts say so)."""
    path = Path(directory) / RECIPIENTS_FILE_NAME
    if not path.exists():
        return Recipients(source=str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _error(str(path), f"cannot be read: {exc}.") from None
    return parse_recipients(text, source=str(path))
