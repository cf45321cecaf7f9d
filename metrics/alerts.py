"""Evaluate the alert rules (sql/alerts/) against the warehouse: which alerts are due, for whom.

Pure evaluation: the warehouse and the rules go in, `Alert` values come out; nothing is sent or
stored here (metrics/alert_run.py does that). Each alert carries a deduplication key made of
its rule, its subject (a lead, a metric) and its period (an SLA deadline, a month, a week), so
evaluating twice yields the same keys and the store sends each key once.

Rule kinds:

- sla_warning: an MQL still waiting for a first sales touch (same rule as the SLA page's
  queue, `analysis.untouched_mqls`) with at most `hours_left` business hours before its
  deadline, business hours in the SLA's time zone (metrics/sla.py, sql/model.toml).
- sla_breach: a waiting MQL whose deadline passed in the last `lookback_days`.
- target: a metric off its agreed target (metrics/targets.py) at the end of a period (the
  latest period that is over and, for cohort metrics, mature), or from the middle of a period
  on when the period so far is off it (counts and sums: on course to miss it, pro rata).
- metric_shift: the latest complete period moved more than `threshold` against the one before
  (relative; for percentages, in points), judged once per period after each load.
- digest: the scorecard of the last complete month with each definition's version, due once a
  week from `weekday` at `hour` in the SLA's time zone.

Data time vs wall clock: lead and metric rules judge the data as of the warehouse's as_of (a
touch not loaded yet is unknown, so judging by the wall clock would accuse reps of breaches
they did not commit); only the digest's schedule reads the wall clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from metrics import analysis
from metrics.alert_rules import WEEKDAYS, AlertRule, Recipients
from metrics.definitions import MetricDefinition
from metrics.errors import MetricError
from metrics.formatting import format_value, is_missing
from metrics.model import StageModel
from metrics.selection import add_months, quarter_start
from metrics.sla import business_hours_between
from metrics.targets import MONTHS_PER_GRAIN, attainment
from metrics.warehouse import Warehouse

# The SLA queue is read for MQLs of at most this many days (deadlines fall within days).
_QUEUE_DAYS = 60
_QUEUE_LIMIT = 100_000


@dataclass(frozen=True)
class Recipient:
    """Who an alert goes to: an address (None when nobody has one) and the team whose webhook
    hears it; `why` says how the rule reached them, in words."""

    email: str | None
    team: str | None
    why: str


@dataclass(frozen=True)
class Alert:
    """One thing a rule found, to be sent once to its recipients."""

    rule: str
    rule_label: str
    kind: str
    subject: str
    period: str
    severity: str               # warning | breach | off_target | moved | digest
    title: str
    summary: str
    facts: tuple[tuple[str, str], ...] = ()
    table: tuple[tuple[str, ...], ...] = ()   # first row: the header
    recipients: tuple[Recipient, ...] = ()
    channels: tuple[str, ...] = ("email",)
    as_of: dt.datetime | None = None

    @property
    def dedup_key(self) -> str:
        """rule|subject|period: the same finding always has the same key."""
        return f"{self.rule}|{self.subject}|{self.period}"


@dataclass(frozen=True)
class Evaluation:
    """Every rule's alerts, and the sentences of what could not be judged (and why)."""

    alerts: tuple[Alert, ...]
    notes: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertContext:
    """What rules are judged against."""

    warehouse: Warehouse
    model: StageModel
    recipients: Recipients
    targets: Mapping[str, float]
    now: dt.datetime                      # wall clock, naive UTC: only for digest schedules
    recent_alerts: Mapping[str, int] = field(default_factory=dict)  # rule -> count, past week


# -- periods -----------------------------------------------------------------------------------

def period_start(moment: dt.datetime, grain: str) -> dt.datetime:
    """The start of the week (Monday), month or quarter holding `moment` (UTC periods).

    >>> period_start(dt.datetime(2025, 3, 19, 18), "week").isoformat()
    '2025-03-17T00:00:00'
    """
    day = moment.date()
    if grain == "week":
        return dt.datetime.combine(day - dt.timedelta(days=day.weekday()), dt.time())
    if grain == "quarter":
        return quarter_start(day)
    return dt.datetime(day.year, day.month, 1)


