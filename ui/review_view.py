"""The Reviews page's parts: freeze the current view, open a frozen review read-only, compare
it with live, write down decisions and actions, download the PDF pack.

A frozen review is drawn from its stored payload only (metrics.review): nothing here runs a
metric for it, so what shows is what was on screen when it was frozen. Every heading says so.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from metrics import review as reviews
from metrics.definitions import TEAMS
from metrics.errors import MetricError
from metrics.pack import build_pack
from metrics.review import Review
from metrics.selection import Selection
from ui import data
from ui.campaign_view import CAMPAIGN_COLUMNS
from ui.charts import funnel_chart, trend_chart
from ui.components import empty_state, show_chart, show_grid
from ui.definition_view import flash
from ui.format import escape_markdown, format_change, format_value
from ui.funnel_view import FUNNEL_COLUMNS
from ui.sla_view import REP_COLUMNS

REVIEW_PARAM = "review"
KIND_LABELS = {"decision": "Decision", "note": "Note", "action": "Action item"}


# -- choosing and freezing -----------------------------------------------------------------------

def chosen_review_id(saved: list[dict]) -> int | None:
    """The review named by ?review=<id>, when it exists."""
    wanted = st.query_params.get(REVIEW_PARAM)
    ids = [int(s["id"]) for s in saved]
    try:
        return int(wanted) if wanted is not None and int(wanted) in ids else None
    except ValueError:
        return None


def review_picker(saved: list[dict]) -> int | None:
    """A selectbox of the saved reviews, newest first; the choice travels as ?review=<id>."""
    labels = {int(s["id"]): f"#{s['id']} · {s['title']} · frozen "
                            f"{s['created_at'][:16].replace('T', ' ')} UTC by {s['user']}"
              for s in saved}
    current = chosen_review_id(saved)
    choice = st.selectbox("Open a frozen review", list(labels), format_func=labels.get,
                          index=list(labels).index(current) if current in labels else None,
                          placeholder="Pick a review to open it read-only", key="review_pick")
    if choice is not None and str(choice) != st.query_params.get(REVIEW_PARAM):
        st.query_params[REVIEW_PARAM] = str(choice)
    return choice


def _freeze(selection: Selection, user: str, title: str, definitions_day: dt.date | None) -> None:
    try:
        catalog = data.get_catalog()
        on = (reviews.versions_active_on(catalog, definitions_day)
              if definitions_day is not None else None)
        snapshot_id = reviews.freeze_review(data.get_warehouse(), catalog, selection,
                                            title=title, user=user, targets=data.targets(),
                                            definitions_on=on)
    except MetricError as exc:
        flash("error", f"The review was not frozen: {exc}")
        return
    st.query_params[REVIEW_PARAM] = str(snapshot_id)
    st.session_state.pop("review_pick", None)
    flash("success", f"Froze review #{snapshot_id} '{title}'. It will not change, whatever is "
                     "loaded or approved later.")


def freeze_form(selection: Selection, user: str | None) -> None:
    """'Freeze this review': the sidebar's period and filters, saved with a title."""
    with st.form("freeze", border=True):
        st.markdown("**Freeze this review**")
        st.caption("Saves the scorecard, funnel, SLA, volume and campaign tables for the period "
                   "and filters in the sidebar, with the data's as-of time and every metric's "
                   "version. A frozen review never changes.")
        title = st.text_input("Title", value=f"Pipeline review {selection.as_of:%d %b %Y}"
                              if selection.as_of else "Pipeline review", max_chars=120)
        pinned = data.pinned_day()
        as_agreed = st.toggle("Use the definitions live on a date (as agreed then)",
                              value=pinned is not None, key="freeze_as_agreed")
        day = st.date_input("Definitions as live on", value=pinned or dt.date.today(),
                            key="freeze_day",
                            help="Each metric runs the version that was live at the end of this "
                                 "day (UTC), from the catalog's activation history.")
        clicked = st.form_submit_button("Freeze this review", type="primary",
                                        icon=":material/ac_unit:", disabled=not user)
    if not user:
        st.caption("Pick who you are in the sidebar (or sign in) to freeze a review.")
    if clicked and user:
        if not title.strip():
            st.error("Give the review a title, e.g. 'Q3 pipeline review'.")
            return
        with st.spinner("Freezing the review…"):
            _freeze(selection, user, title.strip(), day if as_agreed else None)
        st.rerun()


# -- a frozen review, read-only ------------------------------------------------------------------

