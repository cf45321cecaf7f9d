"""Every page renders on the demo warehouse, follows the filters and says when there is no data."""

from __future__ import annotations

import pytest

PAGES = ["views/overview.py", "views/funnel.py", "views/sla.py", "views/volume.py",
         "views/campaigns.py", "views/lead_scoring.py", "views/definitions.py",
         "views/metric_detail.py"]


def _texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [f"{m.label}={m.value}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_exception(app, page):
    at = app(None if page == "views/overview.py" else page)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title and at.title[0].value


def test_overview_shows_the_eight_scorecard_metrics_with_versions(app):
    at = app()
    labels = [m.label for m in at.metric]
    assert len(labels) == 8
    assert "MQL → SAL acceptance rate" in labels and "Marketing CAC" in labels
    assert all("v1" in c.value for c in at.caption if "Owners:" in c.value)


# AppTest drops the router's (app.py) sidebar widgets from its tree after a rerun when the app
# uses st.navigation, so filter changes are tested as fresh sessions opened on a URL -- which
# is exactly how a shared link arrives. The browser test clicks the real widgets.


def test_changing_a_filter_changes_the_numbers(app):
    everyone = {m.label: m.value for m in app().metric}
    enterprise = app(segment=["Enterprise"])
    assert not enterprise.exception
    assert enterprise.multiselect(key="segment").value == ["Enterprise"]
    assert everyone != {m.label: m.value for m in enterprise.metric}


def test_query_params_round_trip_into_the_filters(app):
    # The URL carries option labels, as the router writes them: ?range=Last+quarter&grain=Quarter
    at = app(segment=["SMB"], grain=["Quarter"], range=["Last quarter"])
    assert at.multiselect(key="segment").value == ["SMB"]
    assert at.segmented_control(key="grain").value == "quarter"
    assert at.selectbox(key="range").value == "last_quarter"
    assert "Segment: SMB" in _texts(at) and "Last quarter" in _texts(at)


@pytest.mark.parametrize("page", PAGES[:5])
def test_a_period_with_no_data_shows_the_empty_state(app, page):
    at = app(None if page == "views/overview.py" else page, range=["Custom"],
             **{"from": ["2015-01-01"], "to": ["2015-03-31"]})
    assert not at.exception, [e.value for e in at.exception]
    if page == "views/overview.py":
        assert all(m.value == "—" for m in at.metric)
    else:
        assert at.info, "expected an explanatory message for an empty selection"


def test_metric_explorer_breaks_down_by_segment(app):
    at = app("views/metric_detail.py")
    at.selectbox(key="metric").set_value("win_rate").run()
    at.segmented_control(key="by").set_value("segment").run()
    assert not at.exception
    assert at.selectbox(key="metric").value == "win_rate"
    assert any("win_rate" in c.value and "v1" in c.value for c in at.caption)


def test_campaign_drill_down_to_a_lead_journey(app):
    at = app("views/campaigns.py")
    import os

    import metrics
    from metrics.analysis import campaign_performance

    wh = metrics.open_warehouse(os.environ["METRICS_WAREHOUSE"])
    busiest = campaign_performance(wh).sort_values("leads").iloc[-1]["campaign_id"]
    wh.close()
    at.selectbox(key="drill_campaign").set_value(busiest).run()
    assert not at.exception
    leads = at.selectbox(key="lead")
    leads.set_value(leads.options[0]).run()
    assert not at.exception
    assert any("Journey of lead" in str(c.value) or "journey" in str(c.value) for c in at.caption)


@pytest.mark.parametrize("model", ["first_touch", "last_touch", "linear", "u_shaped", "w_shaped",
                                   "time_decay"])
def test_every_attribution_model_renders(app, model):
    at = app("views/campaigns.py")
    at.segmented_control(key="model").set_value(model).run()
    assert not at.exception
    assert any("add up to 1" in c.value for c in at.caption)


def test_attribution_by_channel_names_channels_in_words(app):
    at = app("views/campaigns.py")
    at.segmented_control(key="level").set_value("channel").run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "attributed_pipeline" in d.value.columns)
    labels = set(table["label"].dropna())
    assert labels and not any("_" in label for label in labels), labels
    assert "Paid search" in labels