def shift_period(start: dt.datetime, grain: str, periods: int) -> dt.datetime:
    """The start of the period `periods` after (negative: before) the one starting at `start`."""
    if grain == "week":
        return start + dt.timedelta(weeks=periods)
    return add_months(start, periods * (3 if grain == "quarter" else 1))


def _period_words(start: dt.datetime, grain: str) -> str:
    if grain == "week":
        return f"the week of {start:%d %b %Y}"
    if grain == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start:%Y}"
    return f"{start:%B %Y}"


# -- recipients --------------------------------------------------------------------------------

def _rep_teams(wh: Warehouse) -> dict[str, tuple[str, str | None]]:
    """rep_id -> (name, team) from the warehouse's reps table."""
    frame = wh.execute("SELECT rep_id, name, team FROM reps", label="reps for alerts")
    return {str(r.rep_id): (r.name, r.team) for r in frame.itertuples(index=False)}


def _team_recipient(recipients: Recipients, team: str, why: str) -> Recipient:
    entry = recipients.team(team)
    if entry.email:
        return Recipient(entry.email, team, why)
    return Recipient(None, team, f"{why}: team {team} has no email in {recipients.source}")


def resolve_recipients(rule: AlertRule, ctx: AlertContext, *, owner_id: str | None = None,
                       rep_team: str | None = None,
                       metric_owners: Sequence[str] = ()) -> tuple[Recipient, ...]:
    """The rule's `notify` words as recipients for one alert.

    A rep without an address gets the alert through the lead of their team, and the recipient
    says so: an alert is never dropped for want of an address.
    """
    book = ctx.recipients
    team = rep_team or "sales"
    out: list[Recipient] = []
    for word in rule.notify:
        if word == "owner":
            email = book.reps.get(owner_id or "")
            if email:
                out.append(Recipient(email, team, f"owner {owner_id}"))
            else:
                lead = book.team(team).lead
                who = f"owner {owner_id}" if owner_id else "the lead has no owner"
                reason = (f"{who} has no address in {book.source}" if owner_id else who)
                out.append(Recipient(lead, team, f"{reason}, so the lead of {team}" if lead
                                     else f"{reason} and {team} has no lead"))
        elif word == "team_lead":
            lead = book.team(team).lead
            out.append(Recipient(lead, team, f"lead of {team}" if lead
                                 else f"{team} has no lead in {book.source}"))
        elif word == "owners":
            for owner in metric_owners or rule.owners:
                out.append(_team_recipient(book, owner, f"owning team {owner}"))
        elif word.startswith("team:"):
            name = word.removeprefix("team:")
            out.append(_team_recipient(book, name, f"team {name}"))
        else:
            out.append(Recipient(word, None, "named in the rule"))
    unique: dict[tuple[str | None, str | None, str], Recipient] = {}
    for r in out:
        unique.setdefault((r.email, r.team, r.why), r)
    return tuple(unique.values())


# -- SLA rules ---------------------------------------------------------------------------------

def _queue(ctx: AlertContext) -> pd.DataFrame:
    queue = analysis.untouched_mqls(ctx.warehouse, limit=_QUEUE_LIMIT, max_age_days=_QUEUE_DAYS)
    return queue[queue["sla_deadline_at"].notna()]


def _local(moment: dt.datetime, tz: str) -> str:
    local = pd.Timestamp(moment).tz_localize("UTC").tz_convert(tz)
    return f"{local:%a %d %b %Y %H:%M} ({tz.split('/')[-1].replace('_', ' ')} time)"


