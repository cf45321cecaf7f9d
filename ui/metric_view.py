"""Shaping metric results for display: breakdown choices and download tables."""

from __future__ import annotations

import pandas as pd

from metrics.period_targets import with_period_targets

BREAKDOWNS = {"none": "Nothing", "segment": "Segment", "region": "Region",
              "source_channel": "Channel", "sourced_by": "Sourced by", "industry": "Industry"}


DEFAULT_METRIC = "mql_to_sal_rate"


def metric_picker(defs: dict) -> str:
    """The explorer's metric: the one the URL names (`?metric=win_rate`, what every link
    passes; a label is accepted too), kept in the URL by name so links stay stable when a
    label is reworded. The URL is the single source: picking another metric writes it there
    (in the callback, before the rerun), and a link that names one wins over an earlier pick."""
    import streamlit as st

    names = sorted(defs, key=lambda n: defs[n].label)
    by_label = {defs[n].label: n for n in names}
    asked = st.query_params.get("metric")
    asked = asked if asked in defs else by_label.get(asked)
    if asked is None:
        asked = DEFAULT_METRIC if DEFAULT_METRIC in defs else names[0]
    st.session_state["metric"] = asked

    def follow() -> None:
        st.query_params["metric"] = st.session_state["metric"]

    name = st.selectbox("Metric", names, format_func=lambda n: defs[n].label, key="metric",
                        on_change=follow)
    if st.query_params.get("metric") != name:
        st.query_params["metric"] = name
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


def planned_trend(frame: pd.DataFrame, defn, grain: str, plan: list[dict]
                  ) -> tuple[pd.DataFrame, tuple[tuple, ...]]:
    """The trend with the plan's target and attainment per period, and the (period, target)
    points of the plan's target line; the trend unchanged and () when the plan has none."""
    if not plan:
        return frame, ()
    planned = with_period_targets(frame, plan, kind=defn.kind, grain=grain,
                                  direction=defn.direction)
    points = tuple((p, t) for p, t in zip(planned["period"], planned["target"]) if pd.notna(t))
    return (planned, points) if points else (frame, ())


def plan_line(frame: pd.DataFrame, name: str, grain: str) -> tuple[tuple, ...]:
    """The (period, target) points of a metric's plan over a trend; () without a plan."""
    from ui import data

    defn = data.definitions().get(name)
    if defn is None:
        return ()
    return planned_trend(frame, defn, grain, data.period_plan(name))[1]


def value_columns(unit: str) -> dict:
    """Column settings that format a metric's value by its unit."""
    import streamlit as st

    fmt = {"percent": "percent", "currency": "dollar", "ratio": "%.2f×", "hours": "%.1f h",
           "days": "%.1f days"}.get(unit, "localized")
    return {"value": st.column_config.NumberColumn("Value", format=fmt),
            "complete": st.column_config.CheckboxColumn("Complete", help="Unchecked: still maturing"),
            "target": st.column_config.NumberColumn("Target (plan)", format=fmt),
            "attainment": st.column_config.NumberColumn(
                "Attained", format="percent",
                help="Value ÷ the plan's target of the period (target ÷ value where lower is "
                     "better)")}
