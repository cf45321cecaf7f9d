"""Alert history, deliveries, every delivery attempt, acknowledgements and subscriptions, in the
catalog's SQLite file (DESIGN.md section 9: several processes may write at once).

The tables are created here, additively and idempotently (CREATE ... IF NOT EXISTS), the first
time a store is opened on a catalog, so the catalog's own schema version is untouched.

Exactly once, even with two runs at the same time (cron overlapping an after-ingest run):

- an alert is inserted under a UNIQUE deduplication key; only the run whose insert succeeded
  creates its deliveries, so a finding is never recorded or sent twice;
- a delivery is claimed (pending/failed -> sending) in a write transaction before it is sent,
  so one process sends it; a claim older than CLAIM_TIMEOUT (a run that died mid-send) may be
  taken again.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from metrics.catalog import Catalog, ReadOnlyCatalogError
from metrics.errors import CatalogError
from metrics.roles import normalize_email

DELIVERY_STATUSES = ("pending", "sending", "sent", "failed", "refused", "undeliverable")
# A delivery is tried at most this many times in all (over many runs), then left as failed
# for a person to look at on the Alerts page.
MAX_ATTEMPTS = 30
CLAIM_TIMEOUT = dt.timedelta(minutes=15)

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS alert_history (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        dedup_key TEXT NOT NULL UNIQUE,
        rule TEXT NOT NULL,
        kind TEXT NOT NULL,
        subject TEXT NOT NULL,
        period TEXT NOT NULL,
        severity TEXT NOT NULL,
        title TEXT NOT NULL,
        summary TEXT NOT NULL,
        message TEXT NOT NULL,
        as_of TEXT,
        created_at TEXT NOT NULL,
        acknowledged_by TEXT,
        acknowledged_at TEXT,
        acknowledge_note TEXT NOT NULL DEFAULT '')""",
    "CREATE INDEX IF NOT EXISTS alert_history_by_rule ON alert_history (rule, id)",
    """CREATE TABLE IF NOT EXISTS alert_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        alert_id INTEGER NOT NULL REFERENCES alert_history (id),
        channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
        target TEXT NOT NULL,
        why TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL CHECK (status IN
            ('pending', 'sending', 'sent', 'failed', 'refused', 'undeliverable')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT '',
        claimed_at TEXT,
        sent_at TEXT,
        UNIQUE (alert_id, channel, target))""",
    "CREATE INDEX IF NOT EXISTS alert_deliveries_by_status ON alert_deliveries (status)",
    """CREATE TABLE IF NOT EXISTS alert_attempts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        delivery_id INTEGER NOT NULL REFERENCES alert_deliveries (id),
        attempt INTEGER NOT NULL,
        at TEXT NOT NULL,
        ok INTEGER NOT NULL,
        error TEXT NOT NULL DEFAULT '')""",
    """CREATE TABLE IF NOT EXISTS alert_subscriptions (
        user TEXT NOT NULL,
        rule TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (user, rule))""",
)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


