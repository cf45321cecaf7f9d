"""Column settings and captions for the campaigns page."""

from __future__ import annotations

import pandas as pd
import streamlit as st

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
    "created_at": st.column_config.DatetimeColumn("Created (UTC)", format="D MMM YYYY"),
    "first_mql_at": st.column_config.DatetimeColumn("First MQL (UTC)", format="D MMM YYYY"),
}


def attribution_caption(credits: pd.DataFrame, model: str) -> str:
    total = credits["credit"].sum()
    return (f"{MODEL_LABELS[model]}: the credits of each journey (a lead whose opportunity was "
            f"created in the period) add up to 1, so the {total:,.0f} credits here equal the "
            f"{total:,.0f} journeys; pipeline credited adds up to the pipeline of those "
            "opportunities. Touches without a campaign and journeys without a marketing touch "
            "are shown as their own rows, never dropped.")
