"""The review meeting: freeze what was on screen, reopen it later, compare it with live numbers.

A review is a catalog snapshot (Catalog.save_snapshot) whose payload this module builds: the
scorecard, the funnel, the SLA, the volume and the campaign tables for one Selection, with the
data's as_of, the version of every metric that ran and the filters. The payload holds plain
JSON (numbers, ISO dates, records), so a frozen review never re-runs SQL: a new load or a new
definition version changes the live numbers and leaves the review as it was.

"As defined on a date": `versions_active_on` reads the catalog's activation history and says
which version of each metric was live at the end of a given day; `build_review` and
`definitions_for` run exactly those versions.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from metrics import analysis
from metrics.definitions import MetricDefinition
from metrics.errors import CatalogError, MetricError
from metrics.paths import SQL_DIR
from metrics.selection import LeadFilter, Selection, add_months
from metrics.period_targets import window_target
# ui/format.py is plain Python (no Streamlit): the one place a number gets its look, so the
# PDF pack and the command line read exactly like the screen.
from metrics.formatting import format_change, format_value, is_missing

if TYPE_CHECKING:
    from metrics.catalog import Catalog
    from metrics.warehouse import Warehouse

PAYLOAD_FORMAT = 1
#: The "metrics that matter" (DESIGN.md section 8), in the order the scorecard shows them.
SCORECARD = (
    "mql_to_sal_rate", "mql_to_opportunity_rate", "revenue_per_mql", "sla_first_touch_compliance",
    "marketing_sourced_pipeline_share", "marketing_influenced_revenue_share", "pipeline_to_spend",
    "marketing_cac",
)
VOLUME_METRICS = ("new_leads", "mqls")
QUALITY_METRICS = ("mql_rate", "mql_to_sql_rate", "avg_lead_score", "mql_rejection_rate")
SLA_METRIC = "sla_first_touch_compliance"
SECTIONS = ("scorecard", "funnel", "sla", "volume", "campaigns")
TARGETS_FILE = SQL_DIR / "targets.toml"


# -- targets -------------------------------------------------------------------------------------

def file_targets() -> dict[str, float]:
    """The targets both teams agreed in sql/targets.toml ({} when the file is unreadable)."""
    try:
        table = tomllib.loads(TARGETS_FILE.read_text(encoding="utf-8")).get("targets", {})
        return {k: float(v) for k, v in table.items()}
    except (OSError, tomllib.TOMLDecodeError, ValueError):
        return {}


def agreed_targets(catalog: Catalog | None) -> dict[str, float]:
    """The file's targets overridden by those approvers set in the catalog."""
    merged = file_targets()
    if catalog is not None:
        try:
            merged.update(catalog.targets())
        except MetricError:
            pass
    return merged


# -- as defined on a date ------------------------------------------------------------------------

@dataclass(frozen=True)
class DefinitionsOn:
    """Which version of each metric was live at the end of `day`.

    `before_history` names the metrics whose first recorded activation is later than the day
    (the catalog did not exist yet, or the metric is newer): they run their first live version,
    and captions say so instead of pretending the history goes back further.
    """

    day: dt.date
    versions: Mapping[str, int]
    before_history: tuple[str, ...] = ()

    def caption(self, names: tuple[str, ...] | list[str] | None = None) -> str:
        """'As defined on 01 Oct 2025: mql_to_sal_rate v1, win_rate v3'."""
        shown = [n for n in (names or sorted(self.versions)) if n in self.versions]
        text = (f"As defined on {self.day:%d %b %Y}: "
                + ", ".join(f"{n} v{self.versions[n]}" for n in shown))
        early = [n for n in shown if n in self.before_history]
        if early:
            text += (f" ({', '.join(early)}: no version was live yet on that day, so the first "
                     "one ran)")
        return text


def versions_active_on(catalog: Catalog, day: dt.date) -> DefinitionsOn:
    """The version of every metric that was live at the end of `day` (UTC), from the
    catalog's activation history."""
    end = dt.datetime.combine(day, dt.time()) + dt.timedelta(days=1)
    versions: dict[str, int] = {}
    early: list[str] = []
    for name in catalog.names():
        activations = catalog.activations(name)
        if not activations:
            continue
        live = [version for version, at in activations if at < end]
        versions[name] = live[-1] if live else activations[0][0]
        if not live:
            early.append(name)
    return DefinitionsOn(day, versions, tuple(early))


def definitions_for(wh: Warehouse, names: tuple[str, ...] | list[str],
                    versions: Mapping[str, int] | None = None) -> list[MetricDefinition]:
    """The definitions to run: the given version of each metric, else its active one."""
    versions = versions or {}
    return [wh.definition(name, versions.get(name)) for name in names]


