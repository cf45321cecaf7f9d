"""Events on trend charts: who may mark them, what the catalog keeps, and that their text is
drawn as text (plotly's hover reads HTML, so it must arrive escaped)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from metrics.catalog import PermissionDeniedError, UnknownMetricError, open_catalog
from metrics.errors import CatalogError
from metrics.paths import METRICS_DIR
from ui.charts import trend_chart

ROLES = {"users": {"marketing.ops@example.com": {"teams": ["marketing"], "role": "editor"},
                   "analyst@example.com": {"teams": [], "role": "viewer"}}}
EDITOR, VIEWER = "marketing.ops@example.com", "analyst@example.com"


@pytest.fixture
def catalog(tmp_path):
    return open_catalog(tmp_path / "catalog.sqlite", ROLES, definitions_dir=METRICS_DIR)


def test_editors_mark_events_for_all_charts_or_one_metric(catalog):
    everywhere = catalog.add_annotation("2025-03-03", "  Pricing   change ", user=EDITOR)
    catalog.add_annotation(dt.date(2025, 2, 1), "New SDR team", user=EDITOR,
                           metric="sla_first_touch_compliance")
    assert [(a["on_date"], a["text"], a["metric"]) for a in catalog.annotations()] == [
        ("2025-02-01", "New SDR team", "sla_first_touch_compliance"),
        ("2025-03-03", "Pricing change", None)]
    # A metric's charts show the events of every chart and its own, not other metrics'.
    assert [a["text"] for a in catalog.annotations(metric="mqls")] == ["Pricing change"]
    catalog.remove_annotation(everywhere, user=EDITOR)
    assert [a["text"] for a in catalog.annotations(metric="mqls")] == []
    assert [e["action"] for e in catalog.audit()[:3]] == ["remove_annotation", "annotate",
                                                          "annotate"]
    assert catalog.audit()[0]["details"]["text"] == "Pricing change"


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(on_date="2025-03-03", text="x", user=VIEWER), PermissionDeniedError, "viewer"),
    (dict(on_date="3 March", text="x", user=EDITOR), CatalogError, "YYYY-MM-DD"),
    (dict(on_date="2025-03-03", text="  ", user=EDITOR), CatalogError, "say what happened"),
    (dict(on_date="2025-03-03", text="x", user=EDITOR, metric="nope"), UnknownMetricError,
     "no live metric 'nope'"),
])
def test_refused_events(catalog, kwargs, error, match):
    with pytest.raises(error, match=match):
        catalog.add_annotation(**kwargs)
    assert catalog.annotations() == []


def test_event_text_is_escaped_in_the_chart_hover():
    frame = pd.DataFrame({"period": [dt.date(2025, 1, 1), dt.date(2025, 2, 1)],
                          "value": [0.2, 0.4]})
    meta = {"label": "MQL → SAL", "unit": "percent", "grain": "month"}
    fig = trend_chart(frame, meta, title="t", grain="month",
                      events=((dt.date(2025, 1, 15), '<a href="https://evil.example">Launch</a>'),))
    events = [trace for trace in fig.data if trace.name == "Events"]
    assert len(events) == 1 and events[0].y == (0.4,)
    assert events[0].hovertext == (
        "15 Jan 2025: &lt;a href=&quot;https://evil.example&quot;&gt;Launch&lt;/a&gt;",)
