"""Several comparisons on a tile, chosen per tile: previous period, same period last year and
target; choosing on one tile leaves the others as they were."""

from __future__ import annotations

NAME = "mql_to_sal_rate"


def target_badges(at) -> list[str]:
    return [str(m.value) for m in at.markdown if "-badge[:material/flag: Target" in str(m.value)]


def test_each_tile_compares_with_what_is_chosen_on_it(app):
    at = app(None, range=["Last quarter"])
    assert not at.exception, [e.value for e in at.exception]
    pills = at.button_group(key=f"compare-{NAME}")
    assert pills.value == ["previous", "last_year", "target"]
    assert len(target_badges(at)) == 8

    pills.set_value(["last_year"]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(target_badges(at)) == 7  # only this tile dropped its target
    captions = [str(c.value) for c in at.caption]
    assert any(c.startswith("Change vs same period last year") for c in captions)
    assert at.button_group(key="compare-mql_to_opportunity_rate").value == [
        "previous", "last_year", "target"]


def test_a_twelve_month_window_offers_last_year_once(app):
    at = app(None)
    assert not at.exception, [e.value for e in at.exception]
    assert at.button_group(key=f"compare-{NAME}").options == ["Last year", "Target"]
