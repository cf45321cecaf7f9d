"""Figures, tables and sentences of the Lead scoring page and of the MQL rule's what-if."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from metrics import scoring
from metrics.definitions import MetricDefinition
from metrics.errors import MetricError
from metrics.selection import Selection
from ui import data
from ui.charts import MARKETING, NEUTRAL, PALETTE, SALES, _layout, _shared_figure
from ui.components import empty_state, number_column, percent_column, show_grid
from ui.format import escape_markdown, format_value

OUTCOME_COLOURS = {"sal": PALETTE[0], "opportunity": PALETTE[2], "won": PALETTE[1]}
TOO_SMALL = "too small to judge"


def sla_compliance(selection: Selection) -> float | None:
    """First-touch SLA compliance over the period under the agreed metric (None: no value)."""
    result = data.metric("sla_first_touch_compliance", start=selection.start, end=selection.end,
                         grain="total", where=selection.where)
    if not result.ok or result.frame is None or result.frame.empty:
        return None
    return float(result.frame["value"].iloc[0])


def judged_end(selection: Selection):
    """The end of the span a per-month figure divides by: the period, cut at the data's as-of
    time (a quarter that is not over has fewer months of leads)."""
    end = selection.end
    if selection.as_of is not None and end > selection.as_of:
        end = selection.as_of
    return end


def months_of(selection: Selection) -> float:
    return scoring.months_between(selection.start, judged_end(selection))


# -- the rule --------------------------------------------------------------------------------

def rule_sentence(rule: MetricDefinition) -> str:
    """'`mql_rule` v1 (owned by marketing and sales): score at or above 60.'"""
    threshold = scoring.rule_threshold(rule)
    what = (f"lead score at or above **{threshold:g}**" if threshold is not None else
            "conditions that are not a single score threshold (see its SQL)")
    return (f"The MQL rule in force is `{rule.name}` **v{rule.version}**, owned by "
            f"{' and '.join(rule.owners)}: {what}.")


def rule_problem(rule: MetricDefinition, selection: Selection) -> str | None:
    """None when the rule runs on this warehouse, else a sentence saying why not and what to do
    (a rule can break on imported data that lacks a column it reads)."""
    try:
        data.run_scoring("rule_agreement", rule, start=selection.start, end=selection.end,
                         where=selection.where)
    except MetricError as exc:
        return (f"The MQL rule `{rule.name}` v{rule.version} cannot run on this warehouse: "
                f"{escape_markdown(str(exc))} Propose a fixed version in the editor; the score "
                "analyses below do not need the rule.")
    return None


def agreement_tiles(cells: pd.DataFrame) -> None:
    """Four tiles: how many leads the rule and the CRM agree and disagree on, with outcomes."""
    for column, row in zip(st.columns(4), cells.itertuples()):
        with column.container(border=True):
            share = "" if math.isnan(row.share) else f"{row.share:.0%} of the leads"
            st.metric(row.label, f"{row.leads:,}")
            words = _outcome_words(row, cells.attrs.get("unrecorded", ()))
            st.caption(" · ".join(p for p in (share, words) if p))


def _outcome_words(row, unrecorded: tuple[str, ...]) -> str:
    parts = []
    for outcome, word in (("sal", "accepted by sales"), ("won", "won")):
        if outcome in unrecorded:
            parts.append(f"{word}: not recorded in this data")
            continue
        judged, reached, rate = (getattr(row, f"judged_{outcome}"),
                                 getattr(row, f"reached_{outcome}"),
                                 getattr(row, f"{outcome}_rate"))
        if judged == 0:
            parts.append(f"{word}: none old enough to judge")
        elif math.isnan(rate):
            parts.append(f"{word}: {reached:,} of {judged:,} ({TOO_SMALL})")
        else:
            parts.append(f"{word}: {rate:.1%} ({reached:,} of {judged:,})")
    return " · ".join(parts)


DISAGREEMENT_COLUMNS = {
    "lead_id": st.column_config.TextColumn("Lead"),
    "created_at": st.column_config.DatetimeColumn("Created (UTC)", format="YYYY-MM-DD HH:mm"),
    "lead_score": number_column("Score", "%.0f"),
    "segment": st.column_config.TextColumn("Segment"),
    "source_channel": st.column_config.TextColumn("Channel"),
    "disagreement": st.column_config.TextColumn("Qualified by"),
    "first_mql_at": st.column_config.DatetimeColumn("CRM's first MQL (UTC)",
                                                    format="YYYY-MM-DD HH:mm"),
    "furthest": st.column_config.TextColumn("Furthest stage"),
}


# -- calibration -----------------------------------------------------------------------------

@_shared_figure
def band_chart(bands: pd.DataFrame, *, title: str) -> go.Figure:
    """Conversion from lead per score band, one bar per outcome with its 95 % interval; a band
    too small to judge has no bar and says so on hover."""
    fig = go.Figure()
    for outcome in scoring.OUTCOMES:
        rate = bands[f"rate_{outcome}"]
        fig.add_bar(
            x=bands["band"], y=rate, name=f"Reached {scoring.OUTCOME_LABELS[outcome]}",
            marker_color=OUTCOME_COLOURS[outcome],
            error_y={"type": "data", "symmetric": False,
                     "array": (bands[f"ci_high_{outcome}"] - rate).tolist(),
                     "arrayminus": (rate - bands[f"ci_low_{outcome}"]).tolist(),
                     "thickness": 1, "width": 3},
            customdata=list(zip(bands[f"reached_{outcome}"], bands[f"judged_{outcome}"],
                                [TOO_SMALL if s else "" for s in bands[f"too_small_{outcome}"]])),
            hovertemplate="%{y:.1%} (%{customdata[0]:,} of %{customdata[1]:,} leads) "
                          "%{customdata[2]}<extra>%{fullData.name}</extra>")
    fig.update_layout(barmode="group", hovermode="closest")
    _layout(fig, title, x_title="Lead score band", y_title="Share of leads (95% interval)",
            unit="percent")
    fig.update_xaxes(type="category")
    return fig


BAND_COLUMNS = {
    "band": st.column_config.TextColumn("Score band"),
    "leads": number_column("Leads"),
    "passed": number_column("Passed to sales", help="The CRM recorded an MQL"),
    "sal_acceptance": percent_column("Sales accepted", help="SAL ÷ leads passed to sales, of "
                                     "those old enough to judge"),
    **{f"rate_{o}": percent_column(f"Lead → {scoring.OUTCOME_LABELS[o]}",
                                   help="Of the leads old enough to judge")
       for o in scoring.OUTCOMES},
    **{f"judged_{o}": number_column(f"Judged on {scoring.OUTCOME_LABELS[o]}")
       for o in scoring.OUTCOMES},
}


def band_table(bands: pd.DataFrame) -> pd.DataFrame:
    return bands[["band", "leads", "passed", "sal_acceptance",
                  *[f"rate_{o}" for o in scoring.OUTCOMES],
                  *[f"judged_{o}" for o in scoring.OUTCOMES]]]


# -- gains -----------------------------------------------------------------------------------

@_shared_figure
def gains_chart(curve: pd.DataFrame, *, threshold: float | None, title: str) -> go.Figure:
    """Share of wins and of pipeline captured against the share of leads passed, best-scored
    first, with the no-skill diagonal and the rule's threshold marked."""
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="Passing leads at random",
                    line={"color": NEUTRAL, "dash": "dot", "width": 1}, hoverinfo="skip")
    hover = ("Score ≥ %{customdata:.0f}: %{x:.1%} of leads capture %{y:.1%}"
             "<extra>%{fullData.name}</extra>")
    fig.add_scatter(x=curve["leads_share"], y=curve["outcome_share"], mode="lines",
                    name="Wins captured", line={"color": SALES, "width": 3},
                    customdata=curve["threshold"], hovertemplate=hover)
    fig.add_scatter(x=curve["leads_share"], y=curve["pipeline_share"], mode="lines",
                    name="Pipeline captured", line={"color": MARKETING, "width": 2},
                    customdata=curve["threshold"], hovertemplate=hover)
    if threshold is not None:
        at = curve[curve["threshold"] >= threshold]
        if not at.empty:
            point = at.iloc[-1]
            fig.add_scatter(x=[point["leads_share"]], y=[point["outcome_share"]],
                            mode="markers+text", name=f"The rule (score ≥ {threshold:g})",
                            marker={"size": 12, "color": SALES, "symbol": "diamond"},
                            text=[f"score ≥ {threshold:g}"], textposition="bottom right",
                            hovertemplate=f"The rule: score ≥ {threshold:g}: "
                                          "%{x:.1%} of leads, %{y:.1%} of wins<extra></extra>")
    _layout(fig, title, x_title="Share of leads passed to sales, highest score first",
            y_title="Share captured", unit="percent", height=420)
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    fig.update_yaxes(range=[0, 1.02])
    fig.update_layout(hovermode="closest")
    return fig


