"""Targets by period (the plan): a target per month or quarter, for counts and rates, imported
from a CSV, and attainment against the target of each period.

The CSV has a header row `metric,period,value`; a period is a quarter (`2026-Q1`), a month
(`2026-03`) or the first day of either (`2026-03-01`, read as a month). Rates are given as
fractions (0.7 for 70 %), like every ratio the engine returns.

How a period finds its target: the target of its own grain first; a month with only a
quarterly target takes the quarter's level for rates and a third of it for counts and sums; a
quarter with all three monthly targets takes their sum (counts, sums) or mean (rates). Anything
else has no period target, and the flat target (sql/targets.toml or the catalog) applies.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from metrics.errors import CatalogError
from metrics.selection import add_months

ADDITIVE_KINDS = ("count", "sum")
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_period(text: str) -> tuple[str, dt.date]:
    """(grain, first day) of '2026-Q1', '2026-03' or '2026-03-01'.

    >>> parse_period("2026-Q2"), parse_period("2026-03")
    (('quarter', datetime.date(2026, 4, 1)), ('month', datetime.date(2026, 3, 1)))
    """
    text = str(text).strip()
    if match := _QUARTER.match(text):
        return "quarter", dt.date(int(match[1]), 3 * int(match[2]) - 2, 1)
    try:
        if match := _MONTH.match(text):
            return "month", dt.date(int(match[1]), int(match[2]), 1)
        day = dt.date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or day.day != 1:
        raise CatalogError(f"'{text}' is not a period: write a quarter as 2026-Q1 or a month as "
                           "2026-03.")
    return "month", day


def read_targets_csv(text: str) -> list[tuple[str, str, dt.date, float]]:
    """(metric, grain, period start, value) rows of a plan CSV; a bad row stops the import with
    its line number, so a plan is never half loaded."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in ("metric", "period", "value") if c not in header]
    if missing:
        raise CatalogError(f"the targets file needs the columns metric, period and value; it "
                           f"lacks {', '.join(missing)} (header: {', '.join(header) or 'none'}).")
    rows = []
    for line, raw in enumerate(reader, start=2):
        record = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        if not any(record.values()):
            continue
        try:
            grain, start = parse_period(record["period"])
            value = float(record["value"].replace(",", "").rstrip("%")) / (
                100 if record["value"].endswith("%") else 1)
        except (CatalogError, ValueError) as exc:
            reason = str(exc) if isinstance(exc, CatalogError) else (
                f"'{record['value']}' is not a number")
            raise CatalogError(f"line {line} of the targets file: {reason}") from None
        if not record["metric"]:
            raise CatalogError(f"line {line} of the targets file names no metric.")
        rows.append((record["metric"], grain, start, value))
    if not rows:
        raise CatalogError("the targets file has no rows under its header.")
    return rows


def _key(day: dt.date) -> str:
    return day.isoformat()


