"""The SLA business-hours clock of metrics.sla as portable SQL, so the build on an engine never
reads the MQLs back (at 10M leads that read-back alone took 21-57 s; at 1B it cannot be done).

No engine's time-zone functions are used (their zone databases and edge rules differ): the
loader computes two small tables in Python, with the same pandas conversions metrics.sla uses,
and publishes them like any table:

- `sla_utc_days`: per UTC day (days since 1970-01-01), the zone's UTC offset at the day's start
  and, on a day the offset changes, the instant of the change and the offset after it;
- `sla_local_days`: per local day, whether it is a business day, the business days from the
  clock's epoch Monday to it (metrics.sla's `busday_count`), and how a local time of that day
  maps back to UTC (the offset, and a daylight-saving gap or repeated hour inside the day).

The clock is then equi-joins on day numbers and arithmetic on epoch microseconds, with the
floating-point operations of metrics.sla in the same order, so every engine gives the same
doubles as numpy (IEEE arithmetic is exact to the bit when the operations are the same).
Sub-second times keep their microseconds; the clock counts whole seconds, as metrics.sla does.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlglot
from sqlglot import exp

from metrics.errors import WarehouseError
from metrics.model import SlaPolicy
from metrics.sla import _EPOCH

DAY_US = 86_400_000_000
UTC_DAYS_TABLE = "sla_utc_days"
LOCAL_DAYS_TABLE = "sla_local_days"
UTC_DAYS_TYPES = {"utc_day": "BIGINT", "offset_us": "BIGINT", "change_at_us": "BIGINT",
                  "offset_after_us": "BIGINT"}
LOCAL_DAYS_TYPES = {"local_day": "BIGINT", "is_business_day": "BOOLEAN",
                    "business_days_before": "BIGINT", "offset_us": "BIGINT",
                    "window_from_us": "BIGINT", "window_to_us": "BIGINT",
                    "window_utc_us": "BIGINT", "offset_after_us": "BIGINT"}
# Days either side of the data: the calendar also holds the days a deadline can fall on.
_MARGIN_DAYS = 3
_QUARTER_HOUR_US = 15 * 60 * 1_000_000


def _offsets_us(utc_us: np.ndarray, tz: str) -> np.ndarray:
    """The zone's UTC offset (microseconds) at each UTC instant, as pandas converts it."""
    utc = pd.DatetimeIndex(utc_us.astype("datetime64[us]"))
    local = utc.tz_localize("UTC").tz_convert(tz).tz_localize(None)
    return (local.values.astype("datetime64[us]").astype(np.int64) - utc_us).astype(np.int64)


def _transitions(first_day: int, last_day: int, tz: str) -> list[tuple[int, int, int]]:
    """(instant in UTC microseconds, offset before, offset after) of every offset change from
    UTC day `first_day` to the end of `last_day`, found by sampling every quarter hour (no zone
    changes twice within one) and bisecting to the second (zone changes fall on whole seconds).
    The clock's calendar tables hold one change a UTC day at most."""
    samples = np.arange(first_day * DAY_US, (last_day + 1) * DAY_US + 1, _QUARTER_HOUR_US,
                        dtype=np.int64)
    offsets = _offsets_us(samples, tz)
    found = []
    for i in np.nonzero(offsets[1:] != offsets[:-1])[0]:
        low, high = int(samples[i]), int(samples[i + 1])  # offset(low) before, offset(high) after
        before, after = int(offsets[i]), int(offsets[i + 1])
        while high - low > 1_000_000:
            middle = low + (high - low) // 2_000_000 * 1_000_000
            if int(_offsets_us(np.array([middle]), tz)[0]) == before:
                low = middle
            else:
                high = middle
        if found and found[-1][0] // DAY_US == high // DAY_US:
            day = np.datetime64(high, "us").astype("datetime64[D]")
            raise WarehouseError(f"the time zone {tz} changes its UTC offset twice on {day}; "
                                 "the SLA clock on an engine handles one change a day. Build "
                                 "this warehouse with DuckDB, or set another sla timezone.")
        found.append((high, before, after))
    return found


