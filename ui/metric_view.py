"""Shaping metric results for display: breakdown choices and download tables."""

from __future__ import annotations

import pandas as pd

BREAKDOWNS = {"none": "Nothing", "segment": "Segment", "region": "Region",
              "source_channel": "Channel", "sourced_by": "Sourced by", "industry": "Industry"}


def breakdown_label(key: str | None) -> str:
    return BREAKDOWNS.get(key or "none", (key or "").replace("_", " ").capitalize())


def trend_table(frame: pd.DataFrame, meta: dict) -> pd.DataFrame:
    """The rows behind a trend chart, with a column that says which periods are incomplete."""
    table = frame.copy()
    incomplete = set(meta.get("incomplete_periods", []))
    if "period" in table:
        table.insert(1, "complete", ~table["period"].isin(incomplete))
    table["definition"] = f"{meta.get('metric')} v{meta.get('version')}"
    return table


def value_columns(unit: str) -> dict:
    """Column settings that format a metric's value by its unit."""
    import streamlit as st

    fmt = {"percent": "percent", "currency": "dollar", "ratio": "%.2f×", "hours": "%.1f h",
           "days": "%.1f days"}.get(unit, "localized")
    return {"value": st.column_config.NumberColumn("Value", format=fmt),
            "complete": st.column_config.CheckboxColumn("Complete", help="Unchecked: still maturing")}
