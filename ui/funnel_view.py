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


def cohort_difference_note(definitions: dict) -> str:
    """Why the waterfall's rows and the metrics beside it differ, naming the versions in force."""
    def version(name: str) -> str:
        defn = definitions.get(name)
        return f"`{name}` v{defn.version}" if defn else f"`{name}`"

    return ("The waterfall follows the leads created in the period (a cohort): its Opportunity "
            "and Won rows count those leads, however late they converted. Win rate "
            f"({version('win_rate')}), sales cycle and opportunities created count the "
            "opportunities created or closed in the period, whatever the lead's age, so they "
            "differ from the waterfall's rows. The scorecard's conversion rates "
            f"({version('mql_to_sal_rate')}, {version('mql_to_opportunity_rate')}) count "
            "MQLs of the period under the agreed definitions; the waterfall's 'From previous' "
            "is the cohort's own stage-to-stage share.")