def calendar_tables(policy: SlaPolicy, first: np.datetime64, last: np.datetime64,
                    ) -> tuple[pa.Table, pa.Table]:
    """The two tables the SQL clock joins, for MQLs and touches from `first` to `last` (naive
    UTC), with room for every deadline the policy's hours can reach."""
    start, end = _day_minutes(policy)
    longest = max([policy.hours, *policy.segment_hours.values()])
    reach = math.ceil(longest * 60.0 / (end - start)) + 2  # business days a deadline can need
    first_day = int(np.datetime64(first, "D").astype(np.int64)) - _MARGIN_DAYS
    last_business = np.busday_offset(np.datetime64(last, "D"), reach, roll="forward",
                                     weekmask=policy.weekmask)
    last_day = int(last_business.astype(np.int64)) + _MARGIN_DAYS
    transitions = _transitions(first_day - 1, last_day + 1, policy.timezone)
    return (_utc_days(first_day - 1, last_day + 1, transitions, policy.timezone),
            _local_days(first_day, last_day, transitions, policy))


def _utc_days(first_day: int, last_day: int, transitions, tz: str) -> pa.Table:
    days = np.arange(first_day, last_day + 1, dtype=np.int64)
    change_at = pd.array([None] * len(days), dtype="Int64")
    after = pd.array([None] * len(days), dtype="Int64")
    for instant, _before, offset_after in transitions:
        i = instant // DAY_US - first_day
        if 0 <= i < len(days):
            change_at[i], after[i] = instant, offset_after
    return pa.table({"utc_day": days, "offset_us": _offsets_us(days * DAY_US, tz),
                     "change_at_us": pa.array(change_at, pa.int64()),
                     "offset_after_us": pa.array(after, pa.int64())})


def _local_days(first_day: int, last_day: int, transitions, policy: SlaPolicy) -> pa.Table:
    """Each local day's business facts and its local-to-UTC rule: before the window of a
    change, subtract `offset_us`; from its end on, `offset_after_us`; inside a spring-forward
    gap the time is the change instant (pandas' shift_forward), inside a repeated hour there is
    no answer (pandas' ambiguous='NaT')."""
    days = np.arange(first_day, last_day + 1, dtype=np.int64)
    dates = days.astype("datetime64[D]")
    offsets, offsets_after = [], []
    windows: list[tuple[int | None, int | None, int | None]] = []
    periods = _periods(days[0] * DAY_US - 2 * DAY_US, (days[-1] + 2) * DAY_US, transitions,
                       policy.timezone)
    for day in days.tolist():
        day_start, day_end = day * DAY_US, (day + 1) * DAY_US
        window = next(((instant, before, after) for instant, before, after in transitions
                       if instant + min(before, after) < day_end
                       and instant + max(before, after) > day_start), None)
        if window is None:
            offset = next(off for utc_from, utc_to, off in periods
                          if utc_from + off <= day_start < utc_to + off)
            offsets.append(offset)
            offsets_after.append(offset)
            windows.append((None, None, None))
        else:
            instant, before, after = window
            offsets.append(before)
            offsets_after.append(after)
            windows.append((instant + min(before, after), instant + max(before, after),
                            instant if after > before else None))
    weekmask = policy.weekmask
    return pa.table({
        "local_day": days,
        "is_business_day": np.is_busday(dates, weekmask=weekmask),
        "business_days_before": np.busday_count(_EPOCH, dates, weekmask=weekmask).astype(np.int64),
        "offset_us": pa.array(offsets, pa.int64()),
        "window_from_us": pa.array([w[0] for w in windows], pa.int64()),
        "window_to_us": pa.array([w[1] for w in windows], pa.int64()),
        "window_utc_us": pa.array([w[2] for w in windows], pa.int64()),
        "offset_after_us": pa.array(offsets_after, pa.int64()),
    })


