"""Real engine servers for the parity tests, started on free loopback ports and stopped after.

PostgreSQL refuses to run as root, so as root its server runs as the `postgres` user (in a data
directory that user owns). Spark runs as a standalone master and one worker (the cluster
manager a real deployment uses), from pyspark's own scripts.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

POSTGRES_BIN = Path(os.environ.get("POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres_user(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", "postgres", "--", *args]


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A fresh PostgreSQL cluster with a `handoff` database; yields its URL."""
    if not (POSTGRES_BIN / "initdb").exists():
        raise RuntimeError(f"PostgreSQL server binaries are not in {POSTGRES_BIN}; install "
                           "postgresql-15 (make test does).")
    root = Path(tempfile.mkdtemp(prefix="handoff-pg-"))
    data, sockets = root / "data", root / "run"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()
    subprocess.run(_as_postgres_user([str(POSTGRES_BIN / "initdb"), "-D", str(data), "-U",
                                      "postgres", "-A", "trust", "-E", "UTF8",
                                      "--no-sync"]),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres_user([
        str(POSTGRES_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w",
        "-o", f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
              "-c full_page_writes=off -c synchronous_commit=off -c timezone=UTC", "start"]),
        check=True, capture_output=True)
    try:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres",
                             autocommit=True) as con:
            con.execute("CREATE DATABASE handoff")
        yield f"postgresql://postgres@127.0.0.1:{port}/handoff"
    finally:
        subprocess.run(_as_postgres_user([str(POSTGRES_BIN / "pg_ctl"), "-D", str(data), "-m",
                                          "immediate", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
