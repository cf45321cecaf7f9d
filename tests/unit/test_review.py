"""Review meetings: a frozen review equals the live numbers when saved and never moves after;
comparing with live names the changes; definitions as live on a date; notes, decisions and
actions; the CLI.

Numbers are counted by hand on the tiny warehouse (tests/tiny_warehouse.py), Q1 2025, no
filters: the MQL cohort is L1, L2, L4, L5, L6 (5 MQLs), of which only L1 reached SAL (L2
skipped it), so mql_to_sal_rate v1 = 1/5 = 20 %. Version 2 below counts "accepted or further"
(SAL or SQL): L1 and L2 = 2/5 = 40 %. The reload drops L6: 1/4 = 25 % under v1, 2/4 = 50 %
under v2.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import metrics
import tiny_warehouse
from metrics.build import build_warehouse
from metrics.catalog import PermissionDeniedError, open_catalog
from metrics.errors import CatalogError
from metrics.paths import METRICS_DIR, REPO_ROOT
from metrics.review import (
    SCORECARD,
    build_review,
    compare,
    compare_with_live,
    freeze_review,
    load_review,
    versions_active_on,
)
from metrics.selection import LeadFilter, Selection

ROLES = {"users": {
    "cmo@example.com": {"teams": ["marketing"], "role": "approver"},
    "vp.sales@example.com": {"teams": ["sales"], "role": "approver"},
    "marketing.ops@example.com": {"teams": ["marketing"], "role": "editor"},
    "analyst@example.com": {"teams": [], "role": "viewer"},
}}
CMO, VP_SALES, EDITOR, VIEWER = ("cmo@example.com", "vp.sales@example.com",
                                 "marketing.ops@example.com", "analyst@example.com")
Q1 = (dt.datetime(2025, 1, 1), dt.datetime(2025, 4, 1))
V2_TEXT = (METRICS_DIR / "mql_to_sal_rate.sql").read_text(encoding="utf-8").replace(
    "CASE WHEN first_sal_at IS NOT NULL THEN 1 ELSE 0 END",
    "CASE WHEN first_sal_at IS NOT NULL OR first_sql_at IS NOT NULL THEN 1 ELSE 0 END")


def fill_without_l6(con) -> None:
    """The tiny warehouse as a later load delivers it: lead L6 and its events are gone."""
    for table, (columns, rows) in tiny_warehouse.TABLES.items():
        kept = [r for r in rows if "L6" not in r]
        con.register("frame", pd.DataFrame(kept, columns=columns))
        con.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM frame")
        con.unregister("frame")


@pytest.fixture
def place(tmp_path: Path):
    warehouse = tiny_warehouse.build_tiny_warehouse(tmp_path / "warehouse.duckdb")
    catalog = open_catalog(tmp_path / "catalog.sqlite", ROLES, definitions_dir=METRICS_DIR)
    wh = metrics.open_warehouse(warehouse, catalog=catalog)
    yield wh, catalog
    wh.close()


def q1(wh, where=None) -> Selection:
    return Selection(*Q1, "month", LeadFilter.of(where), "Custom", as_of=wh.as_of)


def tile(payload, name: str) -> dict:
    return next(t for t in payload["scorecard"] if t["name"] == name)


def activate_v2(catalog) -> None:
    version = catalog.propose("mql_to_sal_rate", V2_TEXT, author=EDITOR, reason="count SQLs")
    catalog.approve("mql_to_sal_rate", version, user=CMO)
    assert catalog.approve("mql_to_sal_rate", version, user=VP_SALES) == "active"


def test_a_frozen_review_equals_live_then_stays_frozen_after_a_reload_and_a_new_version(
        place, tmp_path):
    wh, catalog = place
    review_id = freeze_review(wh, catalog, q1(wh), title="Q1 review", user=CMO)
    review = load_review(catalog, review_id)
    frozen = review.payload
    assert tile(frozen, "mql_to_sal_rate")["value"] == pytest.approx(0.2)
    assert (tile(frozen, "mql_to_sal_rate")["numerator"],
            tile(frozen, "mql_to_sal_rate")["denominator"]) == (1, 5)
    # Every tile equals the live query of its window at save time.
    for name in SCORECARD:
        live = wh.query(name, start=Q1[0], end=Q1[1], grain="total")["value"].iloc[0]
        saved = tile(frozen, name)["value"]
        assert saved == pytest.approx(live, nan_ok=True) or (saved is None and pd.isna(live))
    assert [s["leads"] for s in frozen["funnel"]["stages"]] == [7, 6, 3, 3, 3, 2]
    assert frozen["versions"]["mql_to_sal_rate"] == 1
    assert frozen["selection"]["start"] == "2025-01-01T00:00:00"
    assert frozen["as_of"] == "2025-03-31T00:00:00"
    assert [r["value"] for r in frozen["volume"]["new_leads"]["rows"]] == [4, 2, 1]

    build_warehouse(wh.path, fill_without_l6, as_of=dt.datetime(2025, 4, 1), source="reload")
    activate_v2(catalog)
    live = metrics.open_warehouse(wh.path, catalog=catalog)
    assert live.query("mql_to_sal_rate", start=Q1[0], end=Q1[1],
                      grain="total")["value"].iloc[0] == pytest.approx(0.5)

    again = load_review(catalog, review_id).payload
    assert again == frozen
    assert tile(again, "mql_to_sal_rate")["value"] == pytest.approx(0.2)

    comparison = compare_with_live(live, catalog, load_review(catalog, review_id))
    change = next(c for c in comparison.changes if c.name == "mql_to_sal_rate")
    assert (change.frozen, change.live) == (pytest.approx(0.2), pytest.approx(0.5))
    assert change.sentence() == ("MQL → SAL acceptance rate +30.0 pts (20.0% → 50.0%); "
                                 "definition of mql_to_sal_rate changed v1 → v2")
    assert "31 Mar 2025 then, 01 Apr 2025 now" in comparison.headline()
    live.close()


def test_comparison_says_minus_and_unchanged_in_words():
    def payload(value, version):
        return {"as_of": "2025-03-31T00:00:00", "scorecard": [
            {"name": "mql_to_sal_rate", "label": "MQL → SAL", "unit": "percent",
             "value": value, "version": version}]}

    down = compare(payload(0.62, 1), payload(0.599, 1)).changes[0]
    assert down.sentence() == "MQL → SAL −2.1 pts (62.0% → 59.9%)"
    same = compare(payload(0.5, 1), payload(0.5, 1)).changes[0]
    assert same.sentence() == "MQL → SAL unchanged (50.0%)"
    gone = compare(payload(0.5, 1), payload(None, 1)).changes[0]
    assert gone.sentence() == "MQL → SAL: 50.0% then, — now (no comparable change)"


def test_filters_are_frozen_with_the_review(place):
    wh, catalog = place
    # SMB MQLs of Q1: L1, L5, L6; only L1 reached SAL.
    review = load_review(catalog, freeze_review(wh, catalog, q1(wh, {"segment": "SMB"}),
                                                title="SMB", user=CMO))
    assert review.payload["selection"]["where"] == {"segment": ["SMB"]}
    assert tile(review.payload, "mql_to_sal_rate")["value"] == pytest.approx(1 / 3)
    assert review.selection.where == LeadFilter.of({"segment": "SMB"})


def test_definitions_as_live_on_a_date(place):
    wh, catalog = place
    activate_v2(catalog)
    # Put the activations at known dates: v1 on 1 Jan 2025, v2 on 15 Oct 2025.
    with sqlite3.connect(catalog.path) as con:
        con.execute("UPDATE metric_versions SET activated_at = '2025-01-01T09:00:00+00:00' "
                    "WHERE version = 1")
        con.execute("UPDATE metric_versions SET activated_at = '2025-10-15T12:00:00+00:00' "
                    "WHERE name = 'mql_to_sal_rate' AND version = 2")
    on_1_oct = versions_active_on(catalog, dt.date(2025, 10, 1))
    assert on_1_oct.versions["mql_to_sal_rate"] == 1 and not on_1_oct.before_history
    # The day of an activation counts the new version (the end of that day).
    assert versions_active_on(catalog, dt.date(2025, 10, 15)).versions["mql_to_sal_rate"] == 2
    early = versions_active_on(catalog, dt.date(2024, 12, 1))
    assert early.versions["mql_to_sal_rate"] == 1 and "mql_to_sal_rate" in early.before_history
    assert "no version was live yet" in early.caption(["mql_to_sal_rate"])
    assert on_1_oct.caption(["mql_to_sal_rate", "win_rate"]) == (
        "As defined on 01 Oct 2025: mql_to_sal_rate v1, win_rate v1")

    as_agreed = build_review(wh, q1(wh), targets={}, definitions_on=on_1_oct)
    today = build_review(wh, q1(wh), targets={})
    assert tile(as_agreed, "mql_to_sal_rate")["value"] == pytest.approx(0.2)
    assert as_agreed["versions"]["mql_to_sal_rate"] == 1
    assert as_agreed["definitions_on"] == "2025-10-01"
    assert tile(today, "mql_to_sal_rate")["value"] == pytest.approx(0.4)
    assert today["versions"]["mql_to_sal_rate"] == 2


def test_notes_decisions_and_actions_carry_to_the_next_review(place):
    wh, catalog = place
    first = freeze_review(wh, catalog, q1(wh), title="January review", user=CMO)
    catalog.add_review_item(first, "note", "SAL acceptance is low in SMB", user=EDITOR)
    catalog.add_review_item(first, "decision", "Count SQLs as accepted", user=CMO)
    action = catalog.add_review_item(first, "action", "Call back untouched MQLs", user=VP_SALES,
                                     owner_team="sales", due_on="2025-04-15")
    with pytest.raises(PermissionDeniedError, match="viewer"):
        catalog.add_review_item(first, "note", "hi", user=VIEWER)
    with pytest.raises(CatalogError, match="team that owns it"):
        catalog.add_review_item(first, "action", "Who?", user=CMO, due_on="2025-04-15")
    with pytest.raises(CatalogError, match="due date"):
        catalog.add_review_item(first, "action", "When?", user=CMO, owner_team="sales",
                                due_on="next week")
    with pytest.raises(CatalogError, match="no review 99"):
        catalog.add_review_item(99, "note", "lost", user=CMO)
    assert [i["kind"] for i in catalog.review_items(first)] == ["note", "decision", "action"]

    second = freeze_review(wh, catalog, q1(wh), title="February review", user=CMO)
    carried = catalog.open_actions(before=second)
    assert [(a["text"], a["owner_team"], a["due_on"], a["review_title"]) for a in carried] == [
        ("Call back untouched MQLs", "sales", "2025-04-15", "January review")]
    assert catalog.open_actions(before=first) == []
    catalog.close_action(action, user=VP_SALES)
    assert catalog.open_actions(before=second) == []
    with pytest.raises(CatalogError, match="already done"):
        catalog.close_action(action, user=CMO)
    actions = [e["action"] for e in catalog.audit()]
    assert actions[:5] == ["action_done", "save_snapshot", "review_action", "review_decision",
                           "review_note"]


def run_cli(*args: str, env_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "metrics", *args,
                           "--catalog", str(env_path / "catalog.sqlite")],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)


def test_cli_save_list_show_diff(place, tmp_path):
    wh, catalog = place
    saved = run_cli("snapshot", "save", "--title", "CLI review", "--start", "2025-01-01",
                    "--end", "2025-04-01", "--warehouse", str(wh.path), env_path=tmp_path)
    assert saved.returncode == 0, saved.stderr
    assert "froze review 1 'CLI review'" in saved.stdout
    listed = run_cli("snapshot", "list", env_path=tmp_path)
    assert "CLI review" in listed.stdout
    shown = run_cli("snapshot", "show", "1", env_path=tmp_path)
    assert "MQL → SAL acceptance rate" in shown.stdout and "20.0%" in shown.stdout
    activate_v2(catalog)
    diff = run_cli("snapshot", "diff", "1", "--warehouse", str(wh.path), env_path=tmp_path)
    assert diff.returncode == 0, diff.stderr
    assert ("MQL → SAL acceptance rate +20.0 pts (20.0% → 40.0%); definition of "
            "mql_to_sal_rate changed v1 → v2") in diff.stdout
    missing = run_cli("snapshot", "show", "7", env_path=tmp_path)
    assert missing.returncode == 1 and "no snapshot 7" in missing.stderr
    bad = run_cli("snapshot", "save", "--title", "x", "--start", "2025-01-01",
                  "--warehouse", str(wh.path), env_path=tmp_path)
    assert bad.returncode == 1 and "both --start and --end" in bad.stderr
