"""Column settings and the commitment arithmetic of the SLA page."""

from __future__ import annotations

import streamlit as st

from metrics.targets import MONTHS_PER_GRAIN

REP_COLUMNS = {
    "rep_id": st.column_config.TextColumn("Rep id"),
    "rep_name": st.column_config.TextColumn("Rep"),
    "team": st.column_config.TextColumn("Team"),
    "region": st.column_config.TextColumn("Region"),
    "mqls_due": st.column_config.NumberColumn("MQLs due", format="localized"),
    "in_sla": st.column_config.NumberColumn("In SLA", format="localized"),
    "breaches": st.column_config.NumberColumn("Breaches", format="localized"),
    "untouched_overdue": st.column_config.NumberColumn("Untouched, overdue", format="localized"),
    "compliance": st.column_config.NumberColumn("Compliance", format="percent"),
    "median_response_business_hours": st.column_config.NumberColumn(
        "Median response (business h)", format="%.1f"),
}
UNTOUCHED_COLUMNS = {
    "lead_id": st.column_config.TextColumn("Lead"),
    "first_mql_at": st.column_config.DatetimeColumn("MQL at (UTC)", format="D MMM YYYY, HH:mm"),
    "waiting_hours": st.column_config.NumberColumn("Waiting (clock h)", format="%.1f"),
    "sla_deadline_at": st.column_config.DatetimeColumn("Deadline (UTC)", format="D MMM YYYY, HH:mm"),
    "overdue": st.column_config.CheckboxColumn("Overdue"),
    "owner_name": st.column_config.TextColumn("Owner"),
    "segment": st.column_config.TextColumn("Segment"),
    "region": st.column_config.TextColumn("Region"),
    "source_channel": st.column_config.TextColumn("Channel"),
}
# MQLs older than this with no touch are reported as never touched, not listed as waiting.
WAITING_DAYS = 30


def waiting_sentence(counts, days: int) -> str:
    """'**12** MQLs of the last 30 days have no first touch yet, **5** past their deadline...'."""
    text = (f"**{int(counts['waiting']):,}** MQLs of the last {days} days have no first sales "
            f"touch yet, **{int(counts['overdue']):,}** of them past their SLA deadline "
            "(oldest first).")
    if counts["never_touched_older"]:
        text += (f" Another **{int(counts['never_touched_older']):,}** older MQLs were never "
                 "touched at all; they count as breaches in the compliance figures above.")
    return text


def committed_mqls(monthly: float | None, grain: str) -> float | None:
    """The MQL commitment per period of `grain`, from the monthly number."""
    if monthly is None or grain not in MONTHS_PER_GRAIN:
        return None
    return monthly * MONTHS_PER_GRAIN[grain]
