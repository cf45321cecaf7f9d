"""Streamlit pieces shared by the editor, the review inbox and the history page.

Everything a person wrote (labels, descriptions, reasons, comments, SQL, error messages that
quote SQL) is shown through st.text, st.code, dataframe cells or escaped Markdown, never as
Markdown or HTML that could render links, images or styling (DESIGN.md section 6.4).

Actions (propose, approve, reject, roll back) run as widget callbacks, before the page script,
so the page that follows already shows the catalog after the change; their outcome is kept as a
one-shot message in session state.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pandas as pd
import streamlit as st

from metrics.catalog import ConflictError, is_rule_key, rule_name, subject
from metrics.definitions import MetricDefinition, parse_definition
from metrics.errors import MetricError
from ui import data
from ui.charts import trend_chart
from ui.components import incomplete_caption, show_chart, show_table
from ui.format import escape_markdown, format_change, format_value
from ui.impact import (
    DraftCheck,
    changed_periods,
    error_excerpt,
    error_position,
    impact_frame,
    impact_summary,
    long_frame,
    span_phrase,
    text_diff,
)
from ui.metric_view import trend_table
from ui.filters import link_params
from ui.scoring_view import show_rule_impact
from metrics.scoring import RULE_NAME
from metrics.selection import GRAIN_LABELS, LeadFilter, Selection

_FLASH_KEY = "_definition_flash"
_NUMBER_FORMATS = {"percent": "percent", "currency": "dollar", "count": "localized",
                   "hours": "%.1f h", "days": "%.1f days", "ratio": "%.2f×"}
_CHANGE_FORMATS = {"percent": "%+.1f pts", "currency": "dollar", "count": "%+,.0f",
                   "hours": "%+.1f h", "days": "%+.1f days", "ratio": "%+.2f×"}


# -- one-shot messages -------------------------------------------------------------------------
def flash(kind: str, text: str, *, links: tuple[tuple[str, str, str], ...] = ()) -> None:
    """Keep a message for the next run of the page (kind: success | info | warning | error).

    `links` are (page, label, metric) page links shown under the message.
    """
    st.session_state.setdefault(_FLASH_KEY, []).append((kind, text, links))


def show_flash() -> None:
    """Show, once, the messages left by the last action."""
    icons = {"success": ":material/check_circle:", "info": ":material/info:",
             "warning": ":material/warning:", "error": ":material/block:"}
    for kind, text, links in st.session_state.pop(_FLASH_KEY, []):
        getattr(st, kind)(escape_markdown(text), icon=icons.get(kind))
        if links:
            row = st.container(horizontal=True)
            for page, label, metric in links:
                row.page_link(page, label=label, icon=":material/arrow_forward:",
                              query_params=link_params(metric=metric) if metric else None)


def safe_label(defn: MetricDefinition) -> str:
    """The metric's label, escaped for Markdown (labels are written by editors)."""
    return escape_markdown(defn.label)


def who_can_act(user: str | None, action: str) -> str | None:
    """None when someone is signed in, else the sentence that tells them how to sign in."""
    if user:
        return None
    return (f"Pick who you are in the sidebar (or sign in) to {action}; until then you can "
            "look, but the catalog does not accept anonymous changes.")


# -- choices kept in the URL -------------------------------------------------------------------
def url_selectbox(label: str, options: list[str], *, param: str, key: str,
                  format_func=str, index: int | None = 0, **kwargs) -> str | None:
    """A selectbox whose choice travels in the URL as `?param=<option>` (not its label).

    Streamlit's `bind="query-params"` writes the *formatted* label into the URL; links between
    pages and tests name a metric or a person by its id, so the URL is synced by hand: a URL
    value the page has not seen yet (a link, a reload) wins, then the widget's own state, then
    the last choice of the same parameter on another page of this session (give each page's
    widget its own key: Streamlit does not carry a key's state from one page's widget to another).
    """
    seen_key, last_key = f"_url_seen_{param}", f"_url_last_{param}"
    wanted = st.query_params.get(param)
    if wanted != st.session_state.get(seen_key):
        st.session_state[seen_key] = wanted
        if wanted in options:
            st.session_state[key] = wanted
    if key not in st.session_state and st.session_state.get(last_key) in options:
        st.session_state[key] = st.session_state[last_key]
    choice = st.selectbox(label, options, index=index, format_func=format_func, key=key,
                          **kwargs)
    st.session_state[last_key] = choice
    if choice is not None and st.query_params.get(param) != choice:
        st.query_params[param] = choice
        st.session_state[seen_key] = choice
    return choice


