"""Numbers in words by unit: one look for a value in the app, the CLI, emails and webhooks."""

from __future__ import annotations

import math


def is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_value(value, unit: str, *, compact: bool = True) -> str:
    """Format one value for display.

    >>> format_value(0.6234, "percent"), format_value(1234567, "currency"), format_value(5.25, "ratio")
    ('62.3%', '$1.23M', '5.25×')
    >>> format_value(None, "count")
    '—'
    """
    if is_missing(value):
        return "—"
    value = float(value)
    if unit == "percent":
        return f"{value * 100:.1f}%"
    if unit == "currency":
        return "$" + compact_number(value) if compact else f"${value:,.0f}"
    if unit == "hours":
        return f"{value:,.0f} h" if compact and abs(value) >= 10 else f"{value:,.1f} h"
    if unit == "days":
        return f"{value:,.0f} days" if compact and abs(value) >= 10 else f"{value:,.1f} days"
    if unit == "ratio":
        return f"{value:,.2f}×"
    if abs(value - round(value)) < 1e-9:
        return compact_number(value) if compact and abs(value) >= 100_000 else f"{value:,.0f}"
    return f"{value:,.1f}"


def compact_number(value: float) -> str:
    """1234567 -> '1.23M'; below a thousand, the whole number with separators."""
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= threshold:
            return f"{value / threshold:.3g}{suffix}"
    return f"{value:,.0f}"


UNIT_AXIS_TITLES = {
    "percent": "%", "count": "count", "currency": "USD", "hours": "hours", "days": "days",
    "ratio": "× (ratio)",
}


def format_change(current, previous, unit: str) -> str | None:
    """The change from `previous` to `current`: points for percentages, relative otherwise.

    >>> format_change(0.62, 0.55, "percent"), format_change(120, 100, "count")
    ('+7.0 pts', '+20.0%')
    """
    if is_missing(current) or is_missing(previous):
        return None
    if unit == "percent":
        return f"{(current - previous) * 100:+.1f} pts"
    if previous == 0:
        return None
    return f"{(current - previous) / abs(previous) * 100:+.1f}%"


def humanise(code: str) -> str:
    """'paid_search' -> 'Paid search', 'lead_id' -> 'Lead id'; other text unchanged.

    >>> humanise("paid_search"), humanise("EMEA"), humanise("Mid-Market")
    ('Paid search', 'EMEA', 'Mid-Market')
    """
    if not isinstance(code, str) or not code or not code.replace("_", "").isalnum():
        return code
    if code.isupper() or any(c.isupper() for c in code) and "_" not in code:
        return code
    return code.replace("_", " ").capitalize()