def target_for_period(plan: Iterable[Mapping], kind: str, grain: str,
                      period: dt.date) -> float | None:
    """The target of one period of `grain` from a metric's plan rows (see the module doc).

    >>> plan = [{"grain": "quarter", "period_start": "2026-01-01", "value": 9000.0}]
    >>> target_for_period(plan, "count", "month", dt.date(2026, 2, 1))
    3000.0
    >>> rate = [{"grain": "quarter", "period_start": "2026-01-01", "value": 0.7}]
    >>> target_for_period(rate, "ratio", "month", dt.date(2026, 3, 1))
    0.7
    """
    by = {(row["grain"], row["period_start"]): float(row["value"]) for row in plan}
    additive = kind in ADDITIVE_KINDS
    if (grain, _key(period)) in by:
        return by[(grain, _key(period))]
    if grain == "month":
        quarter = dt.date(period.year, 3 * ((period.month - 1) // 3) + 1, 1)
        value = by.get(("quarter", _key(quarter)))
        if value is None:
            return None
        return value / 3 if additive else value
    if grain == "quarter":
        months = [by.get(("month", _key(add_months(dt.datetime.combine(period, dt.time()),
                                                   i).date()))) for i in range(3)]
        if any(m is None for m in months):
            return None
        return sum(months) if additive else sum(months) / 3
    return None


def window_target(plan: Iterable[Mapping], kind: str, start: dt.datetime,
                  end: dt.datetime) -> float | None:
    """The plan's target of a window of whole or partial months: the sum of its months'
    targets for counts and sums, their mean for rates; None unless every month has one.

    >>> plan = [{"grain": "quarter", "period_start": "2026-01-01", "value": 9000.0}]
    >>> window_target(plan, "count", dt.datetime(2026, 1, 1), dt.datetime(2026, 3, 1))
    6000.0
    """
    plan = list(plan)
    month = dt.datetime(start.year, start.month, 1)
    targets = []
    while month < end:
        target = target_for_period(plan, kind, "month", month.date())
        if target is None:
            return None
        targets.append(target)
        month = add_months(month, 1)
    if not targets:
        return None
    return sum(targets) if kind in ADDITIVE_KINDS else sum(targets) / len(targets)


def with_period_targets(frame: pd.DataFrame, plan: Iterable[Mapping], *, kind: str,
                        grain: str, direction: str) -> pd.DataFrame:
    """The trend with a `target` and an `attainment` column per period (NaN where the plan has
    no target for it); attainment is value ÷ target, or target ÷ value where lower is better."""
    plan = list(plan)
    out = frame.copy()
    targets = [target_for_period(plan, kind, grain, p) for p in out["period"]]
    out["target"] = pd.array([float("nan") if t is None else t for t in targets],
                             dtype="float64")
    values = pd.to_numeric(out["value"], errors="coerce")
    if direction == "down":
        ratio = out["target"] / values.where(values != 0)
    else:
        ratio = values / out["target"].where(out["target"] != 0)
    out["attainment"] = ratio.astype("float64")
    return out


# -- command line -------------------------------------------------------------------------------

def register(subparsers: argparse._SubParsersAction) -> None:
    targets = subparsers.add_parser(
        "targets", help="import and list targets by month or quarter (the plan)",
        description="Targets by period: a CSV with metric,period,value (period 2026-Q1 or "
                    "2026-03; rates as fractions or with %). Approvers of a metric's owning "
                    "team set its targets; a jointly owned metric's target counts once both "
                    "teams have imported the same value.")
    actions = targets.add_subparsers(dest="targets_command", required=True, metavar="ACTION")
    importing = actions.add_parser("import", help="import a plan CSV (all rows or none)")
    importing.add_argument("file", type=Path)
    importing.add_argument("--user", required=True, help="email of the approver importing it")
    listing = actions.add_parser("list", help="list the plan's targets")
    listing.add_argument("--metric", help="only this metric")
    for parser in (importing, listing):
        parser.add_argument("--catalog", type=Path, help="catalog file (default "
                            "METRICS_CATALOG or data/catalog.sqlite)")
        parser.add_argument("--roles", type=Path, help="roles file (default METRICS_ROLES "
                            "or roles.toml)")
    importing.set_defaults(func=run_import)
    listing.set_defaults(func=run_list)


def run_import(args: argparse.Namespace) -> int:
    from metrics.catalog import open_catalog

    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"cannot read {args.file}: {exc}") from None
    results = open_catalog(args.catalog, args.roles).set_period_targets(
        read_targets_csv(text), user=args.user)
    waiting = [r for r in results if not r["agreed"]]
    print(f"imported {len(results)} targets; {len(results) - len(waiting)} agreed")
    for row in waiting:
        print(f"  {row['name']} {row['period_start']}: waits for "
              f"{' and '.join(row['waiting_for'])} to import the same value")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from metrics.catalog import open_catalog

    rows = open_catalog(args.catalog, args.roles).period_targets(args.metric, agreed_only=False)
    if not rows:
        print("No target by period is set: `python -m metrics targets import FILE` loads a plan.")
        return 0
    for row in rows:
        state = "agreed" if row["agreed"] else "signed by " + ", ".join(row["signed_teams"])
        print(f"{row['name']:<36} {row['grain']:<8} {row['period_start']}  "
              f"{row['value']:>14,.4g}  {state}")
    return 0
