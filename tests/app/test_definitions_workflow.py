"""Editing a definition in the app, two-team sign-off in the inbox, history and rollback.

Each test gets its own catalog (METRICS_CATALOG points at a fresh file; the app's cached
catalog is keyed by that path), so proposals and approvals never leak between tests. The app
is opened as a person from roles.toml through local mode's `?as=<email>`.
"""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest


from .conftest import APP

METRIC = "mql_to_sal_rate"
ACCEPTED_AT_SAL = "CASE WHEN first_sal_at IS NOT NULL THEN 1 ELSE 0 END AS numerator"
ACCEPTED_AT_SQL = "CASE WHEN first_sql_at IS NOT NULL THEN 1 ELSE 0 END AS numerator"


@pytest.fixture
def catalog(fresh_catalog):
    return fresh_catalog


@pytest.fixture
def open_as(app, catalog):
    """open_as(user, page, **query_params) -> AppTest, signed in (local mode) as `user`."""
    def make(user: str | None, page: str, **params):
        if user:
            params["as"] = user
        at = app(page, **params)
        assert not at.exception, [e.value for e in at.exception]
        return at

    return make


def _stricter(catalog, name: str = METRIC) -> str:
    return catalog.text(name).replace(ACCEPTED_AT_SAL, ACCEPTED_AT_SQL)


def _button(at, prefix: str):
    matches = [b for b in at.button if b.label.startswith(prefix)]
    assert matches, f"no button starting with {prefix!r}: {[b.label for b in at.button]}"
    return matches[0]


def _texts(at, *kinds: str) -> str:
    kinds = kinds or ("error", "warning", "info", "success", "markdown", "caption")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def _frame(at, column: str):
    """The first table on the page with this column (AppTest dataframes carry no key)."""
    for element in at.dataframe:
        if column in element.value.columns:
            return element.value
    raise AssertionError(f"no table with a {column!r} column")


def _plain(text: str) -> str:
    """Markdown-escaped text as a reader sees it (escapes and code-span fences dropped)."""
    return text.replace("\\", "").replace("`", "")


def _edit(at, text: str):
    at.text_area[0].set_value(text).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# -- editor -------------------------------------------------------------------------------------
@pytest.mark.parametrize("change, where, message", [
    (("first_sal_at IS NOT NULL", "first_sal_att IS NOT NULL"), "Line 13, column",
     "first_sal_att"),
    (("FROM lead_lifecycle", "FROM lead_lifecycle JOIN secrets USING (lead_id)"),
     "Line 15, column", "unknown table"),
    (("FROM lead_lifecycle", "FROM read_csv('/etc/passwd')"), "Line 15, column",
     "not allowed"),
    (("WHERE first_mql_at IS NOT NULL", "WHERE first_mql_at IS NOT NULL; DROP TABLE leads"),
     "Line 12", "exactly one SELECT"),
    (("-- kind: ratio", "-- kind: fraction"), "Line 4", "kind must be one of"),
])
def test_invalid_sql_shows_the_error_with_its_position_and_cannot_be_proposed(
        open_as, catalog, change, where, message):
    at = open_as("marketing.ops@example.com", "views/editor.py", metric=METRIC)
    _edit(at, catalog.text(METRIC).replace(*change))
    errors = _plain(_texts(at, "error"))
    assert where in errors and message in errors, errors
    assert _button(at, "Propose").disabled
    assert not at.metric, "no impact preview for an invalid draft"
    assert [v["version"] for v in catalog.history(METRIC)] == [1]


def test_the_editor_starts_from_the_active_text_and_says_it_is_unchanged(open_as, catalog):
    at = open_as("marketing.ops@example.com", "views/editor.py", metric=METRIC)
    assert at.text_area[0].value == catalog.text(METRIC)
    assert any(c.language == "sql" for c in at.code)
    assert "identical to the active version" in _texts(at, "info")
    assert _button(at, "Propose v2").disabled


