"""The Reviews page: freeze the current view, open it read-only, compare with live, write a
decision and an action (as plain text), and see a viewer's read-only page.

Each test gets its own catalog (METRICS_CATALOG points at a fresh file), as in
test_definitions_workflow; people come from roles.toml through local mode's ?as=<email>.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

import metrics
from metrics.review import freeze_review
from metrics.selection import LeadFilter, Selection, resolve_range

PAGE = "views/reviews.py"
CMO, VIEWER = "cmo@example.com", "analyst@example.com"


@pytest.fixture
def catalog(fresh_catalog):
    return fresh_catalog


def texts(at) -> str:
    kinds = ("error", "warning", "info", "success", "markdown", "caption", "subheader")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def plain(text: str) -> str:
    """Markdown as a reader sees it: no escapes, no code ticks (emails are shown as code)."""
    return text.replace("\\", "").replace("`", "")


def button(at, label: str):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r}: {[b.label for b in at.button]}"
    return matches[0]


def test_freeze_this_review_then_it_opens_frozen(app, catalog):
    at = app(PAGE, **{"as": CMO})
    assert not at.exception, [e.value for e in at.exception]
    assert "No review is frozen yet" in texts(at)
    at.text_input[0].set_value("Board <b>prep</b>")
    button(at, "Freeze this review").click().run()
    assert not at.exception, [e.value for e in at.exception]
    saved = catalog.snapshots()
    assert [s["title"] for s in saved] == ["Board <b>prep</b>"]
    assert at.query_params["review"] in (str(saved[0]["id"]), [str(saved[0]["id"])])
    shown = texts(at)
    assert "Froze review #1" in plain(shown) and "Frozen on" in shown
    # The title is text, never markup: its brackets arrive escaped.
    assert r"Board \<b\>prep\</b\>" in shown
    assert "Scorecard (frozen)" in shown and "Since this review" in shown
    assert "No scorecard number moved and no definition changed" in shown
    assert any(b.label == "Download the PDF pack" for b in at.get("download_button"))
    assert catalog.audit()[0]["action"] == "save_snapshot"


def _frozen(catalog) -> int:
    wh = metrics.open_warehouse(catalog=catalog)
    start, end = resolve_range("last_12_months", wh.as_of)
    review_id = freeze_review(wh, catalog, Selection(start, end, "month", LeadFilter(),
                                                     "Last 12 months", as_of=wh.as_of),
                              title="December review", user=CMO)
    wh.close()
    return review_id


def test_a_decision_and_an_action_are_written_and_carried_to_the_next_review(app, catalog):
    first = _frozen(catalog)
    at = app(PAGE, **{"as": CMO, "review": str(first)})
    assert not at.exception, [e.value for e in at.exception]
    at.text_area[0].set_value("Count [SQLs](javascript:alert(1)) as accepted")
    button(at, "Add to the review").click().run()
    assert not at.exception, [e.value for e in at.exception]
    items = catalog.review_items(first)
    assert [(i["kind"], i["text"]) for i in items] == [
        ("decision", "Count [SQLs](javascript:alert(1)) as accepted")]
    assert r"Count \[SQLs\]\(javascript\:alert\(1\)\) as accepted" in texts(at)

    catalog.add_review_item(first, "action", "Call back untouched MQLs", user=CMO,
                            owner_team="sales", due_on="2030-01-31")
    second = _frozen(catalog)
    at = app(PAGE, **{"as": CMO, "review": str(second)})
    assert not at.exception, [e.value for e in at.exception]
    shown = texts(at)
    assert "Still open from earlier reviews" in shown and "Call back untouched MQLs" in shown
    done = [b for b in at.button if b.label == "Done" and "carried" in b.key]
    done[0].click().run()
    assert catalog.open_actions() == []
    assert catalog.audit()[0]["action"] == "action_done"


def test_a_viewer_reads_a_review_but_writes_nothing(app, catalog):
    review_id = _frozen(catalog)
    at = app(PAGE, **{"as": VIEWER, "review": str(review_id)})
    assert not at.exception, [e.value for e in at.exception]
    shown = texts(at)
    assert "December review" in shown and "Frozen on" in shown
    assert "Editors, approvers and admins write decisions" in shown
    assert not [b for b in at.button if b.label == "Add to the review"]


def test_an_event_marked_on_the_reviews_page_shows_on_trend_charts_as_text(app, catalog):
    wh = metrics.open_warehouse(catalog=catalog)
    day = (wh.as_of - dt.timedelta(days=60)).date()
    wh.close()
    at = app(PAGE, **{"as": "marketing.ops@example.com"})
    at.date_input(key="event_day").set_value(day)
    at.text_input(key="event_text").set_value("Pricing *change* <b>now</b>")
    button(at, "Mark the event").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [a["text"] for a in catalog.annotations()] == ["Pricing *change* <b>now</b>"]

    at = app("views/metric_detail.py", metric="mqls")
    assert not at.exception, [e.value for e in at.exception]
    caption = "\n".join(str(c.value) for c in at.caption)
    assert f"events: {day:%d %b %Y} Pricing \\*change\\* \\<b\\>now\\</b\\>" in caption
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    events = [trace for trace in figure["data"] if trace.get("name") == "Events"]
    assert events and events[0]["hovertext"] == [
        f"{day:%d %b %Y}: Pricing *change* &lt;b&gt;now&lt;/b&gt;"]


def test_the_metric_explorer_draws_the_plan_of_each_period(app, catalog):
    wh = metrics.open_warehouse(catalog=catalog)
    start, _ = resolve_range("last_12_months", wh.as_of)
    wh.close()
    quarter = dt.date(start.year, 3 * ((start.month - 1) // 3) + 1, 1)
    catalog.set_period_targets([("mqls", "quarter", quarter, 300)], user=CMO)
    at = app("views/metric_detail.py", metric="mqls")
    assert not at.exception, [e.value for e in at.exception]
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    plan = [trace for trace in figure["data"] if trace.get("name") == "Target (plan)"]
    assert plan and set(plan[0]["y"]) == {100.0}  # a third of the quarter's 300 per month
    assert "Attainment uses the plan's target of each period" in "\n".join(
        str(c.value) for c in at.caption)

    reviews_page = app(PAGE, **{"as": CMO})
    assert not reviews_page.exception
    assert "Import the plan" not in [b.label for b in reviews_page.button]  # no file yet


def test_the_scorecard_says_what_moved_since_the_last_review(app, catalog):
    at = app(None)
    assert not at.exception and not at.expander  # no review yet: nothing to say
    review_id = _frozen(catalog)
    text = catalog.text("mql_to_sal_rate").replace(
        "CASE WHEN first_sal_at IS NOT NULL THEN 1 ELSE 0 END AS numerator",
        "CASE WHEN first_sql_at IS NOT NULL THEN 1 ELSE 0 END AS numerator")
    version = catalog.propose("mql_to_sal_rate", text, author="marketing.ops@example.com")
    catalog.approve("mql_to_sal_rate", version, user=CMO)
    catalog.approve("mql_to_sal_rate", version, user="vp.sales@example.com")
    at = app(None)
    assert not at.exception, [e.value for e in at.exception]
    label = plain(at.expander[0].label)
    assert label.startswith(f"Since the last review, #{review_id} December review")
    assert "1 of 8 scorecard numbers moved" in label
    assert "definition of mql_to_sal_rate changed v1 → v2" in plain(texts(at))
