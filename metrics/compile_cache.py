"""Compiled metric SQL kept on disk, so a fresh process does not compile again what an earlier
one compiled for the same definition, warehouse and code.

Compiling a definition for a request shape (sqlglot: rewrite, merge, generate) is the part of a
first call that is pure Python; the server warms it up at start, but every fresh process (a
restart, a CLI call, a notebook) paid it again. Entries are keyed by everything the compiled
text depends on: the Warehouse's own key (names, versions, texts, request and window shapes),
the warehouse's lead columns, the columns its tables repeat, the row cap and as_of, and a
digest of the engine's source code, so a change to any of them is a miss, never a stale hit.

The cache is a SQLite file beside the warehouse (`METRICS_COMPILE_CACHE` names another file;
`off` disables it). It is only ever an optimisation: a cache that cannot be read or written
(read-only folder, another process holding the lock) is skipped silently.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sqlite3
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

ENV = "METRICS_COMPILE_CACHE"
FILE_NAME = "compiled-metrics.sqlite"
# The modules whose code decides the compiled SQL text.
_CODE = ("compiler.py", "sql_guard.py", "selection.py", "warehouse.py", "definitions.py",
         "compile_cache.py")
_LOCK_TIMEOUT_S = 0.2
_ENGINE_DIR = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    digest = hashlib.sha256()
    for name in _CODE:
        digest.update((_ENGINE_DIR / name).read_bytes())
    return digest.hexdigest()[:16]


def cache_path(warehouse: Path) -> Path | None:
    setting = os.environ.get(ENV, "")
    if setting.lower() == "off":
        return None
    return Path(setting) if setting else Path(warehouse).with_name(FILE_NAME)


def _stable(value: object) -> object:
    """`value` with its sets and mappings in sorted order: the repr of a set follows string
    hashing, which differs from one process to the next, and a key must not."""
    if isinstance(value, Mapping):
        return sorted((repr(k), _stable(v)) for k, v in value.items())
    if isinstance(value, set | frozenset):
        return sorted(repr(_stable(v)) for v in value)
    if isinstance(value, list | tuple):
        return [_stable(v) for v in value]
    return value


class CompileCache:
    """Compiled queries by key, in a SQLite file; every failure is a miss."""

    def __init__(self, path: Path | None, context: Mapping[str, object]) -> None:
        self.path = path
        # What every key of this warehouse shares besides the Warehouse's own key.
        self._context = repr(_stable(context))
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection | None:
        if self.path is None:
            return None
        con = getattr(self._local, "con", None)
        if con is None:
            try:
                con = sqlite3.connect(self.path, timeout=_LOCK_TIMEOUT_S)
                con.execute("CREATE TABLE IF NOT EXISTS compiled "
                            "(key TEXT PRIMARY KEY, value BLOB NOT NULL)")
            except (sqlite3.Error, OSError):
                self.path = None  # not writable here: stop trying for this process
                return None
            self._local.con = con
        return con

    def _digest(self, key: tuple) -> str:
        key_text = repr(_stable(key))
        return hashlib.sha256(f"{code_version()}|{self._context}|{key_text}".encode()).hexdigest()

    def get_or_compile(self, key: tuple, compile_: Callable[[], object]) -> object:
        digest = self._digest(key)
        con = self._connection()
        if con is not None:
            try:
                row = con.execute("SELECT value FROM compiled WHERE key = ?", (digest,)).fetchone()
                if row is not None:
                    return pickle.loads(row[0])
            except (sqlite3.Error, pickle.PickleError, EOFError, AttributeError, TypeError):
                pass
        compiled = compile_()
        if con is not None:
            try:
                with con:
                    con.execute("INSERT OR REPLACE INTO compiled VALUES (?, ?)",
                                (digest, pickle.dumps(compiled)))
            except (sqlite3.Error, pickle.PickleError, TypeError):
                pass
        return compiled
