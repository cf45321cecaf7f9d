"""Lead scoring: the agreed MQL rule beside the CRM, calibration, gains, thresholds and lift."""

import streamlit as st

from metrics import scoring
from ui import data, filters
from ui import scoring_view as view
from ui.components import empty_state, show_chart, show_grid, show_table
from ui.filters import link_params

selection = filters.current()
st.title("Lead scoring")
filters.page_caption(selection, "leads created in the period")

rule = data.definitions().get(scoring.RULE_NAME)
if rule is None:
    st.warning("There is no MQL rule definition (`sql/metrics/mql_rule.sql`) in the catalog, "
               "so the page cannot compare a rule with the CRM; the score analyses below still "
               "work.", icon=":material/rule:")
else:
    if problem := view.rule_problem(rule, selection):
        st.error(problem, icon=":material/rule:")
    else:
        st.markdown(view.rule_sentence(rule))
    st.page_link("views/editor.py", label="Propose a change to the rule",
                 icon=":material/edit_note:", query_params=link_params(metric=rule.name))
    rule = None if problem else rule

where = dict(start=selection.start, end=selection.end, where=selection.where)
profile = data.run_scoring("score_profile", rules={"rule": rule} if rule else {}, **where)
if profile.empty or profile["leads"].sum() == 0:
    empty_state("No lead was created in this period with these filters.")
    st.stop()

censoring = data.run_scoring("censoring_summary", profile)
st.caption(":material/hourglass_top: Recent leads are still converting and are left out of "
           "the rates, not counted as failures: "
           + "; ".join(f"{r.immature:,} of {r.immature + r.judged:,} leads are too recent to "
                       f"judge on {r.label} (needs {r.maturity_days} days after their "
                       "creation month)" for r in censoring.itertuples()) + ".")

if profile.attrs.get("unrecorded"):
    missing = ", ".join(scoring.OUTCOME_LABELS[o] for o in profile.attrs["unrecorded"])
    st.info(f"The data records no {missing} events at all, so conversion to {missing} is "
            "unknown here and left blank (not 0%).", icon=":material/info:")

if rule is not None:
    st.subheader("The rule beside the CRM")
    st.caption("Which leads the agreed rule qualifies, against the MQL events the CRM recorded. "
               "Where they disagree, look at what those leads did next: a hand-raise the rule "
               "misses, or leads the rule passes that marketing never sent.")
    cells = data.run_scoring("rule_agreement", rule, **where)
    view.agreement_tiles(cells)
    with st.expander("The leads on which the rule and the CRM disagree", icon=":material/rule:"):
        rows = data.run_scoring("rule_disagreements", rule, **where)
        if rows.empty:
            st.caption("None: the rule and the CRM agree on every lead of the period.")
        else:
            show_table(rows, file_name="mql-rule-disagreements", key="disagreements",
                       column_config=view.DISAGREEMENT_COLUMNS)
            st.caption("At most 500 leads are listed, newest first.")

st.subheader("Is the score calibrated?")
bands = scoring.score_bands(profile)
show_chart(view.band_chart(bands, title="Conversion from lead by score band"),
           f"Of the leads of each band old enough to judge, the share that reached SAL, an "
           f"opportunity and a win, with 95% Wilson intervals. A band with fewer than "
           f"{scoring.MIN_GROUP_LEADS} leads has no bar: too small to judge. A calibrated score "
           "rises from left to right.", key="bands")
show_table(view.band_table(bands), file_name="score-bands", key="bands",
           column_config=view.BAND_COLUMNS)

st.subheader("Gains: what passing the best-scored leads captures")
curve = scoring.gains_curve(profile, outcome="won")
threshold = scoring.rule_threshold(rule) if rule is not None else None
if curve.attrs["reached"] == 0:
    empty_state("No lead of this period old enough to judge has been won yet, so there is no "
                "gains curve; widen the period to older leads.")
else:
    show_chart(view.gains_chart(curve, threshold=threshold,
                                title="Share of eventual wins and pipeline captured"),
               f"Leads sorted by score, highest first: passing the top x% to sales captures y% "
               f"of the wins ({curve.attrs['reached']:,}) and of the pipeline of the "
               f"{curve.attrs['judged']:,} scored leads old enough to judge. The dotted line is "
               "a score that knows nothing."
               + (f" {curve.attrs['unscored']:,} leads without a score are left out."
                  if curve.attrs["unscored"] else ""), key="gains")

st.subheader("What a threshold would mean")
capacity = data.run_scoring("sales_capacity")
months = view.months_of(selection)
chosen = st.slider("Pass leads scoring at least", min_value=0, max_value=100, step=1,
                   value=int(threshold) if threshold is not None else 60, key="threshold",
                   bind="query-params")
looks = {f"Score ≥ {chosen}": scoring.outlook(profile, scoring.threshold_counts(profile, chosen),
                                              months=months, capacity=capacity)}
if rule is not None:
    looks[f"The rule in force (v{rule.version})"] = scoring.outlook(
        profile, profile["rule_rule"], months=months, capacity=capacity)
crm = scoring.outlook(profile, profile["passed"], months=months, capacity=capacity)
looks["CRM's recorded MQLs"] = crm
show_grid(view.outlook_table(looks), key="outlook")
st.caption(view.load_sentence(looks[f"Score ≥ {chosen}"], crm, capacity, chosen,
                             view.sla_compliance(selection)))
st.caption("MQLs per month count the leads created in the period. Expected acceptance and win "
           "rate come from the leads sales actually worked in each score band (leads never "
           "passed have no outcome to learn from); the last row says on how many of the "
           "threshold's leads the estimate rests.")

st.subheader("What lifts conversion")
left, right = st.columns(2)
dimensions = {**scoring.ATTRIBUTES, **scoring.BEHAVIOURS}
dimension = left.selectbox("Group leads by", list(dimensions), format_func=dimensions.get,
                           index=list(dimensions).index("industry"), key="lift_by",
                           bind="query-params")
outcome = right.selectbox("Conversion to", list(scoring.OUTCOMES),
                          format_func=lambda o: scoring.OUTCOME_LABELS[o], index=2,
                          key="lift_to", bind="query-params")
lift = data.run_scoring("lift_table", dimension, outcome=outcome, **where)
if lift.attrs.get("unrecorded"):
    empty_state(f"The data records no {scoring.OUTCOME_LABELS[outcome]} events, so conversion "
                "to it cannot be measured; choose another outcome.")
elif lift.empty or lift.attrs["judged"] == 0:
    empty_state(f"No lead of this period is old enough to judge on "
                f"{scoring.OUTCOME_LABELS[outcome]} yet; widen the period to older leads.")
else:
    label = scoring.OUTCOME_LABELS[outcome]
    if (~lift["too_small"]).any():
        show_chart(view.lift_chart(lift, title=f"Lift of lead → {label} by "
                                               f"{dimensions[dimension].lower()}"),
                   f"All {lift.attrs['judged']:,} leads old enough to judge convert at "
                   f"{lift.attrs['base_rate']:.1%}; a lift of 1.5 means 1.5 times that. Groups "
                   f"whose whole interval is right of 1 really lift conversion.",
                   key="lift")
    show_table(view.lift_rows(lift, scoring.MIN_GROUP_LEADS), file_name=f"lift-{dimension}",
               key="lift", column_config=view.LIFT_COLUMNS)
    if dimension == "touch_kind":
        st.caption("A lead counts in every kind of touch it had, so the groups overlap.")
