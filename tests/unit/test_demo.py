"""The demo generator: deterministic, consistent, and a funnel a CMO would recognise."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import numpy as np
import pytest

import metrics.demo as demo
from metrics.demo import generate_demo

SCHEMA = Path(__file__).resolve().parents[2] / "sql" / "schema.sql"
AS_OF = dt.datetime(2025, 3, 14, 15, 30)
TABLES = {
    "campaigns": "campaign_id",
    "reps": "rep_id",
    "leads": "lead_id",
    "lead_events": "event_id",
    "touches": "touch_id",
    "opportunities": "opportunity_id",
}


def _empty_warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TYPE stage_name AS ENUM ('lead','mql','sal','sql','opportunity','won',"
                "'lost','disqualified','recycled')")
    con.execute(SCHEMA.read_text(encoding="utf-8"))
    return con


def _demo(leads: int = 4000, seed: int = 7, as_of: dt.datetime = AS_OF,
          **kwargs: object) -> duckdb.DuckDBPyConnection:
    con = _empty_warehouse()
    generate_demo(con, leads=leads, seed=seed, as_of=as_of, **kwargs)
    return con


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {t: con.execute(f"SELECT * FROM {t} ORDER BY {key}").fetchall()
            for t, key in TABLES.items()}


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    return con.execute(sql).fetchone()[0]


@pytest.fixture(scope="module")
def wh() -> duckdb.DuckDBPyConnection:
    return _demo()


# Per lead: first time of each stage, and how many MQL events it had.
FUNNEL = """
    SELECT lead_id, l.source_channel AS channel, l.created_at,
           min(occurred_at) FILTER (WHERE stage = 'mql') AS mql,
           min(occurred_at) FILTER (WHERE stage = 'sal') AS sal,
           min(occurred_at) FILTER (WHERE stage = 'sql') AS sql,
           min(occurred_at) FILTER (WHERE stage = 'opportunity') AS opp,
           min(occurred_at) FILTER (WHERE stage = 'won') AS won,
           min(occurred_at) FILTER (WHERE stage = 'lost') AS lost,
           count(*) FILTER (WHERE stage = 'mql') AS mql_events
    FROM leads l JOIN lead_events e USING (lead_id)
    GROUP BY ALL