def test_a_valid_change_shows_its_impact_and_an_editor_proposes_v2(open_as, catalog):
    at = open_as("marketing.ops@example.com", "views/editor.py", metric=METRIC)
    _edit(at, _stricter(catalog))
    assert "Valid" in _texts(at, "success")
    summary = _plain(_texts(at, "info"))
    assert "The draft lowers MQL → SAL acceptance rate from" in summary and "vs v1" in summary
    assert [m.label for m in at.metric] == ["v1 (active), whole period", "draft, whole period"]
    impact = _frame(at, "v1 (active)")
    assert list(impact.columns)[:3] == ["Period", "v1 (active)", "draft"]
    assert (impact["draft"] <= impact["v1 (active)"]).all()
    diff = next(c.value for c in at.code if c.language == "diff")
    assert f"-       {ACCEPTED_AT_SAL}" in diff and f"+       {ACCEPTED_AT_SQL}" in diff

    button = _button(at, "Propose v2")
    assert not button.disabled
    at.text_input(key="propose-reason").input("Accepted means sales qualified it")
    button.click().run()
    assert "Proposed v2 of mql_to_sal_rate" in _plain(_texts(at, "success"))
    v2 = catalog.history(METRIC)[-1]
    assert (v2["version"], v2["status"], v2["author"]) == (2, "proposed",
                                                           "marketing.ops@example.com")
    assert v2["reason"] == "Accepted means sales qualified it"
    assert v2["signoff_teams"] == ["marketing", "sales"]
    assert catalog.active_version(METRIC) == 1
    assert "already proposed as v2" in _texts(at, "info")
    assert _button(at, "Propose v3").disabled


def test_proposing_needs_a_reason(open_as, catalog):
    at = open_as("marketing.ops@example.com", "views/editor.py", metric=METRIC)
    _edit(at, _stricter(catalog))
    _button(at, "Propose v2").click().run()
    assert "Say why" in _plain(_texts(at, "warning"))
    assert len(catalog.history(METRIC)) == 1


@pytest.mark.parametrize("user, why", [
    ("analyst@example.com", "is a viewer and cannot propose"),
    ("nobody@example.com", None),  # not in roles.toml: cannot be picked, so not signed in
    (None, "Pick who you are"),
])
def test_people_who_may_not_propose_are_told_why(open_as, catalog, user, why):
    at = open_as(user, "views/editor.py", metric=METRIC)
    _edit(at, _stricter(catalog))
    warning = _plain(_texts(at, "warning"))
    assert (why or "Pick who you are") in warning
    assert not [b for b in at.button if b.label.startswith("Propose")]
    assert "Valid" in _texts(at, "success"), "the draft is still checked against the schema"
    # The draft never runs on the warehouse for them: no numbers, chart or rows of it.
    assert not at.metric and not at.get("plotly_chart") and not at.dataframe
    assert "shown to the people who may propose changes to mql_to_sal_rate" in \
        _texts(at, "caption")


def test_a_sales_editor_cannot_propose_or_preview_a_marketing_only_metric(open_as, catalog):
    at = open_as("sales.ops@example.com", "views/editor.py", metric="mqls")
    assert "owned by marketing" in _plain(_texts(at, "warning"))
    assert not [b for b in at.button if b.label.startswith("Propose")]
    _edit(at, catalog.text("mqls").replace("-- label: MQLs", "-- label: MQLs (draft)"))
    assert "Valid" in _texts(at, "success")
    assert not at.metric and not at.get("plotly_chart")


# -- inbox --------------------------------------------------------------------------------------
def test_marketing_approval_keeps_it_pending_and_sales_approval_makes_it_active(
        open_as, catalog):
    version = catalog.propose(METRIC, _stricter(catalog), author="marketing.ops@example.com",
                              reason="stricter acceptance")
    at = open_as("cmo@example.com", "views/inbox.py")
    assert "stricter acceptance" in [t.value for t in at.text]
    assert "v2 lowers MQL → SAL acceptance rate" in _plain(_texts(at, "info"))
    assert any(c.language == "diff" for c in at.code)
    at.text_input[0].input("fine for marketing")
    _button(at, "Approve for marketing").click().run()
    assert "still proposed and now waits for sales" in _plain(_texts(at, "success"))
    assert catalog.history(METRIC)[-1]["status"] == "proposed"
    assert catalog.active_version(METRIC) == 1

    at = open_as("vp.sales@example.com", "views/inbox.py")
    assert "approved so far by marketing (cmo@example.com)" in _plain(_texts(at, "markdown"))
    _button(at, "Approve for sales").click().run()
    assert f"v{version} of {METRIC} is now active" in _plain(_texts(at, "success"))
    assert catalog.active_version(METRIC) == 2
    approvals = {a["team"]: a["user"] for a in catalog.history(METRIC)[-1]["approvals"]}
    assert approvals == {"marketing": "cmo@example.com", "sales": "vp.sales@example.com"}