def _lead_facts(row, ctx: AlertContext) -> tuple[tuple[str, str], ...]:
    tz = ctx.model.sla.timezone
    owner = row.owner_name if row.owner_id else "(no owner)"
    return (("Lead", str(row.lead_id)), ("Owner", f"{owner} ({row.owner_id or '—'})"),
            ("Segment", str(row.segment or "(none)")), ("Region", str(row.region or "(none)")),
            ("Channel", str(row.source_channel or "(none)")),
            ("MQL at", _local(row.first_mql_at, tz)),
            ("SLA deadline", _local(row.sla_deadline_at, tz)))


def evaluate_sla_warning(rule: AlertRule, ctx: AlertContext) -> list[Alert]:
    """Waiting MQLs with 0 < business hours left <= hours_left."""
    wh, policy = ctx.warehouse, ctx.model.sla
    queue = _queue(ctx)
    queue = queue[~queue["overdue"].astype(bool)]
    if queue.empty:
        return []
    now = np.full(len(queue), np.datetime64(wh.as_of, "us"))
    left = business_hours_between(now, queue["sla_deadline_at"].to_numpy("datetime64[us]"),
                                  policy)
    reps = _rep_teams(wh)
    alerts = []
    for row, hours in zip(queue.itertuples(index=False), left, strict=True):
        if not 0 < hours <= rule.setting("hours_left"):
            continue
        team = reps.get(str(row.owner_id), (None, None))[1]
        alerts.append(Alert(
            rule=rule.name, rule_label=rule.label, kind=rule.kind, subject=str(row.lead_id),
            period=pd.Timestamp(row.sla_deadline_at).isoformat(), severity="warning",
            title=f"{row.lead_id} has {hours:.1f} business hours left for a first touch",
            summary=(f"MQL {row.lead_id} has had no sales touch yet; its follow-up deadline is "
                     f"in {hours:.1f} business hours ({_local(row.sla_deadline_at, policy.timezone)})."),
            facts=_lead_facts(row, ctx) + (("Business hours left", f"{hours:.1f}"),),
            recipients=resolve_recipients(rule, ctx, owner_id=row.owner_id, rep_team=team),
            channels=rule.channels, as_of=wh.as_of))
    return alerts


def evaluate_sla_breach(rule: AlertRule, ctx: AlertContext) -> list[Alert]:
    """Waiting MQLs whose deadline passed within the last lookback_days."""
    wh, policy = ctx.warehouse, ctx.model.sla
    queue = _queue(ctx)
    since = wh.as_of - dt.timedelta(days=rule.setting("lookback_days"))
    queue = queue[queue["overdue"].astype(bool) & (queue["sla_deadline_at"] > since)]
    if queue.empty:
        return []
    deadlines = queue["sla_deadline_at"].to_numpy("datetime64[us]")
    late = business_hours_between(deadlines, np.full(len(queue), np.datetime64(wh.as_of, "us")),
                                  policy)
    reps = _rep_teams(wh)
    alerts = []
    for row, hours in zip(queue.itertuples(index=False), late, strict=True):
        team = reps.get(str(row.owner_id), (None, None))[1]
        alerts.append(Alert(
            rule=rule.name, rule_label=rule.label, kind=rule.kind, subject=str(row.lead_id),
            period=pd.Timestamp(row.sla_deadline_at).isoformat(), severity="breach",
            title=f"{row.lead_id} missed its follow-up deadline",
            summary=(f"MQL {row.lead_id} is past its SLA deadline "
                     f"({_local(row.sla_deadline_at, policy.timezone)}) by {hours:.1f} business "
                     "hours and no sales touch followed it."),
            facts=_lead_facts(row, ctx) + (("Business hours late", f"{hours:.1f}"),),
            recipients=resolve_recipients(rule, ctx, owner_id=row.owner_id, rep_team=team),
            channels=rule.channels, as_of=wh.as_of))
    return alerts


# -- metric rules ------------------------------------------------------------------------------