# -- what a threshold means ------------------------------------------------------------------

def outlook_table(looks: dict[str, dict[str, float]]) -> pd.DataFrame:
    """One row per measure, one column per scenario, values as text (units differ by row)."""
    rows = []
    for measure, label, unit in scoring.OUTLOOK_MEASURES:
        row = {"Measure": label}
        for scenario, look in looks.items():
            value = look[measure]
            row[scenario] = (f"{value:,.2f}" if unit == "ratio" and not math.isnan(value)
                             else format_value(value, unit))
        rows.append(row)
    return pd.DataFrame(rows)


def load_sentence(look: dict[str, float], current: dict[str, float],
                  capacity: scoring.SalesCapacity, threshold: float,
                  compliance: float | None = None) -> str:
    """What the threshold asks of sales, in words, against the SLA and today's load (and how
    well today's load meets the SLA, when `compliance` is known)."""
    if not capacity.known:
        return ("The data names no sales reps (no reps table and no sales touches with a "
                "rep), so the load per rep cannot be computed.")
    if math.isnan(look["per_month"]):
        return "The period is empty, so there is no monthly load to show."
    return (f"At score ≥ {threshold:g}, {capacity.reps:,} sales reps get "
            f"{look['first_touches_per_rep_day']:.2f} new MQLs each per working day, every one "
            f"owed a first touch within {capacity.sla_hours:g} business hours by the SLA "
            f"(the CRM's MQLs of the period: {current['first_touches_per_rep_day']:.2f}). "
            f"With {look['touches_per_lead']:.1f} sales touches per MQL, that is "
            f"{look['touches_per_rep_day']:.2f} touches per rep per working day "
            f"(now {current['touches_per_rep_day']:.2f})."
            + (f" At today's load sales meets the first-touch SLA on {compliance:.1%} of MQLs."
               if compliance is not None and not math.isnan(compliance) else ""))


