"""The metric catalog: every version of every definition, sign-offs, targets, audit, snapshots.

DESIGN.md section 9 is the contract. The catalog is a SQLite file (default
`data/catalog.sqlite`, env `METRICS_CATALOG`), never the warehouse, so rebuilding the warehouse
never loses a definition or an approval.

Concurrency: the file runs in WAL mode with a busy timeout, and every write is one
`BEGIN IMMEDIATE` transaction that re-reads the state it depends on, so several threads or
processes can write at once without losing one (the write lock serialises them; the version
number is computed under it). Each call opens its own short-lived connection, which makes a
`Catalog` safe to share between threads (sqlite3 connections are not).

Rules, enforced here and not in the UI:

- Editors propose new versions of metrics their team owns, approvers also approve for their
  team, admins propose anything (new metrics too) and approve for the teams they belong to.
- A version goes live once every team in its sign-off list has approved it. The sign-off list
  is the owners of the version it replaces plus the owners its own header names, so a team
  cannot be written out of a metric without its consent.
- Each approval signs for exactly one team, and nobody approves their own proposal, so a jointly
  owned metric always needs two people other than its author.
- A proposal records the version it was based on; approving it once another version has become
  active since is refused as a conflict (no lost update).
- A refused call raises a CatalogError (or, for invalid SQL, a DefinitionError/UnsafeSQLError)
  with a sentence a person can act on, and changes nothing.

Alert rules (sql/alerts/*.toml) are versioned here too, by exactly the same rules: each rule is
a row family named `alert_rule:<rule>` (RULE_PREFIX) in the same tables, its text validated by
metrics.alert_rules.parse_rule instead of the SQL checks, owned by the rule's `owners`. The
prefix cannot clash with a metric (metric names are lowercase letters, digits and _), needs no
schema change, and every metric listing (names, active_definitions, export) leaves it out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import json
import logging
import math
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from metrics.alert_rules import ALERTS_DIR, RECIPIENTS_FILE_NAME, AlertRule, parse_rule
from metrics.definitions import TEAMS, MetricDefinition, definition_lines, parse_definition
from metrics.errors import CatalogError, MetricError, QueryError
from metrics.paths import METRICS_DIR, REPO_ROOT, default_catalog_path
from metrics.roles import Roles, load_roles, normalize_email
from metrics.sql_guard import validate_definition

log = logging.getLogger(__name__)

# 2: review_items (a review's notes, decisions, actions), annotations, period_targets
SCHEMA_VERSION = 2
BUSY_TIMEOUT_SECONDS = 30.0
STATUSES = ("proposed", "active", "superseded", "rejected")
TARGET_GRAINS = ("any", "day", "week", "month", "quarter", "total")
REVIEW_ITEM_KINDS = ("note", "decision", "action")
ACTION_STATUSES = ("open", "done", "dropped")
FILE_AUTHOR = "file"
RULE_PREFIX = "alert_rule:"
# SQL that keeps alert rules out of the metric listings (GLOB: case-sensitive, no _ wildcard).
_METRICS_ONLY = "name NOT GLOB 'alert_rule:*'"


def rule_key(rule: str) -> str:
    """The catalog name of an alert rule: 'sla_breach' -> 'alert_rule:sla_breach'."""
    return RULE_PREFIX + rule


def is_rule_key(name: str | None) -> bool:
    return bool(name) and name.startswith(RULE_PREFIX)


def rule_name(name: str) -> str:
    """The rule's own name from its catalog name ('alert_rule:sla_breach' -> 'sla_breach')."""
    return name.removeprefix(RULE_PREFIX)


def subject(name: str) -> str:
    """How sentences name a catalog entry: the metric's name, or 'the alert rule <rule>'."""
    return f"the alert rule {rule_name(name)}" if is_rule_key(name) else name

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS metric_versions (
        name TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        text TEXT NOT NULL,
        owners TEXT NOT NULL,
        signoff_teams TEXT NOT NULL,
        author TEXT NOT NULL,
        created_at TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        base_version INTEGER,
        status TEXT NOT NULL CHECK (status IN ('proposed', 'active', 'superseded', 'rejected')),
        origin TEXT NOT NULL CHECK (origin IN ('file', 'app')),
        activated_at TEXT,
        restores_version INTEGER,
        PRIMARY KEY (name, version))""",
    # The database itself guarantees at most one live version per metric.
    """CREATE UNIQUE INDEX IF NOT EXISTS one_active_version
        ON metric_versions (name) WHERE status = 'active'""",
    # A version is immutable once written; only its status moves.
    """CREATE TRIGGER IF NOT EXISTS metric_versions_are_immutable
        BEFORE UPDATE OF name, version, text, owners, signoff_teams, author, created_at, reason,
                         base_version, origin, restores_version ON metric_versions
        BEGIN SELECT RAISE(ABORT, 'metric versions are immutable'); END""",
    """CREATE TABLE IF NOT EXISTS approvals (
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        team TEXT NOT NULL,
        user TEXT NOT NULL,
        decided_at TEXT NOT NULL,
        decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
        comment TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (name, version, user),
        FOREIGN KEY (name, version) REFERENCES metric_versions (name, version))""",
    # One person signs for one team, and one approval per team is all a version needs.
    """CREATE UNIQUE INDEX IF NOT EXISTS one_approval_per_team
        ON approvals (name, version, team) WHERE decision = 'approve'""",
    """CREATE TABLE IF NOT EXISTS audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        user TEXT NOT NULL,
        action TEXT NOT NULL,
        name TEXT,
        version INTEGER,
        details TEXT NOT NULL DEFAULT '{}')""",
    "CREATE INDEX IF NOT EXISTS audit_log_by_name ON audit_log (name, id)",
    """CREATE TABLE IF NOT EXISTS targets (
        name TEXT NOT NULL,
        grain TEXT NOT NULL DEFAULT 'any',
        value REAL NOT NULL,
        set_by TEXT NOT NULL,
        set_at TEXT NOT NULL,
        PRIMARY KEY (name, grain))""",
    """CREATE TABLE IF NOT EXISTS snapshots (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at TEXT NOT NULL,
        user TEXT NOT NULL,
        title TEXT NOT NULL,
        payload TEXT NOT NULL)""",
    # What a review meeting wrote down beside its frozen numbers; actions stay open until closed.
    """CREATE TABLE IF NOT EXISTS review_items (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        snapshot_id INTEGER NOT NULL REFERENCES snapshots (id),
        kind TEXT NOT NULL CHECK (kind IN ('note', 'decision', 'action')),
        text TEXT NOT NULL,
        owner_team TEXT,
        due_on TEXT,
        status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'dropped')),
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        closed_by TEXT,
        closed_at TEXT)""",
    # Events people mark on trend charts (a campaign launch, a pricing change); metric NULL
    # means every chart. Removing one keeps its row (removed_at), so the audit log can name it.
    """CREATE TABLE IF NOT EXISTS annotations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        on_date TEXT NOT NULL,
        text TEXT NOT NULL,
        metric TEXT,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        removed_by TEXT,
        removed_at TEXT)""",
    # The plan: a target per month or quarter. A jointly owned metric's target counts once every
    # owning team has signed the same value (signed_teams); a new value starts over.
    """CREATE TABLE IF NOT EXISTS period_targets (
        name TEXT NOT NULL,
        grain TEXT NOT NULL CHECK (grain IN ('month', 'quarter')),
        period_start TEXT NOT NULL,
        value REAL NOT NULL,
        signed_teams TEXT NOT NULL,
        set_by TEXT NOT NULL,
        set_at TEXT NOT NULL,
        PRIMARY KEY (name, grain, period_start))""",
    # The last text seen of each definition file, so an unchanged file costs one comparison.
    """CREATE TABLE IF NOT EXISTS file_sync (
        name TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        text TEXT NOT NULL,
        synced_at TEXT NOT NULL,
        version INTEGER)""",
)


class UnknownMetricError(CatalogError, QueryError):
    """The catalog has no such metric or version (a QueryError too, for the query path)."""


class PermissionDeniedError(CatalogError):
    """The user's role or teams do not allow the action, or it is their own proposal."""