def test_nobody_approves_their_own_proposal(open_as, catalog):
    catalog.propose(METRIC, _stricter(catalog), author="cmo@example.com", reason="mine")
    at = open_as("cmo@example.com", "views/inbox.py")
    assert not [b for b in at.button if b.label.startswith("Approve")]
    assert "Nothing is waiting for your sign-off" in _texts(at, "success")
    assert "Nobody approves their own proposal" in _texts(at, "caption")
    assert _frame(at, "Waiting for")["Version"].tolist() == ["v2"]

    other = open_as("demand.gen@example.com", "views/inbox.py")
    assert not _button(other, "Approve for marketing").disabled


def test_a_stale_proposal_is_shown_as_a_conflict_with_a_way_to_redo_it(open_as, catalog):
    first = catalog.propose(METRIC, _stricter(catalog), author="marketing.ops@example.com")
    other = catalog.text(METRIC).replace("1 AS denominator", "1.0 AS denominator")
    stale = catalog.propose(METRIC, other, author="sales.ops@example.com", reason="floats")
    catalog.approve(METRIC, first, user="cmo@example.com")
    assert catalog.approve(METRIC, first, user="vp.sales@example.com") == "active"

    at = open_as("sales.director@example.com", "views/inbox.py")
    warning = _plain(_texts(at, "warning"))
    assert (f"Conflict: v{stale} was proposed on top of v1, but v{first} has become active"
            in warning)
    assert _button(at, "Approve").disabled
    link = at.get("page_link")[0].proto
    assert "editor" in link.page and f"metric={METRIC}" in link.query_string
    assert "Reject" in [b.label for b in at.button]


def test_rejecting_needs_a_comment_and_is_recorded(open_as, catalog):
    version = catalog.propose(METRIC, _stricter(catalog), author="marketing.ops@example.com")
    at = open_as("vp.sales@example.com", "views/inbox.py")
    _button(at, "Reject").click().run()
    assert "Say why you reject" in _plain(_texts(at, "warning"))
    at.text_input[0].input("SQL is too late in the funnel")
    _button(at, "Reject").click().run()
    assert f"Rejected v{version}" in _plain(_texts(at, "info"))
    assert catalog.history(METRIC)[-1]["status"] == "rejected"


def test_user_text_is_shown_as_text_never_as_markdown_or_html(open_as, catalog):
    hostile = "<img src=x onerror=alert(1)> [click](javascript:alert(1)) :red[**loud**]"
    catalog.propose(METRIC, _stricter(catalog), author="marketing.ops@example.com",
                    reason=hostile)
    at = open_as("cmo@example.com", "views/inbox.py")
    assert hostile in [t.value for t in at.text]
    rendered = "\n".join(m.value for m in at.markdown)
    assert "<img" not in rendered and "](javascript" not in rendered


# -- history, rollback, markers -----------------------------------------------------------------
def _activate_v2(catalog) -> int:
    version = catalog.propose(METRIC, _stricter(catalog), author="marketing.ops@example.com",
                              reason="stricter acceptance")
    catalog.approve(METRIC, version, user="cmo@example.com", comment="ok")
    assert catalog.approve(METRIC, version, user="vp.sales@example.com") == "active"
    return version


