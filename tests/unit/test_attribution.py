"""Attribution credits: hand-counted on a four-touch journey, and summing to 1 per journey."""

from __future__ import annotations

import pandas as pd
import pytest

import metrics
from metrics.attribution import MODELS, attribution, attribution_credits
from metrics.build import build_warehouse

ts = pd.Timestamp


@pytest.fixture(scope="module")
def journey_warehouse(tmp_path_factory):
    """Lead A: touches on days 0, 10 (lead created on day 10), 20, 30; opportunity on day 30.
    Lead B: no marketing touch before its opportunity. Lead C: one touch, no campaign."""
    tables = {
        "campaigns": pd.DataFrame({"campaign_id": ["K1", "K2", "K3"], "name": ["Ad", "Webinar", "Event"],
                                   "channel": ["paid_search", "webinars", "events"],
                                   "cost": [100.0, 200.0, 300.0],
                                   "started_on": [pd.NaT] * 3, "ended_on": [pd.NaT] * 3}),
        "leads": pd.DataFrame({"lead_id": ["A", "B", "C"],
                               "created_at": [ts("2025-01-11"), ts("2025-01-01"), ts("2025-01-01")],
                               "segment": ["SMB", "SMB", "Enterprise"]}),
        "lead_events": pd.DataFrame({"event_id": ["e1", "e2", "e3"], "lead_id": ["A", "B", "C"],
                                     "stage": ["lead"] * 3,
                                     "occurred_at": [ts("2025-01-11"), ts("2025-01-01"), ts("2025-01-01")]}),
        "touches": pd.DataFrame({
            "touch_id": ["t1", "t2", "t3", "t4", "t5", "t6"],
            "lead_id": ["A", "A", "A", "A", "B", "C"],
            "occurred_at": [ts("2025-01-01"), ts("2025-01-11"), ts("2025-01-21"), ts("2025-01-31"),
                            ts("2025-03-01"), ts("2025-01-05")],
            "team": ["marketing"] * 6,
            "campaign_id": ["K1", "K2", "K1", "K3", "K1", None]}),
        "opportunities": pd.DataFrame({"opportunity_id": ["OA", "OB", "OC"], "lead_id": ["A", "B", "C"],
                                       "created_at": [ts("2025-01-31"), ts("2025-02-01"), ts("2025-02-01")],
                                       "amount": [1000.0, 500.0, 300.0], "status": ["won", "open", "open"]}),
    }

    def fill(con):
        for name, frame in tables.items():
            con.register("frame", frame)
            con.execute(f"INSERT INTO {name} ({', '.join(frame.columns)}) SELECT * FROM frame")
            con.unregister("frame")

    path = tmp_path_factory.mktemp("attr") / "warehouse.duckdb"
    build_warehouse(path, fill, as_of=ts("2025-03-31").to_pydatetime(), source="attribution test")
    wh = metrics.open_warehouse(path)
    yield wh
    wh.close()


def _weights(wh, model, **kwargs) -> list[float]:
    credits = attribution_credits(wh, model=model, **kwargs)
    return credits[credits["lead_id"] == "A"].sort_values("touch_id")["credit"].round(6).tolist()


@pytest.mark.parametrize(("model", "expected"), [
    ("first_touch", [1, 0, 0, 0]),
    ("last_touch", [0, 0, 0, 1]),
    ("linear", [0.25, 0.25, 0.25, 0.25]),
    ("u_shaped", [0.4, 0.1, 0.1, 0.4]),
    # First, lead-creation (t2, on the day the lead was created) and opportunity touches get
    # 30 % each; the one other touch gets the remaining 10 %.
    ("w_shaped", [0.3, 0.3, 0.1, 0.3]),
])
def test_position_models_on_a_four_touch_journey(journey_warehouse, model, expected):
    assert _weights(journey_warehouse, model) == pytest.approx(expected)


def test_time_decay_halves_weight_every_half_life(journey_warehouse):
    # Touches 30, 20, 10 and 0 days before the opportunity; half-life 10 days.
    raw = [0.125, 0.25, 0.5, 1.0]
    expected = [w / sum(raw) for w in raw]
    assert _weights(journey_warehouse, "time_decay", half_life_days=10) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("level", ["campaign", "channel"])
def test_credits_add_up_to_the_journeys_and_pipeline(journey_warehouse, model, level):
    table = attribution(journey_warehouse, model=model, level=level)
    assert table["credit"].sum() == pytest.approx(3)  # journeys A, B, C
    assert table["attributed_pipeline"].sum() == pytest.approx(1800)
    assert table["attributed_revenue"].sum() == pytest.approx(1000)
    keys = set(table["key"])
    assert "(no marketing touch)" in keys  # B's only touch came after its opportunity
    assert "(no campaign)" in keys  # C's touch has no campaign


def test_filters_restrict_the_journeys(journey_warehouse):
    table = attribution(journey_warehouse, model="linear", where={"segment": ["Enterprise"]})
    assert table["credit"].sum() == pytest.approx(1) and list(table["key"]) == ["(no campaign)"]