class ConflictError(CatalogError):
    """The proposal was based on a version that is no longer the active one."""


class ReadOnlyCatalogError(CatalogError):
    """The catalog can be read but not written here (file or folder without write access)."""


# SQLite's primary result codes for "cannot write this file" (extended codes share the low byte).
_SQLITE_READONLY, _SQLITE_CANTOPEN = 8, 14


def _now() -> str:
    # ISO-8601 UTC with a fixed width, so text order is time order.
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def _naive_utc(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp).astimezone(dt.UTC).replace(tzinfo=None)


def _teams(value: str) -> list[str]:
    return [t for t in value.split(",") if t]


def _ordered_teams(*groups: tuple[str, ...] | list[str]) -> list[str]:
    wanted = {t for group in groups for t in group}
    return [t for t in TEAMS if t in wanted] + sorted(wanted - set(TEAMS))


def _join(items: list[str] | tuple[str, ...]) -> str:
    items = list(items)
    return " and ".join(items) if len(items) <= 2 else ", ".join(items[:-1]) + " and " + items[-1]


def _json_default(value: Any) -> Any:
    # Snapshots hold numbers straight from pandas/numpy; store them as plain JSON values.
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "to_dict"):
        try:
            return value.to_dict(orient="records")
        except TypeError:
            return value.to_dict()
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


_DEFAULT_SCHEMA: Mapping[str, Mapping[str, str]] | None = None
_DEFAULT_SCHEMA_LOCK = threading.Lock()


def _default_schema() -> Mapping[str, Mapping[str, str]]:
    # Building the reference schema spins up an in-memory DuckDB; do it once per process.
    global _DEFAULT_SCHEMA
    with _DEFAULT_SCHEMA_LOCK:
        if _DEFAULT_SCHEMA is None:
            from metrics.build import reference_schema

            _DEFAULT_SCHEMA = reference_schema()
        return _DEFAULT_SCHEMA


