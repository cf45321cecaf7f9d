"""A hand-made warehouse for lead scoring (test_scoring.py counts every answer from this table).

as_of is 2026-01-01. S01-S13 were created in January and February 2025, so every outcome of
theirs can be judged (their cohort months ended more than 180 days before as_of); S14 and S15
were created in December 2025 and are too recent to judge on any outcome.

lead  score segment     industry  CRM MQL  reached             amount  marketing touches (day)
S01   95    Enterprise  Software  yes      sal opp won         50,000  webinar (0), email_open (5)
S02   92    SMB         Software  yes      sal opp lost        10,000  webinar (0)
S03   85    SMB         Retail    yes      sal                         ad_click (0)
S04   81    Mid-Market  Software  yes      sal opp won         20,000  webinar (0), ad_click (3)
S05   72    SMB         Retail    yes      disqualified                ad_click (0)
S06   65    SMB         Software  yes      sal                         -
S07   61    Enterprise  Retail    yes      recycled                    email_open (1)
S08   55    SMB         Software  yes      sal opp won          5,000  webinar (0)   (hand-raise)
S09   45    SMB         Retail    no                                   webinar (40: outside 30 days)
S10   38    SMB         Retail    no                                   ad_click (0)
S11   22    Mid-Market  Retail    no                                   -
S12   -     SMB         Software  no       sal opp won          8,000  -             (sales-sourced)
S13   70    SMB         Software  no                                   -             (rule only)
S14   88    SMB         Software  yes      sal                         webinar (0)   (recent)
S15   30    SMB         Retail    no                                   -             (recent)

Every CRM MQL gets one sales touch after its MQL, S01 two more (10 sales touches on S01-S08).
Two sales reps (R1, R2) and one marketer.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from metrics.build import build_warehouse

AS_OF = dt.datetime(2026, 1, 1)
DAY = dt.timedelta(days=1)

# lead_id, created_at, score, segment, industry, mql, stages after mql, amount, touches
ROWS = [
    ("S01", "2025-01-06", 95, "Enterprise", "Software", True, ("sal", "opportunity", "won"),
     50000.0, (("webinar", 0), ("email_open", 5))),
    ("S02", "2025-01-07", 92, "SMB", "Software", True, ("sal", "opportunity", "lost"), 10000.0,
     (("webinar", 0),)),
    ("S03", "2025-01-08", 85, "SMB", "Retail", True, ("sal",), None, (("ad_click", 0),)),
    ("S04", "2025-01-09", 81, "Mid-Market", "Software", True, ("sal", "opportunity", "won"),
     20000.0, (("webinar", 0), ("ad_click", 3))),
    ("S05", "2025-01-10", 72, "SMB", "Retail", True, ("disqualified",), None, (("ad_click", 0),)),
    ("S06", "2025-01-13", 65, "SMB", "Software", True, ("sal",), None, ()),
    ("S07", "2025-01-14", 61, "Enterprise", "Retail", True, ("recycled",), None,
     (("email_open", 1),)),
    ("S08", "2025-01-15", 55, "SMB", "Software", True, ("sal", "opportunity", "won"), 5000.0,
     (("webinar", 0),)),
    ("S09", "2025-02-03", 45, "SMB", "Retail", False, (), None, (("webinar", 40),)),
    ("S10", "2025-02-04", 38, "SMB", "Retail", False, (), None, (("ad_click", 0),)),
    ("S11", "2025-02-05", 22, "Mid-Market", "Retail", False, (), None, ()),
    ("S12", "2025-02-06", None, "SMB", "Software", False, ("sal", "opportunity", "won"), 8000.0,
     ()),
    ("S13", "2025-02-07", 70, "SMB", "Software", False, (), None, ()),
    ("S14", "2025-12-10", 88, "SMB", "Software", True, ("sal",), None, (("webinar", 0),)),
    ("S15", "2025-12-15", 30, "SMB", "Retail", False, (), None, ()),
]
# Days after creation of each stage (after the MQL on day 1).
STAGE_DAY = {"mql": 1, "sal": 2, "disqualified": 2, "recycled": 2, "sql": 5, "opportunity": 10,
             "won": 40, "lost": 40}
SALES_TOUCHES = {"S01": 3}  # every other CRM MQL: one


def tables() -> dict[str, pd.DataFrame]:
    leads, events, touches, opportunities = [], [], [], []
    for lead_id, created, score, segment, industry, mql, stages, amount, marketing in ROWS:
        created_at = pd.Timestamp(created) + pd.Timedelta(hours=10)
        owner = "R1" if int(lead_id[1:]) % 2 else "R2"
        sourced = "sales" if lead_id == "S12" else "marketing"
        leads.append((lead_id, created_at, "webinars", None, sourced, "NA", segment, industry,
                      score, owner))
        path = ["lead"] + (["mql"] if mql else []) + list(stages)
        for n, stage in enumerate(path):
            at = created_at + STAGE_DAY.get(stage, 0) * DAY
            events.append((f"{lead_id}-E{n}", lead_id, stage, at,
                           owner if stage not in ("lead", "mql") else None,
                           "No budget" if stage in ("disqualified", "recycled") else None))
            if stage == "opportunity":
                closed = created_at + STAGE_DAY["won"] * DAY
                opportunities.append((f"{lead_id}-O", lead_id, at, closed, amount,
                                      "won" if "won" in stages else "lost"))
        for n, (kind, day) in enumerate(marketing):
            touches.append((f"{lead_id}-M{n}", lead_id, created_at + day * DAY, "marketing",
                            kind, None, None))
        if mql:
            for n in range(SALES_TOUCHES.get(lead_id, 1)):
                touches.append((f"{lead_id}-S{n}", lead_id,
                                created_at + DAY + pd.Timedelta(hours=2 + n), "sales", "call",
                                None, owner))
    return {
        "reps": pd.DataFrame([("R1", "Ana Ruiz", "sales", "NA"),
                              ("R2", "Ben Okafor", "sales", "NA"),
                              ("M1", "Mia Chen", "marketing", "NA")],
                             columns=["rep_id", "name", "team", "region"]),
        "leads": pd.DataFrame(leads, columns=["lead_id", "created_at", "source_channel",
                                              "campaign_id", "sourced_by", "region", "segment",
                                              "industry", "lead_score", "owner_id"]),
        "lead_events": pd.DataFrame(events, columns=["event_id", "lead_id", "stage",
                                                     "occurred_at", "actor_id", "reason"]),
        "touches": pd.DataFrame(touches, columns=["touch_id", "lead_id", "occurred_at", "team",
                                                  "kind", "campaign_id", "actor_id"]),
        "opportunities": pd.DataFrame(opportunities, columns=["opportunity_id", "lead_id",
                                                              "created_at", "closed_at",
                                                              "amount", "status"]),
    }


def build_scoring_warehouse(path: Path, *, as_of: dt.datetime = AS_OF,
                            without_stages: tuple[str, ...] = ()) -> Path:
    """The warehouse, optionally without the events of some stages (as a CRM that never
    records them)."""
    def fill(con) -> None:
        for table, frame in tables().items():
            if table == "lead_events":
                frame = frame[~frame["stage"].isin(without_stages)]
            con.register("frame", frame)
            con.execute(f"INSERT INTO {table} ({', '.join(frame.columns)}) SELECT * FROM frame")
            con.unregister("frame")

    build_warehouse(path, fill, as_of=as_of, source="hand-made lead scoring test warehouse")
    return path
