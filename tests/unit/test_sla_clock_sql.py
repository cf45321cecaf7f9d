"""The SLA clock in SQL (metrics.engines.sla_clock) on DuckDB: the hand-counted answers, and
exactly metrics.sla's numbers, on hand-picked instants (Friday to Monday, the DST nights,
weekends, nights, sub-second times, no touch) and on a year of random instants."""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from metrics.build import sla_frame
from metrics.engines.dialects import EngineSQLError, render
from metrics.engines.sla_clock import LOCAL_DAYS_TABLE, UTC_DAYS_TABLE, clock_steps
from metrics.model import load_model
from sla_clock_cases import DEFAULT_CASES, NIGHT_CASES, NIGHT_POLICY, by_lead, calendars, mqls_table

DEFAULT_POLICY = load_model().sla
# Lord Howe Island moves its clocks by 30 minutes at 02:00, inside this desk's hours.
LORD_HOWE_POLICY = dataclasses.replace(NIGHT_POLICY, timezone="Australia/Lord_Howe",
                                       day_starts=dt.time(1, 0), day_ends=dt.time(3, 0),
                                       hours=1.5)


def _sql_clock(policy, mqls) -> pd.DataFrame:
    con = duckdb.connect()
    times = [t for t in (*mqls["first_mql_at"].to_pylist(),
                         *mqls["first_sales_touch_at"].to_pylist()) if t is not None]
    utc_days, local_days = calendars(policy, [(None, None, min(times), max(times))])
    con.register(UTC_DAYS_TABLE, utc_days)
    con.register(LOCAL_DAYS_TABLE, local_days)
    con.register("mqls", mqls)
    for table, select in clock_steps(policy, "mqls"):
        con.execute(f"CREATE TABLE {table} AS {render(select, 'duckdb')}")
    return con.execute("SELECT * FROM sla_frame").df()


def _python_clock(policy, mqls) -> pd.DataFrame:
    model = load_model()
    model = type(model)(stages=model.stages, sla=policy)
    frame = mqls.to_pandas()
    return sla_frame(frame, model)


@pytest.mark.parametrize("policy, cases", [(DEFAULT_POLICY, DEFAULT_CASES),
                                           (NIGHT_POLICY, NIGHT_CASES)],
                         ids=["weekdays-9-to-5", "night-desk"])
def test_the_sql_clock_gives_the_hand_counted_hours_and_deadlines(policy, cases):
    got = by_lead(_sql_clock(policy, mqls_table(cases)))
    for lead, segment, _mql, _touch, response, deadline in cases:
        hours, got_response, got_deadline = got[lead]
        assert hours == policy.hours_for(segment), lead
        assert got_deadline == deadline, lead
        if response is None:
            assert got_response is None, lead
        else:
            # metrics.sla counts minutes since 2000 in doubles: about 1e-12 h of rounding.
            assert got_response == pytest.approx(response, abs=1e-9), lead


@pytest.mark.parametrize("policy, cases", [(DEFAULT_POLICY, DEFAULT_CASES),
                                           (NIGHT_POLICY, NIGHT_CASES)],
                         ids=["weekdays-9-to-5", "night-desk"])
def test_the_sql_clock_is_metrics_sla_to_the_last_bit(policy, cases):
    mqls = mqls_table(cases)
    assert by_lead(_sql_clock(policy, mqls)) == by_lead(_python_clock(policy, mqls))


@pytest.mark.parametrize("policy", [DEFAULT_POLICY, NIGHT_POLICY, LORD_HOWE_POLICY],
                         ids=["weekdays", "night", "half-hour-dst"])
def test_random_instants_over_two_years_match_metrics_sla_exactly(policy):
    rng = np.random.default_rng(15)
    start = np.datetime64("2023-01-01T00:00:00", "us").astype(np.int64)
    span = 2 * 365 * 86_400_000_000
    mql = start + rng.integers(0, span, 4000)
    touch = mql + rng.integers(0, 10 * 86_400_000_000, 4000)
    touch = np.where(rng.random(4000) < 0.2, np.iinfo(np.int64).min, touch)  # NaT: no touch
    mqls = pa.table({
        "lead_id": [f"L{i}" for i in range(4000)],
        "segment": pa.array(rng.choice(["SMB", "Enterprise", None], 4000).tolist(), pa.string()),
        "first_mql_at": pa.array(mql.astype("datetime64[us]")),
        "first_sales_touch_at": pa.array(pd.Series(touch.astype("datetime64[us]"))),
    })
    sql, python = by_lead(_sql_clock(policy, mqls)), by_lead(_python_clock(policy, mqls))
    assert sql == python
    assert sum(v[2] is None for v in sql.values()) == sum(v[2] is None for v in python.values())


def test_an_engine_without_an_exact_epoch_spelling_is_refused():
    with pytest.raises(EngineSQLError, match="epoch microseconds"):
        render(clock_steps(DEFAULT_POLICY)[0][1], "snowflake")


def test_the_calendar_reaches_every_deadline_of_the_last_mql():
    # The last MQL on a Friday evening with 8 hours: its deadline is next Monday's close.
    _utc, local = calendars(DEFAULT_POLICY, [(None, None, dt.datetime(2024, 1, 5, 23), None)])
    last_day = max(local["local_day"].to_pylist())
    assert np.datetime64(last_day, "D") > np.datetime64("2024-01-08")
