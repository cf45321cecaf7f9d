"""The CLI through a real subprocess: exit codes, the CSV shape of DESIGN.md §7, stderr."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    # Without a catalog: these tests are about the files' version 1 and the CLI contract.
    env = {k: v for k, v in os.environ.items() if not k.startswith("METRICS_")}
    return subprocess.run([sys.executable, "-m", "metrics", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def rows(output: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(output)))


def test_query_csv_monthly_ratio_has_period_value_numerator_denominator(tiny_warehouse_path):
    result = run("query", "mql_to_sal_rate", "--format", "csv", "--warehouse", str(tiny_warehouse_path))
    assert result.returncode == 0, result.stderr
    table = rows(result.stdout)
    assert table[0] == ["period", "value", "numerator", "denominator"]
    assert table[1][0] == "2025-01-01" and float(table[1][1]) == 0.5


def test_query_csv_total_by_dimension(tiny_warehouse_path):
    result = run("query", "mqls", "--grain", "total", "--by", "segment", "--format", "csv",
                 "--warehouse", str(tiny_warehouse_path))
    assert result.returncode == 0, result.stderr
    table = rows(result.stdout)
    assert table[0] == ["segment", "value"]
    assert ["SMB", "3"] in table


def test_query_where_start_end(tiny_warehouse_path):
    result = run("query", "new_leads", "--grain", "total", "--start", "2025-01-01", "--end",
                 "2025-02-01", "--where", "region=NA", "--format", "csv",
                 "--warehouse", str(tiny_warehouse_path))
    assert rows(result.stdout) == [["value"], ["3"]]  # L1 L3 L7


def test_query_json_carries_metric_and_version(tiny_warehouse_path):
    result = run("query", "win_rate", "--grain", "total", "--format", "json",
                 "--warehouse", str(tiny_warehouse_path))
    payload = json.loads(result.stdout)
    assert payload["metric"] == "win_rate" and payload["version"] == 1
    assert payload["rows"][0]["numerator"] == 2


@pytest.mark.parametrize(("args", "message"), [
    (["query", "no_such_metric"], "there is no metric 'no_such_metric'"),
    (["query", "mqls", "--by", "shoe_size"], "'shoe_size' is not a dimension of mqls"),
    (["query", "mqls", "--where", "segment"], "--where takes DIM=VALUE"),
    (["query", "mqls", "--start", "last tuesday"], "start must be a date"),
    (["query", "mqls", "--start", "2025-03-01", "--end", "2025-01-01"], "must be after the start"),
])
def test_query_errors_go_to_stderr_with_non_zero_exit(tiny_warehouse_path, args, message):
    result = run(*args, "--warehouse", str(tiny_warehouse_path))
    assert result.returncode != 0
    assert message in result.stderr and result.stdout == ""


def test_query_missing_warehouse_says_how_to_build_one(tmp_path):
    result = run("query", "mqls", "--warehouse", str(tmp_path / "none.duckdb"))
    assert result.returncode == 1 and "python -m metrics demo" in result.stderr


def test_bad_grain_is_a_usage_error(tiny_warehouse_path):
    result = run("query", "mqls", "--grain", "fortnight", "--warehouse", str(tiny_warehouse_path))
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_validate_all_shipped_metrics_and_a_broken_file(tmp_path):
    assert run("validate").returncode == 0
    broken = tmp_path / "broken.sql"
    broken.write_text("-- name: broken\n-- label: B\n-- owners: sales\n-- kind: count\n"
                      "-- unit: count\n-- direction: up\n-- anchor: created_at\n"
                      "-- description: d\nSELECT * FROM read_csv('/etc/passwd')\n")
    result = run("validate", str(broken))
    assert result.returncode == 1
    assert "broken.sql line 9" in result.stderr and "read_csv" in result.stderr


def test_list_json_names_all_metrics():
    result = run("list", "--format", "json")
    names = {m["name"] for m in json.loads(result.stdout)}
    # The 20 v1 metrics of DESIGN.md §8 plus the jointly owned MQL rule (sql/metrics/mql_rule.sql).
    assert len(names) == 21 and {"sla_first_touch_compliance", "mql_rule"} <= names


def test_query_version_runs_that_version_from_the_catalog(tiny_warehouse_path, tmp_path):
    import metrics

    catalog_path = tmp_path / "catalog.sqlite"
    cat = metrics.open_catalog(catalog_path, roles=ROOT / "roles.toml")
    text = (ROOT / "sql" / "metrics" / "mqls.sql").read_text()
    v2 = cat.propose("mqls", text.replace("WHERE first_mql_at IS NOT NULL",
                                          "WHERE first_mql_at IS NOT NULL AND segment = 'SMB'"),
                     author="marketing.ops@example.com", reason="count SMB only")
    cat.approve("mqls", v2, user="cmo@example.com")
    common = ["--grain", "total", "--format", "json", "--warehouse", str(tiny_warehouse_path),
              "--catalog", str(catalog_path)]
    active = json.loads(run("query", "mqls", *common).stdout)
    first = json.loads(run("query", "mqls", "--version", "1", *common).stdout)
    assert (active["version"], active["rows"][0]["value"]) == (2, 3)  # L1 L5 L6
    assert (first["version"], first["rows"][0]["value"]) == (1, 5)
    missing = run("query", "mqls", "--version", "9", *common)
    assert missing.returncode == 1 and "version" in missing.stderr