def test_history_lists_versions_diffs_and_rolls_back(open_as, catalog):
    _activate_v2(catalog)
    at = open_as("marketing.ops@example.com", "views/history.py", metric=METRIC)
    versions = _frame(at, "Approvals")
    assert versions["Version"].tolist() == ["v2", "v1"]
    assert versions["Status"].tolist() == ["active", "superseded"]
    assert versions["Author"].tolist() == ["marketing.ops@example.com", "file"]
    assert "marketing: cmo@example.com approved" in versions["Approvals"].iloc[0]
    diff = next(c.value for c in at.code if c.language == "diff")
    assert f"-       {ACCEPTED_AT_SAL}" in diff and f"+       {ACCEPTED_AT_SQL}" in diff

    at.selectbox(key="diff-from").set_value(2)
    at.selectbox(key="diff-to").set_value(1).run()
    diff = next(c.value for c in at.code if c.language == "diff")
    assert f"+       {ACCEPTED_AT_SAL}" in diff

    at.text_input(key="rollback-reason").input("back to the agreed definition")
    _button(at, "Propose the rollback").click().run()
    assert "Proposed v3 of mql_to_sal_rate, a copy of v1" in _plain(_texts(at, "success"))
    v3 = catalog.history(METRIC)[-1]
    assert (v3["status"], v3["restores_version"], v3["text"]) == ("proposed", 1,
                                                                  catalog.text(METRIC, 1))
    assert catalog.active_version(METRIC) == 2
    audit = _frame(at, "Action")
    assert {"propose", "approve", "activate", "rollback"} <= set(audit["Action"])


def test_the_chosen_metric_follows_from_the_editor_to_the_history(open_as):
    at = open_as("marketing.ops@example.com", "views/editor.py", metric="win_rate")
    assert at.selectbox(key="editor-metric").value == "win_rate"
    at.selectbox(key="editor-metric").set_value("mqls").run()
    at.switch_page("views/history.py").run()
    assert at.selectbox(key="history-metric").value == "mqls"
    assert at.query_params["metric"] == "mqls"


def test_local_mode_can_be_switched_off_in_secrets_too(catalog):
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["handoff"] = {"local_mode": False}
    at.run()
    assert "local mode is switched off" in at.error[0].value


def test_a_viewer_sees_history_but_cannot_roll_back(open_as, catalog):
    _activate_v2(catalog)
    at = open_as("analyst@example.com", "views/history.py", metric=METRIC)
    assert "is a viewer" in _plain(_texts(at, "warning"))
    assert not [b for b in at.button if b.label.startswith("Propose the rollback")]


def test_after_activation_the_overview_and_explorer_use_v2(open_as, catalog):
    _activate_v2(catalog)
    at = open_as(None, None)
    assert any(f"`{METRIC}` v2" in c.value for c in at.caption)
    at = open_as(None, "views/metric_detail.py")
    at.selectbox(key="metric").set_value(METRIC).run()
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    annotations = [a.get("text") for a in spec["layout"].get("annotations", [])]
    assert "v2 active" in annotations


@pytest.mark.parametrize("page", ["views/editor.py", "views/inbox.py", "views/history.py"])
@pytest.mark.parametrize("user", [None, "analyst@example.com", "revops.admin@example.com"])
def test_the_definition_pages_render_for_anyone(open_as, page, user):
    at = open_as(user, page)
    assert at.title and not at.error


# -- sign-in ------------------------------------------------------------------------------------
def test_local_mode_is_labelled_and_lists_everyone_in_roles_toml(open_as):
    at = open_as("vp.sales@example.com", None)
    picker = at.selectbox(key="acting-as")
    assert picker.value == "vp.sales@example.com"
    assert len(picker.options) == 8
    assert "Analyst · viewer · no team" in picker.options
    assert "VP Sales · approver · sales" in picker.options
    assert "LOCAL MODE" in _texts(at, "caption")
    assert at.query_params["as"] == "vp.sales@example.com"


def test_without_sign_in_and_with_local_mode_off_the_app_refuses(catalog, monkeypatch):
    monkeypatch.setenv("HANDOFF_LOCAL_MODE", "0")
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["as"] = "cmo@example.com"
    at.run()
    assert not at.exception
    assert "local mode is switched off" in at.error[0].value
    assert not at.selectbox and not at.metric


def test_with_oidc_configured_people_sign_in_and_are_known_by_email(catalog):
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback",
                          "cookie_secret": "x" * 32, "client_id": "handoff",
                          "client_secret": "s", "server_metadata_url": "https://id.example/.wk"}
    at.user = {"is_logged_in": False}
    at.query_params["as"] = "cmo@example.com"  # ignored: local mode is off with [auth]
    at.run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.metric

    at.user = {"is_logged_in": True, "email": "VP.Sales@example.com", "email_verified": True}
    at.run()
    assert not at.exception
    assert "VP Sales <vp.sales@example.com> · approver · sales" in _plain(_texts(at, "markdown"))
    at.switch_page("views/inbox.py").run()
    assert not at.exception
    assert "Nothing is waiting for your sign-off" in _texts(at, "success")