# -- building a review ---------------------------------------------------------------------------

def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain JSON values: ISO dates, None for missing numbers."""
    if frame is None or frame.empty:
        return []
    out = frame.copy()
    for column in out.columns:
        first = out[column].iloc[0]
        if isinstance(first, dt.date) and not isinstance(first, dt.datetime):
            # A period is a day, not a midnight: keep it '2025-01-01' as the CLI prints it.
            out[column] = out[column].map(lambda d: d.isoformat() if isinstance(d, dt.date)
                                          else d)
    return json.loads(out.to_json(orient="records", date_format="iso", date_unit="s"))


def _value(frame: pd.DataFrame | None, column: str = "value") -> float | None:
    if frame is None or frame.empty or column not in frame:
        return None
    value = frame[column].iloc[0]
    return None if is_missing(value) or pd.isna(value) else float(value)


def _about(frame: pd.DataFrame) -> dict[str, Any]:
    attrs = frame.attrs
    return {"name": attrs["metric"], "label": attrs["label"], "unit": attrs["unit"],
            "kind": attrs["kind"], "direction": attrs["direction"],
            "owners": list(attrs["owners"]), "version": int(attrs["version"]),
            "notes": list(attrs.get("notes", []))}


def _series(frame: pd.DataFrame) -> dict[str, Any]:
    """A metric over periods as the review keeps it: what it is, its rows, the periods that
    were not final when it was frozen."""
    return {**_about(frame), "rows": _records(frame),
            "incomplete_periods": [p.isoformat() for p in frame.attrs.get("incomplete_periods",
                                                                          [])]}


def attainment(value: float | None, target: float | None, direction: str) -> float | None:
    """Share of the target met (1.0 = exactly); for 'down' metrics target ÷ value.

    >>> attainment(0.6, 0.75, "up").__round__(6), attainment(25000, 20000, "down")
    (0.8, 0.8)
    """
    if value is None or target in (None, 0) or (direction == "down" and value == 0):
        return None
    return value / target if direction == "up" else target / value


def _scorecard(wh: Warehouse, selection: Selection, targets: Mapping[str, float],
               versions: Mapping[str, int] | None) -> tuple[list[dict], list[str]]:
    plan: dict[str, list] = {}
    if wh.catalog is not None:
        # Targets by period (the plan) win over the flat target where they cover the window.
        for row in wh.catalog.period_targets():
            plan.setdefault(row["name"], []).append(row)
    current = (selection.start, selection.end)
    previous = (selection.previous().start, selection.previous().end)
    last_year = (selection.last_year().start, selection.last_year().end)
    windows = list(dict.fromkeys([current, previous, last_year]))
    trend = (add_months(selection.end.replace(day=1), -12), selection.end)
    tiles, errors = [], []
    defs = []
    for name in SCORECARD:
        try:
            defs.append(wh.definition(name, (versions or {}).get(name)))
        except MetricError as exc:
            errors.append(f"{name}: {exc}")
    batch = wh.query_window_batch(defs, windows=windows, trend=trend, grain="month",
                                  where=selection.where)
    for defn in defs:
        result = batch[defn.name]
        if isinstance(result, MetricError):
            errors.append(f"{defn.name}: {result}")
            continue
        totals, series = result
        by_window = dict(zip(windows, totals, strict=True))
        frame = by_window[current]
        value = _value(frame)
        planned = (window_target(plan[defn.name], defn.kind, selection.start, selection.end)
                   if plan.get(defn.name) else None)
        target = planned if planned is not None else targets.get(defn.name)
        tiles.append({
            **_about(frame), "value": value,
            "numerator": _value(frame, "numerator"), "denominator": _value(frame, "denominator"),
            "previous": _value(by_window[previous]), "last_year": _value(by_window[last_year]),
            "target": target, "target_from_plan": planned is not None,
            "attainment": attainment(value, target, defn.direction),
            "maturity_days": defn.maturity_days,
            "trend": _series(series) if series is not None else None,
        })
    return tiles, errors


def _metric_or_error(wh: Warehouse, name: str, versions: Mapping[str, int] | None,
                     errors: list[str], **query) -> dict[str, Any] | None:
    try:
        frame = wh.query(name, version=(versions or {}).get(name), **query)
    except MetricError as exc:
        errors.append(f"{name}: {exc}")
        return None
    return _series(frame)


def build_review(wh: Warehouse, selection: Selection, *, targets: Mapping[str, float],
                 versions: Mapping[str, int] | None = None,
                 definitions_on: DefinitionsOn | None = None) -> dict[str, Any]:
    """Everything a review shows, computed now, as a JSON-able dict.

    `versions` picks the version of each metric to run (default: the active ones), or
    `definitions_on` the versions live on a date. A metric that fails is listed in `errors`
    and the rest of the review is still built.
    """
    if definitions_on is not None:
        versions = {**definitions_on.versions, **(versions or {})}
    span = selection.span
    errors: list[str] = []
    scorecard, tile_errors = _scorecard(wh, selection, targets, versions)
    errors += tile_errors
    trend_query = dict(start=selection.start, end=selection.end, grain=selection.grain,
                       where=selection.where)
    sla = {
        "compliance": _metric_or_error(wh, SLA_METRIC, versions, errors, **trend_query),
        "by_rep": _records(analysis.sla_by_rep(wh, **span)),
        "distribution": _records(analysis.sla_response_distribution(wh, **span)),
    }
    volume = {name: _metric_or_error(wh, name, versions, errors, **trend_query)
              for name in VOLUME_METRICS}
    quality = []
    for name in QUALITY_METRICS:
        total = _metric_or_error(wh, name, versions, errors, start=selection.start,
                                 end=selection.end, grain="total", where=selection.where)
        if total is not None:
            rows = total.pop("rows")
            total["value"] = rows[0].get("value") if rows else None
            total["target"] = targets.get(name)
            quality.append(total)
    volume["quality"] = quality
    ran = {tile["name"]: tile["version"] for tile in scorecard}
    for section in (sla["compliance"], volume["new_leads"], volume["mqls"], *quality):
        if section is not None:
            ran[section["name"]] = section["version"]
    return {
        "format": PAYLOAD_FORMAT,
        "as_of": wh.as_of.isoformat(),
        "computed_at": dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(
            timespec="seconds"),
        "selection": selection_to_dict(selection),
        "definitions_on": definitions_on.day.isoformat() if definitions_on else None,
        "versions": dict(sorted(ran.items())),
        "scorecard": scorecard,
        "funnel": {"stages": _records(analysis.funnel(wh, **span)),
                   "velocity": _records(analysis.pipeline_velocity(wh, **span))},
        "sla": sla,
        "volume": volume,
        "campaigns": _records(analysis.channel_performance(wh, **span)),
        "events": _events(wh, selection),
        "errors": errors,
    }


def _events(wh: Warehouse, selection: Selection) -> list[dict[str, Any]]:
    """What happened in the window, as the charts mark it: the events people marked and
    every definition that went live."""
    if wh.catalog is None:
        return []
    start, end = selection.start.date().isoformat(), selection.end.date().isoformat()
    events = [{"on_date": a["on_date"], "text": a["text"], "metric": a["metric"],
               "kind": "marked"} for a in wh.catalog.annotations()
              if start <= a["on_date"] < end]
    for name in wh.catalog.names():
        for version, at in wh.catalog.activations(name):
            if version > 1 and selection.start <= at < selection.end:
                events.append({"on_date": at.date().isoformat(), "metric": name,
                               "text": f"v{version} of {name} went live", "kind": "activation"})
    return sorted(events, key=lambda e: (e["on_date"], e["text"]))


def selection_to_dict(selection: Selection) -> dict[str, Any]:
    return {"start": selection.start.isoformat(), "end": selection.end.isoformat(),
            "grain": selection.grain, "where": selection.where.as_dict(),
            "label": selection.label,
            "as_of": selection.as_of.isoformat() if selection.as_of else None}


def selection_from_dict(saved: Mapping[str, Any]) -> Selection:
    """The Selection a review was frozen for (to compute the same window live)."""
    return Selection(dt.datetime.fromisoformat(saved["start"]),
                     dt.datetime.fromisoformat(saved["end"]), saved.get("grain", "month"),
                     LeadFilter.of(saved.get("where")), saved.get("label", "Custom"),
                     as_of=dt.datetime.fromisoformat(saved["as_of"]) if saved.get("as_of")
                     else None)


def freeze_review(wh: Warehouse, catalog: Catalog, selection: Selection, *, title: str,
                  user: str, targets: Mapping[str, float] | None = None,
                  definitions_on: DefinitionsOn | None = None) -> int:
    """Compute the review for `selection` and store it in the catalog; return its id."""
    payload = build_review(wh, selection,
                           targets=agreed_targets(catalog) if targets is None else targets,
                           definitions_on=definitions_on)
    return catalog.save_snapshot(title, payload, user=user)


# -- reading a frozen review ---------------------------------------------------------------------

@dataclass(frozen=True)
class Review:
    """A frozen review as stored: who froze it when, and its payload (see build_review)."""

    id: int
    title: str
    created_at: str
    user: str
    payload: Mapping[str, Any] = field(repr=False)

    @property
    def selection(self) -> Selection:
        return selection_from_dict(self.payload["selection"])

    @property
    def frozen_on(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.created_at).astimezone(dt.UTC).replace(tzinfo=None)

    @property
    def as_of(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.payload["as_of"])

    def frozen_label(self) -> str:
        """'Frozen on 02 Dec 2026 14:05 UTC by cmo@example.com · data as of 01 Dec 2026 00:00'."""
        return (f"Frozen on {self.frozen_on:%d %b %Y %H:%M} UTC by {self.user} · data as of "
                f"{self.as_of:%d %b %Y %H:%M} UTC")

    def describe_selection(self) -> str:
        sel = self.selection
        where = " · ".join(f"{dim}: {', '.join(values)}" for dim, values in sel.where)
        return f"{sel.label}: {sel.describe()} · {sel.grain} · {where or 'all leads'}"


def is_review(payload: Any) -> bool:
    """True for a snapshot this module wrote (the catalog may hold other payloads)."""
    return isinstance(payload, Mapping) and payload.get("format") == PAYLOAD_FORMAT and all(
        section in payload for section in SECTIONS)


def load_review(catalog: Catalog, snapshot_id: int) -> Review:
    """A saved review; CatalogError when the snapshot is not a review."""
    saved = catalog.snapshot(snapshot_id)
    if not is_review(saved["payload"]):
        raise CatalogError(f"snapshot {snapshot_id} ('{saved['title']}') was not saved as a "
                           "review, so it has no scorecard to show.")
    return Review(int(saved["id"]), saved["title"], saved["created_at"], saved["user"],
                  saved["payload"])


def list_reviews(catalog: Catalog) -> list[dict[str, Any]]:
    """The saved snapshots, newest first (id, created_at, user, title)."""
    return catalog.snapshots()


# -- comparing with live -------------------------------------------------------------------------

def _signed(text: str) -> str:
    # A typographic minus reads better than a hyphen in a sentence of numbers.
    return "−" + text[1:] if text.startswith("-") else text


@dataclass(frozen=True)
class Change:
    """One scorecard metric then (frozen) and now (live)."""

    name: str
    label: str
    unit: str
    frozen: float | None
    live: float | None
    frozen_version: int
    live_version: int | None

    @property
    def change(self) -> str | None:
        return format_change(self.live, self.frozen, self.unit)

    @property
    def definition_changed(self) -> bool:
        return self.live_version is not None and self.live_version != self.frozen_version

    def sentence(self) -> str:
        """'MQL → SAL acceptance rate −2.1 pts (62.0% → 59.9%); definition of
        mql_to_sal_rate changed v1 → v2'."""
        then, now = format_value(self.frozen, self.unit), format_value(self.live, self.unit)
        if self.live_version is None:
            return f"{self.label}: could not be computed live (it was {then})"
        if self.change is None:
            text = f"{self.label}: {then} then, {now} now (no comparable change)"
        elif then == now:
            text = f"{self.label} unchanged ({now})"
        else:
            text = f"{self.label} {_signed(self.change)} ({then} → {now})"
        if self.definition_changed:
            text += (f"; definition of {self.name} changed v{self.frozen_version} → "
                     f"v{self.live_version}")
        return text