def _total(wh: Warehouse, defn: MetricDefinition, start: dt.datetime, end: dt.datetime):
    """(value, version, notes) of a metric over [start, end); value None when there is none."""
    frame = wh.query(defn, start=start, end=end, grain="total")
    value = None if frame.empty else frame["value"].iloc[0]
    return (None if is_missing(value) else float(value)), frame.attrs["version"], \
        list(frame.attrs.get("notes", []))


def _scaled_target(target: float, defn: MetricDefinition, grain: str) -> float:
    return target * MONTHS_PER_GRAIN[grain] if defn.kind in ("count", "sum") else target


def _mature_period_end(defn: MetricDefinition, as_of: dt.datetime, grain: str) -> dt.datetime:
    """The start of the latest period that is over and whose cohorts have had maturity_days."""
    start = shift_period(period_start(as_of, grain), grain, -1)
    while shift_period(start, grain, 1) > as_of - dt.timedelta(days=defn.maturity_days):
        start = shift_period(start, grain, -1)
    return start


def _metric_facts(defn: MetricDefinition, version: int, period: str, value, target) -> tuple:
    return (("Metric", f"{defn.label} ({defn.name} v{version})"), ("Owners", ", ".join(defn.owners)),
            ("Period", period), ("Value", format_value(value, defn.unit)),
            ("Target", format_value(target, defn.unit)))


def evaluate_target(rule: AlertRule, ctx: AlertContext) -> tuple[list[Alert], list[str]]:
    """Metrics off target at a period's end, or from mid-period on (see the module doc)."""
    wh, grain = ctx.warehouse, rule.setting("grain")
    tolerance = rule.setting("tolerance")
    alerts, notes = [], []
    for name in rule.metrics:
        defn = wh.definition(name)
        if ctx.targets.get(name) is None:
            notes.append(f"{rule.name}: {name} has no agreed target (sql/targets.toml or the "
                         "app), so it is not judged.")
            continue
        target = _scaled_target(ctx.targets[name], defn, grain)
        recipients = resolve_recipients(rule, ctx, metric_owners=defn.owners)
        checks = []
        if "period_end" in rule.setting("checks"):
            start = _mature_period_end(defn, wh.as_of, grain)
            checks.append(("end", start, shift_period(start, grain, 1), 1.0))
        if "mid_period" in rule.setting("checks"):
            start = period_start(wh.as_of, grain)
            end = shift_period(start, grain, 1)
            elapsed = (wh.as_of - start) / (end - start)
            if defn.maturity_days:
                notes.append(f"{rule.name}: {name} is judged mid-period only once its cohorts "
                             f"have matured ({defn.maturity_days} days), at the period's end.")
            elif elapsed >= 0.5:
                checks.append(("mid", start, wh.as_of, elapsed))
        for when, start, end, elapsed in checks:
            value, version, value_notes = _total(wh, defn, start, end)
            words = _period_words(start, grain)
            if value is None:
                notes.append(f"{rule.name}: {name} has no value for {words}"
                             + (f" ({'; '.join(value_notes)})" if value_notes else "") + ".")
                continue
            pro_rata = defn.kind in ("count", "sum") and when == "mid"
            judged = value / elapsed if pro_rata else value
            ratio = attainment(judged, target, defn.direction)
            if ratio is None or ratio >= 1 - tolerance:
                continue
            if when == "end":
                title = f"{defn.label}: off target for {words}"
                summary = (f"{defn.label} was {format_value(value, defn.unit)} for {words}, "
                           f"against a target of {format_value(target, defn.unit)} "
                           f"({ratio:.0%} of it).")
            elif pro_rata:
                title = f"{defn.label}: on course to miss the target for {words}"
                summary = (f"{defn.label} is {format_value(value, defn.unit)} after "
                           f"{elapsed:.0%} of {words}; at this pace it ends near "
                           f"{format_value(judged, defn.unit)}, against a target of "
                           f"{format_value(target, defn.unit)}.")
            else:
                title = f"{defn.label}: off target so far in {words}"
                summary = (f"{defn.label} is {format_value(value, defn.unit)} so far in {words} "
                           f"({elapsed:.0%} of it over), against a target of "
                           f"{format_value(target, defn.unit)}.")
            alerts.append(Alert(
                rule=rule.name, rule_label=rule.label, kind=rule.kind, subject=name,
                period=f"{start:%Y-%m-%d}/{grain}/{when}", severity="off_target", title=title,
                summary=summary,
                facts=_metric_facts(defn, version, words + (" (so far)" if when == "mid" else ""),
                                    value, target),
                recipients=recipients, channels=rule.channels, as_of=wh.as_of))
    return alerts, notes


