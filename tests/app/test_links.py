"""Every in-app link opens what it names: tile -> explorer, funnel -> explorer, definition ->
explorer, campaign -> its leads -> a lead's journey; and following links never grows the URL."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

PAGE_FILES = {"metric_detail": "views/metric_detail.py"}


def page_links(at) -> list[tuple[str, str, dict]]:
    return [(link.proto.label, link.proto.page, parse_qs(link.proto.query_string))
            for link in at.get("page_link")]


def follow(link, at_link: tuple[str, str, dict], params: dict):
    """Open the link's target as the browser would: its own parameters plus the sidebar's,
    which the bound widgets keep in the URL."""
    _, page, query = at_link
    return link(PAGE_FILES[page], {**params, **query})


@pytest.mark.parametrize("params", [{}, {"segment": ["SMB"]}, {"range": ["Last quarter"]}])
def test_every_tile_opens_its_own_metric_in_the_explorer(link, params):
    overview = link("views/overview.py", params)
    tiles = [x for x in page_links(overview) if x[0] == "Trend and breakdown"]
    assert len(tiles) == 8
    for tile in tiles:
        # Links carry only what they choose: the sidebar's parameters come from the widgets.
        assert set(tile[2]) == {"metric"}, tile
        explorer = follow(link, tile, params)
        assert not explorer.exception
        name = tile[2]["metric"][0]
        assert explorer.selectbox(key="metric").value == name
        assert explorer.query_params["metric"] == [name] or explorer.query_params["metric"] == name
        assert any(f"`{name}` v" in c.value or name in c.value for c in explorer.caption)


def test_the_funnel_link_opens_the_metric_it_names(link):
    funnel = link("views/funnel.py", {"region": ["EMEA"]})
    (explore,) = [x for x in page_links(funnel) if x[0] == "Explore any metric's trend"]
    explorer = follow(link, explore, {"region": ["EMEA"]})
    assert explorer.selectbox(key="metric").value == explore[2]["metric"][0]
    assert "Region: EMEA" in " ".join(c.value for c in explorer.caption)


def test_the_explorer_accepts_a_label_and_keeps_the_name_in_the_url(link):
    explorer = link("views/metric_detail.py", {"metric": ["Win rate"]})
    assert explorer.selectbox(key="metric").value == "win_rate"
    assert explorer.query_params["metric"] in ("win_rate", ["win_rate"])


def test_picking_another_metric_writes_it_to_the_url(link):
    explorer = link("views/metric_detail.py", {"metric": ["win_rate"]})
    explorer.selectbox(key="metric").set_value("mqls").run()
    assert explorer.selectbox(key="metric").value == "mqls"
    assert explorer.query_params["metric"] in ("mqls", ["mqls"])
    assert explorer.title[0].value == "MQLs"


def test_campaign_options_follow_the_channel(link):
    at = link("views/overview.py", {"channel": ["Events"]})
    campaigns = at.multiselect(key="campaign").options
    assert campaigns and all("(events)" in c for c in campaigns), campaigns


def test_a_campaign_opens_its_leads_and_its_won_leads_open_a_journey(link):
    import os

    import metrics
    from metrics.analysis import campaign_performance

    wh = metrics.open_warehouse(os.environ["METRICS_WAREHOUSE"])
    performance = campaign_performance(wh)
    wh.close()
    winner = performance.sort_values("won_revenue").iloc[-1]["campaign_id"]
    at = link("views/campaigns.py")
    at.selectbox(key="drill_campaign").set_value(winner).run()
    at.segmented_control(key="reached").set_value("won").run()
    assert not at.exception
    assert any("leads of" in m.value for m in at.markdown)
    leads = at.selectbox(key="lead")
    assert leads.options, "the campaign's won leads are listed"
    leads.set_value(leads.options[0]).run()
    assert not at.exception
    assert any("Journey of lead" in str(c.proto.spec) for c in at.get("plotly_chart"))
