"""A warehouse made by hand for the alert rules, every breach counted by hand below.

as_of is Wednesday 19 March 2025 18:00 UTC = 14:00 in New York (EDT, UTC-4 since 9 March).
The SLA is 8 business hours (Enterprise 4), Mon-Fri 09:00-17:00 New York (sql/model.toml).
Times in the comments are New York time; the rows hold UTC.

lead owner segment      MQL                 deadline            at as_of
A1   R1    SMB          Wed 19 Mar 10:00    Thu 20 Mar 10:00    untouched, 4 h left  -> warning (<= 6 h)
A2   R2    SMB          Tue 18 Mar 11:00    Wed 19 Mar 11:00    untouched, 3 h late  -> breach
A3   R1    Enterprise   Wed 19 Mar 09:30    Wed 19 Mar 13:30    untouched, 0.5 h late -> breach
A4   R2    SMB          Wed 19 Mar 13:00    Thu 20 Mar 13:00    untouched, 7 h left  -> nothing (> 6 h)
A5   R1    SMB          Wed 19 Mar 09:00    Wed 19 Mar 17:00    touched 10:00        -> nothing
A6   R2    SMB          Mon 17 Mar 10:00    Tue 18 Mar 10:00    disqualified Tue     -> nothing (moved on)
A7   R2    SMB          Tue 18 Mar 16:00    Wed 19 Mar 16:00    untouched, 2 h left  -> warning (<= 6 h, <= 3 h)
A8   R1    SMB          Mon 3 Feb 10:00     Mon 3 Feb 17:00 +   untouched, deadline weeks ago -> nothing
                                            (EST)               (older than the 7-day lookback)
A9   R9    SMB          Tue 18 Mar 10:00    Wed 19 Mar 10:00    untouched, 4 h late  -> breach; R9 has
                                                                no address: goes to the sales lead
A10  R1    Mid-Market   Fri 14 Mar 16:00    Mon 17 Mar 16:00    untouched, 14 h late -> breach (weekend
                                                                not counted)
F1   R1    SMB          Tue 11 Feb 10:00    Tue 11 Feb 18:00... touched 11:00, in SLA
J1-J4 R1   SMB          January, each touched within the hour, in SLA

So: 2 warnings (A1, A7) at hours_left = 6, 1 (A7) at hours_left = 3; 4 breaches (A2, A3, A9,
A10) with a 7-day lookback. MQLs per month: January 4, February 2 (A8, F1), March 9 (A1-A7,
A9, A10). SLA compliance: February 1 of 2 due (F1 in SLA, A8 not) = 50 %; March so far 1 of
6 due (A2, A3, A5, A6, A9, A10; only A5 in SLA; A1, A4, A7 not due yet).

Rep R2's name is hostile markup, so every message must escape it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from metrics.build import build_warehouse

AS_OF = dt.datetime(2025, 3, 19, 18, 0)
HOSTILE_REP_NAME = "<b>Ben</b> & <script>alert(1)</script>"


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


# (lead_id, owner, segment, first MQL at UTC, sales touch at UTC or None, disqualified at)
MQLS = [
    ("A1", "R1", "SMB", "2025-03-19 14:00", None, None),
    ("A2", "R2", "SMB", "2025-03-18 15:00", None, None),
    ("A3", "R1", "Enterprise", "2025-03-19 13:30", None, None),
    ("A4", "R2", "SMB", "2025-03-19 17:00", None, None),
    ("A5", "R1", "SMB", "2025-03-19 13:00", "2025-03-19 14:00", None),
    ("A6", "R2", "SMB", "2025-03-17 14:00", None, "2025-03-18 15:00"),
    ("A7", "R2", "SMB", "2025-03-18 20:00", None, None),
    ("A8", "R1", "SMB", "2025-02-03 15:00", None, None),
    ("A9", "R9", "SMB", "2025-03-18 14:00", None, None),
    ("A10", "R1", "Mid-Market", "2025-03-14 20:00", None, None),
    ("F1", "R1", "SMB", "2025-02-11 15:00", "2025-02-11 16:00", None),
    ("J1", "R1", "SMB", "2025-01-07 15:00", "2025-01-07 16:00", None),
    ("J2", "R1", "SMB", "2025-01-08 15:00", "2025-01-08 16:00", None),
    ("J3", "R1", "SMB", "2025-01-09 15:00", "2025-01-09 16:00", None),
    ("J4", "R1", "SMB", "2025-01-10 15:00", "2025-01-10 16:00", None),
]
REPS = [("R1", "Ana Ruiz", "sales", "NA"), ("R2", HOSTILE_REP_NAME, "sales", "NA")]

WARNINGS_AT_6_HOURS = {"A1", "A7"}
WARNINGS_AT_3_HOURS = {"A7"}
BREACHES = {"A2", "A3", "A9", "A10"}


def tables() -> dict[str, pd.DataFrame]:
    leads, events, touches = [], [], []
    for lead_id, owner, segment, mql_at, touch_at, disqualified_at in MQLS:
        created = utc(mql_at) - pd.Timedelta(hours=1)
        leads.append((lead_id, created, "paid_search", None, "marketing", "NA", segment,
                      "Software", 70, owner))
        events.append((f"{lead_id}-lead", lead_id, "lead", created, None, None))
        events.append((f"{lead_id}-mql", lead_id, "mql", utc(mql_at), None, None))
        if disqualified_at:
            events.append((f"{lead_id}-dq", lead_id, "disqualified", utc(disqualified_at), owner,
                           "No budget"))
        if touch_at:
            touches.append((f"{lead_id}-t", lead_id, utc(touch_at), "sales", "call", None, owner))
    return {
        "reps": pd.DataFrame(REPS, columns=["rep_id", "name", "team", "region"]),
        "leads": pd.DataFrame(leads, columns=[
            "lead_id", "created_at", "source_channel", "campaign_id", "sourced_by", "region",
            "segment", "industry", "lead_score", "owner_id"]),
        "lead_events": pd.DataFrame(events, columns=[
            "event_id", "lead_id", "stage", "occurred_at", "actor_id", "reason"]),
        "touches": pd.DataFrame(touches, columns=[
            "touch_id", "lead_id", "occurred_at", "team", "kind", "campaign_id", "actor_id"]),
    }


def build_alert_warehouse(path: Path) -> Path:
    def fill(con) -> None:
        for table, frame in tables().items():
            con.register("frame", frame)
            con.execute(f"INSERT INTO {table} ({', '.join(frame.columns)}) SELECT * FROM frame")
            con.unregister("frame")

    build_warehouse(path, fill, as_of=AS_OF, source="hand-made alert test warehouse")
    return path


RECIPIENTS = """
[reps]
R1 = "ana.ruiz@example.com"
R2 = "ben.okafor@example.com"

[teams.sales]
email = "sales@example.com"
lead = "vp.sales@example.com"
webhook = "sales"

[teams.marketing]
email = "marketing@example.com"
lead = "cmo@example.com"
webhook = "marketing"
"""


def write_rules(folder: Path, rules: dict[str, str]) -> Path:
    """A rules folder: the test address book plus the given rule files (name -> TOML)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "recipients.toml").write_text(RECIPIENTS, encoding="utf-8")
    for name, text in rules.items():
        (folder / f"{name}.toml").write_text(text, encoding="utf-8")
    return folder


SLA_RULES = {
    "sla_warning": 'label = "MQL close to its deadline"\nkind = "sla_warning"\n'
                   'owners = ["sales", "marketing"]\nnotify = ["owner"]\n'
                   'channels = ["email", "webhook"]\nhours_left = 6\n',
    "sla_breach": 'label = "MQL past its deadline"\nkind = "sla_breach"\n'
                  'owners = ["sales", "marketing"]\nnotify = ["owner", "team_lead"]\n'
                  'channels = ["email", "webhook"]\nlookback_days = 7\n',
}
