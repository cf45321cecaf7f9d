"""What a definition change does, before anyone signs it off: pure logic, no Streamlit.

The editor and the review inbox both show the same three things for a draft or a proposed
version: whether it is valid (with the line and column of the first problem), how its numbers
differ from the active version's per period, and the text diff. Everything here takes plain
values and DataFrames, so tests/unit/test_impact.py can check it without a running app.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from metrics.definitions import MetricDefinition, definition_lines, parse_definition
from metrics.engines.portability import check_configured_engines
from metrics.errors import MetricError
from metrics.sql_guard import validate_definition
# escape_markdown lives in ui.format; ui.auth still imports it from here.
from ui.format import escape_markdown, format_value, is_missing  # noqa: F401

IMPACT_COLUMNS = ("period", "old", "new", "change", "relative_change")


# -- validation --------------------------------------------------------------------------------
@dataclass(frozen=True)
class DraftCheck:
    """The outcome of checking a draft definition: a parsed definition or the first error."""

    definition: MetricDefinition | None
    error: MetricError | None = None
    unchanged: bool = False

    @property
    def valid(self) -> bool:
        return self.definition is not None and self.error is None

    @property
    def proposable(self) -> bool:
        return self.valid and not self.unchanged

    def describe(self) -> str:
        """One sentence for the page: the error with its position, or that the draft is valid.

        >>> check_draft("-- name: x", name="x", schema={}).describe()[:40]
        'Line 1: the header is missing label, own'
        """
        if self.error is not None:
            return f"{error_position(self.error)}: {self.error.message}"
        if self.unchanged:
            return "Valid, but identical to the active version: change something to propose it."
        return "Valid: the header parses and the SQL passes the guard against the live schema."


def check_draft(text: str, *, name: str, schema: Mapping[str, Mapping[str, str]],
                active_text: str | None = None, version: int = 1) -> DraftCheck:
    """Parse a whole definition file and validate its SQL against a warehouse schema.

    Never raises for a bad draft: the error comes back in `DraftCheck.error`, with its line and
    column (1-based, counted in the whole file) when known.

    >>> schema = {"leads": {"lead_id": "VARCHAR", "created_at": "TIMESTAMP"}}
    >>> head = ("-- name: n\\n-- label: N\\n-- owners: marketing\\n-- kind: count\\n"
    ...         "-- unit: count\\n-- direction: up\\n-- anchor: created_at\\n"
    ...         "-- description: Leads.\\n")
    >>> check_draft(head + "SELECT lead_id, created_at, 1 AS value FROM leads", name="n",
    ...             schema=schema).valid
    True
    >>> bad = check_draft(head + "SELECT lead_id, created_at, 1 AS value\\nFROM leadz", name="n",
    ...                   schema=schema)
    >>> bad.valid, bad.error.line, bad.error.column
    (False, 10, 6)
    """
    if not (text or "").strip():
        return DraftCheck(None, MetricError("the definition is empty: write the '-- key: value' "
                                            "header, then one SELECT.", line=1))
    try:
        defn = parse_definition(text, source="draft", version=version, expected_name=name)
        validate_definition(defn, schema)
        # Said while the draft is written, not only when it is proposed: another engine the
        # deployment serves must run it with DuckDB's meaning.
        check_configured_engines(defn, schema)
    except MetricError as exc:
        return DraftCheck(None, exc)
    return DraftCheck(defn, None, unchanged=active_text is not None and text == active_text)


def error_position(error: MetricError) -> str:
    """'Line 12, column 8' (or 'Line 12', or 'Somewhere in the file') for an error.

    >>> error_position(MetricError("x", line=12, column=8)), error_position(MetricError("x"))
    ('Line 12, column 8', 'Somewhere in the file')
    """
    if error.line is None:
        return "Somewhere in the file"
    return f"Line {error.line}" + (f", column {error.column}" if error.column else "")


def error_excerpt(text: str, line: int | None, column: int | None, *, context: int = 1) -> str:
    """The lines around an error with a caret under the column, for a code block.

    >>> print(error_excerpt("SELECT a\\nFROM leadz\\nWHERE 1", 2, 6, context=0))
    2 | FROM leadz
      |      ^
    """
    lines = definition_lines(text)
    if line is None or not 1 <= line <= len(lines):
        return ""
    first, last = max(1, line - context), min(len(lines), line + context)
    width = len(str(last))
    out = []
    for number in range(first, last + 1):
        out.append(f"{number:>{width}} | {lines[number - 1]}".rstrip())
        if number == line and column:
            out.append(f"{'':>{width}} | {' ' * (column - 1)}^")
    return "\n".join(out)


# -- text diff ---------------------------------------------------------------------------------
def text_diff(old: str, new: str, *, old_label: str, new_label: str) -> str:
    """A unified diff of two definition texts ('' when they are equal).

    >>> print(text_diff("a\\nb", "a\\nc", old_label="v1", new_label="draft"))
    --- v1
    +++ draft
    @@ -1,2 +1,2 @@
     a
    -b
    +c
    """
    return "\n".join(difflib.unified_diff(definition_lines(old), definition_lines(new),
                                          fromfile=old_label, tofile=new_label, lineterm=""))


# -- values before and after ---------------------------------------------------------------------
def impact_frame(old: pd.DataFrame | None, new: pd.DataFrame | None) -> pd.DataFrame:
    """Old and new values side by side per period, with the change (new − old).

    Both frames are metric results (`period`, `value`, ...); a period only one of them has gets
    a missing value on the other side. `relative_change` is the change over |old| (missing when
    old is 0 or missing).

    >>> old = pd.DataFrame({"period": ["2025-01-01", "2025-02-01"], "value": [0.5, 0.4]})
    >>> new = pd.DataFrame({"period": ["2025-02-01", "2025-03-01"], "value": [0.3, 0.2]})
    >>> impact_frame(old, new).round(3).to_dict("list")  # doctest: +NORMALIZE_WHITESPACE
    {'period': ['2025-01-01', '2025-02-01', '2025-03-01'], 'old': [0.5, 0.4, nan],
     'new': [nan, 0.3, 0.2], 'change': [nan, -0.1, nan], 'relative_change': [nan, -0.25, nan]}
    """
    def values(frame: pd.DataFrame | None, column: str) -> pd.DataFrame:
        if frame is None or frame.empty or "value" not in frame:
            return pd.DataFrame({"period": pd.Series(dtype=object), column: pd.Series(dtype=float)})
        keep = frame[["period", "value"]] if "period" in frame else (
            frame[["value"]].assign(period="total")[["period", "value"]])
        return keep.rename(columns={"value": column})

    merged = values(old, "old").merge(values(new, "new"), on="period", how="outer")
    merged = merged.sort_values("period", kind="stable").reset_index(drop=True)
    merged["old"] = pd.to_numeric(merged["old"], errors="coerce").astype(float)
    merged["new"] = pd.to_numeric(merged["new"], errors="coerce").astype(float)
    merged["change"] = merged["new"] - merged["old"]
    base = merged["old"].abs().where(merged["old"] != 0)
    merged["relative_change"] = merged["change"] / base
    return merged[list(IMPACT_COLUMNS)]


def changed_periods(frame: pd.DataFrame, *, tolerance: float = 1e-9) -> int:
    """How many periods of an impact frame have a different value (missing vs. a value counts).

    >>> changed_periods(pd.DataFrame({"old": [1.0, 2.0, None], "new": [1.0, 2.5, 3.0]}))
    2
    """
    old, new = frame["old"], frame["new"]
    both = old.notna() & new.notna()
    differ = both & ((new - old).abs() > tolerance)
    return int(differ.sum() + (old.isna() != new.isna()).sum())


def long_frame(frame: pd.DataFrame, *, old_label: str, new_label: str) -> pd.DataFrame:
    """The impact frame as one row per (period, version), for a chart with one line each.

    >>> f = pd.DataFrame({"period": ["p1"], "old": [1.0], "new": [2.0]})
    >>> long_frame(f, old_label="v1", new_label="v2").to_dict("list")
    {'period': ['p1', 'p1'], 'version': ['v1', 'v2'], 'value': [1.0, 2.0]}
    """
    parts = [pd.DataFrame({"period": frame["period"], "version": label, "value": frame[column]})
             for column, label in (("old", old_label), ("new", new_label))]
    return pd.concat(parts, ignore_index=True)


def _verb(old, new, unit: str) -> str:
    if math.isclose(float(old), float(new), rel_tol=1e-9, abs_tol=1e-12):
        return "leaves"
    return "raises" if new > old else "lowers"


def impact_summary(label: str, unit: str, old_value, new_value, *, new_name: str,
                   old_name: str, span: str, changed: int | None = None,
                   periods: int | None = None, grain: str | None = None) -> str:
    """One line saying what the change does to the headline number over the selected span.

    >>> impact_summary("MQL → SAL", "percent", 0.62, 0.55, new_name="v3", old_name="v2",
    ...                span="over the last 6 months")
    'v3 lowers MQL → SAL from 62.0% to 55.0% over the last 6 months: −7.0 pts vs v2.'
    >>> impact_summary("New leads", "count", 1200, 1200, new_name="The draft", old_name="v1",
    ...                span="in Q1 2025", changed=0, periods=3, grain="month")
    'The draft leaves New leads unchanged at 1,200 in Q1 2025; no month differs from v1.'
    >>> impact_summary("Win rate", "percent", None, 0.3, new_name="v2", old_name="v1",
    ...                span="in Q1 2025")
    'v2 gives Win rate a value of 30.0% in Q1 2025, where v1 has none.'
    """
    old_text, new_text = format_value(old_value, unit), format_value(new_value, unit)
    per_period = ""
    if changed is not None and periods:
        noun = grain or "period"
        if changed == 0:
            per_period = f"no {noun} differs from {old_name}"
        else:
            per_period = f"{changed} of {periods} {noun}{'s' if periods != 1 else ''} differ"
    if is_missing(old_value) and is_missing(new_value):
        return f"Neither {old_name} nor {new_name} has a value for {label} {span}."
    if is_missing(new_value):
        return f"{new_name} leaves {label} without a value {span}, where {old_name} has {old_text}."
    if is_missing(old_value):
        return f"{new_name} gives {label} a value of {new_text} {span}, where {old_name} has none."
    verb = _verb(old_value, new_value, unit)
    if verb == "leaves":
        tail = f"; {per_period}" if per_period else ""
        return f"{new_name} leaves {label} unchanged at {new_text} {span}{tail}."
    delta = _signed_change(old_value, new_value, unit)
    details = "; ".join(p for p in (f"{delta} vs {old_name}", per_period) if p)
    return f"{new_name} {verb} {label} from {old_text} to {new_text} {span}: {details}."


def _signed_change(old, new, unit: str) -> str:
    """'−7.0 pts' for percentages, '+12.5%' (relative) otherwise; a true minus sign."""
    if unit == "percent":
        text = f"{(new - old) * 100:+.1f} pts"
    elif old == 0:
        text = "+" + format_value(new - old, unit) if new > old else format_value(new - old, unit)
    else:
        text = f"{(new - old) / abs(old) * 100:+.1f}%"
    return text.replace("-", "−")


def span_phrase(range_label: str, described: str) -> str:
    """'over the last 12 months (01 Dec 2025 – 31 Oct 2026)' from the sidebar's range.

    >>> span_phrase("Last quarter", "01 Jul 2026 – 30 Sep 2026")
    'over last quarter (01 Jul 2026 – 30 Sep 2026)'
    >>> span_phrase("Last 12 months", "01 Dec 2025 – 31 Oct 2026")
    'over the last 12 months (01 Dec 2025 – 31 Oct 2026)'
    """
    label = range_label.strip()
    lowered = label[:1].lower() + label[1:]
    if re.match(r"^last \d", lowered):
        lowered = "the " + lowered
    return f"over {lowered} ({described})"
