"""'As defined on a date' on any page: ?defs_on=DATE runs the versions live at the end of that
day, and the captions say which versions ran."""

from __future__ import annotations

import sqlite3

import pytest


METRIC = "mql_to_sal_rate"
ACCEPTED_AT_SAL = "CASE WHEN first_sal_at IS NOT NULL THEN 1 ELSE 0 END AS numerator"
ACCEPTED_AT_SQL = "CASE WHEN first_sql_at IS NOT NULL THEN 1 ELSE 0 END AS numerator"


@pytest.fixture
def catalog(fresh_catalog):
    """v1 live since 1 Jan 2025, v2 (accepted = reached SQL) live since 15 Oct 2025."""
    cat = fresh_catalog
    path = cat.path
    text = cat.text(METRIC).replace(ACCEPTED_AT_SAL, ACCEPTED_AT_SQL)
    version = cat.propose(METRIC, text, author="marketing.ops@example.com", reason="stricter")
    cat.approve(METRIC, version, user="cmo@example.com")
    cat.approve(METRIC, version, user="vp.sales@example.com")
    with sqlite3.connect(path) as con:
        con.execute("UPDATE metric_versions SET activated_at = '2025-01-01T00:00:00+00:00' "
                    "WHERE version = 1")
        con.execute("UPDATE metric_versions SET activated_at = '2025-10-15T00:00:00+00:00' "
                    "WHERE name = ? AND version = 2", (METRIC,))
    return cat


def captions(at) -> str:
    return "\n".join(str(c.value) for c in at.caption)


def test_overview_as_defined_on_a_date_runs_the_versions_live_then(app, catalog):
    today = app(None)
    assert not today.exception, [e.value for e in today.exception]
    assert f"`{METRIC}` v2" in captions(today)
    assert "as defined on" not in captions(today)

    then = app(None, defs_on="2025-10-01")
    assert not then.exception, [e.value for e in then.exception]
    shown = captions(then)
    assert f"`{METRIC}` v1" in shown and f"`{METRIC}` v2" not in shown
    assert f"as defined on 01 Oct 2025: `{METRIC}` v1 (v2 today)" in shown
    assert then.toggle(key="as_agreed").value is True

    # The day of the activation already runs the new version.
    same = app(None, defs_on="2025-10-15")
    assert "the same versions as today" in captions(same)
    assert f"`{METRIC}` v2" in captions(same)


def test_a_metric_page_follows_the_chosen_date(app, catalog):
    at = app("views/metric_detail.py", metric=METRIC, defs_on="2025-10-01")
    assert not at.exception, [e.value for e in at.exception]
    assert f"`{METRIC}` v1" in captions(at)


@pytest.mark.parametrize("day", ["1990-01-01", "2999-01-01", "yesterday"])
def test_a_stale_or_mistyped_date_in_a_link_never_breaks_the_page(app, catalog, day):
    at = app(None, defs_on=day)
    assert not at.exception, [e.value for e in at.exception]