def frozen_header(review: Review) -> None:
    st.subheader(f"#{review.id} · {escape_markdown(review.title)}")
    st.info(escape_markdown(f"{review.frozen_label()} · every number below is as it was "
                            "then; it does not follow new loads or definitions."),
            icon=":material/ac_unit:")
    text = review.describe_selection()
    if review.payload.get("definitions_on"):
        text += f" · definitions as live on {review.payload['definitions_on']}"
    st.caption(escape_markdown(text))
    events = review.payload.get("events", [])
    if events:
        st.caption("Events in the period: " + "; ".join(
            f"{e['on_date']} {escape_markdown(e['text'])}" for e in events))
    for error in review.payload.get("errors", []):
        st.warning(escape_markdown(f"Not computed when frozen: {error}"), icon=":material/error:")


@st.cache_data(ttl=data.CACHE_TTL, max_entries=50, show_spinner=False)
def _comparison(stamp, review_id: int, active: tuple) -> tuple[str, list[str]]:
    catalog = data.get_catalog()
    comparison = reviews.compare_with_live(data.get_warehouse(), catalog,
                                           reviews.load_review(catalog, review_id))
    return comparison.headline(), comparison.lines()


def compare_with_live(review: Review) -> None:
    """'Since this review: MQL → SAL −2.1 pts …', for the same period and filters."""
    active = tuple(sorted((n, d.version) for n, d in data.definitions().items()))
    try:
        headline, lines = _comparison(data.warehouse_stamp(), review.id, active)
    except MetricError as exc:
        st.error(escape_markdown(f"The live numbers could not be computed: {exc}"))
        return
    with st.container(border=True):
        st.markdown("**Since this review** (live now vs frozen)")
        st.caption(escape_markdown(headline))
        moved = [line for line in lines if " unchanged (" not in line]
        if not moved:
            st.markdown("No scorecard number moved and no definition changed since this review.")
        else:
            st.markdown("\n".join(f"- {escape_markdown(line)}" for line in moved))
            if len(moved) < len(lines):
                st.caption(f"The other {len(lines) - len(moved)} scorecard metrics are "
                           "unchanged.")


def since_last_review() -> None:
    """On the live scorecard: what moved since the last frozen review, in its own window."""
    try:
        catalog = data.get_catalog()
        review = next((r for r in (_try_load(catalog, s["id"]) for s in catalog.snapshots())
                       if r), None)
    except MetricError:
        return
    if review is None:
        return
    active = tuple(sorted((n, d.version) for n, d in data.definitions().items()))
    try:
        headline, lines = _comparison(data.warehouse_stamp(), review.id, active)
    except MetricError:
        return
    moved = [line for line in lines if " unchanged (" not in line]
    label = (f"Since the last review, #{review.id} {review.title} "
             f"({review.frozen_on:%d %b %Y}): " + (f"{len(moved)} of {len(lines)} scorecard "
                                                   "numbers moved" if moved else "nothing moved"))
    with st.expander(escape_markdown(label), icon=":material/ac_unit:"):
        st.caption(escape_markdown(f"{review.describe_selection()} · {headline}"))
        if moved:
            st.markdown("\n".join(f"- {escape_markdown(line)}" for line in moved))
        st.page_link("views/reviews.py", label="Open the review", icon=":material/ac_unit:",
                     query_params={REVIEW_PARAM: str(review.id)})


def _try_load(catalog, snapshot_id: int) -> Review | None:
    try:
        return reviews.load_review(catalog, snapshot_id)
    except MetricError:
        return None


def _frame(series: dict) -> tuple[pd.DataFrame, dict]:
    frame = pd.DataFrame(series["rows"])
    frame["period"] = pd.to_datetime(frame["period"]).dt.date
    meta = {**series, "incomplete_periods": {dt.date.fromisoformat(p)
                                             for p in series.get("incomplete_periods", [])}}
    return frame, meta


