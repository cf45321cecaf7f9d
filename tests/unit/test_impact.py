"""The pure logic behind the impact preview: validation, old vs new per period, summary, diff."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from metrics.build import reference_schema
from metrics.paths import METRICS_DIR
from ui.impact import (
    changed_periods,
    check_draft,
    error_excerpt,
    impact_frame,
    impact_summary,
    long_frame,
    span_phrase,
    text_diff,
)

ACTIVE = (METRICS_DIR / "mql_to_sal_rate.sql").read_text()
JAN, FEB, MAR = dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)


@pytest.fixture(scope="module")
def schema():
    return reference_schema()


def _frame(rows: dict) -> pd.DataFrame:
    return pd.DataFrame({"period": list(rows), "value": list(rows.values())})


# -- validation --------------------------------------------------------------------------------
def test_the_active_text_is_valid_and_unchanged(schema):
    check = check_draft(ACTIVE, name="mql_to_sal_rate", schema=schema, active_text=ACTIVE)
    assert check.valid and check.unchanged and not check.proposable


def test_a_real_change_is_proposable(schema):
    draft = ACTIVE.replace("first_sal_at IS NOT NULL THEN", "first_sql_at IS NOT NULL THEN")
    check = check_draft(draft, name="mql_to_sal_rate", schema=schema, active_text=ACTIVE,
                        version=4)
    assert check.proposable and check.definition.version == 4
    assert check.describe().startswith("Valid")


@pytest.mark.parametrize("old, new, line, column, message", [
    ("first_sal_at IS NOT NULL THEN", "first_sal_att IS NOT NULL THEN", 13, 18,
     "first_sal_att"),
    ("FROM lead_lifecycle", "FROM lead_lifecycle, users", 15, 22, "unknown table 'users'"),
    ("FROM lead_lifecycle", "FROM read_parquet('/etc/shadow')", 15, None, "not allowed"),
    ("WHERE first_mql_at IS NOT NULL", "WHERE first_mql_at IS NOT NULL; DELETE FROM leads",
     12, None, "exactly one SELECT"),
    ("-- unit: percent", "-- unit: percentage", 5, None, "unit must be one of"),
    ("-- name: mql_to_sal_rate", "-- name: mql_to_sql_rate", 1, None, "the file is for"),
    ("       1 AS denominator", "       1 AS denom", 12, None, "missing: denominator"),
])
def test_invalid_drafts_report_the_first_error_with_its_position(schema, old, new, line, column,
                                                                 message):
    check = check_draft(ACTIVE.replace(old, new), name="mql_to_sal_rate", schema=schema,
                        active_text=ACTIVE)
    assert not check.valid and not check.proposable
    assert check.error.line == line
    if column is not None:
        assert check.error.column == column
    assert message in check.error.message
    assert check.describe().startswith(f"Line {line}")


@pytest.mark.parametrize("text", ["", "   \n"])
def test_an_empty_draft_is_an_error_not_an_exception(schema, text):
    check = check_draft(text, name="mql_to_sal_rate", schema=schema)
    assert not check.valid and "empty" in check.describe()


def test_the_excerpt_points_at_the_column():
    text = "SELECT a\nFROM leadz\nWHERE 1"
    assert error_excerpt(text, 2, 6) == "1 | SELECT a\n2 | FROM leadz\n  |      ^\n3 | WHERE 1"
    assert error_excerpt(text, None, None) == "" and error_excerpt(text, 9, 1) == ""


# -- impact frame ------------------------------------------------------------------------------
def test_impact_frame_aligns_periods_and_computes_the_change():
    old = _frame({JAN: 0.50, FEB: 0.40})
    new = _frame({FEB: 0.30, MAR: 0.20})
    frame = impact_frame(old, new)
    assert frame["period"].tolist() == [JAN, FEB, MAR]
    assert frame["old"].tolist()[:2] == [0.5, 0.4] and math.isnan(frame["old"].iloc[2])
    assert math.isnan(frame["new"].iloc[0]) and frame["new"].tolist()[1:] == [0.3, 0.2]
    assert frame["change"].iloc[1] == pytest.approx(-0.1)
    assert frame["relative_change"].iloc[1] == pytest.approx(-0.25)
    assert changed_periods(frame) == 3


@pytest.mark.parametrize("old, new, rows", [
    (None, None, 0),
    (pd.DataFrame(columns=["period", "value"]), _frame({JAN: 1.0}), 1),
    (_frame({JAN: 0.0}), _frame({JAN: 2.0}), 1),
])
def test_impact_frame_handles_missing_and_empty_results(old, new, rows):
    frame = impact_frame(old, new)
    assert list(frame.columns) == ["period", "old", "new", "change", "relative_change"]
    assert len(frame) == rows
    if rows and old is not None and not old.empty:
        assert math.isnan(frame["relative_change"].iloc[0])  # old = 0: no relative change


def test_a_total_result_has_one_row_named_total():
    frame = impact_frame(pd.DataFrame({"value": [10.0]}), pd.DataFrame({"value": [12.0]}))
    assert frame["period"].tolist() == ["total"] and frame["change"].tolist() == [2.0]


def test_unchanged_values_count_as_unchanged():
    frame = impact_frame(_frame({JAN: 1.0, FEB: 2.0}), _frame({JAN: 1.0, FEB: 2.0}))
    assert changed_periods(frame) == 0


def test_long_frame_has_one_line_per_version():
    frame = impact_frame(_frame({JAN: 1.0}), _frame({JAN: 2.0}))
    long = long_frame(frame, old_label="v1 (active)", new_label="draft")
    assert long.to_dict("records") == [
        {"period": JAN, "version": "v1 (active)", "value": 1.0},
        {"period": JAN, "version": "draft", "value": 2.0}]


# -- summary -----------------------------------------------------------------------------------
@pytest.mark.parametrize("unit, old, new, expected", [
    ("percent", 0.62, 0.55,
     "v3 lowers MQL → SAL from 62.0% to 55.0% over the last 6 months: −7.0 pts vs v2."),
    ("percent", 0.55, 0.62,
     "v3 raises MQL → SAL from 55.0% to 62.0% over the last 6 months: +7.0 pts vs v2."),
    ("currency", 20000, 25000,
     "v3 raises MQL → SAL from $20k to $25k over the last 6 months: +25.0% vs v2."),
    ("count", 0, 12, "v3 raises MQL → SAL from 0 to 12 over the last 6 months: +12 vs v2."),
    ("count", 5, 5, "v3 leaves MQL → SAL unchanged at 5 over the last 6 months."),
    ("percent", None, None,
     "Neither v2 nor v3 has a value for MQL → SAL over the last 6 months."),
    ("percent", 0.5, None,
     "v3 leaves MQL → SAL without a value over the last 6 months, where v2 has 50.0%."),
])
def test_impact_summary_says_what_happens_in_one_line(unit, old, new, expected):
    assert impact_summary("MQL → SAL", unit, old, new, new_name="v3", old_name="v2",
                          span="over the last 6 months") == expected


def test_impact_summary_counts_the_periods_that_differ():
    text = impact_summary("Win rate", "percent", 0.3, 0.25, new_name="The draft", old_name="v1",
                          span="over last quarter", changed=2, periods=3, grain="month")
    assert text.endswith(": −5.0 pts vs v1; 2 of 3 months differ.")


@pytest.mark.parametrize("label, expected", [
    ("Last 12 months", "over the last 12 months (d)"),
    ("This quarter", "over this quarter (d)"),
    ("Custom", "over custom (d)"),
])
def test_span_phrase(label, expected):
    assert span_phrase(label, "d") == expected


# -- diff and safe text ------------------------------------------------------------------------
def test_text_diff_is_a_unified_diff_and_empty_when_equal():
    diff = text_diff("a\nb\n", "a\nc\n", old_label="m v1", new_label="m draft")
    assert diff.splitlines() == ["--- m v1", "+++ m draft", "@@ -1,2 +1,2 @@", " a", "-b", "+c"]
    assert text_diff("same", "same", old_label="a", new_label="b") == ""
