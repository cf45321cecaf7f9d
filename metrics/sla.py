"""Business-hours clock for the follow-up SLA, vectorised with numpy.

Times go in and out as naive UTC `datetime64[us]` arrays; the business day (e.g. Monday to
Friday 09:00-17:00) is applied in the SLA's time zone, so daylight saving is honoured.

The trick: map every instant to "business minutes elapsed since an epoch Monday". Durations are
differences of that clock; deadlines invert it. Weekends and nights map to the end of the last
business day, so an MQL at Saturday noon starts its clock on Monday at 09:00.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from metrics.model import SlaPolicy

_EPOCH = np.datetime64("2000-01-03", "D")  # a Monday


def _minutes(t) -> int:
    return t.hour * 60 + t.minute


def _to_local(utc: np.ndarray, tz: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(utc).tz_localize("UTC").tz_convert(tz).tz_localize(None)


def _business_clock(utc: np.ndarray, policy: SlaPolicy) -> np.ndarray:
    """Business minutes from the epoch to each instant (float, NaN for NaT)."""
    local = _to_local(utc, policy.timezone)
    valid = ~local.isna()
    day = local.values.astype("datetime64[D]")
    minute_of_day = (local.values - day).astype("timedelta64[s]").astype(np.float64) / 60.0
    start, end = _minutes(policy.day_starts), _minutes(policy.day_ends)
    length = end - start
    safe_day = np.where(valid, day, _EPOCH)
    days_before = np.busday_count(_EPOCH, safe_day, weekmask=policy.weekmask)
    in_day = np.clip(minute_of_day - start, 0, length)
    is_busday = np.is_busday(safe_day, weekmask=policy.weekmask)
    clock = days_before * float(length) + np.where(is_busday, in_day, 0.0)
    return np.where(valid, clock, np.nan)


def business_hours_between(start_utc: np.ndarray, end_utc: np.ndarray, policy: SlaPolicy) -> np.ndarray:
    """Business hours from each start to each end (NaN where either is missing).

    >>> from metrics.model import load_model
    >>> p = load_model().sla  # Mon-Fri 09:00-17:00 New York
    >>> s = np.array(["2024-01-05T21:00"], dtype="datetime64[us]")  # Fri 16:00 in New York
    >>> e = np.array(["2024-01-08T15:00"], dtype="datetime64[us]")  # Mon 10:00 in New York
    >>> business_hours_between(s, e, p).tolist()
    [2.0]
    """
    return (_business_clock(end_utc, policy) - _business_clock(start_utc, policy)) / 60.0


def business_deadline(start_utc: np.ndarray, hours: np.ndarray, policy: SlaPolicy) -> np.ndarray:
    """The instant (naive UTC) at which `hours` business hours have passed since each start.

    >>> from metrics.model import load_model
    >>> p = load_model().sla
    >>> s = np.array(["2024-01-05T21:00"], dtype="datetime64[us]")  # Fri 16:00 in New York
    >>> str(business_deadline(s, np.array([8.0]), p)[0])  # Mon 16:00 New York = 21:00 UTC
    '2024-01-08T21:00:00.000000'
    """
    start, end = _minutes(policy.day_starts), _minutes(policy.day_ends)
    length = float(end - start)
    target = _business_clock(start_utc, policy) + np.asarray(hours, dtype=np.float64) * 60.0
    valid = ~np.isnan(target)
    target = np.where(valid, target, 0.0)
    whole_days = np.floor(target / length).astype(np.int64)
    rest = target - whole_days * length
    # A deadline that lands exactly on a day boundary is that day's close, not the next opening.
    on_boundary = (rest == 0) & (whole_days > 0)
    day_index = np.where(on_boundary, whole_days - 1, whole_days)
    minute = np.where(on_boundary, end, start + rest)
    day = np.busday_offset(_EPOCH, day_index, roll="forward", weekmask=policy.weekmask)
    local = day.astype("datetime64[us]") + (minute * 60_000_000).astype("timedelta64[us]")
    utc = (
        pd.DatetimeIndex(local)
        .tz_localize(policy.timezone, ambiguous="NaT", nonexistent="shift_forward")
        .tz_convert("UTC")
        .tz_localize(None)
        .values.astype("datetime64[us]")
    )
    return np.where(valid, utc, np.datetime64("NaT"))