def frozen_scorecard(review: Review) -> None:
    st.markdown("#### Scorecard (frozen)")
    tiles = review.payload["scorecard"]
    selection = review.selection
    for start in range(0, len(tiles), 4):
        for column, tile in zip(st.columns(4), tiles[start:start + 4]):
            with column, st.container(border=True):
                unit = tile["unit"]
                st.markdown(f"**{escape_markdown(tile['label'])}**")
                # As the live tile: only months that were final then, and a change of cohorts
                # still converting is grey, not an alarm.
                series = tile.get("trend") or {}
                unfinished = set(series.get("incomplete_periods", []))
                trend = [r["value"] for r in series.get("rows", [])
                         if r.get("value") is not None and str(r["period"])[:10] not in unfinished]
                young = tile.get("maturity_days", 0) > 0 and selection.end > review.as_of - \
                    dt.timedelta(days=tile["maturity_days"])
                st.metric(tile["label"], format_value(tile["value"], unit),
                          delta=format_change(tile["value"], tile.get("last_year"), unit),
                          delta_color="off" if young else
                          ("normal" if tile["direction"] == "up" else "inverse"),
                          label_visibility="collapsed", chart_data=trend or None,
                          chart_type="line")
                target = tile.get("target")
                text = "Change vs same period last year" + (" (cohorts still maturing)"
                                                              if young else "")
                if target is not None:
                    text += (f" · {'plan' if tile.get('target_from_plan') else 'target'} "
                             f"{format_value(target, unit)}")
                    if tile.get("attainment") is not None:
                        text += f" ({tile['attainment']:.0%})"
                st.caption(text)
                st.caption(f"frozen · `{tile['name']}` v{tile['version']}")


def frozen_sections(review: Review) -> None:
    payload = review.payload
    grain = payload["selection"]["grain"]
    st.markdown("#### Funnel (frozen)")
    stages = pd.DataFrame(payload["funnel"]["stages"])
    if stages.empty:
        empty_state("No leads were created in this period with these filters.")
    else:
        left, right = st.columns(2)
        with left:
            show_chart(funnel_chart(stages, title="Leads created in the period, by furthest "
                                                  "stage reached (frozen)"),
                       "Cohort: leads created in the period, as frozen.", key="review-funnel")
        with right:
            show_grid(stages, key="review-funnel", column_config=FUNNEL_COLUMNS,
                      column_order=["label", "leads", "recorded", "conversion_from_previous",
                                    "conversion_from_first"])

    st.markdown("#### SLA and volume (frozen)")
    left, right = st.columns(2)
    for column, series, title in (
            (left, payload["sla"].get("compliance"),
             f"Share of MQLs touched within the SLA, per {grain} (frozen)"),
            (right, payload["volume"].get("mqls"), f"MQLs delivered per {grain} (frozen)")):
        with column:
            if not series or not series["rows"]:
                empty_state("Nothing was recorded for this chart in the frozen period.")
                continue
            frame, meta = _frame(series)
            target = next((t.get("target") for t in payload["scorecard"]
                           if t["name"] == series["name"]), None)
            show_chart(trend_chart(frame, {**meta, "grain": grain}, title=title, grain=grain,
                                   target=target, height=320),
                       f"{escape_markdown(series['label'])} · definition `{series['name']}` "
                       f"v{series['version']} · frozen", key=f"review-{series['name']}")
    reps = pd.DataFrame(payload["sla"]["by_rep"])
    if not reps.empty:
        st.markdown("**SLA breaches by rep (frozen)**")
        show_grid(reps, key="review-reps", column_config=REP_COLUMNS,
                  column_order=list(REP_COLUMNS))
    quality = pd.DataFrame(payload["volume"]["quality"])
    if not quality.empty:
        st.markdown("**Lead quality over the period (frozen)**")
        shown = pd.DataFrame({
            "Metric": quality["label"],
            "Value": [format_value(v, u) for v, u in zip(quality["value"], quality["unit"])],
            "Definition": [f"{n} v{v}" for n, v in zip(quality["name"], quality["version"])]})
        show_grid(shown, key="review-quality")

    st.markdown("#### Campaign contribution by channel (frozen)")
    channels = pd.DataFrame(payload["campaigns"])
    if channels.empty:
        empty_state("No campaign cost, leads or pipeline in the frozen period.")
    else:
        show_grid(channels, key="review-campaigns", column_config=CAMPAIGN_COLUMNS)


def pack_button(review: Review) -> None:
    catalog = data.get_catalog()
    st.download_button(
        "Download the PDF pack",
        data=lambda: build_pack(review, items=catalog.review_items(review.id),
                                open_actions=catalog.open_actions(before=review.id))[0],
        file_name=f"review-{review.id}.pdf", mime="application/pdf", key="review-pack",
        icon=":material/picture_as_pdf:", on_click="ignore")


# -- notes, decisions, actions -------------------------------------------------------------------

def _close(item_id: int, user: str, status: str) -> None:
    try:
        data.get_catalog().close_action(item_id, user=user, status=status)
        flash("success", f"Action {item_id} marked {status}.")
    except MetricError as exc:
        flash("error", str(exc))


