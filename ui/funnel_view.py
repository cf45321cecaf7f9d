"""Column settings of the funnel page's tables."""

from __future__ import annotations

import streamlit as st

FUNNEL_COLUMNS = {
    "label": st.column_config.TextColumn("Stage"),
    "leads": st.column_config.NumberColumn("Leads", format="localized",
                                           help="Reached this stage or a later one"),
    "recorded": st.column_config.NumberColumn("Recorded", format="localized",
                                              help="Have an event of this very stage"),
    "conversion_from_previous": st.column_config.NumberColumn("From previous", format="percent"),
    "conversion_from_first": st.column_config.NumberColumn("From lead", format="percent"),
}
VELOCITY_COLUMNS = {
    "label": st.column_config.TextColumn("Transition"),
    "leads": st.column_config.NumberColumn("Leads", format="localized"),
    "median_days": st.column_config.NumberColumn("Median days", format="%.1f"),
    "p75_days": st.column_config.NumberColumn("75th percentile days", format="%.1f"),
}