class Catalog:
    """A handle on a catalog file; cheap to share between threads (one connection per call).

    Use `open_catalog()` to get one: it creates the tables and syncs the definition files.
    """

    def __init__(self, path: Path | str, roles: Roles, *, definitions_dir: Path,
                 schema: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self.path = Path(path)
        self.roles = roles
        self.definitions_dir = Path(definitions_dir)
        self._schema = schema
        self._parsed: dict[tuple[str, int], MetricDefinition] = {}
        #: Definition files that could not be imported at the last sync, as sentences.
        self.sync_problems: tuple[str, ...] = ()
        #: Alert rule files that could not be imported at the last `sync_rule_files`.
        self.rule_sync_problems: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"Catalog({str(self.path)!r})"

    # -- plumbing -------------------------------------------------------------------------------
    @property
    def schema(self) -> Mapping[str, Mapping[str, str]]:
        """The warehouse schema proposals are validated against (reference schema by default)."""
        if self._schema is None:
            self._schema = _default_schema()
        return self._schema

    def _connect(self) -> sqlite3.Connection:
        """A connection for a write transaction (it waits up to the busy timeout for the lock)."""
        try:
            con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
            con.row_factory = sqlite3.Row
            con.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
            con.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise CatalogError(f"cannot open the catalog {self.path}: {exc}; check the path "
                               "(--catalog or METRICS_CATALOG) and its permissions.") from None
        return con

    def _connect_read_only(self) -> sqlite3.Connection:
        """A connection that can only read: it needs no write access to the file and, in WAL
        mode, never waits for a writer (readers see the last committed state)."""
        if not self.path.exists():
            raise CatalogError(f"there is no catalog at {self.path}; check --catalog or "
                               "METRICS_CATALOG.")
        uri = self.path.resolve().as_uri()
        try:
            con = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS,
                                  isolation_level=None)
            con.execute("SELECT 1 FROM sqlite_master LIMIT 1")
        except sqlite3.Error:
            # A WAL catalog in a folder we cannot write: the -shm file cannot be created. No
            # process can be writing it then (a writer creates -shm), so read it as immutable.
            if os.access(self.path.parent, os.W_OK):
                raise
            con = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None)
        con.row_factory = sqlite3.Row
        return con

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; the write lock is taken first, so reads inside are current."""
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        except sqlite3.Error as exc:
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF in (_SQLITE_READONLY, _SQLITE_CANTOPEN):
                raise ReadOnlyCatalogError(
                    f"the catalog {self.path} is read-only here, so nothing was changed; reading "
                    "works, changes need write access to the file and its folder.") from None
            raise CatalogError(f"the catalog {self.path} could not be updated ({exc}); nothing "
                               "was changed, try again.") from None
        finally:
            con.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every SELECT inside it sees the same state."""
        try:
            con = self._connect_read_only()
        except sqlite3.Error as exc:
            raise CatalogError(f"cannot read the catalog {self.path}: {exc}; check the path "
                               "(--catalog or METRICS_CATALOG) and its permissions.") from None
        try:
            con.execute("BEGIN")
            yield con
            con.execute("COMMIT")
        except sqlite3.Error as exc:
            raise CatalogError(f"cannot read the catalog {self.path}: {exc}") from None
        finally:
            con.close()

    def _schema_is_current(self) -> bool:
        """True when the file already has this version's tables in WAL mode: opening it then
        writes nothing, so a read-only catalog opens and a held write lock does not block."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return False
        try:
            with self._read() as con:
                found = con.execute("PRAGMA user_version").fetchone()[0]
            with self.path.open("rb") as file:
                header = file.read(20)
        except (CatalogError, OSError):
            return False
        if found > SCHEMA_VERSION:
            raise CatalogError(f"the catalog {self.path} was written by a newer version of "
                               f"Handoff (schema {found}); upgrade before opening it.")
        # Bytes 18 and 19 of the file header are 2 in WAL mode (an immutable read-only
        # connection reports 'delete' whatever the file says).
        return found == SCHEMA_VERSION and header[18:20] == b"\x02\x02"

    def _init_schema(self) -> None:
        if self._schema_is_current():
            return
        con = self._connect()
        try:
            # Changing the journal mode needs the file to itself; the busy timeout covers that
            # only partly, so retry while other processes are opening the same new file.
            for attempt in range(50):
                try:
                    con.execute("PRAGMA journal_mode = WAL")
                    break
                except sqlite3.OperationalError:
                    if attempt == 49:
                        raise
                    threading.Event().wait(0.1)
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"{self.path} is not a usable catalog file ({exc}); point --catalog"
                               " or METRICS_CATALOG at a new or existing catalog.") from None
        finally:
            con.close()
        with self._write() as con:
            found = con.execute("PRAGMA user_version").fetchone()[0]
            if found > SCHEMA_VERSION:
                raise CatalogError(f"the catalog {self.path} was written by a newer version of "
                                   f"Handoff (schema {found}); upgrade before opening it.")
            for statement in _SCHEMA:
                con.execute(statement)
            if found < SCHEMA_VERSION:
                con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @staticmethod
    def _audit(con: sqlite3.Connection, user: str, action: str, name: str | None = None,
               version: int | None = None, **details: Any) -> None:
        con.execute(
            "INSERT INTO audit_log (at, user, action, name, version, details) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (_now(), user, action, name, version,
             json.dumps(details, default=_json_default, sort_keys=True)))

    @staticmethod
    def _active(con: sqlite3.Connection, name: str) -> sqlite3.Row | None:
        return con.execute("SELECT * FROM metric_versions WHERE name = ? AND status = 'active'",
                           (name,)).fetchone()

    @staticmethod
    def _next_version(con: sqlite3.Connection, name: str) -> int:
        return con.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM metric_versions "
                           "WHERE name = ?", (name,)).fetchone()[0]

    def _row(self, con: sqlite3.Connection, name: str, version: int) -> sqlite3.Row:
        row = con.execute("SELECT * FROM metric_versions WHERE name = ? AND version = ?",
                          (name, int(version))).fetchone()
        if row is not None:
            return row
        versions = [r[0] for r in con.execute(
            "SELECT version FROM metric_versions WHERE name = ? ORDER BY version", (name,))]
        if not versions:
            raise UnknownMetricError(f"the catalog has no metric '{name}'; "
                                     f"{self._known_names_hint(con)}")
        raise UnknownMetricError(f"{name} has no version {version}; its versions are "
                                 f"v1 to v{versions[-1]} (see `python -m metrics history {name}`).")

    @staticmethod
    def _known_names_hint(con: sqlite3.Connection) -> str:
        names = [r[0] for r in con.execute(
            f"SELECT DISTINCT name FROM metric_versions WHERE {_METRICS_ONLY} ORDER BY name")]
        if not names:
            return "the catalog is empty (no definition files were found)."
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        return f"the metrics are {shown}."

    @staticmethod
    def _decisions(con: sqlite3.Connection, name: str, version: int) -> list[sqlite3.Row]:
        return con.execute("SELECT * FROM approvals WHERE name = ? AND version = ? "
                           "ORDER BY decided_at, rowid", (name, version)).fetchall()

    def _parse(self, name: str, text: str, version: int) -> MetricDefinition:
        key = (name, version)
        cached = self._parsed.get(key)
        if cached is None or cached.text != text:
            cached = parse_definition(text, source=f"{name} v{version}", version=version,
                                      expected_name=name)
            self._parsed[key] = cached
        return cached

    # -- file sync --------------------------------------------------------------------------
    def sync_files(self) -> list[tuple[str, int]]:
        """Import the definition files; return the (name, version) of each version created.

        A file of a metric the catalog does not know becomes its version 1 (active, origin
        'file', author 'file'). A file whose text changed since the last sync becomes a new
        version recorded as coming from that file (origin 'file', author 'file:<path>') and is
        active at once: definition files are reviewed in git, which is their sign-off. A changed
        file whose text equals the active version (for instance one written by `export`) creates
        nothing. Unchanged files create nothing, so syncing again is a no-op; a file that does
        not parse or validate is skipped and described in `sync_problems`. Removing a file
        leaves its metric in the catalog.
        """
        files = sorted(self.definitions_dir.glob("*.sql")) if self.definitions_dir.is_dir() else []
        created, self.sync_problems = self._sync_paths([(path.stem, path) for path in files])
        return created

    def sync_rule_files(self, directory: Path | str = ALERTS_DIR) -> list[tuple[str, int]]:
        """Import the alert rule files of `directory` exactly as `sync_files` imports the
        definition files (a new file is v1, a changed one a new active version: rule files are
        reviewed in git); return the (catalog name, version) of each version created. Problems
        (a file that does not parse) are in `rule_sync_problems`."""
        created, self.rule_sync_problems = self._sync_paths(
            [(rule_key(path.stem), path) for path in _rule_files(directory)])
        return created

    def _sync_paths(self, files: list[tuple[str, Path]]
                    ) -> tuple[list[tuple[str, int]], tuple[str, ...]]:
        with self._read() as con:
            seen = {r["name"]: r["text"] for r in con.execute("SELECT name, text FROM file_sync")}
        candidates: list[tuple[str, Path, str, tuple[str, ...]]] = []
        problems: list[str] = []
        for name, path in files:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(f"{path}: cannot read the file: {exc}")
                continue
            if seen.get(name) == text:
                continue
            try:
                owners = self._checked_owners(name, text, str(path))
            except MetricError as exc:
                problems.append(f"{exc} (the file was not imported into the catalog)")
                continue
            candidates.append((name, path, text, owners))
        for problem in problems:
            log.warning("%s", problem)
        if not candidates:
            return [], tuple(problems)
        created: list[tuple[str, int]] = []
        try:
            with self._write() as con:
                for name, path, text, owners in candidates:
                    version = self._sync_one(con, name, path, text, owners)
                    if version is not None:
                        created.append((name, version))
        except ReadOnlyCatalogError:
            # Reading a read-only catalog (history, export) must still work; say what it lacks.
            what = "alert rule" if is_rule_key(candidates[0][0]) else "definition"
            problem = (f"the catalog {self.path} is read-only here, so {len(candidates)} changed "
                       f"{what} file(s) were not imported: "
                       + ", ".join(path.stem for _, path, _, _ in candidates) + ".")
            log.warning("%s", problem)
            problems.append(problem)
        return created, tuple(problems)

    def _checked_owners(self, name: str, text: str, source: str) -> tuple[str, ...]:
        """Parse and validate a whole file's text as what `name` is (a metric definition, or an
        alert rule for an `alert_rule:` name); return its owners, or raise the file's error."""
        if is_rule_key(name):
            return parse_rule(rule_name(name), text, source=source).owners
        defn = parse_definition(text, source=source, expected_name=name)
        validate_definition(defn, self.schema)
        return defn.owners

    def _sync_one(self, con: sqlite3.Connection, name: str, path: Path, text: str,
                  owners: tuple[str, ...]) -> int | None:
        # Re-read under the write lock: another process may have synced the same file meanwhile.
        state = con.execute("SELECT text FROM file_sync WHERE name = ?", (name,)).fetchone()
        if state is not None and state["text"] == text:
            return None
        now = _now()
        try:
            shown_path = path.resolve().relative_to(REPO_ROOT).as_posix()
        except ValueError:
            shown_path = str(path)
        active = self._active(con, name)
        version: int | None = None
        if active is not None and active["text"] == text:
            self._audit(con, FILE_AUTHOR, "file_matches_active", name, active["version"],
                        path=shown_path)
        else:
            version = self._next_version(con, name)
            author = FILE_AUTHOR if version == 1 else f"{FILE_AUTHOR}:{shown_path}"
            if active is not None:
                con.execute("UPDATE metric_versions SET status = 'superseded' "
                            "WHERE name = ? AND version = ?", (name, active["version"]))
            con.execute(
                "INSERT INTO metric_versions (name, version, text, owners, signoff_teams, author,"
                " created_at, reason, base_version, status, origin, activated_at)"
                " VALUES (?, ?, ?, ?, '', ?, ?, ?, ?, 'active', 'file', ?)",
                (name, version, text, ",".join(owners), author, now,
                 f"imported from {shown_path}" if version == 1 else f"{shown_path} changed",
                 active["version"] if active is not None else None, now))
            self._audit(con, author, "file_import", name, version, path=shown_path,
                        replaces=active["version"] if active is not None else None)
        con.execute(
            "INSERT INTO file_sync (name, path, text, synced_at, version) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET path = excluded.path, text = excluded.text, "
            "synced_at = excluded.synced_at, version = excluded.version",
            (name, shown_path, text, now, version if version is not None else active["version"]))
        return version

    # -- proposing --------------------------------------------------------------------------
    def can_propose(self, name: str, user: str) -> bool:
        """Would `propose(name, ..., author=user)` pass the rights check right now?"""
        with self._read() as con:
            active = self._active(con, name)
        owners = _teams(active["owners"]) if active is not None else None
        return self.roles.can_propose(user, owners)

    def _check_propose(self, con: sqlite3.Connection, name: str, author: str) -> sqlite3.Row | None:
        active = self._active(con, name)
        owners = _teams(active["owners"]) if active is not None else None
        refusal = self.roles.why_not_propose(author, owners, metric=subject(name))
        if refusal:
            raise PermissionDeniedError(refusal)
        return active

    def propose(self, name: str, text: str, *, author: str, reason: str = "",
                _restores: int | None = None) -> int:
        """Store `text` (a whole definition file) as a new proposed version; return its number.

        The text is parsed and validated against the warehouse schema first; invalid or hostile
        SQL raises DefinitionError/UnsafeSQLError and stores nothing.
        """
        author = normalize_email(author)
        if not isinstance(text, str) or not text.strip():
            if is_rule_key(name):
                raise CatalogError(f"the proposed text of {subject(name)} is empty; paste the "
                                   "whole rule file: label, kind, owners, notify and settings.")
            raise CatalogError(f"the proposed definition of {name} is empty; paste the whole "
                               "file: the '-- key: value' header, then one SELECT.")
        # Rights first (cheap), so someone without them is told that before any SQL critique.
        with self._read() as con:
            if is_rule_key(name) and self._active(con, name) is None:
                raise CatalogError(f"there is no alert rule {rule_name(name)}; a new rule starts "
                                   "as a file in sql/alerts/ (reviewed in git), then the app "
                                   "edits it.")
            self._check_propose(con, name, author)
        source = (f"{rule_name(name)}.toml (proposed)" if is_rule_key(name)
                  else f"{name} (proposed)")
        owners = self._checked_owners(name, text, source)
        if not is_rule_key(name):
            # A definition another configured engine would run with another meaning is refused
            # here, so it can never be approved silently.
            _check_configured_engines(parse_definition(text, source=source, expected_name=name),
                                      self.schema)
        with self._write() as con:
            # Re-check under the write lock: the active version or its owners may have moved.
            active = self._check_propose(con, name, author)
            if active is not None and active["text"] == text:
                raise CatalogError(f"this text is the same as the active version v"
                                   f"{active['version']} of {subject(name)}; change something "
                                   "before proposing it.")
            base_owners = _teams(active["owners"]) if active is not None else []
            signoff = _ordered_teams(base_owners, owners)
            version = self._next_version(con, name)
            base = active["version"] if active is not None else None
            con.execute(
                "INSERT INTO metric_versions (name, version, text, owners, signoff_teams, author,"
                " created_at, reason, base_version, status, origin, restores_version)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'proposed', 'app', ?)",
                (name, version, text, ",".join(owners), ",".join(signoff), author, _now(),
                 reason or "", base, _restores))
            self._audit(con, author, "rollback" if _restores else "propose", name, version,
                        base_version=base, signoff_teams=signoff, reason=reason or "",
                        restores_version=_restores)
        return version

    def rollback(self, name: str, to_version: int, *, author: str, reason: str = "") -> int:
        """Propose the text of an earlier live version again, as a new version (same sign-off)."""
        with self._read() as con:
            row = self._row(con, name, to_version)
            active = self._active(con, name)
        if active is not None and active["version"] == row["version"]:
            raise CatalogError(f"v{to_version} is already the active version of {name}; "
                               "there is nothing to roll back.")
        if row["activated_at"] is None:
            raise CatalogError(f"v{to_version} of {name} was never active, so it cannot be rolled "
                               "back to; propose its text as a new version instead.")
        return self.propose(name, row["text"], author=author,
                            reason=reason or f"roll back to v{to_version}",
                            _restores=int(to_version))

    # -- deciding ---------------------------------------------------------------------------
    def _open_proposal(self, con: sqlite3.Connection, name: str, version: int,
                       verb: str) -> sqlite3.Row:
        row = self._row(con, name, version)
        if row["status"] != "proposed":
            raise CatalogError(f"v{version} of {name} is already {row['status']}; only a proposed "
                               f"version can be {verb}.")
        return row

    @staticmethod
    def _conflict(con: sqlite3.Connection, row: sqlite3.Row) -> ConflictError | None:
        active = Catalog._active(con, row["name"])
        current = active["version"] if active is not None else None
        if row["base_version"] == current:
            return None
        based = (f"was proposed on top of v{row['base_version']}" if row["base_version"]
                 else "was proposed as a new metric")
        return ConflictError(
            f"v{row['version']} of {row['name']} {based}, but v{current} has become active since; "
            f"approving it would silently undo that change. Open v{current}, re-apply the edit "
            f"and propose it again based on v{current} (or reject v{row['version']}).")

    def approve(self, name: str, version: int, *, user: str, comment: str = "",
                team: str | None = None) -> str:
        """Approve a proposed version for one of the user's teams; return its status afterwards.

        The version becomes active ('active' is returned) once every team in its sign-off list
        has approved, and the previous active version becomes superseded. `team` chooses which
        team a user who belongs to several signs for (default: the first still missing).
        """
        user = normalize_email(user)
        with self._write() as con:
            row = self._open_proposal(con, name, version, "approved")
            signoff = _teams(row["signoff_teams"])
            person = self.roles.person(user)
            if user == row["author"]:
                raise PermissionDeniedError(
                    f"you proposed v{version} of {name} yourself; nobody approves their own "
                    f"proposal, so ask another approver of {_join(signoff)}.")
            if not person.may_approve:
                raise PermissionDeniedError(
                    f"{user or 'an anonymous user'} is {_article(person.role)} and cannot approve; "
                    f"v{version} of {name} needs approvers of {_join(signoff)}.")
            eligible = self.roles.approving_teams(user, signoff)
            if not eligible:
                raise PermissionDeniedError(
                    f"{user} approves for {_join(person.teams) or 'no team'}, but {name} is "
                    f"signed off by {_join(signoff)}; ask an approver of {_join(signoff)}.")
            conflict = self._conflict(con, row)
            if conflict is not None:
                raise conflict
            decisions = self._decisions(con, name, version)
            if any(d["user"] == user for d in decisions):
                raise CatalogError(f"you have already approved v{version} of {name}; one person "
                                   "signs for one team.")
            approved = {d["team"]: d["user"] for d in decisions if d["decision"] == "approve"}
            missing = [t for t in signoff if t not in approved]
            open_teams = [t for t in eligible if t not in approved]
            if team is not None:
                team = team.strip().lower()
                if team not in eligible:
                    raise PermissionDeniedError(
                        f"{user} cannot approve for {team}; they may approve v{version} of "
                        f"{name} for {_join(eligible)}.")
                open_teams = [team] if team not in approved else []
            if not open_teams:
                done = _join([f"{t} (by {approved[t]})" for t in eligible if t in approved])
                raise CatalogError(f"{done} already approved v{version} of {name}; it now waits "
                                   f"for {_join(missing)}.")
            chosen = open_teams[0]
            now = _now()
            con.execute("INSERT INTO approvals (name, version, team, user, decided_at, decision,"
                        " comment) VALUES (?, ?, ?, ?, ?, 'approve', ?)",
                        (name, version, chosen, user, now, comment or ""))
            self._audit(con, user, "approve", name, version, team=chosen, comment=comment or "")
            if set(missing) - {chosen}:
                return "proposed"
            previous = self._active(con, name)
            if previous is not None:
                con.execute("UPDATE metric_versions SET status = 'superseded' "
                            "WHERE name = ? AND version = ?", (name, previous["version"]))
            con.execute("UPDATE metric_versions SET status = 'active', activated_at = ? "
                        "WHERE name = ? AND version = ?", (now, name, version))
            self._audit(con, user, "activate", name, version,
                        replaces=previous["version"] if previous is not None else None,
                        approved_by={**approved, chosen: user})
            return "active"

    def reject(self, name: str, version: int, *, user: str, reason: str = "") -> None:
        """Reject a proposed version (any approver of a sign-off team), or withdraw one's own."""
        user = normalize_email(user)
        with self._write() as con:
            row = self._open_proposal(con, name, version, "rejected")
            signoff = _teams(row["signoff_teams"])
            eligible = self.roles.approving_teams(user, signoff)
            own = user == row["author"]
            if not own and not eligible:
                person = self.roles.person(user)
                raise PermissionDeniedError(
                    f"{user or 'an anonymous user'} is {_article(person.role)}"
                    f"{' of ' + _join(person.teams) if person.teams else ''} and cannot reject "
                    f"v{version} of {name}; approvers of {_join(signoff)} or its author can.")
            now = _now()
            # A change of mind replaces the person's earlier approval; the audit log keeps both.
            con.execute("DELETE FROM approvals WHERE name = ? AND version = ? AND user = ?",
                        (name, version, user))
            con.execute("INSERT INTO approvals (name, version, team, user, decided_at, decision,"
                        " comment) VALUES (?, ?, ?, ?, ?, 'reject', ?)",
                        (name, version, eligible[0] if eligible else "", user, now, reason or ""))
            con.execute("UPDATE metric_versions SET status = 'rejected' "
                        "WHERE name = ? AND version = ?", (name, version))
            self._audit(con, user, "withdraw" if own else "reject", name, version,
                        reason=reason or "")

    # -- reading ----------------------------------------------------------------------------
    def names(self) -> list[str]:
        """The metrics that have an active version, sorted."""
        with self._read() as con:
            return [r[0] for r in con.execute(
                f"SELECT name FROM metric_versions WHERE status = 'active' AND {_METRICS_ONLY} "
                "ORDER BY name")]

    def active_version(self, name: str) -> int:
        """The number of the version of `name` that is live now."""
        with self._read() as con:
            active = self._active(con, name)
            if active is None:
                known = con.execute("SELECT COUNT(*) FROM metric_versions WHERE name = ?",
                                    (name,)).fetchone()[0]
                if known:
                    raise UnknownMetricError(f"{name} has no active version yet; its first "
                                             "version is still waiting for approval.")
                raise UnknownMetricError(f"the catalog has no metric '{name}'; "
                                         f"{self._known_names_hint(con)}")
            return int(active["version"])

    def definition(self, name: str, version: int | None = None) -> MetricDefinition:
        """The parsed definition of a version (None: the active one), with .version set."""
        with self._read() as con:
            row = self._active(con, name) if version is None else self._row(con, name, version)
        if row is None:
            # Raises the sentence that fits (unknown, or not live yet) unless it just went live.
            return self.definition(name, self.active_version(name))
        return self._parse(name, row["text"], int(row["version"]))

    def active_definitions(self) -> dict[str, MetricDefinition]:
        """The active definition of every metric, by name."""
        with self._read() as con:
            rows = con.execute("SELECT name, version, text FROM metric_versions "
                               f"WHERE status = 'active' AND {_METRICS_ONLY} ORDER BY name"
                               ).fetchall()
        return {r["name"]: self._parse(r["name"], r["text"], int(r["version"])) for r in rows}

    def text(self, name: str, version: int | None = None) -> str:
        """The stored file text of a version (None: the active one), exactly as proposed."""
        if is_rule_key(name):
            with self._read() as con:
                row = self._active(con, name) if version is None else self._row(con, name,
                                                                               version)
            if row is None:
                raise UnknownMetricError(f"{subject(name)} has no active version.")
            return row["text"]
        return self.definition(name, version).text

    # -- alert rules ------------------------------------------------------------------------
    def rule(self, rule: str, version: int | None = None) -> AlertRule:
        """The parsed alert rule of a version (None: the active one), with .version set."""
        name = rule_key(rule)
        with self._read() as con:
            row = self._active(con, name) if version is None else self._row(con, name, version)
        if row is None:
            raise UnknownMetricError(f"the alert rule {rule} has no active version in the "
                                     "catalog; its file in sql/alerts/ is imported on first use.")
        return _parsed_rule(rule, row)

    def active_rules(self, directory: Path | str = ALERTS_DIR) -> dict[str, AlertRule]:
        """The rules in force: one per rule file of `directory`, each at its active catalog
        version (the file's text until a change made in the app is approved by every owning
        team). The files are synced first; a file that cannot be imported and has no version
        in the catalog yet raises its error, as the rule cannot be judged at all."""
        self.sync_rule_files(directory)
        files = _rule_files(directory)
        with self._read() as con:
            rows = {r["name"]: r for r in con.execute(
                "SELECT * FROM metric_versions WHERE status = 'active' AND name GLOB "
                "'alert_rule:*'")}
        rules = {}
        for path in files:
            row = rows.get(rule_key(path.stem))
            if row is None:
                # Not importable (read-only catalog, or the file is broken): judge the file.
                rules[path.stem] = parse_rule(path.stem, path.read_text(encoding="utf-8"),
                                              source=str(path))
            else:
                rules[path.stem] = _parsed_rule(path.stem, row)
        return rules

    @staticmethod
    def _version_dict(row: sqlite3.Row, decisions: list[sqlite3.Row],
                      active_version: int | None) -> dict[str, Any]:
        signoff = _teams(row["signoff_teams"])
        approved = {d["team"] for d in decisions if d["decision"] == "approve"}
        return {
            "name": row["name"],
            "version": row["version"],
            "status": row["status"],
            "author": row["author"],
            "created_at": row["created_at"],
            "reason": row["reason"],
            "approvals": [{"team": d["team"], "user": d["user"], "decided_at": d["decided_at"],
                           "decision": d["decision"], "comment": d["comment"]}
                          for d in decisions],
            "base_version": row["base_version"],
            "origin": row["origin"],
            "activated_at": row["activated_at"],
            "owners": _teams(row["owners"]),
            "signoff_teams": signoff,
            "missing_teams": ([t for t in signoff if t not in approved]
                              if row["status"] == "proposed" else []),
            "stale": row["status"] == "proposed" and row["base_version"] != active_version,
            "restores_version": row["restores_version"],
            "text": row["text"],
        }

    def history(self, name: str) -> list[dict[str, Any]]:
        """Every version of a metric, oldest first, each with its approvals and status."""
        with self._read() as con:
            rows = con.execute("SELECT * FROM metric_versions WHERE name = ? ORDER BY version",
                               (name,)).fetchall()
            if not rows:
                raise UnknownMetricError(f"the catalog has no metric '{name}'; "
                                         f"{self._known_names_hint(con)}")
            decisions = con.execute("SELECT * FROM approvals WHERE name = ? "
                                    "ORDER BY decided_at, rowid", (name,)).fetchall()
            active = self._active(con, name)
        active_version = active["version"] if active is not None else None
        return [self._version_dict(r, [d for d in decisions if d["version"] == r["version"]],
                                   active_version) for r in rows]

    def pending(self, for_user: str | None = None) -> list[dict[str, Any]]:
        """Proposed versions still open, oldest first (history dicts plus `can_approve`).

        With `for_user`, only those awaiting an approval that user may give: not their own, not
        already decided by them, and a team of theirs still missing. Stale proposals (based on a
        version that is no longer active) are included with `stale` True and `can_approve`
        False, since the user may still reject them.
        """
        user = normalize_email(for_user) if for_user is not None else None
        with self._read() as con:
            rows = con.execute("SELECT * FROM metric_versions WHERE status = 'proposed' "
                               "ORDER BY created_at, name, version").fetchall()
            actives = {r["name"]: r["version"] for r in con.execute(
                "SELECT name, version FROM metric_versions WHERE status = 'active'")}
            decisions = con.execute("SELECT a.* FROM approvals a JOIN metric_versions v "
                                    "USING (name, version) WHERE v.status = 'proposed' "
                                    "ORDER BY a.decided_at, a.rowid").fetchall()
        result = []
        for row in rows:
            mine = [d for d in decisions
                    if d["name"] == row["name"] and d["version"] == row["version"]]
            item = self._version_dict(row, mine, actives.get(row["name"]))
            item["active_version"] = actives.get(row["name"])
            if user is not None:
                teams = self.roles.approving_teams(user, item["missing_teams"])
                if user == row["author"] or any(d["user"] == user for d in mine) or not teams:
                    continue
            item["can_approve"] = not item["stale"] and user is not None
            result.append(item)
        return result

    def activations(self, name: str) -> list[tuple[int, dt.datetime]]:
        """(version, activated_at) of every version that went live, in time order.

        Times are naive UTC datetimes, like the warehouse's timestamps, for chart markers.
        """
        with self._read() as con:
            rows = con.execute("SELECT version, activated_at FROM metric_versions WHERE name = ? "
                               "AND activated_at IS NOT NULL ORDER BY activated_at, version",
                               (name,)).fetchall()
        return [(int(r["version"]), _naive_utc(r["activated_at"])) for r in rows]

    def audit(self, name: str | None = None, *, limit: int | None = None) -> list[dict[str, Any]]:
        """The audit log, newest first: id, at, user, action, name, version, details (a dict)."""
        sql = "SELECT * FROM audit_log"
        params: list[Any] = []
        if name is not None:
            sql += " WHERE name = ?"
            params.append(name)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        with self._read() as con:
            rows = con.execute(sql, params).fetchall()
        return [{"id": r["id"], "at": r["at"], "user": r["user"], "action": r["action"],
                 "name": r["name"], "version": r["version"], "details": json.loads(r["details"])}
                for r in rows]

    def record(self, user: str, action: str, **details: Any) -> None:
        """Add an audit entry for something done outside the catalog (a data load, a restore)."""
        with self._write() as con:
            self._audit(con, user, action, None, None, **details)

    def diff(self, name: str, a: int, b: int) -> str:
        """A unified diff from version a to version b of a metric ('' when the texts are equal)."""
        with self._read() as con:
            old, new = self._row(con, name, a)["text"], self._row(con, name, b)["text"]
        return "\n".join(difflib.unified_diff(definition_lines(old), definition_lines(new),
                                              fromfile=f"{name} v{a}", tofile=f"{name} v{b}",
                                              lineterm=""))

    def export(self, directory: Path | str) -> list[Path]:
        """Write each active definition to `<directory>/<name>.sql`; return the files written."""
        directory = Path(directory)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CatalogError(f"cannot create the folder {directory}: {exc}") from None
        with self._read() as con:
            rows = con.execute("SELECT name, text FROM metric_versions WHERE status = 'active' "
                               f"AND {_METRICS_ONLY} ORDER BY name").fetchall()
        written = []
        for row in rows:
            target = directory / f"{row['name']}.sql"
            temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            try:
                # Write then rename, so a reader of the folder never sees half a file.
                temporary.write_text(row["text"], encoding="utf-8")
                os.replace(temporary, target)
            except OSError as exc:
                raise CatalogError(f"cannot write {target}: {exc}") from None
            written.append(target)
        return written

    # -- targets ----------------------------------------------------------------------------
    def set_target(self, name: str, value: float | None, *, user: str,
                   grain: str = "any") -> None:
        """Set (or with None, clear) the target of a metric, for one time grain or 'any'.

        Only approvers and admins of a team that owns the metric may set its target.
        """
        user = normalize_email(user)
        grain = (grain or "any").strip().lower()
        if grain not in TARGET_GRAINS:
            raise CatalogError(f"a target's grain is one of {', '.join(TARGET_GRAINS)}, "
                               f"not '{grain}'.")
        if value is not None:
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise CatalogError(f"the target of {name} must be a number, not {value!r}."
                                   ) from None
            if not math.isfinite(value):
                raise CatalogError(f"the target of {name} must be a finite number.")
        with self._write() as con:
            active = self._active(con, name)
            if active is None:
                raise UnknownMetricError(f"the catalog has no live metric '{name}' to set a "
                                         f"target for; {self._known_names_hint(con)}")
            owners = _teams(active["owners"])
            if not self.roles.can_set_target(user, owners):
                raise PermissionDeniedError(
                    f"only approvers and admins of {_join(owners)} set the target of {name}; "
                    f"{user or 'an anonymous user'} is {_article(self.roles.role(user))}.")
            previous = con.execute("SELECT value FROM targets WHERE name = ? AND grain = ?",
                                   (name, grain)).fetchone()
            if value is None:
                con.execute("DELETE FROM targets WHERE name = ? AND grain = ?", (name, grain))
            else:
                con.execute(
                    "INSERT INTO targets (name, grain, value, set_by, set_at)"
                    " VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (name, grain) DO UPDATE SET value = excluded.value,"
                    " set_by = excluded.set_by, set_at = excluded.set_at",
                    (name, grain, value, user, _now()))
            self._audit(con, user, "set_target" if value is not None else "clear_target", name,
                        None, grain=grain, value=value,
                        previous=previous["value"] if previous is not None else None)

    def targets(self, grain: str | None = None) -> dict[str, float]:
        """Targets by metric: the 'any' ones, overridden by those of `grain` when given."""
        with self._read() as con:
            rows = con.execute("SELECT name, grain, value FROM targets").fetchall()
        result = {r["name"]: r["value"] for r in rows if r["grain"] == "any"}
        if grain and grain != "any":
            result.update({r["name"]: r["value"] for r in rows if r["grain"] == grain})
        return result

    def target_details(self) -> list[dict[str, Any]]:
        """Every target with who set it and when: name, grain, value, set_by, set_at."""
        with self._read() as con:
            return [dict(r) for r in con.execute(
                "SELECT name, grain, value, set_by, set_at FROM targets ORDER BY name, grain")]

    def set_period_targets(self, rows: list[tuple[str, str, dt.date, float]], *,
                           user: str) -> list[dict[str, Any]]:
        """Set the plan's targets: (metric, grain 'month'|'quarter', period start, value) rows,
        all or none (one transaction). Returns one dict per row: name, grain, period_start,
        value, agreed (bool) and waiting_for (the owning teams yet to sign that value).

        Approvers (and admins) of an owning team sign for their team; a jointly owned metric's
        target counts once every owning team signed the same value. Setting a different value
        starts the signatures over with the setter's team.
        """
        user = normalize_email(user)
        results = []
        with self._write() as con:
            for name, grain, start, value in rows:
                active = self._active(con, name)
                if active is None:
                    raise UnknownMetricError(f"the catalog has no live metric '{name}' to set a "
                                             f"target for; {self._known_names_hint(con)}")
                owners = _teams(active["owners"])
                teams = self.roles.approving_teams(user, owners)
                if not teams:
                    person = self.roles.person(user)
                    of = f" of {_join(list(person.teams))}" if person.teams else ""
                    raise PermissionDeniedError(
                        f"only approvers and admins of {_join(owners)} set the targets of "
                        f"{name}; {user or 'an anonymous user'} is "
                        f"{_article(person.role)}{of}.")
                if grain not in ("month", "quarter"):
                    raise CatalogError(f"a period target is for a month or a quarter, not "
                                       f"'{grain}'.")
                value = float(value)
                if not math.isfinite(value):
                    raise CatalogError(f"the target of {name} must be a finite number.")
                key = (name, grain, start.isoformat())
                previous = con.execute("SELECT value, signed_teams FROM period_targets WHERE "
                                       "name = ? AND grain = ? AND period_start = ?",
                                       key).fetchone()
                signed = set(teams)
                if previous is not None and previous["value"] == value:
                    signed |= set(_teams(previous["signed_teams"]))
                signed_list = _ordered_teams(list(signed))
                con.execute(
                    "INSERT INTO period_targets (name, grain, period_start, value, signed_teams,"
                    " set_by, set_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name, grain,"
                    " period_start) DO UPDATE SET value = excluded.value, signed_teams ="
                    " excluded.signed_teams, set_by = excluded.set_by, set_at = excluded.set_at",
                    (*key, value, ",".join(signed_list), user, _now()))
                waiting = [t for t in owners if t not in signed]
                self._audit(con, user, "set_period_target", name, None, grain=grain,
                            period_start=key[2], value=value, signed_teams=signed_list,
                            previous=previous["value"] if previous is not None else None)
                results.append({"name": name, "grain": grain, "period_start": key[2],
                                "value": value, "agreed": not waiting, "waiting_for": waiting})
        return results

    def period_targets(self, name: str | None = None, *,
                       agreed_only: bool = True) -> list[dict[str, Any]]:
        """The plan's targets (name, grain, period_start, value, signed_teams, agreed), by
        metric and period; only those every owning team signed unless agreed_only=False."""
        sql = ("SELECT t.*, v.owners FROM period_targets t JOIN metric_versions v "
               "ON v.name = t.name AND v.status = 'active'")
        params: list[Any] = []
        if name is not None:
            sql += " WHERE t.name = ?"
            params.append(name)
        with self._read() as con:
            rows = con.execute(sql + " ORDER BY t.name, t.grain, t.period_start",
                               params).fetchall()
        result = []
        for row in rows:
            signed = _teams(row["signed_teams"])
            agreed = all(t in signed for t in _teams(row["owners"]))
            if agreed or not agreed_only:
                result.append({"name": row["name"], "grain": row["grain"],
                               "period_start": row["period_start"], "value": row["value"],
                               "signed_teams": signed, "agreed": agreed,
                               "set_by": row["set_by"], "set_at": row["set_at"]})
        return result

    # -- snapshots --------------------------------------------------------------------------
    def save_snapshot(self, title: str, payload: Any, *, user: str) -> int:
        """Freeze a meeting's numbers (any JSON-able payload); return the snapshot id.

        Anyone may save a snapshot: it changes no definition. Dates, numpy numbers and pandas
        frames in the payload are stored as their JSON equivalents.
        """
        user = normalize_email(user)
        title = (title or "").strip()
        if not title:
            raise CatalogError("give the snapshot a title, e.g. 'Pipeline review 2025-03-04'.")
        if not user:
            raise CatalogError("say who saves the snapshot (user=<email>).")
        try:
            text = json.dumps(payload, default=_json_default)
        except (TypeError, ValueError) as exc:
            raise CatalogError(f"the snapshot's content cannot be stored as JSON: {exc}") from None
        with self._write() as con:
            cursor = con.execute("INSERT INTO snapshots (created_at, user, title, payload) "
                                 "VALUES (?, ?, ?, ?)", (_now(), user, title, text))
            snapshot_id = int(cursor.lastrowid)
            self._audit(con, user, "save_snapshot", None, None, snapshot_id=snapshot_id,
                        title=title)
        return snapshot_id

    def snapshots(self) -> list[dict[str, Any]]:
        """The saved snapshots, newest first, without their payload: id, created_at, user, title."""
        with self._read() as con:
            return [dict(r) for r in con.execute(
                "SELECT id, created_at, user, title FROM snapshots ORDER BY id DESC")]

    def snapshot(self, snapshot_id: int) -> dict[str, Any]:
        """One snapshot with its payload decoded."""
        with self._read() as con:
            row = con.execute("SELECT * FROM snapshots WHERE id = ?",
                              (int(snapshot_id),)).fetchone()
        if row is None:
            raise UnknownMetricError(f"there is no snapshot {snapshot_id}; `snapshots()` lists "
                                     "the saved ones.")
        return {**dict(row), "payload": json.loads(row["payload"])}

    # -- what a review wrote down -----------------------------------------------------------
    def add_review_item(self, snapshot_id: int, kind: str, text: str, *, user: str,
                        owner_team: str | None = None,
                        due_on: dt.date | str | None = None) -> int:
        """Write a note, a decision or an action item into a saved review; return its id.

        Editors, approvers and admins write into reviews (viewers read them). An action item
        needs the team that owns it and a due date; it stays open until `close_action`.
        """
        user = normalize_email(user)
        kind = (kind or "").strip().lower()
        text = (text or "").strip()
        if kind not in REVIEW_ITEM_KINDS:
            raise CatalogError(f"a review item is a {', '.join(REVIEW_ITEM_KINDS[:-1])} or "
                               f"{REVIEW_ITEM_KINDS[-1]}, not '{kind}'.")
        if not text:
            raise CatalogError(f"write what the {kind} says before adding it.")
        if not self.roles.person(user).may_edit:
            raise PermissionDeniedError(
                f"{user or 'an anonymous user'} is {_article(self.roles.role(user))}; editors, "
                "approvers and admins write notes, decisions and actions into a review.")
        team = (owner_team or "").strip().lower() or None
        due = None
        if kind == "action":
            if team not in TEAMS:
                raise CatalogError(f"an action item needs the team that owns it: one of "
                                   f"{_join(list(TEAMS))}.")
            try:
                due = (due_on if isinstance(due_on, dt.date)
                       else dt.date.fromisoformat(str(due_on or "").strip())).isoformat()
            except ValueError:
                raise CatalogError(f"an action item needs a due date as YYYY-MM-DD, not "
                                   f"{due_on!r}.") from None
        with self._write() as con:
            review = con.execute("SELECT title FROM snapshots WHERE id = ?",
                                 (int(snapshot_id),)).fetchone()
            if review is None:
                raise UnknownMetricError(f"there is no review {snapshot_id} to write into; "
                                         "`python -m metrics snapshot list` lists them.")
            cursor = con.execute(
                "INSERT INTO review_items (snapshot_id, kind, text, owner_team, due_on, "
                "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (int(snapshot_id), kind, text, team if kind == "action" else None, due, user,
                 _now()))
            item_id = int(cursor.lastrowid)
            self._audit(con, user, f"review_{kind}", None, None, snapshot_id=int(snapshot_id),
                        item_id=item_id, text=text, owner_team=team, due_on=due)
        return item_id

    def close_action(self, item_id: int, *, user: str, status: str = "done") -> None:
        """Mark an open action item done (or dropped); editors of any team may."""
        user = normalize_email(user)
        if status not in ACTION_STATUSES[1:]:
            raise CatalogError(f"an action is closed as {_join(list(ACTION_STATUSES[1:]))}, "
                               f"not '{status}'.")
        if not self.roles.person(user).may_edit:
            raise PermissionDeniedError(
                f"{user or 'an anonymous user'} is {_article(self.roles.role(user))}; editors, "
                "approvers and admins close action items.")
        with self._write() as con:
            row = con.execute("SELECT * FROM review_items WHERE id = ?",
                              (int(item_id),)).fetchone()
            if row is None or row["kind"] != "action":
                raise UnknownMetricError(f"there is no action item {item_id}.")
            if row["status"] != "open":
                raise CatalogError(f"action {item_id} is already {row['status']} (by "
                                   f"{row['closed_by']}).")
            con.execute("UPDATE review_items SET status = ?, closed_by = ?, closed_at = ? "
                        "WHERE id = ?", (status, user, _now(), int(item_id)))
            self._audit(con, user, f"action_{status}", None, None,
                        snapshot_id=row["snapshot_id"], item_id=int(item_id), text=row["text"])

    def add_annotation(self, on_date: dt.date | str, text: str, *, user: str,
                       metric: str | None = None) -> int:
        """Mark an event on the trend charts (of one metric, or of all with metric=None);
        editors, approvers and admins may. Returns its id."""
        user = normalize_email(user)
        text = " ".join((text or "").split())
        if not text:
            raise CatalogError("say what happened, e.g. 'Pricing change' or 'New SDR team'.")
        if len(text) > 200:
            raise CatalogError("keep an event to 200 characters: it is shown on charts.")
        try:
            day = (on_date if isinstance(on_date, dt.date)
                   else dt.date.fromisoformat(str(on_date).strip()))
        except ValueError:
            raise CatalogError(f"an event needs its date as YYYY-MM-DD, not {on_date!r}."
                               ) from None
        if not self.roles.person(user).may_edit:
            raise PermissionDeniedError(
                f"{user or 'an anonymous user'} is {_article(self.roles.role(user))}; editors, "
                "approvers and admins mark events on the charts.")
        with self._write() as con:
            if metric is not None and self._active(con, metric) is None:
                raise UnknownMetricError(f"the catalog has no live metric '{metric}'; "
                                         f"{self._known_names_hint(con)}")
            cursor = con.execute(
                "INSERT INTO annotations (on_date, text, metric, created_by, created_at) "
                "VALUES (?, ?, ?, ?, ?)", (day.isoformat(), text, metric, user, _now()))
            annotation_id = int(cursor.lastrowid)
            self._audit(con, user, "annotate", metric, None, annotation_id=annotation_id,
                        on_date=day.isoformat(), text=text)
        return annotation_id

    def remove_annotation(self, annotation_id: int, *, user: str) -> None:
        """Take an event off the charts (it stays in the audit log)."""
        user = normalize_email(user)
        if not self.roles.person(user).may_edit:
            raise PermissionDeniedError(
                f"{user or 'an anonymous user'} is {_article(self.roles.role(user))}; editors, "
                "approvers and admins remove events from the charts.")
        with self._write() as con:
            row = con.execute("SELECT * FROM annotations WHERE id = ? AND removed_at IS NULL",
                              (int(annotation_id),)).fetchone()
            if row is None:
                raise UnknownMetricError(f"there is no event {annotation_id} on the charts.")
            con.execute("UPDATE annotations SET removed_by = ?, removed_at = ? WHERE id = ?",
                        (user, _now(), int(annotation_id)))
            self._audit(con, user, "remove_annotation", row["metric"], None,
                        annotation_id=int(annotation_id), on_date=row["on_date"],
                        text=row["text"])

    def annotations(self, metric: str | None = None) -> list[dict[str, Any]]:
        """Events on the charts, oldest first: those of every chart, plus those of `metric`
        when given (None: all of them). on_date is an ISO date."""
        sql = "SELECT * FROM annotations WHERE removed_at IS NULL"
        params: list[Any] = []
        if metric is not None:
            sql += " AND (metric IS NULL OR metric = ?)"
            params.append(metric)
        with self._read() as con:
            return [dict(r) for r in con.execute(sql + " ORDER BY on_date, id", params)]

    def review_items(self, snapshot_id: int) -> list[dict[str, Any]]:
        """The notes, decisions and actions of one review, in the order they were written."""
        with self._read() as con:
            return [dict(r) for r in con.execute(
                "SELECT * FROM review_items WHERE snapshot_id = ? ORDER BY id",
                (int(snapshot_id),))]

    def open_actions(self, *, before: int | None = None) -> list[dict[str, Any]]:
        """Action items still open from reviews saved before review `before` (None: from every
        review), soonest due first, each with the title of the review that set it."""
        sql = ("SELECT i.*, s.title AS review_title FROM review_items i JOIN snapshots s "
               "ON s.id = i.snapshot_id WHERE i.kind = 'action' AND i.status = 'open'")
        params: list[Any] = []
        if before is not None:
            sql += " AND i.snapshot_id < ?"
            params.append(int(before))
        with self._read() as con:
            return [dict(r) for r in con.execute(sql + " ORDER BY i.due_on, i.id", params)]


