"""The Alerts page's glue: the alert store, tables of history, deliveries and rules, and the
acknowledge / subscribe callbacks (which act as the signed-in user)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from metrics.alert_rules import ALERTS_DIR, AlertRule
from metrics.alert_store import AlertStore, open_alert_store
from metrics.errors import MetricError
from ui import data
from ui.definition_view import flash, who_can_act

SEVERITY_WORDS = {"warning": "SLA deadline close", "breach": "SLA breached",
                  "off_target": "off target", "moved": "moved sharply", "digest": "digest"}
KIND_WORDS = {"sla_warning": "MQL close to its SLA deadline", "sla_breach": "SLA breach",
              "target": "metric off its target", "metric_shift": "metric moved after a load",
              "digest": "scheduled digest"}
STATUS_WORDS = {"pending": "waiting", "sending": "being sent", "sent": "sent",
                "failed": "failed, retried at the next run", "refused": "refused by the receiver",
                "undeliverable": "not deliverable"}


@st.cache_resource(show_spinner=False)
def _store(catalog_path: str) -> AlertStore:
    return open_alert_store(data.get_catalog())


def get_store() -> AlertStore:
    """The alert tables of the app's catalog (created on first use)."""
    return _store(str(data.get_catalog().path))


def rules() -> dict[str, AlertRule]:
    """The rules in force: each rule file at its active catalog version (the file's text until
    a change made in the app is approved; read on each run, so a changed file shows at once)."""
    return data.get_catalog().active_rules(ALERTS_DIR)


def rule_problems() -> tuple[str, ...]:
    """Rule files the last sync could not import into the catalog, as sentences."""
    return data.get_catalog().rule_sync_problems


def when(stamp: str | None) -> str:
    if not stamp:
        return ""
    moment = dt.datetime.fromisoformat(stamp)
    moment = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def history_table(history: list[dict], rule_labels: dict[str, str]) -> pd.DataFrame:
    """One row per alert, newest first."""
    columns = ["Found (UTC)", "What", "Alert", "Rule", "Sent", "Waiting", "Not delivered",
               "Acknowledged by", "Note"]
    return pd.DataFrame([{
        "Found (UTC)": when(h["created_at"]),
        "What": SEVERITY_WORDS.get(h["severity"], h["severity"]),
        "Alert": h["title"],
        "Rule": rule_labels.get(h["rule"], h["rule"]),
        "Sent": h["sent"], "Waiting": h["waiting"], "Not delivered": h["undelivered"],
        "Acknowledged by": h["acknowledged_by"] or "",
        "Note": h["acknowledge_note"] or "",
    } for h in history], columns=columns)


def deliveries_table(deliveries: list[dict]) -> pd.DataFrame:
    """One row per delivery with its attempts in words."""
    rows = []
    for d in deliveries:
        log = "; ".join(f"#{a['attempt']} {when(a['at'])} "
                        + ("ok" if a["ok"] else f"failed: {a['error']}")
                        for a in d["attempt_log"])
        rows.append({"Channel": d["channel"], "To": d["target"], "Why": d["why"],
                     "Status": STATUS_WORDS.get(d["status"], d["status"]),
                     "Attempts": d["attempts"], "Sent (UTC)": when(d["sent_at"]),
                     "Problem": d["last_error"] if d["status"] != "sent" else "",
                     "Attempt log": log})
    return pd.DataFrame(rows, columns=["Channel", "To", "Why", "Status", "Attempts",
                                       "Sent (UTC)", "Problem", "Attempt log"])


def _settings_words(rule: AlertRule) -> str:
    s = rule.settings
    if rule.kind == "sla_warning":
        return f"untouched MQLs with {s['hours_left']:g} business hours or less left"
    if rule.kind == "sla_breach":
        return f"untouched MQLs past their deadline (last {s['lookback_days']} days)"
    if rule.kind == "target":
        checks = " and ".join("at period end" if c == "period_end" else "from mid-period"
                              for c in s["checks"])
        return f"{', '.join(s['metrics'])} per {s['grain']}, {checks}"
    if rule.kind == "metric_shift":
        return f"{', '.join(s['metrics'])}, {s['grain']} on {s['grain']} beyond {s['threshold']:g}"
    return f"{len(s['metrics'])} metrics, every {s['weekday'].title()} at {s['hour']:02d}:00"


def rules_table(rules: dict[str, AlertRule]) -> pd.DataFrame:
    return pd.DataFrame([{
        "Rule": r.label, "Kind": KIND_WORDS[r.kind], "Watches": _settings_words(r),
        "Notifies": ", ".join(r.notify), "By": ", ".join(r.channels),
        "Agreed by": ", ".join(r.owners), "Version": f"v{r.version}" if r.version else "file",
        "File": f"sql/alerts/{r.name}.toml",
    } for r in rules.values()], columns=["Rule", "Kind", "Watches", "Notifies", "By",
                                          "Agreed by", "Version", "File"])


def alert_choice(history: list[dict]) -> dict[int, str]:
    """alert id -> a line a person can pick it by."""
    return {h["id"]: f"{when(h['created_at'])} · {h['title']}" for h in history}


# -- callbacks ----------------------------------------------------------------------------------

def acknowledge(user: str | None, alert_key: str, note_key: str) -> None:
    """Callback: acknowledge the chosen alert as the signed-in user."""
    if not user:
        flash("warning", who_can_act(user, "acknowledge an alert"))
        return
    alert_id = st.session_state.get(alert_key)
    if alert_id is None:
        flash("warning", "Pick the alert you acknowledge.")
        return
    try:
        get_store().acknowledge(int(alert_id), user=user,
                                note=str(st.session_state.get(note_key) or ""))
    except MetricError as exc:
        flash("error", f"Not acknowledged: {exc}")
        return
    st.session_state[note_key] = ""
    flash("success", "Acknowledged: the alert history shows that you are on it.")


def set_subscription(user: str | None, rule: str, key: str) -> None:
    """Callback of a subscription toggle."""
    if not user:
        flash("warning", who_can_act(user, "subscribe to alerts"))
        return
    store = get_store()
    try:
        if st.session_state.get(key):
            store.subscribe(user, rule)
        else:
            store.unsubscribe(user, rule)
    except MetricError as exc:
        flash("error", f"Subscription not changed: {exc}")


def summary(history: list[dict]) -> dict[str, int]:
    """Counts for the page's headline: alerts, unacknowledged, deliveries waiting, undelivered."""
    return {"alerts": len(history),
            "unacknowledged": sum(1 for h in history if not h["acknowledged_by"]),
            "waiting": sum(h["waiting"] for h in history),
            "undelivered": sum(h["undelivered"] for h in history)}