def pick_metric(defs: dict[str, MetricDefinition], *, key: str) -> str:
    """The metric chosen on the editor and history pages, kept in `?metric=<name>`.

    Both pages share the choice (and keep it for the session), so going from the editor to
    the history stays on the same metric.
    """
    return url_selectbox("Metric", sorted(defs, key=lambda n: defs[n].label), param="metric",
                         key=key,
                         format_func=lambda n: f"{defs[n].label} ({n})")


# -- validation --------------------------------------------------------------------------------
def show_text_error(error: MetricError, text: str) -> None:
    """A definition's or a rule's error: where it is, the sentence, and the lines around it."""
    st.error(f"**{error_position(error)}:** {escape_markdown(error.message)}",
             icon=":material/error:")
    excerpt = error_excerpt(text, error.line, error.column)
    if excerpt:
        st.code(excerpt, language=None)


def show_check(check: DraftCheck, text: str) -> None:
    """'Valid' in green, or the first error with its line and column and the lines around it."""
    if check.error is not None:
        show_text_error(check.error, text)
    elif check.unchanged:
        st.info(check.describe(), icon=":material/info:")
    else:
        st.success(check.describe(), icon=":material/check_circle:")


# -- results of a draft or a version ----------------------------------------------------------
@st.cache_data(ttl=data.CACHE_TTL, max_entries=400, show_spinner=False)
def _draft_metric(stamp, name: str, version: int, text: str, start, end, grain: str,
                  where: LeadFilter) -> tuple[pd.DataFrame, dict]:
    defn = parse_definition(text, source=f"{name} draft", version=version, expected_name=name)
    frame = data.get_warehouse().query(defn, start=start, end=end, grain=grain,
                                       where=where)
    return frame, dict(frame.attrs)


def draft_refusal(user: str | None, name: str) -> str | None:
    """None when `user` may run drafts of `name` against the data, else the sentence why not.

    A draft's numbers are computed from the warehouse, so only someone who may propose the
    metric runs one: the same people the catalog accepts a proposal from.
    """
    active = data.definitions().get(name)
    return who_can_act(user, "preview a draft's numbers") or data.get_catalog().roles \
        .why_not_propose(user, active.owners if active else None, metric=name)


def draft_results(defn: MetricDefinition, selection: Selection, user: str | None
                  ) -> tuple[data.MetricResult, data.MetricResult]:
    """An unsaved draft's trend (selection's grain) and total over the selection, cached;
    both are errors, and nothing runs, for someone who may not propose the metric."""
    refusal = draft_refusal(user, defn.name)
    if refusal:
        refused = data.MetricResult(defn.name, None, {}, refusal)
        return refused, refused
    results = []
    for grain in (selection.grain, "total"):
        try:
            frame, meta = _draft_metric(data.warehouse_stamp(), defn.name, defn.version, defn.text,
                                        selection.start, selection.end, grain, selection.where)
            results.append(data.MetricResult(defn.name, frame, meta))
        except MetricError as exc:
            results.append(data.MetricResult(defn.name, None, {}, str(exc)))
    return results[0], results[1]


def version_results(name: str, version: int, selection: Selection
                    ) -> tuple[data.MetricResult, data.MetricResult]:
    """A stored version's trend and total over the selection (cached by ui.data)."""
    return tuple(data.metric(name, start=selection.start, end=selection.end, grain=grain,
                             where=selection.where, version=version)
                 for grain in (selection.grain, "total"))


