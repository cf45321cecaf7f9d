"""The review period and filters: pure date arithmetic, no Streamlit (unit-testable)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

RANGE_LABELS = {
    "this_quarter": "This quarter",
    "last_quarter": "Last quarter",
    "last_12_months": "Last 12 months",
    "year_to_date": "Year to date",
    "custom": "Custom",
}
GRAIN_LABELS = {"week": "Week", "month": "Month", "quarter": "Quarter"}
FILTER_LABELS = {"segment": "Segment", "region": "Region", "source_channel": "Channel",
                 "campaign_id": "Campaign"}


@dataclass(frozen=True)
class Selection:
    """What every page shows: [start, end) in UTC, a grain and lead filters."""

    start: dt.datetime
    end: dt.datetime
    grain: str
    where: tuple[tuple[str, tuple[str, ...]], ...]
    label: str

    @property
    def where_dict(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.where}

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def shifted(self, months: int) -> Selection:
        """The same window `months` earlier (negative) or later."""
        return Selection(_add_months(self.start, months), _add_months(self.end, months),
                         self.grain, self.where, self.label)

    def previous(self) -> Selection:
        """The window just before this one, of the same length in months when month-aligned."""
        months = _whole_months(self.start, self.end)
        if months:
            return self.shifted(-months)
        length = self.end - self.start
        return Selection(self.start - length, self.start, self.grain, self.where, self.label)

    def last_year(self) -> Selection:
        return self.shifted(-12)

    def describe(self) -> str:
        last_day = self.end - dt.timedelta(days=1)
        return f"{self.start:%d %b %Y} – {last_day:%d %b %Y}"


def _add_months(moment: dt.datetime, months: int) -> dt.datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28,
                           31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month])
    return moment.replace(year=year, month=month + 1, day=day)


def _whole_months(start: dt.datetime, end: dt.datetime) -> int:
    if start.day != 1 or start.time() != dt.time() or end.time() != dt.time():
        return 0
    months = (end.year - start.year) * 12 + end.month - start.month
    return months if end.day == 1 else months + 1  # a partial current month counts as one


def quarter_start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def resolve_range(range_key: str, as_of: dt.datetime, custom: tuple[dt.date, dt.date] | None = None
                  ) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) for a preset, relative to the data's as-of time, not the wall clock.

    >>> s, e = resolve_range("last_quarter", dt.datetime(2025, 5, 10))
    >>> s.date().isoformat(), e.date().isoformat()
    ('2025-01-01', '2025-04-01')
    >>> s, e = resolve_range("last_12_months", dt.datetime(2025, 5, 10, 12))
    >>> s.date().isoformat(), e.date().isoformat()
    ('2024-06-01', '2025-05-11')
    """
    today = as_of.date()
    tomorrow = dt.datetime.combine(today, dt.time()) + dt.timedelta(days=1)
    if range_key == "this_quarter":
        return quarter_start(today), tomorrow
    if range_key == "last_quarter":
        end = quarter_start(today)
        return _add_months(end, -3), end
    if range_key == "year_to_date":
        return dt.datetime(today.year, 1, 1), tomorrow
    if range_key == "custom" and custom:
        first, last = sorted(custom)
        return dt.datetime.combine(first, dt.time()), dt.datetime.combine(last, dt.time()) + dt.timedelta(days=1)
    month_start = dt.datetime(today.year, today.month, 1)
    return _add_months(month_start, -11), tomorrow
