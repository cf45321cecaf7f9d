"""Hand-picked MQL instants for the SLA clock in SQL (metrics.engines.sla_clock), with their
hand-counted answers, shared by the DuckDB unit test and the test on each engine.

Default policy (metrics/model): Monday-Friday 09:00-17:00 America/New_York, 8 business hours,
Enterprise 4. A night policy (every day 00:00-04:00 New York, 1 hour) puts the clock changes
inside business hours: 02:00-03:00 on 10 Mar 2024 does not exist, 01:00-02:00 on 3 Nov 2024
happens twice.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa

from metrics.engines import sla_clock
from metrics.model import SlaPolicy

NIGHT_POLICY = SlaPolicy(hours=1.0, timezone="America/New_York",
                         business_days=("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
                         day_starts=dt.time(0, 0), day_ends=dt.time(4, 0),
                         description="night desk", segment_hours={"Enterprise": 2.0})

T = dt.datetime
# lead_id, segment, first_mql_at (UTC), first_sales_touch_at (UTC),
# hand-counted response business hours, hand-counted deadline (UTC; None: there is none).
DEFAULT_CASES = [
    # Friday 16:00 New York -> Monday 10:00: 1 h on Friday + 1 h on Monday.
    ("fri-to-mon", "SMB", T(2024, 1, 5, 21), T(2024, 1, 8, 15), 2.0, T(2024, 1, 8, 21)),
    # Saturday noon starts on Monday 09:00; 8 h end exactly at Monday's close, not Tuesday 09:00.
    ("saturday", "SMB", T(2024, 1, 6, 17), T(2024, 1, 8, 14, 30), 0.5, T(2024, 1, 8, 22)),
    # Friday 15:00 EST, clocks go forward on Sunday; Monday 10:00 EDT is 14:00 UTC.
    ("dst-spring", "Enterprise", T(2024, 3, 8, 20), T(2024, 3, 11, 14), 3.0,
     T(2024, 3, 11, 15)),
    # Friday 16:30 EDT, clocks go back on Sunday; Monday 09:30 EST is 14:30 UTC.
    ("dst-fall", None, T(2024, 11, 1, 20, 30), T(2024, 11, 4, 14, 30), 1.0,
     T(2024, 11, 4, 21, 30)),
    # The clock counts whole seconds: .900 -> 1.100 crosses one (1 s), .100 -> .300 none.
    ("sub-second-across", "SMB", T(2024, 1, 8, 14, 0, 0, 900000),
     T(2024, 1, 8, 14, 0, 1, 100000), 1 / 3600, T(2024, 1, 8, 22)),
    ("sub-second-within", "SMB", T(2024, 1, 8, 14, 0, 0, 100000),
     T(2024, 1, 8, 14, 0, 0, 300000), 0.0, T(2024, 1, 8, 22)),
    # Tuesday 22:00 New York (Wednesday 03:00 UTC) waits for Wednesday 09:00.
    ("night", "Mid-Market", T(2024, 1, 10, 3), T(2024, 1, 10, 14, 15), 0.25,
     T(2024, 1, 10, 22)),
    ("no-touch", "Enterprise", T(2024, 1, 9, 15), None, None, T(2024, 1, 9, 19)),
]
NIGHT_CASES = [
    # 01:30 EST + 1 h is 02:30, which does not exist: it moves to 03:00 EDT (07:00 UTC). The
    # local clock runs 01:30 -> 03:30 (2 business hours) while one real hour passes.
    ("spring-gap", None, T(2024, 3, 10, 6, 30), T(2024, 3, 10, 7, 30), 2.0, T(2024, 3, 10, 7)),
    # 00:30 EDT + 1 h is 01:30, which happens twice: no deadline.
    ("fall-repeated", None, T(2024, 11, 3, 4, 30), None, None, None),
    # 00:15 EDT + 2 h (Enterprise) is 02:15 EST, after the repeated hour: 07:15 UTC.
    ("fall-after", "Enterprise", T(2024, 11, 3, 4, 15), T(2024, 11, 3, 8), 2.75,
     T(2024, 11, 3, 7, 15)),
]

MQL_TYPES = {"lead_id": "VARCHAR", "segment": "VARCHAR", "first_mql_at": "TIMESTAMP",
             "first_sales_touch_at": "TIMESTAMP"}


def mqls_table(cases) -> pa.Table:
    return pa.table({
        "lead_id": [c[0] for c in cases],
        "segment": pa.array([c[1] for c in cases], pa.string()),
        "first_mql_at": pa.array([c[2] for c in cases], pa.timestamp("us")),
        "first_sales_touch_at": pa.array([c[3] for c in cases], pa.timestamp("us")),
    })


def calendars(policy: SlaPolicy, cases):
    times = [t for c in cases for t in (c[2], c[3]) if t is not None]
    return sla_clock.calendar_tables(policy, np.datetime64(min(times), "us"),
                                     np.datetime64(max(times), "us"))


def by_lead(frame: pd.DataFrame) -> dict[str, tuple]:
    """lead_id -> (sla_hours, response hours or None, deadline as naive UTC datetime or None)."""
    out = {}
    for row in frame.itertuples(index=False):
        deadline = None if pd.isna(row.sla_deadline_at) else \
            pd.Timestamp(row.sla_deadline_at).tz_localize(None).to_pydatetime()
        response = None if pd.isna(row.response_business_hours) else \
            float(row.response_business_hours)
        out[row.lead_id] = (float(row.sla_hours), response, deadline)
    return out
