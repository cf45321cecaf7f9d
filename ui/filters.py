"""Sidebar filters shared by every page, bound to the URL so a shared link opens the same view.

The widgets live in the router (app.py), so they are rendered on every page, and keep their
values across page switches (`persist_state="session"`: by default Streamlit may drop a
widget's value on a page switch). The router owns their part of the URL: a value the address brings
(a shared link, a reload) is adopted once, and after the widgets are drawn the address is
written from what they hold. Streamlit's own `bind="query-params"` is not used here: after a
page switch its frontend now and then left a router widget's value out of the address (the
widget kept it), so a copied link lost the filter. What they select is one frozen
metrics.selection.Selection, passed unchanged to every query.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from metrics.selection import GRAIN_LABELS, RANGE_LABELS, LeadFilter, Selection, resolve_range
from ui import as_agreed, data
from ui.import_view import data_set_caption

FILTER_LABELS = {"segment": "Segment", "region": "Region", "source_channel": "Channel",
                 "campaign_id": "Campaign"}
# Query-parameter names: short, stable, part of every shared link.
PARAM_FOR = {"segment": "segment", "region": "region", "source_channel": "channel",
             "campaign_id": "campaign"}
DEFAULT_RANGE, DEFAULT_GRAIN = "last_12_months", "month"


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


# -- the sidebar's part of the URL -------------------------------------------------------------
# The address carries option labels, as people read and type them (?grain=Quarter,
# ?range=Year+to+date, ?segment=SMB); a value is accepted by its label or by itself.

def _adopt_from_url(key: str, param: str, labels: dict, *, many: bool = False) -> None:
    """Put into the widget's state a value the address brings that this session has not
    adopted yet. An address that lacks the parameter (a page link, a page switch) leaves the
    widget as it is; unknown values are ignored, so a stale link never breaks the page."""
    seen_key = f"_url_seen_{param}"
    raw = st.query_params.get_all(param)
    if raw == st.session_state.get(seen_key):
        return
    st.session_state[seen_key] = raw
    if not raw:
        return
    by_label = {str(label): value for value, label in labels.items()}
    values = [by_label.get(item, item) for item in raw]
    values = [value for value in dict.fromkeys(values) if value in labels]
    if many:
        st.session_state[key] = values
    elif values:
        st.session_state[key] = values[-1]


def _write_to_url(param: str, labels: list[str]) -> None:
    """Make the address carry exactly these labels for the parameter (none: no parameter)."""
    if st.query_params.get_all(param) != labels:
        if labels:
            st.query_params[param] = labels
        elif param in st.query_params:
            del st.query_params[param]
    st.session_state[f"_url_seen_{param}"] = labels


def _url_date(key: str, param: str, default: dt.date) -> None:
    """Seed a date input from ?from=2026-01-01 (a date the address brings wins once)."""
    seen_key = f"_url_seen_{param}"
    raw = st.query_params.get_all(param)
    if raw != st.session_state.get(seen_key):
        st.session_state[seen_key] = raw
        try:
            st.session_state[key] = dt.date.fromisoformat(raw[-1])
        except (IndexError, ValueError):
            pass
    st.session_state.setdefault(key, default)


def render_sidebar() -> Selection:
    """Draw the filters in the sidebar and return the resulting selection."""
    wh = data.get_warehouse()
    as_of = wh.as_of
    options = data.filter_options()
    with st.sidebar:
        st.caption(f"Data as of **{as_of:%d %b %Y %H:%M} UTC** · {data_set_caption(wh)}")
        _adopt_from_url("range", "range", RANGE_LABELS)
        st.session_state.setdefault("range", DEFAULT_RANGE)
        range_key = st.selectbox("Period", list(RANGE_LABELS), format_func=RANGE_LABELS.get,
                                 key="range", persist_state="session",
                                 help="Last 12 months: the twelve complete months before the "
                                      "data's as-of month. This quarter and Year to date run "
                                      "to the as-of day, so their last period is partial.")
        custom = None
        if range_key == "custom":
            earliest = dt.date(2000, 1, 1)
            _url_date("from", "from", as_of.date().replace(day=1) - dt.timedelta(days=90))
            _url_date("to", "to", as_of.date())
            start = st.date_input("From", key="from", persist_state="session",
                                  min_value=earliest,
                                  max_value=as_of.date())
            end = st.date_input("To (inclusive)", key="to", persist_state="session",
                                min_value=earliest,
                                max_value=as_of.date())
            custom = (start, end)
        _adopt_from_url("grain", "grain", GRAIN_LABELS)
        st.session_state.setdefault("grain", DEFAULT_GRAIN)
        grain = st.segmented_control("Grain", list(GRAIN_LABELS), format_func=GRAIN_LABELS.get,
                                     key="grain", persist_state="session", required=True)
        chosen: dict[str, list[str]] = {}
        shown: dict[str, list[str]] = {}
        for dim, param in PARAM_FOR.items():
            choices = options.get(dim, [])
            if dim == "campaign_id":
                choices = _campaign_choices(choices, chosen.get("source_channel", []))
            # Option labels are what links carry (?region=NA): they stay as they are.
            labels = dict(choices)
            _adopt_from_url(param, param, labels, many=True)
            chosen[dim] = st.multiselect(
                FILTER_LABELS[dim], list(labels), key=param, persist_state="session",
                format_func=lambda v, labels=labels: labels.get(v, v), placeholder="All",
                help="Only campaigns of the chosen channels are offered."
                if dim == "campaign_id" else None)
            shown[param] = [str(labels.get(value, value)) for value in chosen[dim]]
        as_agreed.render_control()
    _write_to_url("range", [] if range_key == DEFAULT_RANGE else [RANGE_LABELS[range_key]])
    for param, day in (("from", custom and custom[0]), ("to", custom and custom[1])):
        _write_to_url(param, [day.isoformat()] if isinstance(day, dt.date) else [])
    _write_to_url("grain", [] if grain in (None, DEFAULT_GRAIN) else [GRAIN_LABELS[grain]])
    for param, values in shown.items():
        _write_to_url(param, values)
    start, end = resolve_range(range_key, as_of, custom)
    return Selection(start, end, grain or DEFAULT_GRAIN, LeadFilter.of(chosen), RANGE_LABELS[range_key],
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
    text += as_agreed.caption()
    st.caption(text)
    warn_when_nothing_matches(selection)


def link_params(**extra: str) -> dict[str, list[str]]:
    """Query parameters for a link to another page: only what the link itself chooses.

    The sidebar's widgets live in the router and keep their values across the switch, and the
    router writes the period, grain and filters into the target page's URL itself; passing them
    in the link as well would repeat each of them once per click (?segment=SMB&segment=SMB&...).
    A page's own parameters (a breakdown, a chosen campaign) stay behind.
    """
    return {key: [value] for key, value in extra.items()}