def action_list(actions: list[dict], user: str | None, may_edit: bool, *, key: str) -> None:
    """Open action items, each with its owner team, due date and a Done button for editors."""
    today = dt.date.today().isoformat()
    for action in actions:
        row = st.container(horizontal=True, vertical_alignment="center")
        late = action["due_on"] < today
        origin = f" · set in '{action['review_title']}'" if action.get("review_title") else ""
        row.markdown(f"{':red' if late else ':blue'}[**{action['owner_team']}** · due "
                     f"{action['due_on']}{' (overdue)' if late else ''}] "
                     f"{escape_markdown(action['text'])}{escape_markdown(origin)}")
        if action["status"] != "open":
            row.caption(escape_markdown(f"{action['status']} by {action['closed_by']}"))
        elif may_edit and user:
            row.button("Done", key=f"{key}-done-{action['id']}", icon=":material/check:",
                       on_click=_close, args=(action["id"], user, "done"))


def review_items(review: Review, user: str | None, may_edit: bool) -> None:
    catalog = data.get_catalog()
    items = catalog.review_items(review.id)
    st.markdown("#### Decisions, notes and actions")
    if not items:
        st.caption("Nothing is written into this review yet.")
    for kind in ("decision", "note"):
        for item in (i for i in items if i["kind"] == kind):
            st.markdown(f"**{KIND_LABELS[kind]}:** {escape_markdown(item['text'])} "
                        f"· {escape_markdown(item['created_by'])}")
    actions = [i for i in items if i["kind"] == "action"]
    if actions:
        st.markdown("**Action items**")
        action_list(actions, user, may_edit, key="review")
    if not may_edit:
        st.caption("Editors, approvers and admins write decisions, notes and actions.")
        return
    with st.form("review-item", clear_on_submit=True, border=True):
        kind = st.segmented_control("Add", list(KIND_LABELS), format_func=KIND_LABELS.get,
                                    default="decision", key="item_kind", required=True)
        text = st.text_area("What was said or agreed", max_chars=2000, key="item_text")
        left, right = st.columns(2)
        team = left.selectbox("Owner team (actions)", TEAMS, key="item_team")
        due = right.date_input("Due (actions)", value=dt.date.today() + dt.timedelta(days=14),
                               key="item_due")
        if st.form_submit_button("Add to the review", icon=":material/add:"):
            try:
                catalog.add_review_item(review.id, kind, text, user=user, owner_team=team,
                                        due_on=due)
                flash("success", f"{KIND_LABELS[kind]} added to review #{review.id}.")
            except MetricError as exc:
                flash("error", str(exc))
            st.rerun()


# -- the plan: targets by period ------------------------------------------------------------------

def plan_editor(user: str | None, may_approve: bool) -> None:
    """Import a plan CSV (metric,period,value) and list the targets by period."""
    from metrics.period_targets import read_targets_csv

    catalog = data.get_catalog()
    st.caption("A CSV with the columns metric, period and value: a period is a quarter "
               "(2026-Q1) or a month (2026-03); rates as fractions (0.7) or with % (70%). "
               "Approvers of a metric's owning team set its targets; a jointly owned metric's "
               "target counts once both teams have imported the same value. The Metric "
               "explorer draws the target of each period and its attainment.")
    if may_approve and user:
        upload = st.file_uploader("Plan CSV", type=["csv"], key="plan_csv")
        if upload is not None and st.button("Import the plan", key="plan_import",
                                            icon=":material/upload:"):
            try:
                rows = read_targets_csv(upload.getvalue().decode("utf-8"))
                results = catalog.set_period_targets(rows, user=user)
                waiting = sum(1 for r in results if not r["agreed"])
                flash("success", f"Imported {len(results)} targets; "
                                 f"{len(results) - waiting} agreed"
                                 + (f", {waiting} waiting for the other owning team to import "
                                    "the same value." if waiting else "."))
            except (MetricError, UnicodeDecodeError) as exc:
                flash("error", f"The plan was not imported: {exc}")
            st.rerun()
    else:
        roles = catalog.roles
        teams = sorted({team for person in roles.people.values() for team in person.teams})
        who = "; ".join(f"for {team}: {', '.join(roles.approvers(team)) or 'nobody yet'}"
                        for team in teams)
        st.caption(escape_markdown(f"Only approvers of a metric's owning team import its "
                                   f"targets ({who}); ask one of them, or an admin."))
    plan = catalog.period_targets(agreed_only=False)
    if plan:
        show_grid(pd.DataFrame([{
            "metric": row["name"], "grain": row["grain"], "period": row["period_start"],
            "target": row["value"], "signed by": ", ".join(row["signed_teams"]),
            "agreed": row["agreed"]} for row in plan]), key="plan")