def evaluate_metric_shift(rule: AlertRule, ctx: AlertContext) -> tuple[list[Alert], list[str]]:
    """The latest complete period against the one before, beyond the threshold."""
    wh, grain, threshold = ctx.warehouse, rule.setting("grain"), rule.setting("threshold")
    latest = shift_period(period_start(wh.as_of, grain), grain, -1)
    before = shift_period(latest, grain, -1)
    alerts, notes = [], []
    for name in rule.metrics:
        defn = wh.definition(name)
        value, version, _ = _total(wh, defn, latest, shift_period(latest, grain, 1))
        previous, _, _ = _total(wh, defn, before, latest)
        if value is None or previous is None:
            notes.append(f"{rule.name}: {name} has no value for {_period_words(latest, grain)} "
                         f"or the period before, so its move cannot be judged.")
            continue
        if defn.unit != "percent" and previous == 0:
            notes.append(f"{rule.name}: {name} was 0 in {_period_words(before, grain)}, so a "
                         "relative move cannot be judged.")
            continue
        if defn.unit == "percent":
            change, moved = value - previous, f"{(value - previous) * 100:+.1f} points"
        else:
            change, moved = (value - previous) / abs(previous), f"{(value - previous) / abs(previous):+.0%}"
        if abs(change) <= threshold:
            continue
        words = _period_words(latest, grain)
        alerts.append(Alert(
            rule=rule.name, rule_label=rule.label, kind=rule.kind, subject=name,
            period=f"{latest:%Y-%m-%d}/{grain}", severity="moved",
            title=f"{defn.label}: {moved} in {words}",
            summary=(f"{defn.label} was {format_value(value, defn.unit)} in {words}, against "
                     f"{format_value(previous, defn.unit)} in {_period_words(before, grain)} "
                     f"({moved}; the rule's threshold is "
                     f"{threshold * 100:g} {'points' if defn.unit == 'percent' else '%'})."),
            facts=(("Metric", f"{defn.label} ({defn.name} v{version})"),
                   ("Owners", ", ".join(defn.owners)),
                   (words[:1].upper() + words[1:], format_value(value, defn.unit)),
                   (_period_words(before, grain)[:1].upper() + _period_words(before, grain)[1:],
                    format_value(previous, defn.unit)), ("Change", moved)),
            recipients=resolve_recipients(rule, ctx, metric_owners=defn.owners),
            channels=rule.channels, as_of=wh.as_of))
    return alerts, notes


# -- digest ------------------------------------------------------------------------------------

def digest_slot(rule: AlertRule, now: dt.datetime, tz: str) -> dt.datetime:
    """This week's send time of a digest, naive UTC: its weekday and hour in `tz`, in the week
    (Monday to Sunday, local) holding `now`."""
    local = pd.Timestamp(now).tz_localize("UTC").tz_convert(tz)
    monday = local.date() - dt.timedelta(days=local.weekday())
    day = monday + dt.timedelta(days=WEEKDAYS.index(rule.setting("weekday")))
    slot = dt.datetime.combine(day, dt.time(rule.setting("hour")), tzinfo=ZoneInfo(tz))
    return slot.astimezone(dt.UTC).replace(tzinfo=None)


