"""Several threads and processes writing the catalog at once: nothing lost, nothing doubled.

The rule under test (DESIGN.md section 9): writes are transactions and several processes may
write at once without losing one. Versions of a metric stay contiguous and unique, and two
approvals racing to activate two proposals based on the same version activate exactly one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest

from metrics.build import reference_schema
from metrics.catalog import Catalog, ConflictError, open_catalog
from metrics.paths import REPO_ROOT

ROLES = {"users": {
    "cmo@example.com": {"teams": ["marketing"], "role": "approver"},
    "demand.gen@example.com": {"teams": ["marketing"], "role": "approver"},
    "vp.sales@example.com": {"teams": ["sales"], "role": "approver"},
    "sales.director@example.com": {"teams": ["sales"], "role": "approver"},
    "marketing.ops@example.com": {"teams": ["marketing"], "role": "editor"},
    "sales.ops@example.com": {"teams": ["sales"], "role": "editor"},
    "revops.admin@example.com": {"teams": ["marketing", "sales"], "role": "admin"},
}}
HEADER = ("-- name: {name}\n-- label: {name}\n-- owners: {owners}\n-- kind: {kind}\n"
          "-- unit: {unit}\n-- direction: up\n-- anchor: {anchor}\n-- description: {description}\n")
METRICS = {
    "joint_rate": dict(owners="marketing, sales", kind="ratio", unit="percent",
                       anchor="first_mql_at",
                       sql="SELECT lead_id, first_mql_at, CASE WHEN first_sal_at IS NOT NULL "
                           "THEN 1 ELSE 0 END AS numerator, 1 AS denominator FROM lead_lifecycle "
                           "WHERE first_mql_at IS NOT NULL\n"),
    "mkt_count": dict(owners="marketing", kind="count", unit="count", anchor="created_at",
                      sql="SELECT lead_id, created_at, 1 AS value FROM leads\n"),
    "sales_pipeline": dict(owners="sales", kind="sum", unit="currency", anchor="created_at",
                           sql="SELECT lead_id, created_at, amount AS value FROM opportunities\n"),
}
# An author allowed to propose for each metric, picked in turn so roles vary too.
AUTHORS = {
    "joint_rate": ("marketing.ops@example.com", "sales.ops@example.com",
                   "revops.admin@example.com"),
    "mkt_count": ("marketing.ops@example.com", "cmo@example.com", "revops.admin@example.com"),
    "sales_pipeline": ("sales.ops@example.com", "vp.sales@example.com", "revops.admin@example.com"),
}


def metric_text(name: str, description: str = "As loaded from the file.") -> str:
    fields = METRICS[name]
    return HEADER.format(name=name, description=description, **fields) + fields["sql"]


@pytest.fixture(scope="module")
def schema() -> dict:
    return reference_schema()


@pytest.fixture
def defs_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "definitions"
    folder.mkdir()
    for name in METRICS:
        (folder / f"{name}.sql").write_text(metric_text(name), encoding="utf-8")
    return folder


@pytest.fixture
def catalog(tmp_path: Path, defs_dir: Path, schema: dict) -> Catalog:
    return open_catalog(tmp_path / "catalog.sqlite", ROLES, definitions_dir=defs_dir,
                        schema=schema)


def assert_versions_consistent(catalog: Catalog, proposed: list[tuple[str, int, str]]) -> None:
    """Every proposal is stored once under the number it got, and numbers have no gaps."""
    by_metric: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for name, version, reason in proposed:
        by_metric[name].append((version, reason))
    for name in METRICS:
        history = catalog.history(name)
        numbers = [v["version"] for v in history]
        assert numbers == list(range(1, len(history) + 1)), f"{name}: gaps or repeats {numbers}"
        assert len(history) == 1 + len(by_metric[name]), f"{name}: lost or extra versions"
        got = sorted(v for v, _ in by_metric[name])
        assert got == list(range(2, len(history) + 1)), f"{name}: returned numbers {got}"
        reasons = {v["version"]: v["reason"] for v in history}
        for version, reason in by_metric[name]:
            assert reasons[version] == reason
            assert catalog.definition(name, version).description == reason
        assert sum(v["status"] == "active" for v in history) == 1


def test_threads_proposing_at_once_lose_nothing(catalog: Catalog) -> None:
    threads_count, per_thread = 8, 10
    barrier = threading.Barrier(threads_count)
    results: list[tuple[str, int, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        # Half the threads share the catalog object, half open their own handle on the file.
        own = catalog if worker % 2 else open_catalog(
            catalog.path, ROLES, definitions_dir=catalog.definitions_dir, schema=catalog.schema)
        barrier.wait()
        try:
            for i in range(per_thread):
                name = sorted(METRICS)[(worker + i) % len(METRICS)]
                reason = f"thread {worker} proposal {i}"
                author = AUTHORS[name][(worker + i) % 3]
                version = own.propose(name, metric_text(name, reason), author=author,
                                      reason=reason)
                with lock:
                    results.append((name, version, reason))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(results) == threads_count * per_thread
    assert_versions_consistent(catalog, results)
    assert len(catalog.pending()) == threads_count * per_thread
    proposals = [e for e in catalog.audit() if e["action"] == "propose"]
    assert len(proposals) == threads_count * per_thread


def test_racing_approvals_activate_exactly_one(catalog: Catalog) -> None:
    for round_number in range(6):
        base = catalog.active_version("joint_rate")
        a = catalog.propose("joint_rate", metric_text("joint_rate", f"A{round_number}"),
                            author="marketing.ops@example.com")
        b = catalog.propose("joint_rate", metric_text("joint_rate", f"B{round_number}"),
                            author="sales.ops@example.com")
        catalog.approve("joint_rate", a, user="cmo@example.com")
        catalog.approve("joint_rate", b, user="demand.gen@example.com")
        barrier = threading.Barrier(2)
        outcomes: dict[int, object] = {}

        def finish(version: int, user: str) -> None:
            barrier.wait()
            try:
                outcomes[version] = catalog.approve("joint_rate", version, user=user)
            except Exception as exc:  # noqa: BLE001 - inspected below
                outcomes[version] = exc

        racers = [threading.Thread(target=finish, args=(a, "vp.sales@example.com")),
                  threading.Thread(target=finish, args=(b, "sales.director@example.com"))]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join(timeout=60)
        winners = [v for v, o in outcomes.items() if o == "active"]
        losers = [v for v, o in outcomes.items() if isinstance(o, ConflictError)]
        assert len(winners) == 1 and len(losers) == 1, outcomes
        (winner,), (loser,) = winners, losers
        assert catalog.active_version("joint_rate") == winner
        assert f"propose it again based on v{winner}" in str(outcomes[loser])
        history = {v["version"]: v for v in catalog.history("joint_rate")}
        assert history[base]["status"] == "superseded"
        assert history[loser]["status"] == "proposed" and history[loser]["stale"]
        assert [a["team"] for a in history[loser]["approvals"]] == ["marketing"]
        catalog.reject("joint_rate", loser, user="vp.sales@example.com", reason="lost the race")


# -- processes -----------------------------------------------------------------------------------

WORKER = r"""
import json, sys, time
from pathlib import Path
job = json.loads(Path(sys.argv[1]).read_text())
Path(job["ready"]).touch()
while not Path(job["go"]).exists():
    time.sleep(0.005)