"""


def test_same_inputs_give_identical_tables(wh: duckdb.DuckDBPyConnection) -> None:
    assert _tables(_demo()) == _tables(wh)


def test_other_seed_or_as_of_gives_other_data(wh: duckdb.DuckDBPyConnection) -> None:
    mine = _tables(wh)
    assert _tables(_demo(seed=8))["leads"] != mine["leads"]
    assert _tables(_demo(as_of=AS_OF + dt.timedelta(days=1)))["lead_events"] != mine["lead_events"]


def test_every_table_is_filled(wh: duckdb.DuckDBPyConnection) -> None:
    counts = {t: _one(wh, f"SELECT count(*) FROM {t}") for t in TABLES}
    assert counts["leads"] == 4000
    assert 30 <= counts["campaigns"] <= 150
    assert 20 <= counts["reps"] <= 60
    assert counts["lead_events"] > counts["leads"]
    assert counts["touches"] > 2 * counts["leads"]
    assert counts["opportunities"] > 100


def test_nothing_happens_after_as_of(wh: duckdb.DuckDBPyConnection) -> None:
    latest = _one(wh, """
        SELECT max(t) FROM (
            SELECT max(created_at) AS t FROM leads
            UNION ALL SELECT max(occurred_at) FROM lead_events
            UNION ALL SELECT max(occurred_at) FROM touches
            UNION ALL SELECT max(created_at) FROM opportunities
            UNION ALL SELECT max(closed_at) FROM opportunities)""")
    assert AS_OF - dt.timedelta(days=2) < latest <= AS_OF
    first = _one(wh, "SELECT min(created_at) FROM leads")
    assert dt.datetime(2023, 3, 14) <= first < dt.datetime(2023, 3, 20)


def test_a_midnight_as_of_is_respected_too() -> None:
    midnight = dt.datetime(2025, 1, 1)
    con = _demo(leads=1500, as_of=midnight)
    latest = _one(con, """
        SELECT greatest(max(l.created_at), max(e.occurred_at), max(t.occurred_at))
        FROM leads l JOIN lead_events e USING (lead_id) JOIN touches t USING (lead_id)""")
    assert midnight - dt.timedelta(days=2) < latest <= midnight


def test_events_and_touches_never_precede_their_lead(wh: duckdb.DuckDBPyConnection) -> None:
    for table, column in (("lead_events", "occurred_at"), ("touches", "occurred_at"),
                          ("opportunities", "created_at")):
        early = _one(wh, f"SELECT count(*) FROM {table} x JOIN leads l USING (lead_id) "
                         f"WHERE x.{column} < l.created_at")
        assert early == 0, table
    # And the journey is ordered: each later stage comes at or after the earlier ones.
    disorder = _one(wh, f"""
        SELECT count(*) FROM ({FUNNEL})
        WHERE mql < created_at OR sal < mql OR sql < sal OR opp < sql OR won < opp OR lost < opp""")
    assert disorder == 0


def test_every_lead_has_one_lead_event_at_creation(wh: duckdb.DuckDBPyConnection) -> None:
    bad = _one(wh, """
        SELECT count(*) FROM leads l
        WHERE (SELECT count(*) FROM lead_events e
               WHERE e.lead_id = l.lead_id AND stage = 'lead'
                 AND occurred_at = l.created_at) <> 1""")
    assert bad == 0


@pytest.mark.parametrize("table, key, prefix", [
    (t, k, k[0].upper()) for t, k in TABLES.items()
])
def test_ids_are_unique_and_prefixed(wh: duckdb.DuckDBPyConnection, table: str, key: str,
                                     prefix: str) -> None:
    ids = [row[0] for row in wh.execute(f"SELECT {key} FROM {table}").fetchall()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(rf"{prefix}\d{{3,}}", i) for i in ids)
    assert len({len(i) for i in ids}) == 1  # zero padded: text order is number order


@pytest.mark.parametrize("table, column, parent, key", [
    ("lead_events", "lead_id", "leads", "lead_id"),
    ("touches", "lead_id", "leads", "lead_id"),
    ("opportunities", "lead_id", "leads", "lead_id"),
    ("leads", "campaign_id", "campaigns", "campaign_id"),
    ("touches", "campaign_id", "campaigns", "campaign_id"),
    ("leads", "owner_id", "reps", "rep_id"),
    ("lead_events", "actor_id", "reps", "rep_id"),
    ("touches", "actor_id", "reps", "rep_id"),
])
def test_references_resolve(wh: duckdb.DuckDBPyConnection, table: str, column: str,
                            parent: str, key: str) -> None:
    orphans = _one(wh, f"SELECT count(*) FROM {table} WHERE {column} IS NOT NULL "
                       f"AND {column} NOT IN (SELECT {key} FROM {parent})")
    assert orphans == 0


def test_owners_and_sales_touches_are_sales_reps(wh: duckdb.DuckDBPyConnection) -> None:
    assert _one(wh, "SELECT count(*) FROM leads WHERE owner_id IS NULL") == 0
    assert _one(wh, "SELECT count(DISTINCT team) FROM reps") == 2
    not_sales = _one(wh, """
        SELECT count(*) FROM leads l JOIN reps r ON r.rep_id = l.owner_id
        WHERE r.team <> 'sales'""")
    assert not_sales == 0
    foreign_actor = _one(wh, """
        SELECT count(*) FROM touches t JOIN leads l USING (lead_id)
        WHERE t.team = 'sales' AND t.actor_id IS DISTINCT FROM l.owner_id""")
    assert foreign_actor == 0


def test_canonical_values(wh: duckdb.DuckDBPyConnection) -> None:
    def values(sql: str) -> set:
        return {row[0] for row in wh.execute(sql).fetchall()}

    assert values("SELECT DISTINCT source_channel FROM leads") == set(demo.CHANNELS)
    assert values("SELECT DISTINCT channel FROM campaigns") == set(demo.CHANNELS)
    assert values("SELECT DISTINCT segment FROM leads") == {"SMB", "Mid-Market", "Enterprise",
                                                            None}
    assert values("SELECT DISTINCT region FROM leads") == {"NA", "EMEA", "APAC", "LATAM"}
    assert len(values("SELECT DISTINCT industry FROM leads")) == 8
    null_segment = _one(wh, "SELECT avg((segment IS NULL)::INT) FROM leads")
    assert 0.002 < null_segment < 0.03
    assert _one(wh, "SELECT min(lead_score) >= 0 AND max(lead_score) <= 100 FROM leads")
    sourced = dict(wh.execute("""
        SELECT source_channel, mode(CAST(sourced_by AS VARCHAR)) FROM leads GROUP BY 1
    """).fetchall())
    assert sourced.pop("partner") == "partner" and sourced.pop("outbound") == "sales"
    assert set(sourced.values()) == {"marketing"}
    assert values("SELECT DISTINCT kind FROM touches WHERE team = 'sales'") == {
        "call", "email", "meeting"}
    assert values("SELECT DISTINCT kind FROM touches WHERE team = 'marketing'") == {
        "ad_click", "email_open", "webinar", "event_visit", "content_download", "web_visit"}


def test_campaigns_look_like_campaigns(wh: duckdb.DuckDBPyConnection) -> None:
    assert _one(wh, "SELECT count(*) FROM campaigns WHERE ended_on IS NULL") > 0
    assert _one(wh, "SELECT count(*) FROM campaigns WHERE ended_on < started_on") == 0
    assert _one(wh, "SELECT min(cost) FROM campaigns") > 0
    assert _one(wh, "SELECT count(DISTINCT name) = count(*) FROM campaigns")
    # Organic and outbound leads mostly have no campaign; paid channels mostly do.
    shares = dict(wh.execute(
        "SELECT source_channel, avg((campaign_id IS NOT NULL)::INT) FROM leads GROUP BY 1"
    ).fetchall())
    assert shares["organic_search"] < 0.2 and shares["outbound"] < 0.3
    assert shares["paid_search"] > 0.9 and shares["events"] > 0.9


def test_funnel_ratios_are_plausible(wh: duckdb.DuckDBPyConnection) -> None:
    mql_rate, mql_to_sal, sal_to_sql, sql_to_opp = wh.execute(f"""
        SELECT avg((mql IS NOT NULL)::INT),
               count(sal) FILTER (WHERE mql IS NOT NULL) / count(mql),
               count(sql) FILTER (WHERE sal IS NOT NULL) / count(sal),
               count(opp) FILTER (WHERE sql IS NOT NULL) / count(sql)
        FROM ({FUNNEL})""").fetchone()
    assert 0.25 < mql_rate < 0.45
    assert 0.55 < mql_to_sal < 0.8
    assert 0.35 < sal_to_sql < 0.65
    assert 0.5 < sql_to_opp < 0.8
    win_rate = _one(wh, "SELECT avg((status = 'won')::INT) FROM opportunities "
                        "WHERE status <> 'open'")
    assert 0.15 < win_rate < 0.35


def test_channels_and_segments_differ(wh: duckdb.DuckDBPyConnection) -> None:
    rate = dict(wh.execute(
        f"SELECT channel, avg((mql IS NOT NULL)::INT) FROM ({FUNNEL}) GROUP BY 1").fetchall())
    assert rate["events"] > rate["paid_search"] > rate["social"]
    amount = dict(wh.execute("""
        SELECT segment, median(amount) FROM opportunities JOIN leads USING (lead_id)
        WHERE segment IS NOT NULL GROUP BY 1""").fetchall())
    assert 5_000 < amount["SMB"] < 15_000 < 20_000 < amount["Mid-Market"] < 60_000
    assert 80_000 < amount["Enterprise"] < 400_000
    cycle = dict(wh.execute("""
        SELECT segment, median(date_diff('hour', o.created_at, closed_at))
        FROM opportunities o JOIN leads USING (lead_id)
        WHERE status = 'won' AND segment IS NOT NULL GROUP BY 1""").fetchall())
    assert cycle["SMB"] < cycle["Mid-Market"] < cycle["Enterprise"]


def test_volume_grows_and_is_seasonal(wh: duckdb.DuckDBPyConnection) -> None:
    first_year, second_year = wh.execute("""
        SELECT count(*) FILTER (WHERE created_at < TIMESTAMP '2024-03-14'),
               count(*) FILTER (WHERE created_at >= TIMESTAMP '2024-03-14')
        FROM leads""").fetchone()
    assert 1.2 < second_year / first_year < 1.7
    by_month = dict(wh.execute(
        "SELECT strftime(created_at, '%Y-%m'), count(*) FROM leads GROUP BY 1").fetchall())
    assert by_month["2024-10"] + by_month["2024-11"] > 1.2 * (by_month["2024-07"] +
                                                                by_month["2024-08"])
    weekend = _one(wh, "SELECT avg((dayofweek(created_at) IN (0, 6))::INT) FROM leads")
    assert weekend < 2 / 7


def test_sales_rejects_with_reasons_and_recycled_leads_return(
        wh: duckdb.DuckDBPyConnection) -> None:
    missing_reason = _one(wh, """
        SELECT count(*) FROM lead_events
        WHERE stage IN ('disqualified', 'recycled', 'lost') AND reason IS NULL""")
    assert missing_reason == 0
    reasons = _one(wh, "SELECT count(DISTINCT reason) FROM lead_events "
                       "WHERE stage = 'disqualified'")
    assert reasons >= 5
    assert _one(wh, "SELECT count(*) FROM lead_events WHERE stage = 'recycled'") > 0
    came_back = _one(wh, """
        SELECT count(DISTINCT r.lead_id) FROM lead_events r JOIN lead_events m USING (lead_id)
        WHERE r.stage = 'recycled' AND m.stage = 'mql' AND m.occurred_at > r.occurred_at""")
    assert came_back > 0


def test_some_leads_skip_stages(wh: duckdb.DuckDBPyConnection) -> None:
    skipped_sal = _one(wh, f"SELECT count(*) FROM ({FUNNEL}) WHERE mql IS NOT NULL "
                           "AND sql IS NOT NULL AND sal IS NULL")
    assert skipped_sal > 0
    direct = _one(wh, f"""
        SELECT count(*) FROM ({FUNNEL}) f JOIN leads l USING (lead_id)
        WHERE f.mql IS NULL AND (f.sal IS NOT NULL OR f.sql IS NOT NULL)
          AND l.sourced_by IN ('sales', 'partner')""")
    assert direct > 0


def test_follow_up_speed_varies_and_some_mqls_are_never_touched(
        wh: duckdb.DuckDBPyConnection) -> None:
    first_touch = f"""
        SELECT f.lead_id, f.mql, (SELECT min(t.occurred_at) FROM touches t
                                  WHERE t.lead_id = f.lead_id AND t.team = 'sales'
                                    AND t.occurred_at >= f.mql) AS touched
        FROM ({FUNNEL}) f WHERE f.mql IS NOT NULL"""
    fast, breached, untouched = wh.execute(f"""
        SELECT count(*) FILTER (WHERE touched <= mql + INTERVAL 1 HOUR),
               -- 96 wall-clock hours always hold more than 8 business hours
               count(*) FILTER (WHERE touched > mql + INTERVAL 96 HOUR),
               count(*) FILTER (WHERE touched IS NULL
                                  AND mql < TIMESTAMP '{AS_OF}' - INTERVAL 14 DAY)
        FROM ({first_touch})""").fetchone()
    assert fast > 0 and breached > 0 and untouched > 0
    off_hours = _one(wh, """
        SELECT count(*) FROM touches t JOIN leads l USING (lead_id)
        WHERE t.team = 'sales' AND l.region = 'NA'
          AND (dayofweek(t.occurred_at - INTERVAL 5 HOUR) IN (0, 6)
               OR hour(t.occurred_at - INTERVAL 5 HOUR) NOT BETWEEN 7 AND 19)""")
    assert off_hours > 0


def test_marketing_journeys_have_several_touches(wh: duckdb.DuckDBPyConnection) -> None:
    before_mql = wh.execute(f"""
        SELECT min(n), max(n), avg(n) FROM (
            SELECT f.lead_id, count(t.touch_id) AS n FROM ({FUNNEL}) f
            JOIN touches t ON t.lead_id = f.lead_id AND t.team = 'marketing'
                          AND t.occurred_at <= f.mql
            WHERE f.mql IS NOT NULL GROUP BY 1)""").fetchone()
    assert before_mql[0] == 1 and 5 <= before_mql[1] <= 7 and 2 < before_mql[2] < 4
    after_mql = _one(wh, f"""
        SELECT count(*) FROM ({FUNNEL}) f JOIN touches t
        ON t.lead_id = f.lead_id AND t.team = 'marketing' AND t.occurred_at > f.mql""")
    assert after_mql > 0


def test_opportunities_match_the_lead_events(wh: duckdb.DuckDBPyConnection) -> None:
    mismatched = _one(wh, f"""
        SELECT count(*) FROM ({FUNNEL}) f FULL JOIN opportunities o USING (lead_id)
        WHERE f.opp IS DISTINCT FROM o.created_at
           OR o.status = 'won' AND o.closed_at IS DISTINCT FROM f.won
           OR o.status = 'lost' AND o.closed_at IS DISTINCT FROM f.lost
           OR o.status = 'open' AND (o.closed_at IS NOT NULL OR f.won IS NOT NULL
                                     OR f.lost IS NOT NULL)""")
    assert mismatched == 0
    assert _one(wh, "SELECT count(*) FROM opportunities WHERE amount IS NULL OR amount <= 0") == 0
    assert _one(wh, "SELECT count(*) FROM opportunities WHERE status = 'open'") > 0


def test_recent_cohorts_are_visibly_unfinished(wh: duckdb.DuckDBPyConnection) -> None:
    recent = f"mql >= TIMESTAMP '{AS_OF}' - INTERVAL 30 DAY"
    old_opp, old_won, recent_opp, recent_won = wh.execute(f"""
        SELECT avg((opp IS NOT NULL)::INT) FILTER (WHERE mql < TIMESTAMP '2024-09-01'),
               avg((won IS NOT NULL)::INT) FILTER (WHERE mql < TIMESTAMP '2024-09-01'),
               avg((opp IS NOT NULL)::INT) FILTER (WHERE {recent}),
               avg((won IS NOT NULL)::INT) FILTER (WHERE {recent})
        FROM ({FUNNEL}) WHERE mql IS NOT NULL""").fetchone()
    assert recent_opp < old_opp and recent_won < old_won / 3


def test_progress_is_reported_from_zero_to_one() -> None:
    calls: list[tuple[float, str]] = []
    _demo(leads=500, progress=lambda fraction, message: calls.append((fraction, message)))
    fractions = [f for f, _ in calls]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions) and 3 <= len(calls) <= 20
    assert all(isinstance(m, str) and m for _, m in calls)


def test_chunks_continue_ids_and_keep_leads_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "CHUNK_LEADS", 1500)
    con = _demo(leads=4000)
    for table, key in TABLES.items():
        assert _one(con, f"SELECT count(DISTINCT {key}) = count(*) FROM {table}"), table
    assert _one(con, "SELECT max(lead_id) FROM leads") == "L00004000"
    numbers = [int(i[1:]) for (i,) in con.execute(
        "SELECT event_id FROM lead_events ORDER BY event_id").fetchall()]
    assert numbers == list(range(1, len(numbers) + 1))
    # Leads are numbered in creation order, within a day's slack at chunk borders.
    rows = con.execute("SELECT created_at FROM leads ORDER BY lead_id").fetchall()
    created = [c for (c,) in rows]
    assert all(b - a > -dt.timedelta(days=1) for a, b in zip(created, created[1:]))


def test_zero_leads_still_fills_campaigns_and_reps() -> None:
    con = _demo(leads=0)
    assert _one(con, "SELECT count(*) FROM leads") == 0
    assert _one(con, "SELECT count(*) FROM campaigns") >= 30
    assert _one(con, "SELECT count(*) FROM reps") >= 20


def test_negative_lead_count_is_refused() -> None:
    with pytest.raises(ValueError, match="leads must be zero or more"):
        _demo(leads=-1)


@pytest.mark.parametrize("start, hours, expected", [
    # Friday 16:00 New York + 2 business hours: 1 on Friday, 1 on Monday.
    ("2024-03-01T21:00", 2.0, "2024-03-04T15:00"),
    # Saturday: the clock starts Monday 09:00 (EST, UTC-5).
    ("2024-03-02T15:00", 8.0, "2024-03-04T22:00"),
    # Before opening: starts at 09:00 the same day (EDT, UTC-4, after the DST switch).
    ("2024-03-12T11:00", 1.5, "2024-03-12T14:30"),
    # Within the day.
    ("2024-06-05T14:00", 3.0, "2024-06-05T17:00"),
])
def test_business_hours_follow_new_york_office_hours(start: str, hours: float,
                                                      expected: str) -> None:
    t = np.array([np.datetime64(start, "s").astype(np.int64)], dtype=float)
    got = demo._add_business_hours(t, np.array([hours]))
    assert np.datetime64(int(got[0]), "s") == np.datetime64(expected, "s")