def _total_value(result: data.MetricResult):
    if not result.ok or result.frame is None or result.frame.empty:
        return None
    return result.frame["value"].iloc[0]


def show_impact(old: tuple[data.MetricResult, data.MetricResult],
                new: tuple[data.MetricResult, data.MetricResult], *, defn: MetricDefinition,
                old_name: str, new_name: str, selection: Selection, key: str,
                new_role: str = "proposed") -> None:
    """Old (active) and new values side by side: a one-line summary, totals, chart and table.

    `old_name`/`new_name` are short ('v1', 'v2' or 'draft'); the legend adds their role.
    """
    (old_trend, old_total), (new_trend, new_total) = old, new
    old_legend = f"{old_name} (active)"
    new_legend = f"{new_name} ({new_role})" if new_role else new_name
    failed = [(n, r) for n, r in ((old_legend, old_trend), (new_legend, new_trend)) if not r.ok]
    for who, result in failed:
        st.error(f"**{escape_markdown(who)}** could not be computed: "
                 f"{escape_markdown(result.error)}", icon=":material/error:")
    if failed:
        return
    unit = new_trend.meta.get("unit", defn.unit)
    label = new_trend.meta.get("label", defn.label)
    grain_word = GRAIN_LABELS.get(selection.grain, selection.grain).lower()
    frame = impact_frame(old_trend.frame, new_trend.frame)
    old_value, new_value = _total_value(old_total), _total_value(new_total)
    summary = impact_summary(label, unit, old_value, new_value,
                             new_name="The draft" if new_name == "draft" else new_name,
                             old_name=old_name,
                             span=span_phrase(selection.label, selection.describe()),
                             changed=changed_periods(frame), periods=len(frame), grain=grain_word)
    st.info(escape_markdown(summary), icon=":material/compare_arrows:")
    left, right, _ = st.columns([1, 1, 2])
    left.metric(f"{old_legend}, whole period", format_value(old_value, unit))
    right.metric(f"{new_legend}, whole period", format_value(new_value, unit),
                 delta=format_change(new_value, old_value, unit), delta_color="off")
    if frame.empty:
        st.caption("No rows in this period for either version; widen the period in the sidebar.")
        return
    chart_frame = long_frame(frame, old_label=old_legend, new_label=new_legend)
    chart_frame["period"] = pd.to_datetime(chart_frame["period"]).dt.date
    # trend_chart shows the label and title as text (ui.charts escapes them for plotly).
    meta = {**new_trend.meta, "label": label, "unit": unit, "grain": selection.grain}
    fig = trend_chart(chart_frame, meta, by="version", grain=selection.grain,
                      title=f"{label}: {old_name} vs {new_name}, by {grain_word}")
    show_chart(fig, f"{selection.label}: {selection.describe()} · same filters as the sidebar"
               + incomplete_caption(new_trend, dotted=True), key=f"{key}-chart")
    table = frame.rename(columns={"period": "Period", "old": old_legend, "new": new_legend,
                                  "change": "Change", "relative_change": "Change (relative)"})
    table.attrs = {}
    if unit == "percent":
        table["Change"] = table["Change"] * 100
    number = st.column_config.NumberColumn(format=_NUMBER_FORMATS.get(unit, "localized"))
    show_table(table, file_name=f"{defn.name}-impact", key=f"{key}-impact", column_config={
        old_legend: number, new_legend: number,
        "Change": st.column_config.NumberColumn(format=_CHANGE_FORMATS.get(unit, "%+.2f")),
        "Change (relative)": st.column_config.NumberColumn(format="percent"),
    })


@st.cache_data(ttl=data.CACHE_TTL, max_entries=100,
               show_spinner="Running the draft on the other configured engines…")
