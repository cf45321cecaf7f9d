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
    try:
        subprocess.run(_as_postgres_user([str(POSTGRES_BIN / "initdb"), "-D", str(data), "-U",
                                          "postgres", "-A", "trust", "-E", "UTF8",
                                          "--no-sync"]),
                       check=True, capture_output=True)
        subprocess.run(_as_postgres_user([
            str(POSTGRES_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w",
            "-o", f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
                  "-c full_page_writes=off -c synchronous_commit=off -c timezone=UTC", "start"]),
            check=True, capture_output=True)
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres",
                             autocommit=True) as con:
            con.execute("CREATE DATABASE handoff")
        yield f"postgresql://postgres@127.0.0.1:{port}/handoff"
    finally:
        subprocess.run(_as_postgres_user([str(POSTGRES_BIN / "pg_ctl"), "-D", str(data), "-m",
                                          "immediate", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def _wait_for_port(port: int, process: subprocess.Popen, what: str, log: Path,
                   seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited: {log.read_text()[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise RuntimeError(f"{what} did not listen on {port} within {seconds:g} s: "
                       f"{log.read_text()[-2000:]}")


@contextlib.contextmanager
def spark_cluster(*, memory: str = "2g", executor_memory: str = "1g",
                  partitions: int = 2) -> Iterator[str]:
    """A standalone Spark master and one worker (2 cores, `memory`) on 127.0.0.1; yields the
    engine URL (with a warehouse directory both the driver and the executors read)."""
    root = Path(tempfile.mkdtemp(prefix="handoff-spark-"))
    home = spark_home()
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1",
           "SPARK_LOG_DIR": str(root), "SPARK_WORKER_DIR": str(root / "work"),
           "PYSPARK_PYTHON": sys.executable}
    master_port, worker_port = free_port(), free_port()
    spark_class = str(home / "bin" / "spark-class")
    processes: list[subprocess.Popen] = []
    try:
        master_log = root / "master.log"
        processes.append(subprocess.Popen(
            [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
             "--port", str(master_port), "--webui-port", str(free_port())],
            env=env, stdout=master_log.open("w"), stderr=subprocess.STDOUT))
        _wait_for_port(master_port, processes[0], "the Spark master", master_log)
        worker_log = root / "worker.log"
        processes.append(subprocess.Popen(
            [spark_class, "org.apache.spark.deploy.worker.Worker",
             f"spark://127.0.0.1:{master_port}", "--host", "127.0.0.1", "--port",
             str(worker_port), "--webui-port", str(free_port()), "--cores", "2",
             "--memory", memory],
            env=env, stdout=worker_log.open("w"), stderr=subprocess.STDOUT))
        _wait_for_port(worker_port, processes[1], "the Spark worker", worker_log)
        os.environ.setdefault("SPARK_HOME", str(home))
        yield (f"spark://127.0.0.1:{master_port}?spark.sql.warehouse.dir={root / 'warehouse'}"
               f"&spark.executor.memory={executor_memory}"
               f"&spark.sql.shuffle.partitions={partitions}"
               f"&spark.default.parallelism={partitions}")
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(root, ignore_errors=True)
