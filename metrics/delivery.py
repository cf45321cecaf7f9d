"""Sending alerts: email over SMTP and Slack-compatible webhooks, with retries and backoff.

Configuration is secret, so it lives in the secrets file the app already reads
(`.streamlit/secrets.toml`, or the file HANDOFF_SECRETS names), overridden by the environment:

    [alerts.smtp]                 # env HANDOFF_SMTP_HOST, _PORT, _FROM, _USER, _PASSWORD, _TLS
    host = "smtp.example.com"
    port = 587
    from = "Handoff <alerts@example.com>"
    username = "alerts@example.com"
    password = "..."
    tls = "starttls"              # starttls | ssl | none

    [alerts.webhooks]             # env HANDOFF_WEBHOOK_<NAME>, e.g. HANDOFF_WEBHOOK_SALES
    sales = "https://hooks.slack.com/services/..."
    marketing = "https://hooks.slack.com/services/..."

A failed send is classified: a temporary failure (connection refused, timeout, SMTP 4xx, HTTP
5xx or 429) is retried with backoff now and again at the next run; a permanent one (SMTP 5xx,
HTTP 4xx) is not, since repeating it cannot succeed. The backoff's `sleep` is a parameter, so
tests wait for nothing.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx

from metrics.errors import MetricError
from metrics.paths import REPO_ROOT

DEFAULT_SECRETS = REPO_ROOT / ".streamlit" / "secrets.toml"
TLS_MODES = ("starttls", "ssl", "none")
SEND_TIMEOUT_SECONDS = 15.0


class DeliveryConfigError(MetricError):
    """The secrets' [alerts] section cannot be used as it is."""