def _engine_checks(stamp, name: str, version: int, text: str, start, end, where,
                   reference, own_engine: str) -> list[dict]:
    from dataclasses import asdict

    from metrics.engines.crosscheck import check_on_engines

    defn = parse_definition(text, source=f"{name} draft", version=version, expected_name=name)
    return [asdict(c) for c in check_on_engines(defn, start=start, end=end, where=where,
                                                reference=reference, exclude=own_engine)]


def show_engine_checks(defn: MetricDefinition, selection: Selection,
                       draft_total: data.MetricResult, *, key: str = "editor",
                       subject: str = "the draft", action: str = "proposed") -> str | None:
    """The draft's (or proposed version's) whole-period number on every other configured
    engine beside this warehouse's (metrics.engines.crosscheck), as a short table; returns the
    sentence that blocks proposing or approving it when an engine gives another number."""
    from metrics.engines import engine_name
    from metrics.engines.crosscheck import DIFFERENT, EngineCheck, blocking_reason, \
        configured_engine_urls

    own_engine = data.get_warehouse().engine_url
    if not draft_total.ok or not configured_engine_urls(exclude=own_engine):
        return None
    reference = _total_value(draft_total)
    reference = None if reference is None or pd.isna(reference) else float(reference)
    checks = [EngineCheck(**c) for c in _engine_checks(
        data.warehouse_stamp(), defn.name, defn.version, defn.text, selection.start,
        selection.end, selection.where, reference, own_engine)]
    unit = draft_total.meta.get("unit", defn.unit)
    here = "DuckDB" if engine_name(own_engine) == "duckdb" else engine_name(own_engine)
    st.markdown(f"**Other engines** ({subject}, whole period, same filters)")
    table = pd.DataFrame({
        "Engine": [c.engine for c in checks],
        "Value there": [format_value(c.value, unit) for c in checks],
        f"Here ({here})": [format_value(reference, unit)] * len(checks),
        "Same number?": [c.verdict + (f": {c.detail}" if c.detail and c.verdict != DIFFERENT
                                      else "") for c in checks],
    })
    st.dataframe(table, hide_index=True, key=f"{key}-engine-checks")
    reason = blocking_reason(checks, defn.name, action=action, here=here)
    if reason:
        st.error(escape_markdown(reason), icon=":material/block:")
    return reason


def show_result_preview(result: data.MetricResult, *, key: str) -> None:
    """The draft's own rows on the sidebar's filters (what the explorer would show)."""
    if not result.ok:
        st.error(f"The draft could not be computed: {escape_markdown(result.error)}",
                 icon=":material/error:")
    elif result.frame is None or result.frame.empty:
        st.caption("The draft returns no rows for this period and these filters.")
    else:
        rows = trend_table(result.frame, {**result.meta, "version": "draft"})
        rows.attrs = {}
        st.dataframe(rows, hide_index=True, key=f"{key}-rows")


def show_diff(diff: str, *, empty: str = "The texts are identical.") -> None:
    if diff:
        st.code(diff, language="diff")
    else:
        st.caption(empty)


# -- catalog facts -----------------------------------------------------------------------------
def next_version(name: str) -> int:
    """The number the next proposal of `name` will probably get (for labels only)."""
    return max(v["version"] for v in data.get_catalog().history(name)) + 1


def open_proposals(name: str) -> list[str]:
    """One sentence per proposal of `name` still waiting for approval."""
    return [f"v{p['version']} by {p['author']} is already waiting for "
            f"{', '.join(p['missing_teams']) or 'approval'}"
            + (" (stale: based on an older version)" if p["stale"] else "")
            for p in data.get_catalog().pending() if p["name"] == name]


def already_proposed(name: str, text: str) -> int | None:
    """The open proposal of `name` with exactly this text, if any (to avoid a duplicate)."""
    return next((p["version"] for p in data.get_catalog().pending()
                 if p["name"] == name and p["text"] == text), None)