@dataclass(frozen=True)
class Comparison:
    changes: tuple[Change, ...]
    frozen_as_of: dt.datetime
    live_as_of: dt.datetime

    def headline(self) -> str:
        data = ("the same data" if self.frozen_as_of == self.live_as_of else
                f"data as of {self.frozen_as_of:%d %b %Y} then, {self.live_as_of:%d %b %Y} now")
        return f"Same period and filters, {data}"

    def lines(self) -> list[str]:
        return [change.sentence() for change in self.changes]


def compare(frozen: Mapping[str, Any], live: Mapping[str, Any]) -> Comparison:
    """The scorecard of a frozen review against the same window computed live."""
    live_tiles = {tile["name"]: tile for tile in live["scorecard"]}
    changes = []
    for tile in frozen["scorecard"]:
        now = live_tiles.get(tile["name"])
        changes.append(Change(tile["name"], tile["label"], tile["unit"], tile["value"],
                              now["value"] if now else None, tile["version"],
                              now["version"] if now else None))
    return Comparison(tuple(changes), dt.datetime.fromisoformat(frozen["as_of"]),
                      dt.datetime.fromisoformat(live["as_of"]))


def compare_with_live(wh: Warehouse, catalog: Catalog, review: Review) -> Comparison:
    """The review's window and filters computed now with the active definitions."""
    live = build_review(wh, review.selection, targets=agreed_targets(catalog))
    return compare(review.payload, live)
