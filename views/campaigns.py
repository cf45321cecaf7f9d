"""Campaigns: cost, leads, pipeline and revenue per campaign, attribution, and drill-down."""

import streamlit as st

from ui import data, filters
from ui.campaign_view import (
    CAMPAIGN_COLUMNS,
    CONTRIBUTION_NOTE,
    DRILL_LIMIT,
    DRILL_STAGES,
    JOURNEY_COLUMNS,
    MODEL_LABELS,
    attribution_caption,
    attribution_rows,
    drill_sentence,
    pipeline_to_spend_caption,
    wide_spread,
)
from ui.charts import bar_chart, journey_chart
from ui.components import empty_state, show_chart, show_table

selection = filters.current()
where = selection.where
span = selection.span
st.title("Campaign contribution")
filters.page_caption(selection)

level = st.segmented_control("Show", ["channel", "campaign"], format_func=str.capitalize,
                             default="channel", key="level", bind="query-params", required=True)
performance = data.run_analysis(f"{level}_performance", **span)
if performance.empty:
    empty_state("No campaign cost, leads or pipeline in this period with these filters.")
else:
    label_column = "channel" if level == "channel" else "campaign"
    top = performance.sort_values("sourced_pipeline", ascending=False).head(15)
    left, right = st.columns(2)
    with left:
        fig = bar_chart(top, x=label_column, y="sourced_pipeline", unit="currency", horizontal=True,
                        title=f"Marketing-sourced pipeline by {level}", x_title=level.capitalize(),
                        y_title="Sourced pipeline (USD)")
        show_chart(fig, "Opportunities created in the period from marketing-sourced leads of each "
                   f"{level}.", key="sourced")
    with right:
        costed = top[top["pipeline_to_spend"].notna()]
        if costed.empty:
            empty_state(f"No {level} of this selection has recorded spend, so pipeline-to-spend "
                        "has no value.")
        else:
            fig = bar_chart(costed, x=label_column, y="pipeline_to_spend", unit="ratio",
                            horizontal=True, title=f"Pipeline-to-spend by {level}",
                            x_title=level.capitalize(), y_title="Sourced pipeline ÷ cost",
                            log_scale=wide_spread(costed["pipeline_to_spend"]))
            show_chart(fig, pipeline_to_spend_caption(top, label_column), key="pipeline-to-spend")
    show_table(performance, file_name=f"{level}-performance", key="performance",
               column_config=CAMPAIGN_COLUMNS)
    st.caption(":material/info: " + CONTRIBUTION_NOTE)

st.subheader("Multi-touch attribution")
model_col, half_life_col = st.columns([3, 1])
with model_col:
    model = st.segmented_control("Attribution model", list(MODEL_LABELS),
                                 format_func=MODEL_LABELS.get, default="w_shaped", key="model",
                                 bind="query-params", required=True)
with half_life_col:
    half_life = st.number_input("Time-decay half-life (days)", min_value=1.0, max_value=90.0,
                                value=7.0, step=1.0, key="half_life",
                                disabled=model != "time_decay")
credits = attribution_rows(data.run_analysis("attribution", model=model, level=level,
                                             half_life_days=half_life, **span), level)
if credits.empty:
    empty_state("No opportunities were created in this period, so there is nothing to attribute.")
else:
    fig = bar_chart(credits.head(15), x="label", y="attributed_pipeline", unit="currency",
                    horizontal=True, title=f"Pipeline credited by {MODEL_LABELS[model]} attribution",
                    x_title=level.capitalize(), y_title="Attributed pipeline (USD)")
    show_chart(fig, attribution_caption(credits, model), key="attribution")
    show_table(credits, file_name=f"attribution-{model}", key="attribution",
               column_config={**CAMPAIGN_COLUMNS, "label": level.capitalize()},
               column_order=["label", "credit", "attributed_pipeline", "attributed_revenue"])

st.subheader("Drill down")
options = dict(data.filter_options().get("campaign_id", []))
campaign = st.selectbox("Campaign", list(options), format_func=options.get, index=None,
                        placeholder="Pick a campaign to see its leads", key="drill_campaign",
                        bind="query-params")
if campaign:
    reached = st.segmented_control("Furthest stage", list(DRILL_STAGES),
                                   format_func=DRILL_STAGES.get, default="any", key="reached",
                                   bind="query-params", required=True)
    leads = data.run_analysis("campaign_leads", campaign_id=campaign, limit=DRILL_LIMIT,
                              reached=None if reached == "any" else reached, **span)
    if leads.empty:
        empty_state(f"{options[campaign]} brought no such leads in this period with these "
                    "filters.")
    else:
        st.markdown(drill_sentence(len(leads), leads.attrs.get("total", len(leads)),
                                   options[campaign]))
        show_table(leads, file_name=f"leads-{campaign}", key="campaign-leads",
                   column_config=CAMPAIGN_COLUMNS)
        lead = st.selectbox("Lead", leads["lead_id"].tolist(), index=None, key="lead",
                            placeholder="Pick a lead to see its whole journey", bind="query-params")
        if lead:
            journey = data.run_analysis("lead_journey", lead_id=lead)
            show_chart(journey_chart(journey, title=f"Journey of lead {lead}"),
                       "Every stage change, marketing and sales touch and opportunity of this "
                       "lead, in UTC; stages are labelled, touches are named when you point at "
                       "them and in the table below.", key="journey")
            show_table(journey, file_name=f"journey-{lead}", key="journey",
                       column_config=JOURNEY_COLUMNS)
