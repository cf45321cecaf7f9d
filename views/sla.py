"""SLA: does sales follow up on time, and does marketing deliver the MQLs it committed?"""

import streamlit as st

from ui import data, filters
from ui.annotations import chart_events, events_caption
from ui.charts import bar_chart, trend_chart
from ui.components import (
    empty_state,
    incomplete_caption,
    metric_error,
    show_chart,
    show_table,
    version_caption,
)
from ui.glossary import sla_summary
from ui.metric_view import plan_line
from ui.sla_view import (
    REP_COLUMNS,
    UNTOUCHED_COLUMNS,
    WAITING_DAYS,
    committed_mqls,
    waiting_sentence,
)

selection = filters.current()
where = selection.where
span = selection.span
st.title("Follow-up SLA")
filters.page_caption(selection)
with st.expander("The agreed SLA", icon=":material/handshake:"):
    st.markdown(sla_summary())

st.subheader("Sales side: first touch within the SLA")
compliance = data.metric("sla_first_touch_compliance", start=selection.start, end=selection.end,
                         grain=selection.grain, where=selection.where)
if not compliance.ok:
    metric_error(compliance)
elif compliance.frame.empty:
    empty_state("No MQLs were due a follow-up in this period with these filters.")
else:
    plan = plan_line(compliance.frame, "sla_first_touch_compliance", selection.grain)
    fig = trend_chart(compliance.frame, {**compliance.meta, "grain": selection.grain},
                      title="Share of MQLs touched by sales within the SLA",
                      grain=selection.grain, period_targets=plan,
                      target=None if plan else data.targets().get("sla_first_touch_compliance"),
                      activations=data.activations("sla_first_touch_compliance"),
                      events=chart_events("sla_first_touch_compliance", selection))
    show_chart(fig, version_caption(compliance) + incomplete_caption(compliance, dotted=True) + " · MQLs still inside their SLA window and "
               "untouched are not counted until their deadline passes"
               + events_caption(chart_events("sla_first_touch_compliance", selection),
                                "sla_first_touch_compliance", selection), key="compliance")

left, right = st.columns(2)
with left:
    distribution = data.run_analysis("sla_response_distribution", **span)
    if distribution.empty:
        empty_state("No MQLs in this period.")
    else:
        fig = bar_chart(distribution, x="bucket", y="mqls", unit="count",
                        title="Response time to MQLs, in business hours", x_title="Business hours to first sales touch",
                        y_title="MQLs")
        show_chart(fig, "Business hours count only the agreed business day; nights and weekends "
                   "do not run the clock.", key="distribution")
with right:
    reps = data.run_analysis("sla_by_rep", **span)
    if reps.empty:
        empty_state("No MQLs were due a follow-up in this period.")
    else:
        top = reps.head(12)
        fig = bar_chart(top, x="rep_name", y="breaches", unit="count", horizontal=True,
                        title="SLA breaches by rep (top 12)", x_title="Rep", y_title="MQLs not touched in time")
        show_chart(fig, "A breach is an MQL touched after its deadline or not touched at all once "
                   "its deadline passed; the rep is the lead's owner.", key="rep-breaches")

st.markdown("**Breaches by rep and team**")
if not reps.empty:
    show_table(reps, file_name="sla-by-rep", key="reps", column_config=REP_COLUMNS,
               column_order=list(REP_COLUMNS))

st.subheader("MQLs waiting for a first touch right now")
waiting = data.run_analysis("untouched_mqls", where=where, limit=1000, max_age_days=WAITING_DAYS)
counts = data.run_analysis("untouched_summary", where=where, max_age_days=WAITING_DAYS).iloc[0]
st.markdown(waiting_sentence(counts, WAITING_DAYS))
if not waiting.empty:
    show_table(waiting, file_name="untouched-mqls", key="waiting", column_config=UNTOUCHED_COLUMNS,
               column_order=list(UNTOUCHED_COLUMNS))

st.subheader("Marketing side: MQLs delivered against the commitment")
mqls = data.metric("mqls", start=selection.start, end=selection.end, grain=selection.grain,
                   where=selection.where)
commitment = committed_mqls(data.targets().get("mqls"), selection.grain)
if not mqls.ok:
    metric_error(mqls)
elif mqls.frame.empty:
    empty_state("No MQLs in this period with these filters.")
else:
    plan = plan_line(mqls.frame, "mqls", selection.grain)
    fig = trend_chart(mqls.frame, {**mqls.meta, "grain": selection.grain},
                      title=f"MQLs delivered per {selection.grain}", grain=selection.grain,
                      target=None if plan else commitment, period_targets=plan,
                      events=chart_events("mqls", selection))
    caption = version_caption(mqls) + incomplete_caption(mqls, dotted=True)
    if plan:
        caption += " · the commitment of each period is the plan's target (dashed)"
    elif commitment:
        caption += f" · commitment {commitment:,.0f} MQLs per {selection.grain}"
        if selection.where:
            caption += " (the commitment is for all leads; filters lower the delivered count)"
    show_chart(fig, caption + events_caption(chart_events("mqls", selection), "mqls", selection),
               key="mqls")
