"""Events on trend charts: what people marked (a campaign launch, a pricing change, a new SDR
team) and, automatically, every definition activation. Markers on the chart, words in its
caption; people's text is shown as text, never as Markdown or HTML."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from metrics.errors import MetricError
from metrics.selection import Selection
from ui import data
from ui.definition_view import flash
from ui.format import escape_markdown


def chart_events(name: str | None, selection: Selection) -> tuple[tuple[dt.date, str], ...]:
    """(date, text) of the events of `name`'s charts (and of every chart) in the window."""
    try:
        marked = data.get_catalog().annotations(metric=name)
    except (MetricError, AttributeError):
        return ()
    start, end = selection.start.date(), selection.end.date()
    return tuple((day, item["text"]) for item in marked
                 if start <= (day := dt.date.fromisoformat(item["on_date"])) < end)


def events_caption(events: tuple[tuple[dt.date, str], ...], name: str,
                   selection: Selection) -> str:
    """' · events: 03 Mar 2026 Pricing change; 15 Oct 2025 v2 of mql_to_sal_rate went live'."""
    parts = [(day, escape_markdown(text)) for day, text in events]
    for version, when in data.activations(name):
        if version > 1 and when is not None and selection.start <= when < selection.end:
            parts.append((when.date(), f"v{version} of `{name}` went live"))
    if not parts:
        return ""
    return " · events: " + "; ".join(f"{day:%d %b %Y} {text}" for day, text in sorted(parts))


def _remove(annotation_id: int, user: str) -> None:
    try:
        data.get_catalog().remove_annotation(annotation_id, user=user)
        flash("success", "The event is off the charts (the audit log keeps it).")
    except MetricError as exc:
        flash("error", str(exc))


def events_editor(user: str | None, may_edit: bool) -> None:
    """The list of marked events and, for editors, a form to add one."""
    catalog = data.get_catalog()
    st.caption("Marked events show as diamonds on every trend chart of their period (or of one "
               "metric), with their text in the hover and the caption. Definition activations "
               "are marked automatically.")
    for item in catalog.annotations():
        row = st.container(horizontal=True, vertical_alignment="center")
        scope = f"`{item['metric']}`" if item["metric"] else "all charts"
        row.markdown(f"**{item['on_date']}** {escape_markdown(item['text'])} · {scope} · "
                     f"{escape_markdown(item['created_by'])}")
        if may_edit and user:
            row.button("Remove", key=f"event-remove-{item['id']}", icon=":material/delete:",
                       on_click=_remove, args=(item["id"], user))
    if not may_edit:
        st.caption("Editors, approvers and admins mark events.")
        return
    with st.form("event", clear_on_submit=True, border=True):
        left, middle, right = st.columns([1, 3, 2])
        day = left.date_input("Date", value=dt.date.today(), key="event_day")
        text = middle.text_input("What happened", max_chars=200, key="event_text",
                                 placeholder="Pricing change, new SDR team, campaign launch…")
        names = ["(all charts)", *sorted(data.definitions())]
        metric = right.selectbox("On the charts of", names, key="event_metric")
        if st.form_submit_button("Mark the event", icon=":material/add_location:"):
            try:
                catalog.add_annotation(day, text, user=user,
                                       metric=None if metric == names[0] else metric)
                flash("success", "The event is on the charts.")
            except MetricError as exc:
                flash("error", str(exc))
            st.rerun()