def own_proposals(user: str | None) -> list[dict]:
    """The user's own proposals still waiting for others."""
    return [p for p in data.get_catalog().pending() if user and p["author"] == user]


# -- actions -----------------------------------------------------------------------------------
def history_links(name: str) -> tuple[tuple[str, str, str], ...]:
    """The link under an action's message: a metric's history page, or the Alerts page where a
    rule's history is shown."""
    if is_rule_key(name):
        return (("views/alerts.py", f"History of the rule {rule_name(name)}", ""),)
    return (("views/history.py", f"History of {name}", name),)


def _text_of(key: str) -> str:
    return str(st.session_state.get(key) or "").strip()


def propose(name: str, user: str | None, text_key: str, reason_key: str) -> None:
    """Callback: propose the editor's text as a new version, as the signed-in user."""
    reason = _text_of(reason_key)
    if not user:
        flash("warning", who_can_act(user, "propose a change"))
        return
    if not reason:
        flash("warning", "Say why you propose this change: the reviewers read it first, and "
                         "it stays in the history.")
        return
    catalog = data.get_catalog()
    try:
        version = catalog.propose(name, st.session_state.get(text_key) or "", author=user,
                                  reason=reason)
        teams = next(v["signoff_teams"] for v in catalog.history(name) if v["version"] == version)
    except MetricError as exc:
        flash("error", f"Not proposed: {exc}")
        return
    flash("success", f"Proposed v{version} of {subject(name)}. It goes live once "
                     f"{' and '.join(teams)} {'have' if len(teams) > 1 else 'has'} approved it; "
                     "the approvers find it in their review inbox.", links=history_links(name))


def decide(name: str, version: int, user: str | None, decision: str, comment_key: str) -> None:
    """Callback: approve or reject a proposed version, as the signed-in user."""
    comment = _text_of(comment_key)
    if not user:
        flash("warning", who_can_act(user, "review a proposal"))
        return
    catalog = data.get_catalog()
    try:
        if decision == "reject":
            if not comment:
                flash("warning", f"Say why you reject v{version} of {subject(name)}: the author "
                                 "reads your comment to redo it.")
                return
            catalog.reject(name, version, user=user, reason=comment)
            flash("info", f"Rejected v{version} of {subject(name)}; it stays in the history as "
                          "rejected.")
            return
        status = catalog.approve(name, version, user=user, comment=comment)
    except ConflictError as exc:
        flash("warning", f"Not approved, conflict: {exc}")
        return
    except MetricError as exc:
        flash("error", f"Not done: {exc}")
        return
    if status == "active" and is_rule_key(name):
        flash("success", f"v{version} of {subject(name)} is now active: the next "
                         "`python -m metrics alerts run` judges the warehouse with it.",
              links=history_links(name))
    elif status == "active":
        flash("success", f"v{version} of {name} is now active: every page computes {name} with "
                         "it from now on, and its charts mark the change.",
              links=history_links(name))
    else:
        missing = next((v["missing_teams"] for v in catalog.history(name)
                        if v["version"] == version), [])
        flash("success", f"Approved v{version} of {subject(name)}; it is still proposed and now "
                         "waits "
                         f"for {' and '.join(missing) or 'the other team'}.")


def rollback_form(name: str, user: str | None, earlier: list[int], *, key: str, label: str,
                  placeholder: str) -> None:
    """Choose an earlier live version and say why: a rollback is proposed like any change."""
    with st.form(key, border=False):
        st.selectbox(label, list(reversed(earlier)), key=f"{key}-to",
                     format_func=lambda v: f"v{v} (live until a later version replaced it)")
        st.text_input("Reason", key=f"{key}-reason", placeholder=placeholder)
        st.form_submit_button("Propose the rollback", icon=":material/history:",
                              on_click=roll_back, args=(name, user, f"{key}-to", f"{key}-reason"))


