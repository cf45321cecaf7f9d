"""Funnel: the waterfall, cohorts that are still converting, velocity and win rates."""

import streamlit as st

from ui import data, filters
from ui.charts import bar_chart, cohort_heatmap, funnel_chart
from ui.components import (empty_state, metric_error, missing_input_notes, show_chart,
                           show_table)
from ui.funnel_view import FUNNEL_COLUMNS, VELOCITY_COLUMNS, cohort_difference_note
from ui.format import escape_markdown, format_value
from ui.metric_view import breakdown_label
from ui.filters import link_params

selection = filters.current()
where = selection.where
span = selection.span
st.title("Funnel")
filters.page_caption(selection)

funnel = data.run_analysis("funnel", **span)
if funnel.empty or funnel["leads"].iloc[0] == 0:
    empty_state("No leads were created in this period with these filters.")
else:
    left, right = st.columns([1, 1])
    with left:
        show_chart(funnel_chart(funnel, title="Leads created in the period, by furthest stage reached"),
                   "Cohort: leads created in the period. A lead that skipped a stage (say, straight "
                   "from MQL to SQL) counts as having passed it; 'recorded' in the table counts "
                   "only leads with that stage's own event, as the conversion-rate metrics do.",
                   key="funnel")
    with right:
        show_table(funnel, file_name="funnel", key="funnel", column_config=FUNNEL_COLUMNS,
                   column_order=["label", "leads", "recorded", "conversion_from_previous",
                                 "conversion_from_first"])

st.subheader("Win rate, sales cycle and pipeline velocity")
velocity = data.run_analysis("pipeline_velocity", **span)
cols = st.columns(5)
tiles = []
for column, name in zip(cols[:2], ("win_rate", "sales_cycle_days")):
    result = data.metric(name, start=selection.start, end=selection.end, grain="total",
                         where=selection.where)
    tiles.append(result)
    with column:
        if not result.ok:
            metric_error(result)
        else:
            value = None if result.frame.empty else result.frame["value"].iloc[0]
            st.metric(escape_markdown(result.meta["label"]), format_value(value, result.meta["unit"]), border=True,
                      help=f"`{name}` v{result.meta['version']}")
row = velocity.iloc[0] if not velocity.empty else None
for column, (label, key, unit) in zip(cols[2:], (
        ("Opportunities created", "opportunities", "count"),
        ("Average won deal", "average_deal", "currency"),
        ("Velocity per day", "velocity_per_day", "currency"))):
    with column:
        st.metric(label, format_value(None if row is None else row[key], unit), border=True)
missing_input_notes(velocity, *tiles)
st.caption("Pipeline velocity = opportunities created × win rate × average won deal ÷ median "
           "sales cycle in days: the revenue the current pipeline engine produces per day.")
st.caption(":material/info: " + cohort_difference_note(data.definitions()))

st.subheader("Split")
dimension = st.segmented_control("Split the funnel by", ["segment", "source_channel", "region"],
                                 format_func=breakdown_label, default="segment", key="split",
                                 bind="query-params", required=True)
split = data.run_analysis("breakdown_funnel", dimension=dimension, **span)
if split.empty:
    empty_state("Nothing to split for this selection.")
else:
    fig = bar_chart(split, x="stage_label" if "stage_label" in split else "stage",
                    y="share_of_first", color="value", stacked=False, unit="percent",
                    title=f"Share of leads reaching each stage, by {breakdown_label(dimension).lower()}",
                    x_title="Stage", y_title="Share of leads created")
    show_chart(fig, "Each bar is the share of that group's leads that reached the stage or a later one.",
               key="split")

st.subheader("MQL cohorts: how fast they convert")
stage = st.segmented_control("Stage reached", ["sal", "sql", "opportunity", "won"],
                             format_func=str.upper, default="opportunity", key="cohort_stage",
                             bind="query-params", required=True)
cohorts = data.run_analysis("cohort_progress", stages=(stage,), **span)
if cohorts.empty:
    empty_state("No MQL cohorts in this period with these filters.")
else:
    fig = cohort_heatmap(cohorts, stage_label=stage.upper(),
                         title=f"Share of each MQL month that reached {stage.upper()}, by weeks since MQL")
    show_chart(fig, "Blank cells are weeks a cohort has not lived through yet (as of the data's "
               "as-of time): recent cohorts are incomplete, not worse.", key="cohorts")

st.subheader("Velocity: median time between stages")
velocity_table = data.run_analysis("stage_velocity", **span)
if velocity_table.empty:
    empty_state("No stage transitions in this period.")
else:
    fig = bar_chart(velocity_table, x="label", y="median_days", unit="days", horizontal=True,
                    title="Median days from one stage to the next", x_title="Transition",
                    y_title="Median days")
    show_chart(fig, "Exact durations between the first timestamps of each stage, for leads whose "
               "earlier stage falls in the period.", key="velocity")
    show_table(velocity_table, file_name="stage-velocity", key="velocity",
               column_config=VELOCITY_COLUMNS, column_order=list(VELOCITY_COLUMNS))

st.page_link("views/metric_detail.py", label="Explore any metric's trend", icon=":material/trending_up:",
             query_params=link_params(metric="mql_to_opportunity_rate"))