class AlertStore:
    """The alert tables of one catalog; safe to share between threads (a connection per call)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        try:
            with catalog._write() as con:
                for statement in _SCHEMA:
                    con.execute(statement)
        except ReadOnlyCatalogError:
            # Reading a read-only catalog works once another process has created the tables.
            with catalog._read() as con:
                found = con.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = "
                                    "'alert_history'").fetchone()[0]
            if not found:
                raise CatalogError(f"the catalog {catalog.path} is read-only and has no alert "
                                   "tables yet; run `python -m metrics alerts run` once where "
                                   "it can be written.") from None

    # -- recording ---------------------------------------------------------------------------
    def known_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of these deduplication keys were already recorded."""
        keys = list(keys)
        found: set[str] = set()
        with self.catalog._read() as con:
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                marks = ",".join("?" * len(chunk))
                found.update(r[0] for r in con.execute(
                    f"SELECT dedup_key FROM alert_history WHERE dedup_key IN ({marks})", chunk))
        return found

    def record(self, alert: dict[str, Any], deliveries: list[dict[str, str]]) -> int | None:
        """Insert an alert and its deliveries; None (and nothing written) when its key exists.

        `alert` has dedup_key, rule, kind, subject, period, severity, title, summary, message
        (the rendered messages, JSON-able) and as_of; each delivery has channel, target, why
        and status (pending, or undeliverable with last_error saying why).
        """
        with self.catalog._write() as con:
            cursor = con.execute(
                "INSERT INTO alert_history (dedup_key, rule, kind, subject, period, severity, "
                "title, summary, message, as_of, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT (dedup_key) DO NOTHING",
                (alert["dedup_key"], alert["rule"], alert["kind"], alert["subject"],
                 alert["period"], alert["severity"], alert["title"], alert["summary"],
                 json.dumps(alert["message"]), alert.get("as_of"), _now()))
            if cursor.rowcount == 0:
                return None
            alert_id = int(cursor.lastrowid)
            for d in deliveries:
                con.execute(
                    "INSERT INTO alert_deliveries (alert_id, channel, target, why, status, "
                    "last_error) VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                    (alert_id, d["channel"], d["target"], d.get("why", ""), d["status"],
                     d.get("last_error", "")))
        return alert_id

    # -- delivering --------------------------------------------------------------------------
    def claim_due(self, *, now: dt.datetime | None = None) -> list[dict[str, Any]]:
        """Take every delivery that is due (pending, failed under MAX_ATTEMPTS, or a stale
        claim) for this process; returns them with their alert's message."""
        moment = now or dt.datetime.now(dt.UTC)
        stale = (moment - CLAIM_TIMEOUT).isoformat(timespec="microseconds")
        with self.catalog._write() as con:
            rows = con.execute(
                "SELECT d.*, h.dedup_key, h.message, h.title FROM alert_deliveries d "
                "JOIN alert_history h ON h.id = d.alert_id "
                "WHERE (d.status IN ('pending', 'failed') OR "
                "       (d.status = 'sending' AND d.claimed_at < ?)) AND d.attempts < ? "
                "ORDER BY d.id", (stale, MAX_ATTEMPTS)).fetchall()
            claimed = moment.isoformat(timespec="microseconds")
            con.executemany("UPDATE alert_deliveries SET status = 'sending', claimed_at = ? "
                            "WHERE id = ?", [(claimed, r["id"]) for r in rows])
        return [{**dict(r), "message": json.loads(r["message"])} for r in rows]

    def record_attempt(self, delivery_id: int, *, ok: bool, error: str = "") -> int:
        """Write one attempt (before the next is made, so a crash loses none); its number."""
        with self.catalog._write() as con:
            attempt = con.execute("UPDATE alert_deliveries SET attempts = attempts + 1, "
                                  "last_error = ? WHERE id = ? RETURNING attempts",
                                  (error, delivery_id)).fetchone()[0]
            con.execute("INSERT INTO alert_attempts (delivery_id, attempt, at, ok, error) "
                        "VALUES (?,?,?,?,?)", (delivery_id, attempt, _now(), int(ok), error))
        return int(attempt)

    def finish(self, delivery_id: int, status: str) -> None:
        """Close a claimed delivery: sent, failed (tried again next run) or refused."""
        if status not in ("sent", "failed", "refused"):
            raise ValueError(status)
        with self.catalog._write() as con:
            con.execute("UPDATE alert_deliveries SET status = ?, claimed_at = NULL, "
                        "sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE id = ?",
                        (status, status, _now(), delivery_id))

    def pending_count(self) -> int:
        """Deliveries still to be tried (pending or failed under the attempt limit)."""
        with self.catalog._read() as con:
            return int(con.execute(
                "SELECT COUNT(*) FROM alert_deliveries WHERE status IN ('pending', 'failed') "
                "AND attempts < ?", (MAX_ATTEMPTS,)).fetchone()[0])

    # -- reading -----------------------------------------------------------------------------
    def history(self, *, limit: int = 500, rule: str | None = None,
                unacknowledged: bool = False) -> list[dict[str, Any]]:
        """Alerts, newest first, each with delivery counts by status."""
        where, params = ["1 = 1"], []
        if rule:
            where.append("h.rule = ?")
            params.append(rule)
        if unacknowledged:
            where.append("h.acknowledged_at IS NULL")
        sql = (
            "SELECT h.id, h.created_at, h.rule, h.kind, h.severity, h.subject, h.period, "
            "h.title, h.summary, h.as_of, h.acknowledged_by, h.acknowledged_at, "
            "h.acknowledge_note, "
            "COUNT(d.id) FILTER (WHERE d.status = 'sent') AS sent, "
            "COUNT(d.id) FILTER (WHERE d.status IN ('pending', 'sending', 'failed')) AS waiting, "
            "COUNT(d.id) FILTER (WHERE d.status IN ('refused', 'undeliverable')) AS undelivered "
            f"FROM alert_history h LEFT JOIN alert_deliveries d ON d.alert_id = h.id "
            f"WHERE {' AND '.join(where)} GROUP BY h.id ORDER BY h.id DESC LIMIT ?")
        with self.catalog._read() as con:
            return [dict(r) for r in con.execute(sql, [*params, int(limit)])]

    def alert(self, alert_id: int) -> dict[str, Any]:
        with self.catalog._read() as con:
            row = con.execute("SELECT * FROM alert_history WHERE id = ?", (alert_id,)).fetchone()
        if row is None:
            raise CatalogError(f"there is no alert {alert_id}; the Alerts page lists them.")
        return {**dict(row), "message": json.loads(row["message"])}

    def deliveries(self, alert_id: int | None = None) -> list[dict[str, Any]]:
        """Deliveries (of one alert, or all), each with its attempts."""
        with self.catalog._read() as con:
            rows = con.execute(
                "SELECT d.*, h.dedup_key FROM alert_deliveries d JOIN alert_history h "
                "ON h.id = d.alert_id WHERE ? IS NULL OR d.alert_id = ? ORDER BY d.id",
                (alert_id, alert_id)).fetchall()
            attempts = con.execute(
                "SELECT a.* FROM alert_attempts a JOIN alert_deliveries d ON d.id = a.delivery_id"
                " WHERE ? IS NULL OR d.alert_id = ? ORDER BY a.id", (alert_id, alert_id)).fetchall()
        by_delivery: dict[int, list[dict[str, Any]]] = {}
        for a in attempts:
            by_delivery.setdefault(a["delivery_id"], []).append(dict(a))
        return [{**dict(r), "attempt_log": by_delivery.get(r["id"], [])} for r in rows]

    def recent_counts(self, since: dt.datetime) -> dict[str, int]:
        """Alerts recorded since `since` (aware or naive UTC), by rule."""
        stamp = since.replace(tzinfo=dt.UTC) if since.tzinfo is None else since
        with self.catalog._read() as con:
            return {r[0]: int(r[1]) for r in con.execute(
                "SELECT rule, COUNT(*) FROM alert_history WHERE created_at >= ? GROUP BY rule",
                (stamp.isoformat(timespec="microseconds"),))}

    # -- people ------------------------------------------------------------------------------
    def acknowledge(self, alert_id: int, *, user: str, note: str = "") -> None:
        """Say that someone has seen the alert and is on it; the first acknowledgement stands."""
        user = normalize_email(user)
        if not user:
            raise CatalogError("sign in to acknowledge an alert: it records who did.")
        with self.catalog._write() as con:
            row = con.execute("SELECT acknowledged_by FROM alert_history WHERE id = ?",
                              (alert_id,)).fetchone()
            if row is None:
                raise CatalogError(f"there is no alert {alert_id}; the Alerts page lists them.")
            if row["acknowledged_by"]:
                raise CatalogError(f"{row['acknowledged_by']} already acknowledged this alert.")
            con.execute("UPDATE alert_history SET acknowledged_by = ?, acknowledged_at = ?, "
                        "acknowledge_note = ? WHERE id = ?",
                        (user, _now(), (note or "").strip()[:2000], alert_id))
            self.catalog._audit(con, user, "acknowledge_alert", None, None, alert_id=alert_id)

    def subscribe(self, user: str, rule: str) -> None:
        """`user` also receives the rule's alerts by email (on top of its own recipients)."""
        user = normalize_email(user)
        if not user:
            raise CatalogError("sign in to subscribe: alerts go to your email address.")
        with self.catalog._write() as con:
            con.execute("INSERT INTO alert_subscriptions (user, rule, created_at) VALUES (?,?,?)"
                        " ON CONFLICT DO NOTHING", (user, rule, _now()))

    def unsubscribe(self, user: str, rule: str) -> None:
        with self.catalog._write() as con:
            con.execute("DELETE FROM alert_subscriptions WHERE user = ? AND rule = ?",
                        (normalize_email(user), rule))

    def subscriptions(self, user: str) -> set[str]:
        """The rules `user` subscribed to."""
        with self.catalog._read() as con:
            return {r[0] for r in con.execute(
                "SELECT rule FROM alert_subscriptions WHERE user = ?", (normalize_email(user),))}

    def subscribers(self) -> dict[str, list[str]]:
        """rule -> the users subscribed to it."""
        with self.catalog._read() as con:
            rows = con.execute("SELECT rule, user FROM alert_subscriptions ORDER BY user")
            out: dict[str, list[str]] = {}
            for rule, user in rows:
                out.setdefault(rule, []).append(user)
        return out


def open_alert_store(catalog: Catalog) -> AlertStore:
    """The alert tables of `catalog`, created on first use."""
    try:
        return AlertStore(catalog)
    except sqlite3.Error as exc:
        raise CatalogError(f"cannot open the alert tables of {catalog.path}: {exc}") from None
