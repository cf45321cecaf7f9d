"""Sidebar filters shared by every page, bound to the URL so a shared link opens the same view.

The widgets live in the router (app.py), so they are rendered on every page and keep their
values across page switches; `bind="query-params"` keeps them in the URL.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from ui import data
from ui.selection import FILTER_LABELS, GRAIN_LABELS, RANGE_LABELS, Selection, resolve_range

# Query-parameter names: short, stable, part of every shared link.
PARAM_FOR = {"segment": "segment", "region": "region", "source_channel": "channel",
             "campaign_id": "campaign"}


def render_sidebar() -> Selection:
    """Draw the filters in the sidebar and return the resulting selection."""
    wh = data.get_warehouse()
    as_of = wh.as_of
    options = data.filter_options()
    with st.sidebar:
        st.caption(f"Data as of **{as_of:%d %b %Y %H:%M} UTC** · {wh.source}")
        range_key = st.selectbox("Period", list(RANGE_LABELS), format_func=RANGE_LABELS.get,
                                 index=2, key="range", bind="query-params")
        custom = None
        if range_key == "custom":
            first_day = as_of.date().replace(day=1) - dt.timedelta(days=90)
            earliest = dt.date(2000, 1, 1)
            start = st.date_input("From", value=first_day, key="from", bind="query-params",
                                  min_value=earliest, max_value=as_of.date())
            end = st.date_input("To (inclusive)", value=as_of.date(), key="to",
                                bind="query-params", min_value=earliest, max_value=as_of.date())
            custom = (start, end)
        grain = st.segmented_control("Grain", list(GRAIN_LABELS), format_func=GRAIN_LABELS.get,
                                     default="month", key="grain", bind="query-params",
                                     required=True)
        where = []
        for dim, param in PARAM_FOR.items():
            values = dict(options.get(dim, []))
            chosen = st.multiselect(FILTER_LABELS[dim], list(values), key=param,
                                    format_func=lambda v, values=values: values.get(v, v),
                                    bind="query-params", placeholder="All")
            if chosen:
                where.append((dim, tuple(sorted(chosen))))
    start, end = resolve_range(range_key, as_of, custom)
    return Selection(start, end, grain or "month", tuple(where), RANGE_LABELS[range_key])


def current() -> Selection:
    """The selection the router computed for this run."""
    selection = st.session_state.get("_selection")
    if selection is None:
        selection = render_sidebar()
    return selection


def describe_filters(selection: Selection) -> str:
    """'Segment: SMB · Channel: Paid search', or 'All leads'."""
    options = data.filter_options()
    parts = []
    for dim, values in selection.where:
        labels = dict(options.get(dim, []))
        parts.append(f"{FILTER_LABELS.get(dim, dim)}: " + ", ".join(labels.get(v, v) for v in values))
    return " · ".join(parts) or "All leads"
