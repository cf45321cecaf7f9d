"""An alert as messages: an email's subject, plain-text and HTML parts, and a Slack-compatible
webhook payload ({"text": ..., "blocks": [...]}).

Rule labels, lead ids, rep names and metric labels come from files and imported data, so they
are escaped for each medium: HTML-escaped in the HTML part, `&`, `<` and `>` escaped in Slack
mrkdwn (which would otherwise read `<url|text>` as a link and `<!channel>` as a mention).
Messages are rendered once, when an alert is first recorded, so a retry sends exactly what the
first attempt tried to send.
"""

from __future__ import annotations

import html
from typing import Any

from metrics.alerts import Alert

SUBJECT_PREFIX = "[Handoff]"
_FOOTER = ("Sent by Handoff because of the alert rule {rule} (sql/alerts/{rule}.toml). Data as "
           "of {as_of}. Acknowledge it, see its history or change your subscriptions on the "
           "Alerts page.")


def _footer(alert: Alert) -> str:
    as_of = f"{alert.as_of:%d %b %Y %H:%M} UTC" if alert.as_of else "unknown"
    return _FOOTER.format(rule=alert.rule, as_of=as_of)


def _plain_table(rows: tuple[tuple[str, ...], ...]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return [lines[0], "  ".join("-" * w for w in widths)] + lines[1:]


def plain_text(alert: Alert) -> str:
    """The text/plain part."""
    lines = [alert.title, "", alert.summary, ""]
    if alert.facts:
        width = max(len(k) for k, _ in alert.facts)
        lines += [f"{k.ljust(width)}  {v}" for k, v in alert.facts] + [""]
    if alert.table:
        lines += _plain_table(alert.table) + [""]
    lines += [f"Rule: {alert.rule_label}", _footer(alert)]
    return "\n".join(lines) + "\n"


def html_text(alert: Alert) -> str:
    """The text/html part; every piece of text is HTML-escaped."""
    e = html.escape
    cell = "padding:4px 10px;border-bottom:1px solid #e2e8f0;text-align:left"
    parts = [f'<div style="font-family:Arial,sans-serif;color:#0f172a;max-width:720px">',
             f'<h2 style="font-size:18px">{e(alert.title)}</h2>', f"<p>{e(alert.summary)}</p>"]
    if alert.facts:
        parts.append('<table style="border-collapse:collapse">')
        parts += [f'<tr><th style="{cell}">{e(k)}</th><td style="{cell}">{e(v)}</td></tr>'
                  for k, v in alert.facts]
        parts.append("</table>")
    if alert.table:
        header, *rows = alert.table
        parts.append('<table style="border-collapse:collapse;margin-top:8px">')
        parts.append("<tr>" + "".join(f'<th style="{cell}">{e(c)}</th>' for c in header) + "</tr>")
        parts += ["<tr>" + "".join(f'<td style="{cell}">{e(c)}</td>' for c in r) + "</tr>"
                  for r in rows]
        parts.append("</table>")
    parts.append(f'<p style="color:#475569;font-size:12px">Rule: {e(alert.rule_label)}<br>'
                 f"{e(_footer(alert))}</p></div>")
    return "\n".join(parts)


def slack_escape(text: str) -> str:
    """Text made literal in Slack mrkdwn.

    >>> slack_escape("<!channel> & <http://x|click>")
    '&lt;!channel&gt; &amp; &lt;http://x|click&gt;'
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(alert: Alert) -> dict[str, Any]:
    """A Slack-compatible incoming-webhook body: `text` (the fallback) and Block Kit blocks."""
    s = slack_escape
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": alert.title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": s(alert.summary)[:3000]}},
    ]
    if alert.facts:
        blocks.append({"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*{s(k)}*\n{s(v)}"[:2000]} for k, v in alert.facts[:10]]})
    if alert.table:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": (
            "```" + "\n".join(_plain_table(alert.table)).replace("```", "'''") + "```")[:3000]}})
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": s(f"{alert.rule_label} · {_footer(alert)}")[:3000]}]})
    return {"text": s(f"{alert.title}: {alert.summary}"), "blocks": blocks}


def render(alert: Alert) -> dict[str, Any]:
    """Everything a delivery needs, JSON-able: subject, text, html, slack."""
    return {"subject": f"{SUBJECT_PREFIX} {alert.rule_label}: {alert.title}",
            "text": plain_text(alert), "html": html_text(alert), "slack": slack_payload(alert)}
