"""A generated warehouse of edge cases, for comparing each engine's numbers with DuckDB's.

- sub-second times on both sides of a second boundary (June 2023: two MQLs touched 0.2 s
  later, one across a second boundary, one not: DuckDB counts 1 s and 0 s, so the median is
  0.5 s, counted by hand);
- times around the New York DST change (9 March 2025), the year edge, Sunday night / Monday
  morning (week grain);
- null segments and regions, a campaign whose cost has no lead, a campaign without cost;
- more than 8,192 MQLs touched in one month with an even count (ClickHouse's median() samples
  beyond 8,192 rows; an even count needs the two middle values' average).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from metrics.build import build_warehouse
from tiny_warehouse import (
    CAMPAIGN_COLUMNS,
    EVENT_COLUMNS,
    LEAD_COLUMNS,
    OPPORTUNITY_COLUMNS,
    REP_COLUMNS,
    TOUCH_COLUMNS,
)

EDGE_AS_OF = dt.datetime(2025, 6, 1)
# Touched MQLs from 1 January 2025; January holds 8,998 of them (above 8,192, an even count).
BULK_MQLS = 9_001
SUB_SECOND_MONTH = dt.date(2023, 6, 1)
# Hand-counted: 1 s and 0 s to first touch, median 0.5 s.
SUB_SECOND_MEDIAN_HOURS = 0.5 / 3600


def _frames() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(7)
    leads, events, touches, opportunities = [], [], [], []
    segments = ["SMB", "Mid-Market", "Enterprise", None]
    regions = ["NA", "EMEA", None]
    channels = ["webinars", "paid_search", "outbound"]

    def lead(i: int, created: dt.datetime) -> str:
        lead_id = f"L{i:05d}"
        channel = channels[i % 3]
        leads.append((lead_id, created, channel, {"webinars": "C1", "paid_search": "C2"}.get(channel),
                      ["marketing", "sales", "partner"][i % 3 if i % 5 else 0], regions[i % 3],
                      segments[i % 4], "Software", float(i % 101) if i % 7 else None,
                      f"R{i % 2 + 1}"))
        events.append((f"E{i:05d}a", lead_id, "lead", created, None, None))
        return lead_id

    # Two sub-second MQLs, alone in June 2023.
    for i, (mql, touch) in enumerate([
            (dt.datetime(2023, 6, 5, 10, 0, 0, 900_000), dt.datetime(2023, 6, 5, 10, 0, 1, 100_000)),
            (dt.datetime(2023, 6, 6, 10, 0, 0, 100_000), dt.datetime(2023, 6, 6, 10, 0, 0, 300_000))]):
        lead_id = lead(i, mql - dt.timedelta(hours=1))
        events.append((f"E{i:05d}m", lead_id, "mql", mql, None, None))
        touches.append((f"T{i:05d}", lead_id, touch, "sales", "call", None, "R1"))
    # Bulk: January 2025 MQLs with sub-second touch delays, plus year/DST/weekend edges.
    edges = [dt.datetime(2024, 12, 31, 23, 59, 59, 999_999), dt.datetime(2025, 1, 1),
             dt.datetime(2025, 1, 5, 23, 59, 59, 500_000), dt.datetime(2025, 1, 6, 0, 0, 0, 500_000),
             dt.datetime(2025, 3, 9, 6, 59, 59, 999_999), dt.datetime(2025, 3, 9, 7, 0, 0, 1)]
    offsets = rng.integers(0, 30 * 86_400 * 1_000_000, BULK_MQLS)
    delays = rng.integers(1, 96 * 3_600 * 1_000_000, BULK_MQLS)
    for k in range(BULK_MQLS):
        i = 100 + k
        mql = dt.datetime(2025, 1, 1) + dt.timedelta(microseconds=int(offsets[k]))
        if k < len(edges):
            mql = edges[k]
        lead_id = lead(i, mql - dt.timedelta(minutes=30))
        events.append((f"E{i:05d}m", lead_id, "mql", mql, None, None))
        touched = mql + dt.timedelta(microseconds=int(delays[k]))
        touches.append((f"T{i:05d}", lead_id, touched, "sales", "call", None, f"R{k % 2 + 1}"))
        if k % 3 == 0:
            touches.append((f"T{i:05d}m", lead_id, mql - dt.timedelta(minutes=10), "marketing",
                            "ad_click", "C2", "M1"))
        if k % 4 == 0:
            events.append((f"E{i:05d}s", lead_id, "sal", touched + dt.timedelta(hours=1), "R1", None))
        if k % 9 == 0:
            events.append((f"E{i:05d}d", lead_id, ["disqualified", "recycled"][k % 2],
                           touched + dt.timedelta(days=1), "R2", [None, "No budget"][k % 2]))
        if k % 6 == 0:
            created = touched + dt.timedelta(days=2, microseconds=k)
            closed = created + dt.timedelta(days=int(k % 40), seconds=int(k % 997), microseconds=k)
            status = ["won", "lost", "open"][k % 3]
            events.append((f"E{i:05d}o", lead_id, "opportunity", created, "R1", None))
            if status != "open":
                events.append((f"E{i:05d}w", lead_id, status, closed, "R1", None))
            opportunities.append((f"O{i:05d}", lead_id, created,
                                  closed if status != "open" else None,
                                  None if k % 50 == 0 else float(1000 + k % 37 * 250), status))
    campaigns = [("C1", "Webinars", "webinars", 12_345.67, dt.date(2024, 12, 30), dt.date(2025, 2, 2)),
                 ("C2", "Search", "paid_search", 8_000.0, dt.date(2025, 3, 1), None),
                 ("C3", "Billboards, no leads", "offline", 999.99, dt.date(2025, 1, 15),
                  dt.date(2025, 1, 16)),
                 ("C4", "No cost recorded", "webinars", None, dt.date(2025, 1, 1), dt.date(2025, 1, 31))]
    reps = [("R1", "Ana", "sales", "NA"), ("R2", "Ben", "sales", "EMEA"),
            ("M1", "Mia", "marketing", "NA")]
    return {
        "leads": pd.DataFrame(leads, columns=LEAD_COLUMNS),
        "lead_events": pd.DataFrame(events, columns=EVENT_COLUMNS),
        "touches": pd.DataFrame(touches, columns=TOUCH_COLUMNS),
        "opportunities": pd.DataFrame(opportunities, columns=OPPORTUNITY_COLUMNS),
        "campaigns": pd.DataFrame(campaigns, columns=CAMPAIGN_COLUMNS),
        "reps": pd.DataFrame(reps, columns=REP_COLUMNS),
    }


def build_edge_warehouse(path: Path) -> Path:
    frames = _frames()

    def fill(con) -> None:
        for table, frame in frames.items():
            con.register("frame", frame)
            con.execute(f"INSERT INTO {table} ({', '.join(frame.columns)}) SELECT * FROM frame")
            con.unregister("frame")

    build_warehouse(path, fill, as_of=EDGE_AS_OF, source="edge-case test warehouse")
    return path
