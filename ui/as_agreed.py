"""'As defined on a date': every page can run the definitions that were live on a chosen day.

The sidebar holds the choice (a toggle and a date, kept in the URL as ?defs_on=2025-10-01 so a
link opens the same numbers); ui.data runs the version of each metric that was live at the end
of that day (metrics.review.versions_active_on) wherever a page does not name a version, and the
page caption says which versions ran where they differ from today's.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from metrics.errors import MetricError
from metrics.review import versions_active_on
from ui import data
from ui.format import escape_markdown

PARAM = "defs_on"
_SEEN = f"_url_seen_{PARAM}"


EARLIEST = dt.date(2000, 1, 1)


def _parse(raw: str | None) -> dt.date | None:
    """The day a link names, kept within what the date input offers (a stale or mistyped
    link never breaks the page)."""
    try:
        day = dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None
    return None if day is None else min(max(day, EARLIEST), dt.date.today())


def render_control() -> dt.date | None:
    """The sidebar's toggle and date; returns the chosen day (None: today's definitions)."""
    raw = st.query_params.get(PARAM)
    if raw != st.session_state.get(_SEEN):
        # A value the address brings (a link, a reload) wins once, like the other filters.
        st.session_state[_SEEN] = raw
        day = _parse(raw)
        st.session_state["as_agreed"] = day is not None
        if day is not None:
            st.session_state["as_agreed_day"] = day
    on = st.toggle("Definitions as live on a date", key="as_agreed",
                   help="Show every number under the definitions that were live at the end of "
                        "the chosen day (UTC), as agreed then, from the catalog's activation "
                        "history. Captions name the versions that ran.")
    day = None
    if on:
        st.session_state.setdefault("as_agreed_day", dt.date.today())
        day = st.date_input("As defined on", key="as_agreed_day", min_value=EARLIEST,
                            max_value=dt.date.today())
    value = day.isoformat() if day else None
    if st.query_params.get(PARAM) != value:
        if value:
            st.query_params[PARAM] = value
        elif PARAM in st.query_params:
            del st.query_params[PARAM]
    st.session_state[_SEEN] = value
    data.pin_definitions(day)
    return day


def caption() -> str:
    """' · as defined on 01 Oct 2025: mql_to_sal_rate v1 (v2 today)', or '' for today's."""
    day = data.pinned_day()
    if day is None:
        return ""
    try:
        on = versions_active_on(data.get_catalog(), day)
        today = {name: d.version for name, d in data.definitions().items()}
    except MetricError as exc:
        return (f" · the definitions of {day:%d %b %Y} could not be read "
                f"({escape_markdown(exc)})")
    differs = [f"`{name}` v{version} (v{today[name]} today)"
               for name, version in sorted(on.versions.items())
               if name in today and today[name] != version]
    text = f" · as defined on {day:%d %b %Y}: "
    text += ", ".join(differs) if differs else "the same versions as today"
    if on.before_history:
        text += (f"; the catalog's history starts after that day for {len(on.before_history)} "
                 "metrics, which run their first version")
    return text
