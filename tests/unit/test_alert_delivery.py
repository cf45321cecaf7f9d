"""Alerts delivered for real: an aiosmtpd SMTP server and an HTTP webhook receiver on loopback.

The hand-made warehouse (tests/alert_warehouse.py) has 2 SLA warnings and 4 breaches. Emails:
warnings A1 -> Ana, A7 -> Ben; breaches A2 -> Ben + the sales lead, A3 -> Ana + lead, A9 (owner
R9 has no address) -> the lead once, A10 -> Ana + lead: 9 emails. Webhooks: every alert goes to
the sales team's webhook once: 6 posts.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

import metrics
from alert_warehouse import HOSTILE_REP_NAME, SLA_RULES, build_alert_warehouse, write_rules
from metrics.alert_run import run_alerts
from metrics.alert_store import open_alert_store
from metrics.delivery import DeliveryConfig, RetryPolicy, SmtpSettings, load_delivery_config

ROOT = Path(__file__).resolve().parents[2]
EMAILS, POSTS = 9, 6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for rcpt, m in self.messages if address in rcpt]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, SmtpSettings("127.0.0.1", controller.port, "Handoff <alerts@example.com>",
                              tls="none")
    controller.stop()


class Receiver(ThreadingHTTPServer):
    """A webhook endpoint: answers the statuses in `plan` first, then 200; keeps every body."""

    def __init__(self) -> None:
        self.plan: list[int] = []
        self.always: int | None = None
        self.requests: list[tuple[int, dict]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = receiver.always or (receiver.plan.pop(0) if receiver.plan else 200)
                receiver.requests.append((status, body))
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"try later")

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def delivered(self) -> list[dict]:
        return [body for status, body in self.requests if status == 200]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


@pytest.fixture
def webhook():
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    wh = metrics.open_warehouse(build_alert_warehouse(
        tmp_path_factory.mktemp("alert-delivery") / "warehouse.duckdb"))
    yield wh
    wh.close()


@pytest.fixture
def catalog(tmp_path):
    return metrics.open_catalog(tmp_path / "catalog.sqlite", roles={"users": {}})


@pytest.fixture
def rules_dir(tmp_path):
    return write_rules(tmp_path / "alerts", SLA_RULES)


class Pauses:
    """The injected backoff: remembers the pauses instead of sleeping."""

    def __init__(self) -> None:
        self.taken: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.taken.append(seconds)


def run(warehouse, catalog, rules_dir, config, *, attempts=3, pauses=None, dry_run=False):
    policy = RetryPolicy(attempts=attempts, first_delay=1.0, factor=4.0, sleep=pauses or Pauses())
    return run_alerts(warehouse, catalog, config=config, rules_dir=rules_dir, dry_run=dry_run,
                      retry=policy)


def config_for(smtp_settings, receiver) -> DeliveryConfig:
    return DeliveryConfig(smtp_settings, {"sales": receiver.url, "marketing": receiver.url})


def test_each_alert_is_sent_once_and_a_second_run_sends_nothing(warehouse, catalog, rules_dir,
                                                                 smtp, webhook):
    inbox, settings = smtp
    first = run(warehouse, catalog, rules_dir, config_for(settings, webhook))
    assert (len(first.new), first.sent, first.failed) == (6, EMAILS + POSTS, 0)
    assert len(inbox.messages) == EMAILS and len(webhook.delivered) == POSTS
    assert len(inbox.to("vp.sales@example.com")) == 4       # one per breach
    assert len(inbox.to("ana.ruiz@example.com")) == 3       # A1 warning, A3 and A10 breaches

    second = run(warehouse, catalog, rules_dir, config_for(settings, webhook))
    assert (len(second.new), second.already_recorded, second.sent) == (0, 6, 0)
    assert len(inbox.messages) == EMAILS and len(webhook.requests) == POSTS

    store = open_alert_store(catalog)
    history = store.history()
    assert len(history) == 6 and all(h["waiting"] == 0 for h in history)
    assert sum(h["sent"] for h in history) == EMAILS + POSTS


def test_emails_have_a_plain_and_an_html_part_with_user_text_escaped(warehouse, catalog,
                                                                     rules_dir, smtp, webhook):
    inbox, settings = smtp
    run(warehouse, catalog, rules_dir, config_for(settings, webhook))
    (message,) = [m for m in inbox.to("ben.okafor@example.com")
                  if "A2 missed" in m["Subject"]]
    assert message["Subject"] == "[Handoff] MQL past its deadline: A2 missed its follow-up deadline"
    assert message["From"] == "Handoff <alerts@example.com>"
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Business hours late  3.0" in plain
    assert HOSTILE_REP_NAME in plain
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;Ben&lt;/b&gt; &amp;" in html
    # The Slack payload escapes the same text for mrkdwn.
    (post,) = [b for b in webhook.delivered if "A2 missed" in b["text"]]
    assert post["blocks"][0] == {"type": "header", "text": {
        "type": "plain_text", "text": "A2 missed its follow-up deadline"}}
    fields = json.dumps(post["blocks"][2])
    assert "<script>" not in fields and "&lt;script&gt;" in fields


def test_a_failing_webhook_is_retried_with_backoff_and_every_attempt_recorded(
        warehouse, catalog, rules_dir, smtp, webhook):
    inbox, settings = smtp
    webhook.plan = [500, 503]          # the first two posts fail, then the receiver recovers
    pauses = Pauses()
    report = run(warehouse, catalog, rules_dir, config_for(settings, webhook), pauses=pauses)
    assert (report.sent, report.failed) == (EMAILS + POSTS, 0)
    assert len(webhook.delivered) == POSTS and len(webhook.requests) == POSTS + 2
    assert pauses.taken == [1.0, 4.0]  # 1 s after the first failure, 4 s after the second
    retried = [d for d in open_alert_store(catalog).deliveries() if d["attempts"] > 1]
    (delivery,) = retried
    assert [(a["attempt"], a["ok"]) for a in delivery["attempt_log"]] == [(1, 0), (2, 0), (3, 1)]
    assert "HTTP 500" in delivery["attempt_log"][0]["error"]
    assert delivery["status"] == "sent"


def test_a_receiver_down_for_a_whole_run_gets_everything_at_the_next_run_exactly_once(
        warehouse, catalog, rules_dir, smtp, webhook):
    inbox, settings = smtp
    webhook.always = 503
    down = run(warehouse, catalog, rules_dir, config_for(settings, webhook), attempts=2)
    assert (down.sent, down.failed, down.waiting_retry) == (EMAILS, POSTS, POSTS)
    assert webhook.delivered == [] and len(webhook.requests) == 2 * POSTS

    webhook.always = None
    up = run(warehouse, catalog, rules_dir, config_for(settings, webhook), attempts=2)
    assert (len(up.new), up.sent, up.failed, up.waiting_retry) == (0, POSTS, 0, 0)
    titles = sorted(b["text"].split(":")[0] for b in webhook.delivered)
    assert len(titles) == len(set(titles)) == POSTS
    assert len(inbox.messages) == EMAILS
    attempts = [len(d["attempt_log"]) for d in open_alert_store(catalog).deliveries()
                if d["channel"] == "webhook"]
    assert attempts == [3] * POSTS     # 2 failed in the first run, 1 that succeeded


def test_a_refusal_is_not_retried(warehouse, catalog, rules_dir, smtp, webhook):
    inbox, settings = smtp
    webhook.always = 404
    first = run(warehouse, catalog, rules_dir, config_for(settings, webhook))
    assert (first.refused, len(webhook.requests)) == (POSTS, POSTS)
    webhook.always = None
    second = run(warehouse, catalog, rules_dir, config_for(settings, webhook))
    assert (second.sent, len(webhook.requests)) == (0, POSTS)


def test_two_runs_at_once_send_each_alert_once(warehouse, catalog, rules_dir, smtp, webhook):
    inbox, settings = smtp
    config = config_for(settings, webhook)
    threads = [threading.Thread(target=run, args=(warehouse, catalog, rules_dir, config))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(inbox.messages) == EMAILS and len(webhook.requests) == POSTS


def test_a_dry_run_records_and_sends_nothing(warehouse, catalog, rules_dir, smtp, webhook):
    inbox, settings = smtp
    report = run(warehouse, catalog, rules_dir, config_for(settings, webhook), dry_run=True)
    assert len(report.new) == 6
    assert sum(len(d) for _, d in report.new) == EMAILS + POSTS
    assert inbox.messages == [] and webhook.requests == []
    assert open_alert_store(catalog).history() == []


def test_a_subscriber_also_gets_the_rules_alerts(warehouse, catalog, rules_dir, smtp, webhook):
    inbox, settings = smtp
    open_alert_store(catalog).subscribe("CMO@example.com", "sla_breach")
    run(warehouse, catalog, rules_dir, config_for(settings, webhook))
    assert len(inbox.to("cmo@example.com")) == 4
    assert len(inbox.messages) == EMAILS + 4


def test_without_smtp_the_alert_is_kept_and_says_email_is_not_set_up(warehouse, catalog,
                                                                      rules_dir, webhook):
    report = run(warehouse, catalog, rules_dir, DeliveryConfig(None, {"sales": webhook.url}))
    assert report.undeliverable == EMAILS and report.sent == POSTS
    (alert,) = [h for h in open_alert_store(catalog).history() if h["subject"] == "A1"]
    (email_delivery,) = [d for d in open_alert_store(catalog).deliveries(alert["id"])
                         if d["channel"] == "email"]
    assert email_delivery["status"] == "undeliverable"
    assert "HANDOFF_SMTP_HOST" in email_delivery["last_error"]


def test_delivery_settings_come_from_the_secrets_file_and_the_environment(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[alerts.smtp]\nhost = "smtp.example.com"\nport = 2525\n'
                       'from = "Handoff <a@example.com>"\n[alerts.webhooks]\n'
                       'sales = "https://hooks.example.com/s"\n', encoding="utf-8")
    config = load_delivery_config(secrets, env={"HANDOFF_SMTP_PORT": "465",
                                                "HANDOFF_SMTP_TLS": "ssl",
                                                "HANDOFF_WEBHOOK_MARKETING": "https://m.example"})
    assert (config.smtp.host, config.smtp.port, config.smtp.tls) == ("smtp.example.com", 465, "ssl")
    assert dict(config.webhooks) == {"sales": "https://hooks.example.com/s",
                                     "marketing": "https://m.example"}
    assert load_delivery_config(tmp_path / "none.toml", env={}).smtp is None


def test_the_command_line_dry_run_then_run(tmp_path, warehouse, rules_dir, smtp, webhook):
    inbox, settings = smtp
    env = {"PATH": "/usr/bin:/bin", "METRICS_CATALOG": str(tmp_path / "cli.sqlite"),
           "METRICS_WAREHOUSE": str(warehouse.path), "HANDOFF_SMTP_HOST": "127.0.0.1",
           "HANDOFF_SMTP_PORT": str(settings.port), "HANDOFF_SMTP_TLS": "none",
           "HANDOFF_WEBHOOK_SALES": webhook.url, "HANDOFF_SECRETS": str(tmp_path / "no.toml")}
    command = [sys.executable, "-m", "metrics", "alerts", "run", "--rules", str(rules_dir)]
    dry = subprocess.run(command + ["--dry-run"], cwd=ROOT, env=env, capture_output=True,
                         text=True)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.count("would send: ") == 6
    assert "Dry run: nothing was recorded or sent" in dry.stdout
    assert inbox.messages == []
    real = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert real.returncode == 0, real.stderr
    assert f"Delivered {EMAILS + POSTS}, failed 0" in real.stdout
    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert "0 new, 6 already recorded earlier" in again.stdout
    assert len(inbox.messages) == EMAILS and len(webhook.delivered) == POSTS