# -- lift ------------------------------------------------------------------------------------

@_shared_figure
def lift_chart(table: pd.DataFrame, *, title: str) -> go.Figure:
    """Lift of each group that can be judged, with its 95 % interval; 1 = no lift."""
    shown = table[~table["too_small"]].iloc[::-1]
    fig = go.Figure()
    fig.add_vline(x=1, line={"color": NEUTRAL, "dash": "dot"})
    fig.add_scatter(
        x=shown["lift"], y=shown["value"].astype(str), mode="markers",
        # Coloured by what the interval supports, not by which side of 1 the point falls.
        marker={"size": 10, "color": [SALES if low > 1 else MARKETING if high < 1 else NEUTRAL
                                      for low, high in zip(shown["lift_low"],
                                                           shown["lift_high"])]},
        error_x={"type": "data", "symmetric": False,
                 "array": (shown["lift_high"] - shown["lift"]).tolist(),
                 "arrayminus": (shown["lift"] - shown["lift_low"]).tolist()},
        customdata=list(zip(shown["reached"], shown["leads"], shown["rate"])),
        hovertemplate="%{y}: lift %{x:.2f} · %{customdata[2]:.1%} "
                      "(%{customdata[0]:,} of %{customdata[1]:,})<extra></extra>",
        showlegend=False)
    _layout(fig, title, x_title="Lift (group rate ÷ all leads' rate), 95% interval",
            y_title=None, height=max(260, 34 * len(shown) + 120))
    fig.update_yaxes(type="category", rangemode=None)
    fig.update_layout(hovermode="closest")
    return fig


LIFT_COLUMNS = {
    "value": st.column_config.TextColumn("Group"),
    "leads": number_column("Leads judged"),
    "reached": number_column("Converted"),
    "rate": percent_column("Conversion"),
    "ci_low": percent_column("95% low"),
    "ci_high": percent_column("95% high"),
    "lift": number_column("Lift", "%.2f"),
    "lift_low": number_column("Lift 95% low", "%.2f"),
    "lift_high": number_column("Lift 95% high", "%.2f"),
    "judgement": st.column_config.TextColumn("Judgement"),
}


def lift_rows(table: pd.DataFrame, min_leads: int) -> pd.DataFrame:
    """The lift table with a judgement in words: lifts, lowers, no clear difference, too small."""
    def judgement(row) -> str:
        if row.too_small:
            return f"{TOO_SMALL} (fewer than {min_leads} leads)"
        if row.lift_low > 1:
            return "lifts conversion"
        if row.lift_high < 1:
            return "lowers conversion"
        return "no clear difference"

    rows = table.drop(columns=["too_small"]).copy()
    rows["judgement"] = [judgement(r) for r in table.itertuples()]
    return rows


# -- the rule's what-if in the editor and the inbox --------------------------------------------

def show_rule_impact(old: MetricDefinition, new: MetricDefinition, selection: Selection, *,
                     old_name: str, new_name: str) -> None:
    """What a change of the MQL rule means, side by side: MQLs per month, expected SAL
    acceptance and win rate, and the load on sales, for the old and the new rule and the CRM."""
    st.markdown("**What the rule change means for sales** (leads created in the period; "
                "rates estimated per score band from the leads sales actually worked)")
    try:
        frame = data.run_scoring("compare_rules", old, new, start=selection.start,
                                 end=judged_end(selection), where=selection.where)
    except MetricError as exc:  # a draft that fails in the warehouse must not break the page
        st.error(f"The rule's what-if could not be computed: {escape_markdown(str(exc))}",
                 icon=":material/error:")
        return
    if frame.empty:
        empty_state("No lead of this period matches the filters.")
        return
    looks = {name: dict(zip(frame["measure"], frame[column]))
             for name, column in ((old_name, "old"), (new_name, "new"),
                                  ("CRM's recorded MQLs", "crm"))}
    show_grid(outlook_table(looks), key=f"rule-impact-{new_name}")
    per_month = looks[new_name]["per_month"] - looks[old_name]["per_month"]
    if math.isnan(per_month) or round(per_month) == 0:
        change = f"{new_name} passes about as many MQLs per month as {old_name}"
    else:
        change = (f"{new_name} passes {abs(per_month):,.0f} {'more' if per_month > 0 else 'fewer'}"
                  f" MQLs per month than {old_name}")
    st.caption(f"{change}. "
               f"Sales load uses {frame.attrs['reps']:,} sales reps and the "
               f"{frame.attrs['sla_hours']:g}-business-hour first-touch SLA.")