from metrics.catalog import open_catalog
schema = json.loads(Path(job["schema"]).read_text())
# Opening syncs the files: every process does it at once, on a catalog file that may not exist yet.
catalog = open_catalog(job["catalog"], job["roles"], definitions_dir=job["defs"], schema=schema)
results = []
for action in job["actions"]:
    try:
        if action[0] == "propose":
            _, name, text, author, reason = action
            version = catalog.propose(name, text, author=author, reason=reason)
            results.append(["ok", name, version, reason])
        else:
            _, name, version, user = action
            results.append(["ok", name, version, catalog.approve(name, version, user=user)])
    except Exception as exc:
        results.append(["error", type(exc).__name__, str(exc)])
print(json.dumps(results))
"""


def run_processes(tmp_path: Path, jobs: list[dict], schema: dict) -> list[list]:
    """Start one python process per job, release them together, return their results."""
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(schema), encoding="utf-8")
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    processes = []
    for number, job in enumerate(jobs):
        job = {**job, "ready": str(tmp_path / f"ready-{number}"), "go": str(go),
               "schema": str(schema_file), "roles": ROLES}
        job_file = tmp_path / f"job-{number}.json"
        job_file.write_text(json.dumps(job), encoding="utf-8")
        processes.append(subprocess.Popen([sys.executable, "-c", WORKER, str(job_file)],
                                          cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True))
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready-{n}").exists() for n in range(len(jobs))):
        assert time.monotonic() < deadline, "worker processes did not start"
        assert all(p.poll() is None for p in processes), [p.communicate() for p in processes]
        time.sleep(0.01)
    go.touch()
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    return outputs


def test_processes_opening_and_proposing_at_once_lose_nothing(
        tmp_path: Path, defs_dir: Path, schema: dict) -> None:
    path = tmp_path / "shared.sqlite"  # does not exist yet: the processes race to create it
    jobs = []
    for worker in range(4):
        actions = []
        for i in range(10):
            name = sorted(METRICS)[(worker + i) % len(METRICS)]
            reason = f"process {worker} proposal {i}"
            actions.append(["propose", name, metric_text(name, reason),
                            AUTHORS[name][(worker + i) % 3], reason])
        jobs.append({"catalog": str(path), "defs": str(defs_dir), "actions": actions})
    outputs = run_processes(tmp_path, jobs, schema)
    results = [r for output in outputs for r in output]
    assert all(r[0] == "ok" for r in results), [r for r in results if r[0] != "ok"]
    catalog = open_catalog(path, ROLES, definitions_dir=defs_dir, schema=schema)
    assert_versions_consistent(catalog, [(r[1], r[2], r[3]) for r in results])
    # The files were imported once, however many processes synced them at the same moment.
    assert [e["action"] for e in catalog.audit()].count("file_import") == len(METRICS)
    assert all(catalog.history(n)[0]["origin"] == "file" for n in METRICS)


def test_processes_racing_to_approve_activate_exactly_one(
        tmp_path: Path, catalog: Catalog, schema: dict) -> None:
    a = catalog.propose("joint_rate", metric_text("joint_rate", "A"),
                        author="marketing.ops@example.com")
    b = catalog.propose("joint_rate", metric_text("joint_rate", "B"),
                        author="sales.ops@example.com")
    catalog.approve("joint_rate", a, user="cmo@example.com")
    catalog.approve("joint_rate", b, user="demand.gen@example.com")
    common = {"catalog": str(catalog.path), "defs": str(catalog.definitions_dir)}
    outputs = run_processes(tmp_path, [
        {**common, "actions": [["approve", "joint_rate", a, "vp.sales@example.com"]]},
        {**common, "actions": [["approve", "joint_rate", b, "sales.director@example.com"]]},
    ], schema)
    results = [output[0] for output in outputs]
    assert sorted(r[0] for r in results) == ["error", "ok"], results
    (won,) = [r for r in results if r[0] == "ok"]
    (lost,) = [r for r in results if r[0] == "error"]
    assert won[3] == "active" and lost[1] == "ConflictError"
    assert catalog.active_version("joint_rate") == won[2]
    assert f"propose it again based on v{won[2]}" in lost[2]
    statuses = sorted(v["status"] for v in catalog.history("joint_rate"))
    assert statuses == ["active", "proposed", "superseded"]
