"""`python -m metrics alerts run | digest | rules`: the alert rules from the command line.

    python -m metrics alerts run [--dry-run]      # cron every few minutes, and after each ingest
    python -m metrics alerts digest [--dry-run]   # this week's digest now, whatever the schedule
    python -m metrics alerts rules                # the rules in force and whom they notify

Exit code 0 when everything due was delivered (or nothing was due), 1 when some deliveries
failed and wait for the next run, or a rule could not be judged.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from metrics.alert_rules import ALERTS_DIR, load_recipients
from metrics.errors import QueryError


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--warehouse", type=Path, help="warehouse file (default "
                        "METRICS_WAREHOUSE or data/warehouse.duckdb)")
    parser.add_argument("--catalog", type=Path, help="catalog file holding the alert history "
                        "(default METRICS_CATALOG or data/catalog.sqlite)")
    parser.add_argument("--rules", type=Path, default=None, metavar="DIR",
                        help="folder of alert rule files (default sql/alerts)")
    parser.add_argument("--secrets", type=Path, help="secrets file with [alerts.smtp] and "
                        "[alerts.webhooks] (default HANDOFF_SECRETS or .streamlit/secrets.toml)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print what would be sent; record and send nothing")
    parser.add_argument("--now", help="the wall-clock time, ISO in UTC, that decides whether "
                        "the digest is due (default: now)")


def register(subparsers: argparse._SubParsersAction) -> None:
    alerts = subparsers.add_parser("alerts", help="evaluate alert rules and send alerts",
                                   description="Alert rules live in sql/alerts/*.toml.")
    commands = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    run = commands.add_parser("run", help="evaluate every rule; send what is new, retry what "
                              "failed (idempotent: safe from cron and after each ingest)")
    _common(run)
    run.set_defaults(func=run_run)
    digest = commands.add_parser("digest", help="send this week's scorecard digest now "
                                 "(once per week, like the scheduled one)")
    _common(digest)
    digest.set_defaults(func=run_digest)
    rules = commands.add_parser("rules", help="list the alert rules and their recipients")
    rules.add_argument("--rules", type=Path, default=None, metavar="DIR")
    rules.add_argument("--catalog", type=Path, help="catalog file holding the rules' versions "
                       "(default METRICS_CATALOG or data/catalog.sqlite)")
    rules.set_defaults(func=run_rules)


def _now(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise QueryError(f"--now takes an ISO time like 2026-12-07T13:00, not '{text}'.") from None
    return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _execute(args: argparse.Namespace, *, kinds=None, force_digest=False) -> int:
    from metrics.alert_run import run_alerts
    from metrics.catalog import open_catalog
    from metrics.delivery import load_delivery_config
    from metrics.warehouse import open_warehouse

    now = _now(args.now)
    config = load_delivery_config(args.secrets)
    catalog = open_catalog(args.catalog)
    warehouse = open_warehouse(args.warehouse, catalog=catalog)
    report = run_alerts(warehouse, catalog, config=config, rules_dir=args.rules or ALERTS_DIR,
                        now=now, dry_run=args.dry_run, kinds=kinds,
                        force_digest=force_digest)
    print_report(report, warehouse.as_of)
    return 1 if report.failures or report.failed else 0


def print_report(report, as_of: dt.datetime) -> None:
    verb = "would send" if report.dry_run else "recorded"
    print(f"Data as of {as_of:%Y-%m-%d %H:%M} UTC: {len(report.found)} alert(s) found, "
          f"{len(report.new)} new, {report.already_recorded} already recorded earlier "
          "(not sent again).")
    for alert, deliveries in report.new:
        print(f"{verb}: [{alert.rule}] {alert.title}  (key {alert.dedup_key})")
        for d in deliveries:
            state = "" if d["status"] == "pending" else f"  NOT DELIVERABLE: {d['last_error']}"
            print(f"    {d['channel']:<8}{d['target']}  ({d['why']}){state}")
        if report.dry_run and alert.kind == "digest":
            from metrics.alert_messages import plain_text

            print("    " + plain_text(alert).replace("\n", "\n    ").rstrip())
    if report.dry_run:
        print(f"Dry run: nothing was recorded or sent; {report.waiting_retry} earlier "
              "deliveries wait for a retry.")
    else:
        print(f"Delivered {report.sent}, failed {report.failed} (retried at the next run), "
              f"refused {report.refused}, not deliverable {report.undeliverable}; "
              f"{report.waiting_retry} waiting for a retry.")
    for note in report.notes:
        print(f"note: {note}")
    for failure in report.failures:
        print(f"error: {failure}", file=sys.stderr)


def run_run(args: argparse.Namespace) -> int:
    return _execute(args)


def run_digest(args: argparse.Namespace) -> int:
    return _execute(args, kinds=("digest",), force_digest=True)


def run_rules(args: argparse.Namespace) -> int:
    from metrics.catalog import open_catalog

    folder = args.rules or ALERTS_DIR
    rules = open_catalog(args.catalog).active_rules(folder)
    book = load_recipients(folder)
    for rule in rules.values():
        settings = ", ".join(f"{k}={v}" for k, v in rule.settings.items() if k != "metrics")
        version = f"v{rule.version}" if rule.version else "file"
        print(f"{rule.name:<20}{rule.kind:<14}{rule.label} ({version})")
        print(f"{'':<20}notify {', '.join(rule.notify)} by {', '.join(rule.channels)}; "
              f"owners {', '.join(rule.owners)}; {settings}")
        if rule.metrics:
            print(f"{'':<20}metrics {', '.join(rule.metrics)}")
    print(f"{len(rules)} rules in {folder}; address book {book.source} "
          f"({len(book.reps)} reps, {len(book.teams)} teams).")
    return 0