def _periods(start_us: int, end_us: int, transitions, tz: str) -> list[tuple[int, int, int]]:
    """(utc_from, utc_to, offset) spans of constant offset covering start_us..end_us."""
    bounds = [start_us, *(t[0] for t in transitions if start_us < t[0] < end_us), end_us]
    offsets = _offsets_us(np.array(bounds[:-1], dtype=np.int64), tz).tolist()
    return list(zip(bounds[:-1], bounds[1:], offsets, strict=True))


def _day_minutes(policy: SlaPolicy) -> tuple[int, int]:
    return (policy.day_starts.hour * 60 + policy.day_starts.minute,
            policy.day_ends.hour * 60 + policy.day_ends.minute)


def _double(value: float) -> str:
    return f"CAST({float(value)!r} AS DOUBLE)"


def _floor_div(numerator: str, denominator: int) -> str:
    # A double quotient floors to the integer quotient for the magnitudes here (epoch
    # microseconds below 2**53, days below 2**17): no engine's integer division is needed.
    return f"CAST(FLOOR(CAST({numerator} AS DOUBLE) / {_double(denominator)}) AS BIGINT)"


# The scratch tables of clock_steps, in the order they are created.
STEP_TABLES = ("sla_instants", "sla_clocks", "sla_frame")


def clock_steps(policy: SlaPolicy, mqls: str = "lifecycle_base") -> list[tuple[str, exp.Query]]:
    """(table, SELECT) to create in order; the last, `sla_frame`, holds lead_id, sla_hours,
    sla_deadline_at and response_business_hours for every MQL of `mqls` (lead_id, segment,
    first_mql_at, first_sales_touch_at). DuckDB SQL for metrics.engines.dialects.render; joins
    the two calendar tables.

    Three statements, not one: PostgreSQL inlines a chain of CTEs by substituting each
    expression into the next, so one statement computed each MQL's clock a dozen times over
    (and spent two seconds compiling it); a table between the steps computes it once."""
    start, end = _day_minutes(policy)
    length = _double(end - start)
    segment_hours = " ".join(f"WHEN '{s.replace(chr(39), chr(39) * 2)}' THEN {_double(h)}"
                             for s, h in policy.segment_hours.items())
    sla_hours = (f"CASE segment {segment_hours} ELSE {_double(policy.hours)} END"
                 if segment_hours else _double(policy.hours))

    def local_time(side: str, days: str) -> str:
        return (f"{side}_us + CASE WHEN {days}.change_at_us IS NOT NULL "
                f"AND {side}_us >= {days}.change_at_us THEN {days}.offset_after_us "
                f"ELSE {days}.offset_us END")

    def second_of_day(side: str) -> str:
        return _floor_div(f"{side}_local_us - {side}_day * {DAY_US}", 1_000_000)

    def clock(side: str, days: str) -> str:
        # metrics.sla._business_clock: days_before * length + clip(minute - start, 0, length)
        minute = f"CAST({side}_second AS DOUBLE) / {_double(60)}"
        in_day = f"LEAST(GREATEST({minute} - {_double(start)}, {_double(0)}), {length})"
        return (f"CAST({days}.business_days_before AS DOUBLE) * {length} + "
                f"CASE WHEN {days}.is_business_day THEN {in_day} ELSE {_double(0)} END")

    instants = f"""
        WITH mqls AS (
            SELECT lead_id, {sla_hours} AS sla_hours,
                   epoch_us(first_mql_at) AS start_us,
                   epoch_us(first_sales_touch_at) AS touch_us
            FROM {mqls} WHERE first_mql_at IS NOT NULL
        ),
        keyed AS (
            SELECT lead_id, sla_hours, start_us, touch_us,
                   {_floor_div("start_us", DAY_US)} AS start_utc_day,
                   {_floor_div("touch_us", DAY_US)} AS touch_utc_day
            FROM mqls
        ),
        localised AS (
            SELECT k.lead_id, k.sla_hours, {local_time("k.start", "su")} AS start_local_us,
                   {local_time("k.touch", "tu")} AS touch_local_us
            FROM keyed k
            JOIN {UTC_DAYS_TABLE} su ON su.utc_day = k.start_utc_day
            LEFT JOIN {UTC_DAYS_TABLE} tu ON tu.utc_day = k.touch_utc_day
        )
        SELECT lead_id, sla_hours, start_local_us, touch_local_us FROM localised"""
    clocks = f"""
        WITH local_days AS (
            SELECT lead_id, sla_hours, start_local_us, touch_local_us,
                   {_floor_div("start_local_us", DAY_US)} AS start_day,
                   {_floor_div("touch_local_us", DAY_US)} AS touch_day
            FROM sla_instants
        ),
        seconds AS (
            SELECT lead_id, sla_hours, start_day, touch_day,
                   {second_of_day("start")} AS start_second,
                   {second_of_day("touch")} AS touch_second
            FROM local_days
        ),
        clocks AS (
            SELECT s.lead_id, s.sla_hours, {clock("s.start", "sd")} AS start_clock,
                   {clock("s.touch", "td")} AS touch_clock
            FROM seconds s
            JOIN {LOCAL_DAYS_TABLE} sd ON sd.local_day = s.start_day
            LEFT JOIN {LOCAL_DAYS_TABLE} td ON td.local_day = s.touch_day
        )
        SELECT lead_id, sla_hours, start_clock, touch_clock FROM clocks"""
    deadlines = f"""
        WITH targets AS (
            SELECT lead_id, sla_hours, start_clock, touch_clock,
                   start_clock + sla_hours * {_double(60)} AS target
            FROM sla_clocks
        ),
        whole AS (
            SELECT lead_id, sla_hours, start_clock, touch_clock, target,
                   CAST(FLOOR(target / {length}) AS BIGINT) AS whole_days
            FROM targets
        ),
        rests AS (
            SELECT lead_id, sla_hours, start_clock, touch_clock, whole_days,
                   target - CAST(whole_days AS DOUBLE) * {length} AS rest
            FROM whole
        ),
        deadline_days AS (
            -- A deadline exactly on a day boundary is that day's close, not the next opening.
            SELECT lead_id, sla_hours, start_clock, touch_clock,
                   CASE WHEN rest = {_double(0)} AND whole_days > 0 THEN whole_days - 1
                        ELSE whole_days END AS day_index,
                   CASE WHEN rest = {_double(0)} AND whole_days > 0 THEN {_double(end)}
                        ELSE {_double(start)} + rest END AS minute
            FROM rests
        ),
        deadline_local AS (
            SELECT d.lead_id, d.sla_hours, d.start_clock, d.touch_clock,
                   c.local_day * {DAY_US} + CAST(FLOOR(d.minute * {_double(60_000_000)}) AS BIGINT)
                       AS local_us,
                   c.offset_us, c.window_from_us, c.window_to_us, c.window_utc_us,
                   c.offset_after_us
            FROM deadline_days d
            LEFT JOIN {LOCAL_DAYS_TABLE} c
                ON c.business_days_before = d.day_index AND c.is_business_day
        ),
        deadline_utc AS (
            SELECT lead_id, sla_hours, start_clock, touch_clock,
                   CASE WHEN window_from_us IS NULL OR local_us < window_from_us
                            THEN local_us - offset_us
                        WHEN local_us >= window_to_us THEN local_us - offset_after_us
                        ELSE window_utc_us END AS deadline_us
            FROM deadline_local
        )
        SELECT lead_id, sla_hours, make_timestamp(deadline_us) AS sla_deadline_at,
               (touch_clock - start_clock) / {_double(60)} AS response_business_hours
        FROM deadline_utc"""
    return [(table, sqlglot.parse_one(sql, read="duckdb"))
            for table, sql in zip(STEP_TABLES, (instants, clocks, deadlines), strict=True)]
