"""Sidebar filters shared by every page, bound to the URL so a shared link opens the same view.

The widgets live in the router (app.py), so they are rendered on every page and keep their
values across page switches; `bind="query-params"` keeps them in the URL. What they select is
one frozen metrics.selection.Selection, passed unchanged to every query.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from metrics.selection import GRAIN_LABELS, RANGE_LABELS, LeadFilter, Selection, resolve_range
from ui import data
from ui.import_view import data_set_caption

FILTER_LABELS = {"segment": "Segment", "region": "Region", "source_channel": "Channel",
                 "campaign_id": "Campaign"}
# Query-parameter names: short, stable, part of every shared link.
PARAM_FOR = {"segment": "segment", "region": "region", "source_channel": "channel",
             "campaign_id": "campaign"}


def _campaign_choices(options: list[tuple[str, str]], channels: list[str]
                      ) -> list[tuple[str, str]]:
    """The campaigns to offer: those of the chosen channels (all when no channel is chosen),
    plus any already chosen, so a shared link that pairs a campaign with another channel keeps
    both filters and the page says they match nothing, instead of silently dropping one."""
    if not channels:
        return options
    of_channel = data.campaign_channels()
    kept = set(st.session_state.get(PARAM_FOR["campaign_id"]) or ())
    kept |= set(st.query_params.get_all(PARAM_FOR["campaign_id"]))  # labels, as links carry
    return [(cid, label) for cid, label in options
            if of_channel.get(cid) in channels or cid in kept or label in kept]


def render_sidebar() -> Selection:
    """Draw the filters in the sidebar and return the resulting selection."""
    wh = data.get_warehouse()
    as_of = wh.as_of
    options = data.filter_options()
    with st.sidebar:
        st.caption(f"Data as of **{as_of:%d %b %Y %H:%M} UTC** · {data_set_caption(wh)}")
        range_key = st.selectbox("Period", list(RANGE_LABELS), format_func=RANGE_LABELS.get,
                                 index=2, key="range", bind="query-params",
                                 help="Last 12 months: the twelve complete months before the "
                                      "data's as-of month. This quarter and Year to date run "
                                      "to the as-of day, so their last period is partial.")
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
        chosen: dict[str, list[str]] = {}
        for dim, param in PARAM_FOR.items():
            choices = options.get(dim, [])
            if dim == "campaign_id":
                choices = _campaign_choices(choices, chosen.get("source_channel", []))
            # Option labels are what links carry (?region=NA): they stay as they are.
            labels = dict(choices)
            chosen[dim] = st.multiselect(
                FILTER_LABELS[dim], list(labels), key=param,
                format_func=lambda v, labels=labels: labels.get(v, v), bind="query-params",
                placeholder="All",
                help="Only campaigns of the chosen channels are offered."
                if dim == "campaign_id" else None)
    start, end = resolve_range(range_key, as_of, custom)
    return Selection(start, end, grain or "month", LeadFilter.of(chosen), RANGE_LABELS[range_key],
                     as_of=as_of)


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


def warn_when_nothing_matches(selection: Selection) -> None:
    """A sentence on every page when the lead filters together match no lead at all, so a
    page of empty charts is never the only answer."""
    if not selection.where or data.leads_matching(selection.where) > 0:
        return
    st.warning(f"No lead matches {describe_filters(selection)} together, in any period: every "
               "number on this page is empty. Remove one of the filters in the sidebar.",
               icon=":material/filter_alt_off:")


def page_caption(selection: Selection, extra: str = "") -> None:
    """The line under every page title: period, filters, and whether the period is complete."""
    text = f"{selection.label}: {selection.describe()} · {describe_filters(selection)}"
    if selection.partial:
        text += (f" · the period runs to the data's as-of day ({selection.as_of:%d %b}): its last "
                 f"{selection.grain} is partial, not a drop")
    if extra:
        text += f" · {extra}"
    st.caption(text)
    warn_when_nothing_matches(selection)


def link_params(**extra: str) -> dict[str, list[str]]:
    """Query parameters for a link to another page: only what the link itself chooses.

    The sidebar's widgets are bound to the URL and live in the router, so the target page
    writes the period, grain and filters back into its URL by itself; passing them in the link
    as well would repeat each of them once per click (?segment=SMB&segment=SMB&...). A page's
    own parameters (a breakdown, a chosen campaign) stay behind.
    """
    return {key: [value] for key, value in extra.items()}
