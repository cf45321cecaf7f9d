"""The SLA clock in SQL (metrics.engines.sla_clock) on each engine, on the hand-picked instants
of tests/sla_clock_cases.py: the hand-counted answers, and exactly metrics.sla's numbers
(Friday to Monday, both DST nights, a Saturday, a night, sub-second times, no touch)."""

from __future__ import annotations

import pytest

from metrics.build import sla_frame
from metrics.engines import open_engine, sla_clock
from metrics.model import load_model
from sla_clock_cases import (
    DEFAULT_CASES,
    MQL_TYPES,
    NIGHT_CASES,
    NIGHT_POLICY,
    by_lead,
    calendars,
    mqls_table,
)

POLICIES = [(load_model().sla, DEFAULT_CASES), (NIGHT_POLICY, NIGHT_CASES)]


def _engine_url(engine_servers, engine: str) -> str:
    base = engine_servers.url(engine)
    if engine == "clickhouse":
        return f"chdb:///{engine_servers.scratch / 'chdb'}?database=slaclock"
    if engine == "spark":
        return f"{base}&database=slaclock"
    return base


@pytest.mark.parametrize("policy, cases", POLICIES, ids=["weekdays-9-to-5", "night-desk"])
def test_the_sql_clock_on_the_engine_is_metrics_sla_exactly(engine_servers, engine, policy,
                                                            cases):
    mqls = mqls_table(cases)
    utc_days, local_days = calendars(policy, cases)
    target = open_engine(_engine_url(engine_servers, engine))
    tables = ("sla_clock_mqls", sla_clock.UTC_DAYS_TABLE, sla_clock.LOCAL_DAYS_TABLE,
              *sla_clock.STEP_TABLES)
    try:
        target.load_table("sla_clock_mqls", mqls, MQL_TYPES)
        target.load_table(sla_clock.UTC_DAYS_TABLE, utc_days, sla_clock.UTC_DAYS_TYPES)
        target.load_table(sla_clock.LOCAL_DAYS_TABLE, local_days, sla_clock.LOCAL_DAYS_TYPES)
        for table, select in sla_clock.clock_steps(policy, "sla_clock_mqls"):
            target.create_table_as(table, select)
        got = by_lead(target.execute("SELECT * FROM sla_frame"))
    finally:
        for table in tables:
            target.drop_table(table)
        target.close()
    model = load_model()
    want = by_lead(sla_frame(mqls.to_pandas(), type(model)(stages=model.stages, sla=policy)))
    assert got == want
    for lead, _segment, _mql, _touch, response, deadline in cases:
        assert got[lead][2] == deadline, lead
        assert (got[lead][1] is None) == (response is None), lead
