"""Who may do what to the metric catalog (DESIGN.md section 9).

Roles come from a TOML file (default `roles.toml` at the repo root, env `METRICS_ROLES`) or a
dict shaped like it:

    [users."cmo@example.com"]
    teams = ["marketing"]
    role = "approver"        # viewer | editor | approver | admin
    name = "Casey (CMO)"     # optional, for display
    ops = true               # optional: may load data into the warehouse and restore it

An unknown user is a viewer. Editors propose changes to metrics their team owns; approvers may
also approve for their team; admins may propose anything (new metrics included) and approve for
the teams they belong to. Loading data replaces it for everyone, so it is a right of its own:
people with `ops = true` and admins may import files and restore a previous warehouse, whatever
their role in the catalog. Nobody approves their own proposal: that rule needs the proposal, so
the catalog enforces it, not this module.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from metrics.definitions import TEAMS
from metrics.errors import CatalogError
from metrics.paths import default_roles_path

ROLES = ("viewer", "editor", "approver", "admin")
_USER_KEYS = ("teams", "role", "name", "ops")


def normalize_email(email: str | None) -> str:
    """The form a user's email is compared in: trimmed and lowercase.

    >>> normalize_email("  CMO@Example.com ")
    'cmo@example.com'
    """
    return (email or "").strip().lower()


@dataclass(frozen=True)
class Person:
    """One user of the catalog: their role and the teams they belong to."""

    email: str
    role: str = "viewer"
    teams: tuple[str, ...] = ()
    name: str = ""
    ops: bool = False

    @property
    def display(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email

    @property
    def may_edit(self) -> bool:
        return self.role in ("editor", "approver", "admin")

    @property
    def may_approve(self) -> bool:
        return self.role in ("approver", "admin")

    @property
    def may_load_data(self) -> bool:
        """May import files into the warehouse and restore a previous one (ops or admin)."""
        return self.ops or self.role == "admin"


@dataclass(frozen=True)
class Roles:
    """The users a roles file names; every other user is a viewer."""

    people: Mapping[str, Person] = field(default_factory=lambda: MappingProxyType({}))
    source: str = "<roles>"

    def person(self, email: str | None) -> Person:
        """The user with this email, or a team-less viewer when the file does not name them."""
        key = normalize_email(email)
        return self.people.get(key) or Person(email=key)

    def role(self, email: str | None) -> str:
        """viewer | editor | approver | admin."""
        return self.person(email).role

    def teams(self, email: str | None) -> tuple[str, ...]:
        """The teams the user belongs to (possibly none)."""
        return self.person(email).teams

    def can_propose(self, email: str | None, metric_owners: Iterable[str] | None) -> bool:
        """May this user propose a new version of a metric owned by `metric_owners`?

        Empty or None owners means a metric that does not exist yet: only admins create those.
        """
        return self.why_not_propose(email, metric_owners, metric="the metric") is None

    def why_not_propose(self, email: str | None, metric_owners: Iterable[str] | None, *,
                        metric: str) -> str | None:
        """None when the user may propose for the metric, else the sentence saying why not."""
        person = self.person(email)
        owners = tuple(metric_owners or ())
        if not person.email:
            return "say who is proposing (author=<email>); anonymous changes are not accepted."
        if person.role == "admin":
            return None
        if not owners:
            return (f"{metric} does not exist yet and only admins create new metrics; "
                    f"{person.email} is {_article(person.role)}. Ask an admin to add it.")
        if not person.may_edit:
            return (f"{person.email} is a viewer and cannot propose changes; ask an admin to make "
                    f"you an editor of {_join(owners)} in {self.source}.")
        if not set(person.teams) & set(owners):
            return (f"{metric} is owned by {_join(owners)} and {person.email} belongs to "
                    f"{_join(person.teams) or 'no team'}; ask an editor of {_join(owners)} to "
                    "propose the change.")
        return None

    def can_approve(self, email: str | None, team: str) -> bool:
        """May this user sign off changes on behalf of `team`?"""
        person = self.person(email)
        return person.may_approve and team in person.teams

    def approving_teams(self, email: str | None, teams: Iterable[str]) -> tuple[str, ...]:
        """Of `teams` (in their order), those the user may approve for."""
        return tuple(t for t in teams if self.can_approve(email, t))

    def can_set_target(self, email: str | None, metric_owners: Iterable[str]) -> bool:
        """Targets are set by approvers and admins of a team that owns the metric."""
        return bool(self.approving_teams(email, metric_owners))

    def data_loaders(self) -> tuple[str, ...]:
        """The emails of everyone who may load data and restore warehouses, sorted."""
        return tuple(sorted(e for e, p in self.people.items() if p.may_load_data))

    def why_not_load_data(self, email: str | None) -> str | None:
        """None when the user may load or restore data, else the sentence saying who may."""
        person = self.person(email)
        if person.may_load_data:
            return None
        # The file's name, not its path: this sentence is shown on screen.
        where = Path(self.source).name
        loaders = self.data_loaders()
        ask = (f"ask {_join(loaders, 'or')}" if loaders
               else f"nobody has that right yet: an admin can set it in {where}")
        rule = (f"Loading data replaces it for everyone, so only people with ops = true in "
                f"{where} and admins may do it: {ask}.")
        if not person.email:
            return f"Sign in (or pick who you are) first. {rule}"
        return f"{person.email} is {_article(person.role)} without the ops right. {rule}"

    def approvers(self, team: str) -> tuple[str, ...]:
        """The emails of everyone who may approve for `team`, sorted."""
        return tuple(sorted(e for e in self.people if self.can_approve(e, team)))


def load_roles(source: Roles | Mapping | Path | str | None = None) -> Roles:
    """Read roles from a Roles, a dict shaped like the TOML, or a TOML path (None: the default).

    Raises CatalogError with a sentence naming the file and the entry when it is invalid.

    >>> r = load_roles({"users": {"CMO@example.com": {"teams": ["marketing"], "role": "approver"}}})
    >>> r.role("cmo@example.com"), r.role("someone@example.com")
    ('approver', 'viewer')
    >>> r.can_approve("cmo@example.com", "marketing"), r.can_approve("cmo@example.com", "sales")
    (True, False)
    """
    if isinstance(source, Roles):
        return source
    if source is None or isinstance(source, (str, Path)):
        path = Path(source) if source is not None else default_roles_path()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CatalogError(f"the roles file {path} does not exist; create it (see roles.toml "
                               "at the repo root) or set METRICS_ROLES.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CatalogError(f"cannot read the roles file {path}: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise CatalogError(f"the roles file {path} is not valid TOML: {exc}.") from None
        return _roles_from_mapping(data, str(path))
    if isinstance(source, Mapping):
        return _roles_from_mapping(source, "<roles dict>")
    raise CatalogError(f"roles must be a path to a TOML file or a dict shaped like it, "
                       f"not {type(source).__name__}.")


def _roles_from_mapping(data: Mapping, source: str) -> Roles:
    users = data.get("users", {}) if isinstance(data, Mapping) else None
    extra = [k for k in data if k != "users"] if isinstance(data, Mapping) else []
    if not isinstance(users, Mapping) or extra:
        raise CatalogError(f"{source}: the roles file must hold only [users.\"<email>\"] tables, "
                           "each with teams = [...] and role = \"viewer|editor|approver|admin\".")
    people: dict[str, Person] = {}
    for raw_email, entry in users.items():
        email = normalize_email(raw_email)
        where = f"{source}: users.\"{raw_email}\""
        if "@" not in email:
            raise CatalogError(f"{where} is not an email address; users are named by email.")
        if email in people:
            raise CatalogError(f"{where} is listed twice (emails are compared ignoring case).")
        if not isinstance(entry, Mapping):
            raise CatalogError(f"{where} must be a table with teams and role.")
        unknown = [k for k in entry if k not in _USER_KEYS]
        if unknown:
            raise CatalogError(f"{where} has the unknown key '{unknown[0]}'; the keys are "
                               f"{', '.join(_USER_KEYS)}.")
        role = entry.get("role", "viewer")
        if not isinstance(role, str) or role.strip().lower() not in ROLES:
            raise CatalogError(f"{where} has role {role!r}; a role is one of {', '.join(ROLES)}.")
        role = role.strip().lower()
        teams = entry.get("teams", [])
        if isinstance(teams, str):
            teams = [teams]
        if not isinstance(teams, list) or not all(isinstance(t, str) for t in teams):
            raise CatalogError(f"{where} must list its teams as teams = [\"marketing\", ...].")
        teams = tuple(dict.fromkeys(t.strip().lower() for t in teams))
        bad = [t for t in teams if t not in TEAMS]
        if bad:
            raise CatalogError(f"{where} names the team '{bad[0]}'; the teams are "
                               f"{', '.join(TEAMS)}.")
        if role in ("editor", "approver") and not teams:
            raise CatalogError(f"{where} is {_article(role)} without a team; give it "
                               f"teams = [\"{TEAMS[0]}\"] (or the teams it works for).")
        name = entry.get("name", "")
        if not isinstance(name, str):
            raise CatalogError(f"{where} has a name that is not text.")
        ops = entry.get("ops", False)
        if not isinstance(ops, bool):
            raise CatalogError(f"{where} has ops = {ops!r}; write ops = true or ops = false.")
        people[email] = Person(email=email, role=role, teams=teams, name=name.strip(), ops=ops)
    return Roles(people=MappingProxyType(people), source=source)


def _article(role: str) -> str:
    return f"an {role}" if role[0] in "aeiou" else f"a {role}"


def _join(items: Iterable[str], conjunction: str = "and") -> str:
    items = list(items)
    if len(items) <= 2:
        return f" {conjunction} ".join(items)
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]
