"""A warehouse small enough to count every metric by hand (see test_metrics.py).

as_of is Monday 2025-03-31 00:00 UTC. The SLA clock is Mon-Fri 09:00-17:00 New York time
(UTC-5 until 9 March 2025, UTC-4 after), 8 business hours, Enterprise 4.

L1 SMB, webinar: MQL Tue 7 Jan 09:00 NY, sales touch 11:00 NY (in SLA), accepted, won 10,000.
L2 Enterprise: skips SAL; its events are stored out of order; touched after its 4 h SLA; lost 50,000.
L3 sales-sourced, never an MQL; won 20,000; its only marketing touch comes after the close.
L4 null segment: MQL, recycled ("Not now - timing"), MQL again in March; touched on a Saturday
   (outside business hours, after the deadline).
L5 SMB: MQL at 17:00 NY exactly (after hours, so its clock starts Tuesday 09:00); touched in SLA;
   disqualified ("No budget").
L6 SMB: MQL on Friday 28 March, never touched, SLA deadline Monday 31 March 14:00 NY, after as_of.
L7 partner-sourced: never an MQL.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from metrics.build import build_warehouse

AS_OF = dt.datetime(2025, 3, 31)


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


LEAD_COLUMNS = ["lead_id", "created_at", "source_channel", "campaign_id", "sourced_by", "region",
                "segment", "industry", "lead_score", "owner_id"]
LEADS = [
    ("L1", ts("2025-01-06 10:00"), "webinars", "C1", "marketing", "NA", "SMB", "Software", 80, "R1"),
    ("L2", ts("2025-01-10 12:00"), "webinars", "C1", "marketing", "EMEA", "Enterprise", "Retail", 60, "R2"),
    ("L3", ts("2025-01-20 09:00"), "outbound", None, "sales", "NA", "Mid-Market", "Software", None, "R1"),
    ("L4", ts("2025-02-03 15:00"), "paid_search", "C2", "marketing", "NA", None, "Health", 40, "R1"),
    ("L5", ts("2025-02-10 08:00"), "paid_search", "C2", "marketing", "EMEA", "SMB", "Retail", 70, "R2"),
    ("L6", ts("2025-03-28 14:00"), "paid_search", "C2", "marketing", "NA", "SMB", "Software", 90, "R1"),
    ("L7", ts("2025-01-15 11:00"), "partner", None, "partner", "NA", "Mid-Market", "Health", 50, "R2"),
]
EVENT_COLUMNS = ["event_id", "lead_id", "stage", "occurred_at", "actor_id", "reason"]
EVENTS = [
    ("E01", "L1", "lead", ts("2025-01-06 10:00"), None, None),
    ("E02", "L1", "mql", ts("2025-01-07 14:00"), None, None),
    ("E03", "L1", "sal", ts("2025-01-08 15:00"), "R1", None),
    ("E04", "L1", "sql", ts("2025-01-10 15:00"), "R1", None),
    ("E05", "L1", "opportunity", ts("2025-01-15 15:00"), "R1", None),
    ("E06", "L1", "won", ts("2025-02-20 15:00"), "R1", None),
    # L2 arrives out of order: the close first, the lead event last.
    ("E10", "L2", "lost", ts("2025-03-10 15:00"), "R2", "Chose a competitor"),
    ("E11", "L2", "opportunity", ts("2025-01-25 15:00"), "R2", None),
    ("E12", "L2", "sql", ts("2025-01-20 15:00"), "R2", None),
    ("E13", "L2", "mql", ts("2025-01-13 15:00"), None, None),
    ("E14", "L2", "lead", ts("2025-01-10 12:00"), None, None),
    ("E20", "L3", "lead", ts("2025-01-20 09:00"), None, None),
    ("E21", "L3", "sal", ts("2025-01-21 15:00"), "R1", None),
    ("E22", "L3", "sql", ts("2025-01-22 15:00"), "R1", None),
    ("E23", "L3", "opportunity", ts("2025-01-23 12:00"), "R1", None),
    ("E24", "L3", "won", ts("2025-02-23 12:00"), "R1", None),
    ("E30", "L4", "lead", ts("2025-02-03 15:00"), None, None),
    ("E31", "L4", "mql", ts("2025-02-04 15:00"), None, None),
    ("E32", "L4", "recycled", ts("2025-02-05 15:00"), "R1", "Not now - timing"),
    ("E33", "L4", "mql", ts("2025-03-03 15:00"), None, None),
    ("E40", "L5", "lead", ts("2025-02-10 08:00"), None, None),
    ("E41", "L5", "mql", ts("2025-02-10 22:00"), None, None),
    ("E42", "L5", "disqualified", ts("2025-02-12 15:00"), "R2", "No budget"),
    ("E50", "L6", "lead", ts("2025-03-28 14:00"), None, None),
    ("E51", "L6", "mql", ts("2025-03-28 18:00"), None, None),
    ("E60", "L7", "lead", ts("2025-01-15 11:00"), None, None),
]
TOUCH_COLUMNS = ["touch_id", "lead_id", "occurred_at", "team", "kind", "campaign_id", "actor_id"]
TOUCHES = [
    ("T01", "L1", ts("2025-01-06 10:00"), "marketing", "webinar", "C1", "M1"),
    ("T02", "L1", ts("2025-01-07 16:00"), "sales", "call", None, "R1"),
    ("T10", "L2", ts("2025-01-11 10:00"), "marketing", "email_open", "C1", "M1"),
    ("T11", "L2", ts("2025-01-13 20:00"), "sales", "call", None, "R2"),
    ("T20", "L3", ts("2025-01-20 10:00"), "sales", "call", None, "R1"),
    ("T21", "L3", ts("2025-02-25 10:00"), "marketing", "content_download", None, "M1"),
    ("T30", "L4", ts("2025-02-08 14:00"), "sales", "email", None, "R1"),
    ("T40", "L5", ts("2025-02-10 08:00"), "marketing", "ad_click", "C2", "M1"),
    ("T41", "L5", ts("2025-02-11 21:30"), "sales", "call", None, "R2"),
]
OPPORTUNITY_COLUMNS = ["opportunity_id", "lead_id", "created_at", "closed_at", "amount", "status"]
OPPORTUNITIES = [
    ("O1", "L1", ts("2025-01-15 15:00"), ts("2025-02-20 15:00"), 10000.0, "won"),
    ("O2", "L2", ts("2025-01-25 15:00"), ts("2025-03-10 15:00"), 50000.0, "lost"),
    ("O3", "L3", ts("2025-01-23 12:00"), ts("2025-02-23 12:00"), 20000.0, "won"),
]
CAMPAIGN_COLUMNS = ["campaign_id", "name", "channel", "cost", "started_on", "ended_on"]
CAMPAIGNS = [
    ("C1", "Webinar January", "webinars", 3100.0, dt.date(2025, 1, 1), dt.date(2025, 1, 31)),
    ("C2", "Search February", "paid_search", 2800.0, dt.date(2025, 2, 1), dt.date(2025, 2, 28)),
]
REP_COLUMNS = ["rep_id", "name", "team", "region"]
REPS = [("R1", "Ana Ruiz", "sales", "NA"), ("R2", "Ben Okafor", "sales", "EMEA"),
        ("M1", "Mia Chen", "marketing", "NA")]

TABLES = {
    "campaigns": (CAMPAIGN_COLUMNS, CAMPAIGNS), "reps": (REP_COLUMNS, REPS),
    "leads": (LEAD_COLUMNS, LEADS), "lead_events": (EVENT_COLUMNS, EVENTS),
    "touches": (TOUCH_COLUMNS, TOUCHES), "opportunities": (OPPORTUNITY_COLUMNS, OPPORTUNITIES),
}


def build_tiny_warehouse(path: Path, **replace: list[tuple]) -> Path:
    """Build the warehouse; `replace` swaps a table's rows (touches=[] takes every touch away),
    for tests of data that lacks an input."""
    def fill(con) -> None:
        for table, (columns, rows) in TABLES.items():
            rows = replace.get(table, rows)
            if not rows:
                continue
            frame = pd.DataFrame(rows, columns=columns)
            con.register("frame", frame)
            con.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM frame")
            con.unregister("frame")

    source = "tiny hand-made test warehouse" + (", " + ", ".join(replace) + " replaced"
                                                if replace else "")
    build_warehouse(path, fill, as_of=AS_OF, source=source)
    return path