# -- hostile text -------------------------------------------------------------------------------
HOSTILE_LABEL = ("Leads [click](https://evil.example/x) ![img](https://evil.example/p.png) "
                 "<b>bold</b> :red[loud] www.evil.example evil@example.com $x^2$")
# Fragments that would be a link, an image, HTML, a colour or maths if read as Markdown.
ACTIVE = ("[click](", "![img](", "<b>", ":red[", "$x^2$")
AUTO_LINKED = ("https://evil.example", "www.evil.example", "evil@example.com")


def _markdown_bodies(at) -> list[str]:
    """Every text on the page that Streamlit renders as Markdown."""
    bodies = [str(e.value) for kind in ("markdown", "caption", "title", "header", "subheader",
                                         "info", "warning", "error", "success")
              for e in getattr(at, kind)]
    bodies += [m.label for m in at.metric] + [e.label for e in at.expander]
    return bodies


def _outside_code_spans(markdown: str) -> str:
    return re.sub(r"(`+).+?\1", " ", markdown)


def _assert_shown_as_text(at) -> None:
    for body in _markdown_bodies(at):
        outside = _outside_code_spans(body)
        for fragment in ACTIVE:
            assert fragment not in outside, f"{fragment!r} is live Markdown in {body!r}"
        for address in AUTO_LINKED:
            assert address not in outside.replace("\\", ""), f"{address!r} auto-links in {body!r}"
    for texts in map(_chart_texts, at.get("plotly_chart")):
        assert not [t for t in texts if "<b>" in t or "<a " in t], f"plotly reads HTML in {texts}"


def _chart_texts(chart) -> list[str]:
    """A plotly chart's title, axis titles and trace names, as plotly reads them."""
    spec = json.loads(chart.proto.spec)
    layout = spec["layout"]
    titles = [layout.get("title", {}).get("text", "")]
    titles += [layout[a].get("title", {}).get("text", "") for a in layout if "axis" in a]
    return [t for t in titles + [d.get("name", "") for d in spec["data"]] if t]


def _with_label(text: str, label: str) -> str:
    return re.sub(r"(?m)^-- label: .*$", f"-- label: {label}", text, count=1)


def test_a_hostile_label_and_reason_show_as_text_on_every_definition_page(open_as, catalog):
    hostile = _with_label(catalog.text("mqls"), HOSTILE_LABEL)
    version = catalog.propose("mqls", hostile, author="marketing.ops@example.com",
                              reason="approved [link](https://evil.example) ![x](https://e.x/i.png)")
    assert catalog.approve("mqls", version, user="cmo@example.com") == "active"
    catalog.propose("mqls", hostile.replace("SELECT", "SELECT DISTINCT", 1),
                    author="marketing.ops@example.com", reason="<b>pending</b> www.evil.example")

    inbox = open_as("demand.gen@example.com", "views/inbox.py")
    assert any(HOSTILE_LABEL in _plain(s.value).replace("`", "") for s in inbox.subheader)
    assert inbox.get("plotly_chart"), "the impact chart, whose title names the label"
    assert any("&lt;b&gt;bold&lt;/b&gt;" in t for t in _chart_texts(inbox.get("plotly_chart")[0]))
    _assert_shown_as_text(inbox)

    editor = open_as("marketing.ops@example.com", "views/editor.py", metric="mqls")
    _edit(editor, editor.text_area[0].value.replace("SELECT", "SELECT DISTINCT", 1))
    assert editor.metric, "the editor's impact preview ran"
    _assert_shown_as_text(editor)

    history = open_as("marketing.ops@example.com", "views/history.py", metric="mqls")
    _assert_shown_as_text(history)

    glossary = open_as(None, "views/definitions.py")
    glossary.selectbox(key="definition").set_value("mqls").run()
    assert any("Leads" in m.value for m in glossary.markdown)
    _assert_shown_as_text(glossary)
