"""Shaping metric results for display: breakdown choices and download tables."""

from __future__ import annotations

import pandas as pd

BREAKDOWNS = {"none": "Nothing", "segment": "Segment", "region": "Region",
              "source_channel": "Channel", "sourced_by": "Sourced by", "industry": "Industry"}


DEFAULT_METRIC = "mql_to_sal_rate"


def metric_picker(defs: dict) -> str:
    """The explorer's metric: the one the URL names (`?metric=win_rate`, what every link
    passes; a label is accepted too), kept in the URL by name so links stay stable when a
    label is reworded."""
    import streamlit as st

    names = sorted(defs, key=lambda n: defs[n].label)
    by_label = {defs[n].label: n for n in names}
    asked = st.query_params.get("metric")
    asked = asked if asked in defs else by_label.get(asked)
    if asked and st.session_state.get("_metric_from_url") != asked:
        # A link (or a new URL) chose the metric: it wins over the widget's previous choice.
        st.session_state["metric"] = asked
        st.session_state["_metric_from_url"] = asked
    if st.session_state.get("metric") not in defs:
        st.session_state["metric"] = DEFAULT_METRIC if DEFAULT_METRIC in defs else names[0]
    name = st.selectbox("Metric", names, format_func=lambda n: defs[n].label, key="metric")
    if st.query_params.get("metric") != name:
        st.query_params["metric"] = name
        st.session_state["_metric_from_url"] = name
    return name


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
