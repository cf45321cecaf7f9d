"""Lead volume & quality: how many leads and MQLs, from where, and how good they are."""

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
from ui.metric_view import plan_line

selection = filters.current()
st.title("Lead volume & quality")
filters.page_caption(selection)


def volume_chart(name: str, title: str, key: str) -> None:
    result = data.metric(name, start=selection.start, end=selection.end, grain=selection.grain,
                         by="source_channel", where=selection.where)
    if not result.ok:
        metric_error(result)
    elif result.frame.empty:
        empty_state(f"No {escape_markdown(result.meta.get('label', name).lower())} in this period with these filters.")
    else:
        fig = bar_chart(result.frame.fillna({"source_channel": "(none)"}), x="period", y="value",
                        color="source_channel", unit="count", title=title,
                        x_title=selection.grain.capitalize(), y_title=result.meta["label"])
        show_chart(fig, version_caption(result) + incomplete_caption(result, dotted=False), key=key)


left, right = st.columns(2)
with left:
    volume_chart("new_leads", f"New leads per {selection.grain}, by channel", "new-leads")
with right:
    volume_chart("mqls", f"MQLs per {selection.grain}, by channel", "mqls")

st.subheader("Quality")
quality = ("mql_rate", "mql_to_sql_rate", "avg_lead_score", "mql_rejection_rate")
targets = data.targets()
for row in (quality[:2], quality[2:]):
    for column, name in zip(st.columns(2), row):
        with column:
            result = data.metric(name, start=selection.start, end=selection.end,
                                 grain=selection.grain, where=selection.where)
            if not result.ok:
                metric_error(result)
            elif result.frame.empty:
                empty_state(f"No data for {escape_markdown(result.meta.get('label', name))} in this period.")
            else:
                plan = plan_line(result.frame, name, selection.grain)
                fig = trend_chart(result.frame, {**result.meta, "grain": selection.grain},
                                  title=f"{result.meta['label']} per {selection.grain}",
                                  grain=selection.grain, period_targets=plan,
                                  target=None if plan else targets.get(name),
                                  activations=data.activations(name), height=320,
                                  events=chart_events(name, selection))
                show_chart(fig, version_caption(result) + incomplete_caption(result, dotted=True)
                           + events_caption(chart_events(name, selection), name, selection),
                           key=f"quality-{name}")
                notes(result)

st.subheader("Why sales rejected MQLs: the closed loop")
reasons = data.run_analysis("rejection_reasons", start=selection.start, end=selection.end,
                            where=selection.where)
if reasons.empty:
    empty_state("Sales rejected no MQLs of this period.")
else:
    fig = bar_chart(reasons, x="reason", y="leads", color="stage", unit="count", horizontal=True,
                    title="Rejected MQLs by the reason sales gave", x_title="Reason",
                    y_title="MQLs rejected")
    show_chart(fig, "MQLs of the period that sales disqualified (not a fit) or recycled (not now) "
               "after the MQL, by the first reason recorded.", key="reasons")
    show_table(reasons, file_name="rejection-reasons", key="reasons", column_config={
        "share_of_rejections": st.column_config.NumberColumn("Share of rejections", format="percent"),
        "share_of_mqls": st.column_config.NumberColumn("Share of MQLs", format="percent")})
