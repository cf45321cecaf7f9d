"""The "metrics that matter" tiles: value, changes, target attainment, sparkline, version."""

from __future__ import annotations

import streamlit as st

from ui import data
from ui.components import metric_error
from ui.format import format_change, format_value, is_missing
from ui.selection import Selection, _add_months

SCORECARD = (
    "mql_to_sal_rate", "mql_to_opportunity_rate", "revenue_per_mql", "sla_first_touch_compliance",
    "marketing_sourced_pipeline_share", "marketing_influenced_revenue_share", "pipeline_to_spend",
    "marketing_cac",
)


def attainment(value, target, direction: str) -> float | None:
    """How much of the target is met, 1.0 = exactly; for 'down' metrics lower is better.

    >>> attainment(0.6, 0.75, "up"), attainment(25000, 20000, "down")
    (0.8, 0.8)
    """
    if is_missing(value) or target in (None, 0) or (direction == "down" and value == 0):
        return None
    return value / target if direction == "up" else target / value


def _total(name: str, selection: Selection) -> data.MetricResult:
    return data.metric(name, start=selection.start, end=selection.end, grain="total",
                       where=selection.where)


def _value(result: data.MetricResult):
    if not result.ok or result.frame is None or result.frame.empty:
        return None
    return result.frame["value"].iloc[0]


def link_params(**extra: str) -> dict:
    """The current URL's parameters (filters) plus `extra`, for links to another page."""
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    params.update(extra)
    return params


def render_tile(name: str, selection: Selection, targets: dict[str, float]) -> None:
    current = _total(name, selection)
    with st.container(border=True):
        if not current.ok:
            metric_error(current)
            return
        meta = current.meta
        unit, direction = meta["unit"], meta["direction"]
        value = _value(current)
        previous = _value(_total(name, selection.previous()))
        last_year = _value(_total(name, selection.last_year()))
        spark_start = _add_months(selection.end.replace(day=1), -12)
        spark = data.metric(name, start=spark_start, end=selection.end, grain="month",
                            where=selection.where)
        chart_data = (spark.frame["value"].fillna(0).tolist()
                      if spark.ok and spark.frame is not None and len(spark.frame) > 1 else None)
        st.metric(
            meta["label"], format_value(value, unit),
            delta=format_change(value, previous, unit),
            delta_color="normal" if direction == "up" else "inverse",
            delta_description="vs previous period",
            chart_data=chart_data, chart_type="line",
            help=data.definitions()[name].description,
        )
        yoy = format_change(value, last_year, unit)
        target = targets.get(name)
        ratio = attainment(value, target, direction)
        line = [f"vs last year **{yoy}**" if yoy else "vs last year: no data"]
        st.markdown(" · ".join(line))
        if target is not None:
            colour = "gray" if ratio is None else ("green" if ratio >= 1 else
                                                   "orange" if ratio >= 0.9 else "red")
            text = f"Target {format_value(target, unit)}"
            if ratio is not None:
                text += f" · {ratio:.0%} attained"
            st.badge(text, color=colour, icon=":material/flag:")
        st.caption(f"Owners: {', '.join(meta['owners'])} · `{name}` v{meta['version']}")
        st.page_link("pages/metric_detail.py", label="Trend and breakdown",
                     icon=":material/trending_up:", query_params=link_params(metric=name))
