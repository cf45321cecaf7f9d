"""Every page renders on the demo warehouse, follows the filters and says when there is no data."""

from __future__ import annotations

import pytest

PAGES = ["pages/overview.py", "pages/funnel.py", "pages/sla.py", "pages/volume.py",
         "pages/campaigns.py", "pages/definitions.py", "pages/metric_detail.py"]


def _texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [f"{m.label}={m.value}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_exception(app, page):
    at = app(None if page == "pages/overview.py" else page)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title and at.title[0].value


def test_overview_shows_the_eight_scorecard_metrics_with_versions(app):
    at = app()
    labels = [m.label for m in at.metric]
    assert len(labels) == 8
    assert "MQL → SAL acceptance rate" in labels and "Marketing CAC" in labels
    assert all("v1" in c.value for c in at.caption if "Owners:" in c.value)


def test_changing_a_filter_changes_the_numbers(app):
    at = app()
    before = {m.label: m.value for m in at.metric}
    at.multiselect(key="segment").set_value(["Enterprise"]).run()
    after = {m.label: m.value for m in at.metric}
    assert not at.exception
    assert before != after
    assert at.query_params["segment"] == ["Enterprise"]


def test_query_params_round_trip_into_the_filters(app):
    at = app(segment=["SMB"], grain="quarter", range="last_quarter")
    assert at.multiselect(key="segment").value == ["SMB"]
    assert at.segmented_control(key="grain").value == "quarter"
    assert at.selectbox(key="range").value == "last_quarter"
    assert "Segment: SMB" in _texts(at)


@pytest.mark.parametrize("page", PAGES[:5])
def test_a_period_with_no_data_shows_the_empty_state(app, page):
    at = app(None if page == "pages/overview.py" else page, range="custom",
             **{"from": "2015-01-01", "to": "2015-03-31"})
    assert not at.exception, [e.value for e in at.exception]
    if page == "pages/overview.py":
        assert all(m.value == "—" for m in at.metric)
    else:
        assert at.info, "expected an explanatory message for an empty selection"


def test_metric_explorer_breaks_down_by_segment(app):
    at = app("pages/metric_detail.py", metric="win_rate", by="segment")
    assert not at.exception
    assert at.selectbox(key="metric").value == "win_rate"
    assert any("win_rate" in c.value and "v1" in c.value for c in at.caption)


def test_campaign_drill_down_to_a_lead_journey(app):
    at = app("pages/campaigns.py")
    campaign = at.selectbox(key="drill_campaign")
    campaign.set_value(campaign.options[0] if not hasattr(campaign, "_options") else None)
    at.run()
    assert not at.exception