def _article(role: str) -> str:
    return f"an {role}" if role[:1] in ("a", "e", "i", "o", "u") else f"a {role}"


def _rule_files(directory: Path | str) -> list[Path]:
    folder = Path(directory)
    if not folder.is_dir():
        return []
    return [p for p in sorted(folder.glob("*.toml")) if p.name != RECIPIENTS_FILE_NAME]


def _parsed_rule(rule: str, row: sqlite3.Row) -> AlertRule:
    version = int(row["version"])
    parsed = parse_rule(rule, row["text"], source=f"sql/alerts/{rule}.toml v{version}")
    return dataclasses.replace(parsed, version=version)


def _default_definitions_dir() -> Path:
    # The app and the CLI must sync the same folder into a catalog, or each would record the
    # other's files as new versions; paths.definitions_dir() honours METRICS_DEFINITIONS.
    from metrics import paths

    return paths.definitions_dir() if hasattr(paths, "definitions_dir") else METRICS_DIR


def open_catalog(path: Path | str | None = None,
                 roles: Roles | Mapping | Path | str | None = None, *,
                 definitions_dir: Path | str | None = None,
                 schema: Mapping[str, Mapping[str, str]] | None = None,
                 sync: bool = True) -> Catalog:
    """Open (creating if needed) a catalog file and import the definition files into it.

    `path` defaults to METRICS_CATALOG or data/catalog.sqlite; `roles` is a Roles, a dict
    shaped like roles.toml or a path (default METRICS_ROLES or roles.toml); `definitions_dir`
    defaults to METRICS_DEFINITIONS or sql/metrics; `schema` is the warehouse schema proposals
    are validated against (default: the schema of an empty warehouse built by this code). See
    Catalog.sync_files for how files become versions.
    """
    path = Path(path) if path is not None else default_catalog_path()
    loaded_roles = load_roles(roles)
    if path.parent and not path.parent.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CatalogError(f"cannot create the folder of the catalog {path}: {exc}") from None
    catalog = Catalog(path, loaded_roles,
                      definitions_dir=Path(definitions_dir) if definitions_dir
                      else _default_definitions_dir(), schema=schema)
    catalog._init_schema()
    if sync:
        catalog.sync_files()
    return catalog


def _check_configured_engines(defn: MetricDefinition, schema) -> None:
    """A proposal must run with the same meaning on every engine the deployment serves
    (METRICS_ENGINE / METRICS_ENGINES), so it is never approved while one of them cannot."""
    from metrics.engines.portability import check_configured_engines

    check_configured_engines(defn, schema)