def roll_back(name: str, user: str | None, version_key: str, reason_key: str) -> None:
    """Callback: propose an earlier live version again (same sign-off as any change)."""
    target = st.session_state.get(version_key)
    if not user:
        flash("warning", who_can_act(user, "roll back"))
        return
    if target is None:
        flash("warning", "Choose the version to go back to.")
        return
    try:
        version = data.get_catalog().rollback(name, int(target), author=user,
                                              reason=_text_of(reason_key))
    except MetricError as exc:
        flash("error", f"Not rolled back: {exc}")
        return
    flash("success", f"Proposed v{version} of {subject(name)}, a copy of v{target}. Like any "
                     "change it goes live once the owning teams have approved it in the review "
                     "inbox.", links=(("views/inbox.py", "Review inbox", name),))


# -- tables ------------------------------------------------------------------------------------
def _when(stamp: str | None) -> str:
    if not stamp:
        return ""
    moment = dt.datetime.fromisoformat(stamp).astimezone(dt.UTC)
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def approvals_text(version: dict) -> str:
    """'marketing: cmo@example.com approved (2026-11-22 10:01 UTC)' per decision, '; '-joined."""
    return "; ".join(
        f"{a['team'] or '-'}: {a['user']} "
        f"{'approved' if a['decision'] == 'approve' else 'rejected'}"
        f" ({_when(a['decided_at'])})" + (f" \"{a['comment']}\"" if a["comment"] else "")
        for a in version["approvals"])


def versions_table(history: list[dict]) -> pd.DataFrame:
    """One row per version, newest first, for the history page (every value a cell)."""
    rows = [{
        "Version": f"v{v['version']}",
        "Status": v["status"] + (" (stale)" if v.get("stale") else ""),
        "Author": v["author"],
        "Created (UTC)": _when(v["created_at"]),
        "Reason": v["reason"],
        "Approvals": approvals_text(v),
        "Waiting for": ", ".join(v["missing_teams"]),
        "Active since (UTC)": _when(v["activated_at"]),
        "Based on": f"v{v['base_version']}" if v["base_version"] else "",
        "Sign-off by": ", ".join(v["signoff_teams"]),
    } for v in reversed(history)]
    return pd.DataFrame(rows)


def audit_table(entries: list[dict]) -> pd.DataFrame:
    """The audit log as a table (details as JSON text)."""
    return pd.DataFrame([{
        "At (UTC)": _when(e["at"]), "User": e["user"], "Action": e["action"],
        "Metric": e["name"] or "", "Version": f"v{e['version']}" if e["version"] else "",
        "Details": json.dumps(e["details"], sort_keys=True, ensure_ascii=False),
    } for e in entries], columns=["At (UTC)", "User", "Action", "Metric", "Version", "Details"])


def text_key(name: str, version: int) -> str:
    """The editor's text-area key: one per metric and active version, so a new active version
    (or another metric) starts from its own text instead of a stale draft."""
    return f"draft-{name}-v{version}"


def widget_key(*parts: object) -> str:
    """A stable, short widget key from arbitrary parts."""
    return "k-" + hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:12]


# -- one proposal in the inbox ---------------------------------------------------------------
def conflict_sentence(item: dict) -> str:
    """Why a stale proposal cannot be approved, and how to redo it."""
    active = item.get("active_version")
    based = f"on top of v{item['base_version']}" if item["base_version"] else "as a new metric"
    return (f"Conflict: v{item['version']} was proposed {based}, but v{active} has become "
            f"active since, so approving it would silently undo v{active}. Redo the edit on "
            f"v{active} in the editor and propose it again; then reject v{item['version']}.")