def build_digest(rule: AlertRule, ctx: AlertContext, *, force: bool = False) -> Alert | None:
    """The digest of the week holding ctx.now, or None before its send time (unless forced)."""
    wh, tz = ctx.warehouse, ctx.model.sla.timezone
    slot = digest_slot(rule, ctx.now, tz)
    if ctx.now < slot and not force:
        return None
    year, week, _ = slot.date().isocalendar()
    month = shift_period(period_start(wh.as_of, "month"), "month", -1)
    before = shift_period(month, "month", -1)
    rows = [("Metric", "Definition", f"{month:%b %Y}", "Target", "Status", f"{before:%b %Y}")]
    off = 0
    for name in rule.metrics:
        try:
            defn = wh.definition(name)
            value, version, notes = _total(wh, defn, month, shift_period(month, "month", 1))
            previous, _, _ = _total(wh, defn, before, month)
        except MetricError as exc:
            rows.append((name, "—", "—", "—", f"could not be computed: {exc}", "—"))
            continue
        target = ctx.targets.get(name)
        scaled = None if target is None else _scaled_target(target, defn, "month")
        ratio = attainment(value, scaled, defn.direction)
        maturing = defn.maturity_days and shift_period(month, "month", 1) > \
            wh.as_of - dt.timedelta(days=defn.maturity_days)
        if value is None:
            status = "no value" + (f" ({'; '.join(notes)})" if notes else "")
        elif maturing:
            status = "still converting: expect it to rise"
        elif ratio is None:
            status = "no target"
        elif ratio >= 1:
            status = f"on target ({ratio:.0%})"
        else:
            status, off = f"off target ({ratio:.0%})", off + 1
        rows.append((defn.label, f"{defn.name} v{version}", format_value(value, defn.unit),
                     format_value(scaled, defn.unit), status, format_value(previous, defn.unit)))
    recent = ", ".join(f"{n} from {r}" for r, n in sorted(ctx.recent_alerts.items()) if n)
    summary = (f"The scorecard for {month:%B %Y}, data as of {wh.as_of:%d %b %Y %H:%M} UTC: "
               f"{off} of {len(rule.metrics)} metrics off target. Alerts in the past 7 days: "
               f"{recent or 'none'}.")
    return Alert(rule=rule.name, rule_label=rule.label, kind=rule.kind, subject="scorecard",
                 period=f"{year}-W{week:02d}", severity="digest",
                 title=f"Week {week} of {year}: {off} of {len(rule.metrics)} metrics off target",
                 summary=summary,
                 table=tuple(rows), recipients=resolve_recipients(rule, ctx),
                 channels=rule.channels, as_of=wh.as_of)


# -- all rules ---------------------------------------------------------------------------------

_EVALUATORS: Mapping[str, Callable[[AlertRule, AlertContext], object]] = {
    "sla_warning": evaluate_sla_warning, "sla_breach": evaluate_sla_breach,
    "target": evaluate_target, "metric_shift": evaluate_metric_shift,
}


def evaluate_rules(rules: Mapping[str, AlertRule], ctx: AlertContext, *,
                   force_digest: bool = False) -> Evaluation:
    """Every rule's alerts. A rule that fails (a broken metric) is reported in `failures` and
    the others still run, as a failing tile never blanks the page."""
    alerts: list[Alert] = []
    notes: list[str] = []
    failures: list[str] = []
    for rule in rules.values():
        try:
            if rule.kind == "digest":
                digest = build_digest(rule, ctx, force=force_digest)
                if digest is None:
                    slot = digest_slot(rule, ctx.now, ctx.model.sla.timezone)
                    notes.append(f"{rule.name}: this week's digest is due from "
                                 f"{slot:%a %d %b %Y %H:%M} UTC.")
                else:
                    alerts.append(digest)
                continue
            found = _EVALUATORS[rule.kind](rule, ctx)
            if isinstance(found, tuple):
                found, rule_notes = found
                notes.extend(rule_notes)
            alerts.extend(found)
        except MetricError as exc:
            failures.append(f"{rule.name} ({rule.source}) could not be judged: {exc}")
    return Evaluation(tuple(alerts), tuple(notes), tuple(failures))
