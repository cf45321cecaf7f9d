"""One alert run: evaluate the rules, record what is new, send what is due, record every attempt.

Safe to run from cron every few minutes and after each ingest: a finding already recorded (same
deduplication key) is neither recorded nor sent again, deliveries that failed earlier are
retried first-come, and a dry run writes nothing and sends nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path

from metrics.alert_messages import render
from metrics.alert_rules import ALERTS_DIR, AlertRule, Recipients, load_recipients
from metrics.alert_store import AlertStore, open_alert_store
from metrics.alerts import Alert, AlertContext, evaluate_rules
from metrics.catalog import Catalog
from metrics.delivery import (
    DeliveryConfig,
    DeliveryError,
    RetryPolicy,
    deliver_with_retries,
    post_webhook,
    send_email,
)
from metrics.model import load_model
from metrics.targets import agreed_targets
from metrics.warehouse import Warehouse


@dataclass
class RunReport:
    """What a run found, recorded and sent, in counts and sentences."""

    found: tuple[Alert, ...] = ()
    new: list[tuple[Alert, list[dict]]] = field(default_factory=list)
    already_recorded: int = 0
    sent: int = 0
    failed: int = 0
    refused: int = 0
    undeliverable: int = 0
    waiting_retry: int = 0
    notes: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()
    dry_run: bool = False


def plan_deliveries(alert: Alert, config: DeliveryConfig, subscribers: list[str],
                    book: Recipients) -> list[dict]:
    """The deliveries an alert needs: one email per address (the rule's recipients, then the
    rule's subscribers) and one webhook post per team webhook among its recipients. What
    cannot be delivered is planned as `undeliverable` with the reason, never silently left out.
    """
    planned: dict[tuple[str, str], dict] = {}

    def add(channel: str, target: str, why: str, problem: str | None = None) -> None:
        if problem is None and channel == "email" and config.smtp is None:
            problem = ("email is not set up: add [alerts.smtp] host to .streamlit/secrets.toml "
                       "or set HANDOFF_SMTP_HOST")
        planned.setdefault((channel, target), {
            "channel": channel, "target": target, "why": why,
            "status": "undeliverable" if problem else "pending", "last_error": problem or ""})

    if "email" in alert.channels:
        for r in alert.recipients:
            if r.email:
                add("email", r.email, r.why)
            else:
                add("email", f"(no address: {r.why})", r.why,
                    f"no email address: {r.why}; add one to {book.source}")
    for user in subscribers:
        add("email", user, "subscribed on the Alerts page")
    if "webhook" in alert.channels:
        found_any = False
        for team in dict.fromkeys(r.team for r in alert.recipients if r.team):
            webhook = book.team(team).webhook
            if webhook is None:
                continue
            found_any = True
            if webhook in config.webhooks:
                add("webhook", webhook, f"webhook of {team}")
            else:
                add("webhook", webhook, f"webhook of {team}",
                    f"the webhook {webhook!r} has no URL: add it under [alerts.webhooks] in "
                    f".streamlit/secrets.toml or set HANDOFF_WEBHOOK_{webhook.upper()}")
        if not found_any:
            add("webhook", "(no webhook)", "rule channel webhook",
                f"no team this alert goes to has a webhook in {book.source}")
    return list(planned.values())


def _alert_row(alert: Alert) -> dict:
    return {"dedup_key": alert.dedup_key, "rule": alert.rule, "kind": alert.kind,
            "subject": alert.subject, "period": alert.period, "severity": alert.severity,
            "title": alert.title, "summary": alert.summary, "message": render(alert),
            "as_of": alert.as_of.isoformat() if alert.as_of else None}


def deliver_due(store: AlertStore, config: DeliveryConfig, retry: RetryPolicy,
                report: RunReport) -> None:
    """Send every due delivery (new ones and earlier failures), recording each attempt."""
    for delivery in store.claim_due():
        message = delivery["message"]
        target = delivery["target"]
        if delivery["channel"] == "email":
            def send(to=target, message=message) -> None:
                if config.smtp is None:
                    raise DeliveryError("email is not set up any more ([alerts.smtp] host in "
                                        "the secrets)", retryable=True)
                send_email(config.smtp, to, message)
        else:
            def send(name=target, message=message) -> None:
                url = config.webhooks.get(name)
                if url is None:
                    raise DeliveryError(f"the webhook {name!r} has no URL in the secrets any "
                                        "more", retryable=True)
                post_webhook(url, message["slack"])
        status = deliver_with_retries(
            send, retry,
            lambda ok, error, d=delivery["id"]: store.record_attempt(d, ok=ok, error=error))
        store.finish(delivery["id"], status)
        setattr(report, status, getattr(report, status) + 1)


def run_alerts(warehouse: Warehouse, catalog: Catalog, *, config: DeliveryConfig,
               rules_dir: Path | str = ALERTS_DIR, now: dt.datetime | None = None,
               dry_run: bool = False, retry: RetryPolicy | None = None,
               kinds: tuple[str, ...] | None = None, force_digest: bool = False) -> RunReport:
    """Evaluate every rule (or those of `kinds`) and send what is new and what is due.

    `now` (naive UTC, default the wall clock) only decides whether a digest is due.
    """
    retry = retry or RetryPolicy()
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    # Each rule at its active catalog version: the file's, or a change approved in the app.
    rules = catalog.active_rules(rules_dir)
    if kinds:
        rules = {n: r for n, r in rules.items() if r.kind in kinds}
    book = load_recipients(rules_dir)
    store = open_alert_store(catalog)
    ctx = alert_context(warehouse, catalog, book, now)
    report = RunReport(dry_run=dry_run, failures=catalog.rule_sync_problems)
    # Digests last: they count the week's alerts, this run's included.
    for digests in (False, True):
        group = {n: r for n, r in rules.items() if (r.kind == "digest") == digests}
        if not group:
            continue
        if digests:
            counts = store.recent_counts(now - dt.timedelta(days=7))
            for alert, _ in report.new if dry_run else ():
                counts[alert.rule] = counts.get(alert.rule, 0) + 1
            ctx = replace(ctx, recent_alerts=counts)
        evaluation = evaluate_rules(group, ctx, force_digest=force_digest)
        report.found += evaluation.alerts
        report.notes += evaluation.notes
        report.failures += evaluation.failures
        _record(evaluation.alerts, store, config, book, report)
    if dry_run:
        report.waiting_retry = store.pending_count()
        return report
    deliver_due(store, config, retry, report)
    report.waiting_retry = store.pending_count()
    return report


def alert_context(warehouse: Warehouse, catalog: Catalog, book: Recipients,
                  now: dt.datetime) -> AlertContext:
    """What every rule is judged with: the warehouse, the model's business hours, the address
    book and the agreed monthly targets."""
    return AlertContext(warehouse=warehouse, model=load_model(), recipients=book,
                        targets=agreed_targets(catalog, "month"), now=now)


@dataclass(frozen=True)
class RulePreview:
    """What one version of a rule would find against the warehouse now (nothing is recorded
    or sent): its alerts, how many go to each recipient, notes and the error if it failed."""

    alerts: tuple[Alert, ...]
    recipients: dict[str, int]
    notes: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()


def preview_rule(warehouse: Warehouse, catalog: Catalog, rule: AlertRule, *,
                 rules_dir: Path | str = ALERTS_DIR,
                 now: dt.datetime | None = None) -> RulePreview:
    """A dry run of one rule (a draft or a stored version) by the same engine as the run.

    A digest is built whatever its schedule, so a change to it shows what it would contain.
    `recipients` counts alerts per address ('<why>, no address' when the book has none).
    """
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    ctx = alert_context(warehouse, catalog, load_recipients(rules_dir), now)
    evaluation = evaluate_rules({rule.name: rule}, ctx, force_digest=True)
    counts: dict[str, int] = {}
    for alert in evaluation.alerts:
        for who in dict.fromkeys(r.email or f"{r.why}, no address" for r in alert.recipients):
            counts[who] = counts.get(who, 0) + 1
    return RulePreview(evaluation.alerts, dict(sorted(counts.items(), key=lambda kv: (-kv[1],
                                                                                        kv[0]))),
                       evaluation.notes, evaluation.failures)


def _record(alerts, store: AlertStore, config: DeliveryConfig, book: Recipients,
            report: RunReport) -> None:
    """Record the alerts not seen before with their deliveries (a dry run only lists them)."""
    subscribers = store.subscribers()
    known = store.known_keys(a.dedup_key for a in alerts)
    for alert in alerts:
        if alert.dedup_key in known:
            report.already_recorded += 1
            continue
        deliveries = plan_deliveries(alert, config, subscribers.get(alert.rule, []), book)
        if report.dry_run:
            report.new.append((alert, deliveries))
            continue
        if store.record(_alert_row(alert), deliveries) is None:
            report.already_recorded += 1  # another run recorded it a moment ago
            continue
        report.new.append((alert, deliveries))
        report.undeliverable += sum(d["status"] == "undeliverable" for d in deliveries)