def proposal_facts(item: dict, *, new_thing: str) -> None:
    """Who proposed it, on what base, who signed so far and who is awaited; then the reason,
    as plain text (a metric's and an alert rule's proposals read the same)."""
    approved = [a for a in item["approvals"] if a["decision"] == "approve"]
    facts = [f"Proposed by {item['author']} on {_when(item['created_at'])}",
             f"based on v{item['base_version']}" if item["base_version"] else new_thing,
             f"sign-off by {', '.join(item['signoff_teams'])}",
             "approved so far by " + (", ".join(f"{a['team']} ({a['user']})"
                                                for a in approved) or "nobody"),
             f"waiting for {', '.join(item['missing_teams'])}"]
    if item.get("restores_version"):
        facts.append(f"rolls back to v{item['restores_version']}")
    st.markdown(escape_markdown(" · ".join(facts)))
    st.caption("Reason given by the author")
    st.text(item["reason"] or "(no reason given)")


def show_proposal(item: dict, selection: Selection, user: str | None) -> None:
    """One proposal waiting for the user: who, why, what it changes, and the decision."""
    catalog = data.get_catalog()
    name, version = item["name"], item["version"]
    defn = catalog.definition(name, version)
    approving = catalog.roles.approving_teams(user, item["missing_teams"]) if user else ()
    with st.container(border=True):
        st.subheader(f"{safe_label(defn)} · `{name}` v{version}")
        proposal_facts(item, new_thing="a new metric")
        if item["stale"]:
            st.warning(escape_markdown(conflict_sentence(item)), icon=":material/sync_problem:")
            st.page_link("views/editor.py", label=f"Open {name} v{item['active_version']} in the "
                         "editor", icon=":material/edit:",
                         query_params=link_params(metric=name))
        active = item.get("active_version")
        if active is not None:
            with st.expander(f"Impact: v{active} (active) vs v{version}", expanded=True,
                             icon=":material/compare_arrows:"):
                show_impact(version_results(name, active, selection),
                            version_results(name, version, selection), defn=defn,
                            old_name=f"v{active}", new_name=f"v{version}",
                            selection=selection, key=widget_key("impact", name, version))
                if name == RULE_NAME:
                    show_rule_impact(catalog.definition(name, active), defn, selection,
                                     old_name=f"v{active} (active)",
                                     new_name=f"v{version} (proposed)")
        base = item["base_version"]
        with st.expander(f"Changes to the text since v{base}" if base else "Definition text",
                         icon=":material/difference:", expanded=True):
            show_diff(catalog.diff(name, base, version) if base else
                      text_diff_new(defn.text, name, version))
        # The number on every other configured engine, checked again now: the data there may
        # have changed since it was proposed, and a version that answers otherwise on one of
        # them is never approved silently.
        engine_block = show_engine_checks(defn, selection, version_results(
            name, version, selection)[1], key=widget_key("engines", name, version),
            subject=f"v{version}", action="approved")
        comment_key = widget_key("comment", name, version)
        st.text_input("Comment (required to reject)", key=comment_key)
        buttons = st.container(horizontal=True)
        buttons.button(f"Approve for {approving[0]}" if approving else "Approve", type="primary",
                       icon=":material/check:", key=widget_key("approve", name, version),
                       disabled=bool(item["stale"] or not approving or engine_block),
                       on_click=decide,
                       args=(name, version, user, "approve", comment_key))
        buttons.button("Reject", icon=":material/close:", key=widget_key("reject", name, version),
                      on_click=decide, args=(name, version, user, "reject", comment_key))


def text_diff_new(text: str, name: str, version: int) -> str:
    return text_diff("", text, old_label="(nothing)", new_label=f"{name} v{version}")


def pending_table(items: list[dict]) -> pd.DataFrame:
    """Every open proposal, for the read-only overview under the inbox."""
    return pd.DataFrame([{
        "Metric": subject(i["name"]), "Version": f"v{i['version']}", "Author": i["author"],
        "Created (UTC)": _when(i["created_at"]), "Reason": i["reason"],
        "Waiting for": ", ".join(i["missing_teams"]),
        "Conflict": "stale: based on an older version" if i["stale"] else "",
    } for i in items], columns=["Metric", "Version", "Author", "Created (UTC)", "Reason",
                                "Waiting for", "Conflict"])
