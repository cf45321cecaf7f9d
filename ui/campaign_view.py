"""Column settings and captions for the campaigns page."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui.format import humanise

MODEL_LABELS = {"first_touch": "First touch", "last_touch": "Last touch", "linear": "Linear",
                "u_shaped": "U-shaped", "w_shaped": "W-shaped", "time_decay": "Time decay"}

CAMPAIGN_COLUMNS = {
    "cost": st.column_config.NumberColumn("Cost", format="dollar"),
    "leads": st.column_config.NumberColumn("Leads", format="localized"),
    "mqls": st.column_config.NumberColumn("MQLs", format="localized"),
    "sourced_pipeline": st.column_config.NumberColumn("Sourced pipeline", format="dollar"),
    "influenced_pipeline": st.column_config.NumberColumn("Influenced pipeline", format="dollar"),
    "won_revenue": st.column_config.NumberColumn("Won revenue", format="dollar"),
    "pipeline_to_spend": st.column_config.NumberColumn("Pipeline ÷ spend", format="%.2f×"),
    "cost_per_mql": st.column_config.NumberColumn("Cost per MQL", format="dollar"),
    "credit": st.column_config.NumberColumn("Credited journeys", format="%.2f"),
    "attributed_pipeline": st.column_config.NumberColumn("Attributed pipeline", format="dollar"),
    "attributed_revenue": st.column_config.NumberColumn("Attributed revenue", format="dollar"),
    "won_amount": st.column_config.NumberColumn("Won amount", format="dollar"),
    "lead_score": st.column_config.NumberColumn("Lead score", format="%.0f"),
    "stage_reached": st.column_config.TextColumn("Furthest stage"),
    "created_at": st.column_config.DatetimeColumn("Created (UTC)", format="D MMM YYYY"),
    "first_mql_at": st.column_config.DatetimeColumn("First MQL (UTC)", format="D MMM YYYY"),
}


JOURNEY_COLUMNS = {
    "occurred_at": st.column_config.DatetimeColumn("When (UTC)", format="D MMM YYYY, HH:mm"),
    "kind": st.column_config.TextColumn("Kind"),
    "team": st.column_config.TextColumn("Team"),
    "what": st.column_config.TextColumn("What"),
    "detail": st.column_config.TextColumn("Detail", width="medium"),
    "actor": st.column_config.TextColumn("Who"),
}


def attribution_rows(credits: pd.DataFrame, level: str) -> pd.DataFrame:
    """The credited rows as a person reads them: a channel by its name (Paid search), not its
    code; a campaign's label is already its name."""
    if level != "channel" or credits.empty:
        return credits
    out = credits.copy()
    out["label"] = out["label"].map(lambda v: humanise(v) if isinstance(v, str) else v)
    return out


def attribution_caption(credits: pd.DataFrame, model: str) -> str:
    total = credits["credit"].sum()
    return (f"{MODEL_LABELS[model]}: the credits of each journey (a lead whose opportunity was "
            f"created in the period) add up to 1, so the {total:,.0f} credits here equal the "
            f"{total:,.0f} journeys; pipeline credited adds up to the pipeline of those "
            "opportunities. Touches without a campaign and journeys without a marketing touch "
            "are shown as their own rows, never dropped.")


# The drill-down lists at most this many leads; the sentence above it says when there are more.
DRILL_LIMIT = 1000
DRILL_STAGES = {"any": "Any", "lead": "Lead", "mql": "MQL", "sal": "SAL", "sql": "SQL",
                "opportunity": "Opportunity", "won": "Won"}
CONTRIBUTION_NOTE = (
    "Sourced pipeline counts opportunities of marketing-sourced leads only; won revenue counts "
    "every deal won from the channel's or campaign's leads, whoever sourced it (outbound and "
    "partner deals are sales- or partner-sourced, so they show won revenue with no sourced "
    "pipeline). Influenced pipeline counts opportunities whose lead had a marketing touch of a "
    "campaign before the close: leads with no campaign touch (most organic search) are sourced "
    "without being influenced, so influenced can be below sourced.")


def drill_sentence(shown: int, total: int, campaign: str) -> str:
    """'**1,000** of 2,315 leads of X (newest first): pick a stage to narrow the list.'"""
    if total > shown:
        return (f"The newest **{shown:,}** of **{total:,}** leads of {campaign}: pick a "
                "furthest stage (say Won) or a shorter period to see the others.")
    return f"**{total:,}** leads of {campaign} (newest first)."


def wide_spread(values: pd.Series) -> bool:
    """True when the largest positive value is over 30 times the smallest: a linear axis would
    make the small bars read as zero."""
    positive = values[values > 0]
    return len(positive) > 1 and positive.max() > 30 * positive.min()


def pipeline_to_spend_caption(frame: pd.DataFrame, label_column: str) -> str:
    text = "Sourced pipeline ÷ cost; campaign cost is spread evenly over each campaign's days."
    if wide_spread(frame["pipeline_to_spend"].dropna()):
        text += " Logarithmic scale: each step is ten times the previous one."
    nothing = frame.loc[frame["pipeline_to_spend"] == 0, label_column].dropna().tolist()
    if nothing:
        text += (" Spend but no marketing-sourced pipeline (a ratio of 0, no bar): "
                 f"{', '.join(humanise(str(n)) for n in nothing)}.")
    unknown = frame.loc[frame["pipeline_to_spend"].isna(), label_column].dropna().tolist()
    if unknown:
        text += (f" No recorded spend (no value, not zero): {', '.join(humanise(str(u)) for u in unknown)}.")
    return text