class DeliveryError(Exception):
    """One send failed; `retryable` says whether trying again may succeed."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    sender: str = "Handoff <handoff@localhost>"
    username: str | None = None
    password: str | None = None
    tls: str = "starttls"


@dataclass(frozen=True)
class DeliveryConfig:
    """Where alerts can go: SMTP (None when not set up) and named webhook URLs."""

    smtp: SmtpSettings | None = None
    webhooks: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    source: str = "<config>"


def load_delivery_config(secrets: Path | str | None = None,
                         env: Mapping[str, str] | None = None) -> DeliveryConfig:
    """The [alerts] section of the secrets file, overridden by HANDOFF_SMTP_* and
    HANDOFF_WEBHOOK_* variables. A missing file is no error: nothing is set up then."""
    env = os.environ if env is None else env
    path = Path(secrets or env.get("HANDOFF_SECRETS") or DEFAULT_SECRETS)
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8")).get("alerts", {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise DeliveryConfigError(f"cannot read the secrets file: {exc}", source=str(path))
    smtp_raw = dict(raw.get("smtp", {}))
    for key, var in (("host", "HOST"), ("port", "PORT"), ("from", "FROM"), ("username", "USER"),
                     ("password", "PASSWORD"), ("tls", "TLS")):
        if env.get(f"HANDOFF_SMTP_{var}"):
            smtp_raw[key] = env[f"HANDOFF_SMTP_{var}"]
    smtp = None
    if smtp_raw.get("host"):
        try:
            port = int(smtp_raw.get("port", 587))
        except (TypeError, ValueError):
            raise DeliveryConfigError(f"alerts.smtp.port must be a number, not "
                                      f"{smtp_raw.get('port')!r}.", source=str(path)) from None
        tls = str(smtp_raw.get("tls", "starttls")).lower()
        if tls not in TLS_MODES:
            raise DeliveryConfigError(f"alerts.smtp.tls is one of {', '.join(TLS_MODES)}, not "
                                      f"{tls!r}.", source=str(path))
        smtp = SmtpSettings(str(smtp_raw["host"]), port,
                            str(smtp_raw.get("from") or SmtpSettings.sender),
                            smtp_raw.get("username") or None, smtp_raw.get("password") or None,
                            tls)
    webhooks = {str(k).lower(): str(v) for k, v in raw.get("webhooks", {}).items()}
    for var, value in env.items():
        if var.startswith("HANDOFF_WEBHOOK_") and value:
            webhooks[var.removeprefix("HANDOFF_WEBHOOK_").lower()] = value
    for name, url in webhooks.items():
        if not url.startswith(("https://", "http://")):
            raise DeliveryConfigError(f"the webhook {name!r} must be an http(s) URL.",
                                      source=str(path))
    return DeliveryConfig(smtp, MappingProxyType(webhooks), str(path))


# -- messages and senders ----------------------------------------------------------------------

def _header(text: str) -> str:
    # A header may not carry line breaks (they would start a new header).
    return " ".join(str(text).split())


def build_email(sender: str, to: str, message: Mapping[str, Any]) -> EmailMessage:
    """A multipart/alternative email: the plain-text part first, then the HTML part."""
    email = EmailMessage()
    email["Subject"] = _header(message["subject"])
    email["From"] = sender
    email["To"] = to
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(domain="handoff.local")
    email.set_content(message["text"])
    email.add_alternative(message["html"], subtype="html")
    return email


def send_email(settings: SmtpSettings, to: str, message: Mapping[str, Any]) -> None:
    """Send one email; raises DeliveryError."""
    email = build_email(settings.sender, to, message)
    try:
        if settings.tls == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port,
                                                    timeout=SEND_TIMEOUT_SECONDS,
                                                    context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=SEND_TIMEOUT_SECONDS)
        with client:
            if settings.tls == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.username:
                client.login(settings.username, settings.password or "")
            client.send_message(email)
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) \
            else str(exc.smtp_error)
        raise DeliveryError(f"the SMTP server {settings.host} answered {exc.smtp_code} {text}",
                            retryable=400 <= exc.smtp_code < 500) from None
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise DeliveryError(f"the SMTP server {settings.host} refused {to}: {exc.recipients}",
                            retryable=all(400 <= c < 500 for c in codes)) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"cannot reach the SMTP server {settings.host}:{settings.port} "
                            f"({exc.__class__.__name__}: {exc})", retryable=True) from None


def post_webhook(url: str, payload: Mapping[str, Any]) -> None:
    """POST a JSON payload; any 2xx is delivered. Raises DeliveryError."""
    try:
        response = httpx.post(url, json=dict(payload), timeout=SEND_TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"cannot reach the webhook ({exc.__class__.__name__}: {exc})",
                            retryable=True) from None
    if 200 <= response.status_code < 300:
        return
    body = response.text[:200].strip()
    raise DeliveryError(f"the webhook answered HTTP {response.status_code}"
                        + (f": {body}" if body else ""),
                        retryable=response.status_code >= 500 or response.status_code in (408, 429))


# -- retries -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RetryPolicy:
    """Attempts per run and the pauses between them: first_delay, then × factor each time.

    >>> RetryPolicy(attempts=4, first_delay=1.0, factor=3.0).delays()
    [1.0, 3.0, 9.0]
    """

    attempts: int = 3
    first_delay: float = 2.0
    factor: float = 4.0
    sleep: Callable[[float], None] = time.sleep

    def delays(self) -> list[float]:
        return [self.first_delay * self.factor ** i for i in range(max(self.attempts - 1, 0))]


def deliver_with_retries(send: Callable[[], None], policy: RetryPolicy,
                         on_attempt: Callable[[bool, str], None]) -> str:
    """Call `send` until it succeeds, fails permanently or the policy's attempts are used up;
    `on_attempt(ok, error)` records each attempt as it ends. Returns sent, refused or failed."""
    delays = policy.delays()
    for attempt in range(policy.attempts):
        try:
            send()
        except DeliveryError as exc:
            on_attempt(False, str(exc))
            if not exc.retryable:
                return "refused"
            if attempt < len(delays):
                policy.sleep(delays[attempt])
            continue
        on_attempt(True, "")
        return "sent"
    return "failed"
