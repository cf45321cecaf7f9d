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
