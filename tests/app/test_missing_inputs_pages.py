"""Pages over an export that lacks inputs (Olist's shape: MQLs and won deals only, no touch,
no lost deal among 30 wins, no campaign cost, one amount in three): every figure that would rest on a missing
input reads "—" with a sentence, never 0 % or 100 %."""

from __future__ import annotations

from pathlib import Path

import pytest

import tiny_warehouse as tiny_data

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def olist_shaped(tmp_path, monkeypatch, demo_env):
    # 30 deals won and none lost (a closed-won export), an amount known for 10 of them.
    won_only = [(f"W{i}", ("L1", "L3")[i % 2], tiny_data.ts("2025-01-20 10:00"),
                 tiny_data.ts("2025-02-20 10:00"), 1000.0 if i < 10 else None, "won")
                for i in range(30)]
    events = [e for e in tiny_data.EVENTS if e[2] in ("lead", "mql", "won")]
    no_cost = [(*c[:3], None, *c[4:]) for c in tiny_data.CAMPAIGNS]
    path = tiny_data.build_tiny_warehouse(tmp_path / "warehouse.duckdb", touches=[],
                                          opportunities=won_only, lead_events=events,
                                          campaigns=no_cost)
    monkeypatch.setenv("METRICS_WAREHOUSE", str(path))
    monkeypatch.setenv("METRICS_CATALOG", str(tmp_path / "catalog.sqlite"))

    def open_page(page: str | None = None):
        from streamlit.testing.v1 import AppTest

        at = AppTest.from_file(APP, default_timeout=60)
        at.query_params["range"] = "Custom"
        at.query_params["from"] = "2025-01-01"
        at.query_params["to"] = "2025-03-31"
        at.run()
        if page:
            at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return open_page


def _captions(at) -> str:
    return " ".join(c.value for c in at.caption)


def test_the_scorecard_shows_no_zero_and_says_which_input_is_missing(olist_shaped):
    at = olist_shaped()
    values = {m.label: m.value for m in at.metric}
    assert values, "the scorecard drew no tile"
    assert all(value == "—" for value in values.values()), values
    text = _captions(at)
    for words in ("no SAL events", "no sales touches", "no marketing touches",
                  "no campaign costs", "known for only 10 of 30 opportunities"):
        assert words in text, words
    assert "vs last year" not in text  # nothing to compare when there is no value


def test_the_funnel_velocity_says_why_win_rate_and_deal_size_are_missing(olist_shaped):
    at = olist_shaped("views/funnel.py")
    values = {m.label: m.value for m in at.metric}
    assert values["Win rate"] == "—" and values["Average won deal"] == "—"
    assert values["Velocity per day"] == "—"
    text = _captions(at)
    assert "records no lost deal" in text and "known for only 10 of 30" in text
    assert text.count("records no lost deal") == 1  # said once, not per figure
