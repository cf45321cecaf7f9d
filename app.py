"""Handoff: the router. Page config, the warehouse check, shared filters, navigation."""

import streamlit as st

from metrics.errors import MetricError
from ui import auth, data, filters

st.set_page_config(page_title="Handoff · pipeline review", page_icon=":material/handshake:",
                   layout="wide", initial_sidebar_state="expanded")
st.logo("ui/logo.svg", size="large")
auth.sign_in()  # OIDC when [auth] is configured, else local mode (or a refusal); shows who

try:
    data.get_warehouse()
except MetricError as exc:
    st.title("Handoff")
    st.error(f"The warehouse is not available: {exc}", icon=":material/database:")
    st.markdown("Build the demo warehouse with `make run` (or `python -m metrics demo`), or "
                "load your own data with `python -m metrics ingest DIR`.")
    st.stop()

st.session_state["_selection"] = filters.render_sidebar()

pages = {
    "Pipeline review": [
        st.Page("views/overview.py", title="Metrics that matter", icon=":material/dashboard:",
                default=True),
        st.Page("views/funnel.py", title="Funnel", icon=":material/filter_alt:"),
        st.Page("views/sla.py", title="SLA", icon=":material/timer:"),
        st.Page("views/alerts.py", title="Alerts", icon=":material/notifications:"),
        st.Page("views/reviews.py", title="Reviews", icon=":material/ac_unit:"),
    ],
    "Marketing": [
        st.Page("views/volume.py", title="Lead volume & quality", icon=":material/groups:"),
        st.Page("views/campaigns.py", title="Campaigns", icon=":material/campaign:"),
        st.Page("views/lead_scoring.py", title="Lead scoring", icon=":material/leaderboard:"),
    ],
    "Definitions": [
        st.Page("views/definitions.py", title="Glossary & catalog", icon=":material/menu_book:"),
        st.Page("views/metric_detail.py", title="Metric explorer", icon=":material/trending_up:"),
        st.Page("views/editor.py", title="Edit a definition", icon=":material/edit_note:"),
        st.Page("views/inbox.py", title="Review inbox", icon=":material/inbox:"),
        st.Page("views/history.py", title="Definition history", icon=":material/history:"),
    ],
    "Data": [
        st.Page("views/import_data.py", title="Import", icon=":material/upload_file:"),
    ],
}
# Every page listed: the meeting should not have to find the inbox behind "View more".
st.navigation(pages, expanded=True).run()
