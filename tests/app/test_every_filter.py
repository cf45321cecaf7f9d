"""Every page under every sidebar filter, opened as a shared link opens it: the page URL with
the filter's query parameters, on a fresh session. No exception, no error box, and the
numbers follow the filter."""

from __future__ import annotations

import pytest

PAGES = ["views/overview.py", "views/funnel.py", "views/sla.py", "views/alerts.py",
         "views/volume.py", "views/campaigns.py", "views/lead_scoring.py", "views/definitions.py",
         "views/metric_detail.py", "views/editor.py", "views/inbox.py", "views/history.py",
         "views/import_data.py"]

# Bound widgets put their option labels in the URL (?channel=Paid+search), so a shared link
# carries labels; CAMPAIGN stands for the label of a paid-search campaign of the demo.
CAMPAIGN = "<a paid-search campaign>"
# One shape per sidebar control, all four lead filters together, and filters that match no
# lead (a contradictory pair) or no lead in the period.
FILTERS = {
    "none": {},
    "segment": {"segment": ["SMB"]},
    "two segments": {"segment": ["SMB", "Enterprise"]},
    "region": {"region": ["EMEA"]},
    "channel": {"channel": ["Paid search"]},
    "campaign": {"campaign": [CAMPAIGN]},
    "all four": {"segment": ["SMB"], "region": ["EMEA"], "channel": ["Paid search"],
                 "campaign": [CAMPAIGN]},
    "contradiction": {"channel": ["Events"], "campaign": [CAMPAIGN]},
    "this quarter": {"range": ["This quarter"]},
    "last quarter": {"range": ["Last quarter"]},
    "year to date": {"range": ["Year to date"]},
    "custom": {"range": ["Custom"], "from": ["2026-01-01"], "to": ["2026-03-31"]},
    "empty period": {"range": ["Custom"], "from": ["2015-01-01"], "to": ["2015-03-31"]},
    "week": {"grain": ["Week"]},
    "quarter": {"grain": ["Quarter"]},
}


@pytest.fixture
def link_with(link, demo_env):
    """`link`, with CAMPAIGN replaced by a real campaign label of the demo warehouse."""
    import os

    import metrics
    from metrics.analysis import campaign_channels, filter_options

    wh = metrics.open_warehouse(os.environ["METRICS_WAREHOUSE"])
    try:
        channels = campaign_channels(wh)
        label = next(text for cid, text in filter_options(wh)["campaign_id"]
                     if channels.get(cid) == "paid_search")
    finally:
        wh.close()

    def open_link(page: str, params: dict):
        return link(page, {k: [label if v == CAMPAIGN else v for v in values]
                           for k, values in params.items()})

    return open_link


def numbers(at) -> list[str]:
    """What a reader compares: metric values, and the data of every chart and table."""
    values = [f"{m.label}={m.value}" for m in at.metric]
    values += [str(c.proto.spec)[:20000] for c in at.get("plotly_chart")]
    values += [d.value.to_csv() for d in at.dataframe]
    return values


@pytest.mark.parametrize("shape", list(FILTERS))
@pytest.mark.parametrize("page", PAGES)
def test_page_opens_under_filter(link_with, page, shape):
    at = link_with(page, FILTERS[shape])
    assert not at.exception, [e.value for e in at.exception][:1]
    assert not at.error, [e.value for e in at.error][:2]
    assert at.title, "the page drew nothing"


FILTERED_PAGES = ["views/overview.py", "views/funnel.py", "views/sla.py", "views/volume.py",
                  "views/campaigns.py", "views/lead_scoring.py", "views/metric_detail.py"]


GRAIN_PAGES = ["views/sla.py", "views/volume.py", "views/metric_detail.py"]


@pytest.mark.parametrize(("page", "shape"), [
    *((page, shape) for page in FILTERED_PAGES
      for shape in ("segment", "region", "channel", "campaign", "last quarter")),
    *((page, shape) for page in GRAIN_PAGES for shape in ("week", "quarter"))])
def test_numbers_follow_the_filter(link_with, page, shape):
    unfiltered = numbers(link_with(page, {}))
    filtered = numbers(link_with(page, FILTERS[shape]))
    assert filtered and filtered != unfiltered


@pytest.mark.parametrize("page", FILTERED_PAGES)
def test_contradictory_filters_are_said_in_words(link_with, page):
    at = link_with(page, FILTERS["contradiction"])
    assert any("No lead matches" in w.value for w in at.warning), [w.value for w in at.warning]
