"""One metric in depth: its trend, a breakdown and the definition behind it."""

import streamlit as st

from ui import data, filters
from ui.annotations import chart_events, events_caption
from ui.charts import bar_chart, trend_chart
from ui.components import (
    empty_state,
    incomplete_caption,
    metric_error,
    notes,
    show_chart,
    show_table,
    version_caption,
)
from ui.format import escape_markdown
from ui.metric_view import (
    BREAKDOWNS,
    breakdown_label,
    metric_picker,
    planned_trend,
    trend_table,
    value_columns,
)

selection = filters.current()
defs = data.definitions()
name = metric_picker(defs)
defn = defs[name]
st.title(escape_markdown(defn.label), anchor=False)
st.text(defn.description)
filters.page_caption(selection)
by = st.segmented_control("Break down by", list(BREAKDOWNS), format_func=breakdown_label,
                          default="none", key="by", bind="query-params", required=True)
by = None if by == "none" else by

trend = data.metric(name, start=selection.start, end=selection.end, grain=selection.grain,
                    by=by, where=selection.where)
if not trend.ok:
    metric_error(trend)
elif trend.frame.empty:
    empty_state(f"No {defn.label.lower()} for {selection.describe()} with these filters. "
                "Widen the period or clear a filter.")
else:
    target = data.targets().get(name) if by is None else None
    events = chart_events(name, selection)
    planned, period_targets = planned_trend(trend.frame, defn, selection.grain,
                                            data.period_plan(name) if by is None else [])
    if period_targets:
        target = None  # the plan's target of each period replaces the flat one
    fig = trend_chart(trend.frame, {**trend.meta, "grain": selection.grain},
                      title=f"{defn.label} by {selection.grain}"
                      + (f", by {breakdown_label(by).lower()}" if by else ""),
                      grain=selection.grain, by=by, target=target,
                      activations=data.activations(name), events=events,
                      period_targets=period_targets)
    show_chart(fig, version_caption(trend) + incomplete_caption(trend, dotted=True)
               + events_caption(events, name, selection), key="trend")
    notes(trend)
    if by:
        total = data.metric(name, start=selection.start, end=selection.end, grain="total", by=by,
                            where=selection.where)
        if total.ok and not total.frame.empty:
            fig = bar_chart(total.frame.fillna({by: "(none)"}), x=by, y="value",
                            title=f"{defn.label} by {breakdown_label(by).lower()}, {selection.describe()}",
                            unit=defn.unit, x_title=breakdown_label(by), y_title=defn.label,
                            horizontal=True)
            show_chart(fig, version_caption(total), key="breakdown")
    show_table(trend_table(planned, trend.meta), file_name=f"{name}-{selection.grain}",
               key="trend", column_config=value_columns(defn.unit))
    if period_targets:
        st.caption("Attainment uses the plan's target of each period (value ÷ target; target ÷ "
                   "value where lower is better); periods without a planned target have none.")

with st.expander(f"Definition: `{name}` v{defn.version}", icon=":material/code:"):
    st.code(defn.text, language="sql")
