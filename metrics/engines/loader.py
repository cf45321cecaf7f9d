"""Publish a DuckDB warehouse's canonical tables to an engine and build the derived tables
there, with SQL every engine runs (no FILTER, ARG_MIN, EXCLUDE, generate_series or LATERAL),
so the build itself runs where the data is.

The SQL below is written once (as DuckDB) and rendered for the engine by
metrics.engines.dialects. The SLA clock (business hours in the model's time zone, metrics.sla)
is SQL too (metrics.engines.sla_clock): only two small calendar tables, computed in Python from
the model and the data's date range, are loaded for it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import sqlglot
from sqlglot import exp

from metrics.build import (
    CANONICAL_TABLES,
    OPPORTUNITY_LEAD_COLUMNS,
    REJECTION_STAGES,
    SCHEMA_VERSION,
    table_schema,
)
from metrics.engines import sla_clock
from metrics.engines.base import Engine
from metrics.errors import WarehouseError
from metrics.model import StageModel, load_model

# Scratch tables of the build, dropped at its end.
_SCRATCH = ("stage_firsts", "lifecycle_base", "campaign_spans", "calendar_days",
            sla_clock.UTC_DAYS_TABLE, sla_clock.LOCAL_DAYS_TABLE, *sla_clock.STEP_TABLES)


def publish_warehouse(source: Path | str, engine: Engine, *, model: StageModel | None = None,
                      log: Callable[[str], None] = lambda line: None) -> dict[str, int]:
    """Copy the canonical tables of the DuckDB warehouse at `source` to `engine` in bulk
    (PostgreSQL: COPY streamed from DuckDB; ClickHouse and Spark: Parquet files DuckDB writes),
    then build the derived tables on the engine. Returns {table: rows} of what was published;
    `log` hears how long each step took."""
    source = Path(source)
    if not source.exists():
        raise WarehouseError(f"there is no warehouse at {source} to publish; build one with "
                             "`python -m metrics demo` or `python -m metrics ingest DIR`.")
    # No progress bar: the engine's own output is what a publish prints.
    con = duckdb.connect(str(source), read_only=True)
    con.execute("SET enable_progress_bar = false")
    started = time.perf_counter()
    try:
        schema = table_schema(con)
        as_of, source_name = con.execute("SELECT as_of, source FROM warehouse_meta").fetchall()[0]
        counts = {}
        for table in CANONICAL_TABLES:
            types = schema[table]
            select = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' if t == "VARCHAR" else f'"{c}"'
                               for c, t in types.items())
            engine.load_from_duckdb(table, con, f"SELECT {select} FROM {table}", types)
            counts[table] = con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    finally:
        con.close()
    log(f"  canonical tables copied to {engine.name} in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    build_on_engine(engine, as_of=as_of, source=source_name, model=model, log=log)
    log(f"  derived tables built on {engine.name} in {time.perf_counter() - started:.1f} s")
    return counts


def published_tables() -> tuple[str, ...]:
    """The tables publish_warehouse leaves on an engine (to drop them all again)."""
    return (*CANONICAL_TABLES, "lead_lifecycle", "opportunity_lifecycle", "campaign_spend",
            "warehouse_meta", *_SCRATCH)


def _literal_time(moment: dt.datetime) -> exp.Expression:
    return exp.cast(exp.Literal.string(moment.isoformat(sep=" ")), "TIMESTAMP")


def _select(sql: str, **expressions: exp.Expression) -> exp.Query:
    """Parse one of this module's SELECTs (DuckDB) and put in the named expressions."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    for node in list(tree.find_all(exp.Placeholder)):
        node.replace(expressions[node.name].copy())
    return tree


def build_on_engine(engine: Engine, *, as_of: dt.datetime, source: str,
                    model: StageModel | None = None,
                    log: Callable[[str], None] = lambda line: None) -> None:
    """Build lead_lifecycle, opportunity_lifecycle, campaign_spend and warehouse_meta on the
    engine from its canonical tables, with the same columns and values as metrics.build."""
    model = model or load_model()
    stages = [s for s in model.stage_names if s != "lead"]
    firsts = ", ".join(f"MIN(CASE WHEN stage = '{s}' THEN occurred_at END) AS first_{s}_at"
                       for s in stages)
    engine.create_table_as("stage_firsts", _select(f"""
        SELECT lead_id, {firsts},
               SUM(CASE WHEN stage = 'mql' THEN 1 ELSE 0 END) AS mql_count
        FROM lead_events GROUP BY lead_id"""))
    rejections = ", ".join(f"'{s}'" for s in REJECTION_STAGES if s in model.stage_names) or "NULL"
    lead_columns = list(engine.columns()["leads"])
    # ARG_MIN picks any row on ties; the earliest row with the smallest id is the same on
    # every engine.
    engine.create_table_as("lifecycle_base", _select(f"""
        WITH rejection_events AS (
            SELECT e.lead_id, e.occurred_at, CAST(e.stage AS VARCHAR) AS stage, e.reason,
                   ROW_NUMBER() OVER (PARTITION BY e.lead_id
                                      ORDER BY e.occurred_at, e.event_id) AS nth
            FROM lead_events e JOIN stage_firsts f ON f.lead_id = e.lead_id
            WHERE e.stage IN ({rejections}) AND e.occurred_at >= f.first_mql_at
        ),
        rejected AS (
            SELECT lead_id, occurred_at AS rejected_at, stage AS rejection_stage,
                   reason AS rejection_reason
            FROM rejection_events WHERE nth = 1
        ),
        sales_touches AS (
            SELECT t.lead_id, t.occurred_at, t.actor_id,
                   ROW_NUMBER() OVER (PARTITION BY t.lead_id
                                      ORDER BY t.occurred_at, t.touch_id) AS nth
            FROM touches t JOIN stage_firsts f ON f.lead_id = t.lead_id
            WHERE t.team = 'sales' AND t.occurred_at >= f.first_mql_at
        ),
        sales_touch AS (
            SELECT lead_id, occurred_at AS first_sales_touch_at,
                   actor_id AS first_sales_touch_rep_id
            FROM sales_touches WHERE nth = 1
        ),
        marketing_touch AS (
            SELECT lead_id, COUNT(*) AS marketing_touches,
                   MIN(occurred_at) AS first_marketing_touch_at,
                   MAX(occurred_at) AS last_marketing_touch_at
            FROM touches WHERE team = 'marketing' GROUP BY lead_id
        ),
        opps AS (
            SELECT lead_id, COUNT(*) AS opportunities, SUM(amount) AS pipeline_amount,
                   SUM(CASE WHEN status = 'won' THEN amount END) AS won_amount
            FROM opportunities GROUP BY lead_id
        )
        SELECT {", ".join(f"l.{c} AS {c}" for c in lead_columns)},
               {", ".join(f"f.first_{s}_at AS first_{s}_at" for s in stages)},
               f.mql_count AS mql_count,
               r.rejected_at AS rejected_at, r.rejection_stage AS rejection_stage,
               r.rejection_reason AS rejection_reason,
               s.first_sales_touch_at AS first_sales_touch_at,
               s.first_sales_touch_rep_id AS first_sales_touch_rep_id,
               COALESCE(m.marketing_touches, 0) AS marketing_touches,
               m.first_marketing_touch_at AS first_marketing_touch_at,
               m.last_marketing_touch_at AS last_marketing_touch_at,
               COALESCE(o.opportunities, 0) AS opportunities,
               o.pipeline_amount AS pipeline_amount, o.won_amount AS won_amount
        FROM leads l
        LEFT JOIN stage_firsts f ON f.lead_id = l.lead_id
        LEFT JOIN rejected r ON r.lead_id = l.lead_id
        LEFT JOIN sales_touch s ON s.lead_id = l.lead_id
        LEFT JOIN marketing_touch m ON m.lead_id = l.lead_id
        LEFT JOIN opps o ON o.lead_id = l.lead_id"""))
    sla_started = time.perf_counter()
    _build_sla_frame(engine, model, as_of)
    log(f"  SLA clock (business hours in SQL on {engine.name}) in "
        f"{time.perf_counter() - sla_started:.1f} s")
    base_columns = list(engine.columns()["lifecycle_base"])
    engine.create_table_as("lead_lifecycle", _select(f"""
        SELECT {", ".join(f"b.{c} AS {c}" for c in base_columns)},
               s.sla_hours AS sla_hours, s.sla_deadline_at AS sla_deadline_at,
               s.response_business_hours AS response_business_hours
        FROM lifecycle_base b LEFT JOIN sla_frame s ON s.lead_id = b.lead_id"""))
    engine.create_table_as("opportunity_lifecycle", _select(f"""
        WITH influenced AS (
            SELECT o.opportunity_id, COUNT(*) AS marketing_touches_before_close
            FROM opportunities o JOIN touches t ON t.lead_id = o.lead_id
            WHERE t.team = 'marketing' AND t.occurred_at < COALESCE(o.closed_at, $as_of)
            GROUP BY o.opportunity_id
        )
        SELECT {", ".join(f"o.{c} AS {c}" for c in engine.columns()["opportunities"])},
               {", ".join(f"l.{c} AS {c}" for c in OPPORTUNITY_LEAD_COLUMNS)},
               COALESCE(i.marketing_touches_before_close, 0) AS marketing_touches_before_close,
               COALESCE(i.marketing_touches_before_close, 0) > 0 AS marketing_influenced,
               date_diff('second', o.created_at, o.closed_at) / 86400.0 AS cycle_days
        FROM opportunities o
        JOIN leads l ON l.lead_id = o.lead_id
        LEFT JOIN influenced i ON i.opportunity_id = o.opportunity_id""",
        as_of=_literal_time(as_of)))
    _build_campaign_spend(engine, as_of)
    meta = pa.table({"as_of": pa.array([as_of], pa.timestamp("us")),
                     "built_at": pa.array([dt.datetime.now(dt.UTC).replace(tzinfo=None)],
                                          pa.timestamp("us")),
                     "source": [source], "schema_version": pa.array([SCHEMA_VERSION], pa.int32())})
    engine.load_table("warehouse_meta", meta, {"as_of": "TIMESTAMP", "built_at": "TIMESTAMP",
                                               "source": "VARCHAR", "schema_version": "INTEGER"})
    for table in _SCRATCH:
        engine.drop_table(table)


def _build_sla_frame(engine: Engine, model: StageModel, as_of: dt.datetime) -> None:
    """metrics.build.sla_frame as SQL on the engine (metrics.engines.sla_clock): the MQLs stay
    there; only their time range comes back, to size the two calendar tables it joins."""
    bounds = engine.execute(engine.render(_select(
        "SELECT MIN(first_mql_at) AS first_at, MAX(first_mql_at) AS last_mql_at, "
        "MAX(first_sales_touch_at) AS last_touch_at FROM lifecycle_base "
        "WHERE first_mql_at IS NOT NULL"))).iloc[0]
    moments = [pd.Timestamp(v) for v in bounds if not pd.isna(v)] or [pd.Timestamp(as_of)]
    utc_days, local_days = sla_clock.calendar_tables(
        model.sla, np.datetime64(min(moments), "us"), np.datetime64(max(moments), "us"))
    engine.load_table(sla_clock.UTC_DAYS_TABLE, utc_days, sla_clock.UTC_DAYS_TYPES)
    engine.load_table(sla_clock.LOCAL_DAYS_TABLE, local_days, sla_clock.LOCAL_DAYS_TYPES)
    for table, select in sla_clock.clock_steps(model.sla):
        engine.create_table_as(table, select)


def _build_campaign_spend(engine: Engine, as_of: dt.datetime) -> None:
    """metrics.build._build_campaign_spend with a calendar table instead of generate_series."""
    as_of_day = exp.cast(_literal_time(as_of), "DATE")
    engine.create_table_as("campaign_spans", _select("""
        WITH first_lead AS (
            SELECT campaign_id, CAST(MIN(created_at) AS DATE) AS day FROM leads
            GROUP BY campaign_id
        ),
        spans AS (
            SELECT c.campaign_id, c.channel, c.cost,
                   COALESCE(c.started_on, fl.day, $as_of_day) AS first_day,
                   COALESCE(c.ended_on, GREATEST($as_of_day,
                            COALESCE(c.started_on, fl.day, $as_of_day))) AS last_day
            FROM campaigns c LEFT JOIN first_lead fl ON fl.campaign_id = c.campaign_id
            WHERE c.cost IS NOT NULL
        )
        SELECT campaign_id, channel, cost, LEAST(first_day, last_day) AS first_day,
               GREATEST(first_day, last_day) AS last_day
        FROM spans""", as_of_day=as_of_day))
    bounds = engine.execute(engine.render(_select(
        "SELECT MIN(first_day) AS first_day, MAX(last_day) AS last_day FROM campaign_spans")))
    first, last = bounds["first_day"].iloc[0], bounds["last_day"].iloc[0]
    days = ([] if pd.isna(first) else
            pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="D").date.tolist())
    engine.load_table("calendar_days", pa.table({"day": pa.array(days, pa.date32())}),
                      {"day": "DATE"})
    engine.create_table_as("campaign_spend", _select("""
        SELECT s.campaign_id, s.channel AS source_channel, d.day AS spend_on,
               CAST(d.day AS TIMESTAMP) AS spent_at,
               s.cost / (date_diff('day', s.first_day, s.last_day) + 1) AS cost
        FROM campaign_spans s CROSS JOIN calendar_days d
        WHERE d.day >= s.first_day AND d.day <= s.last_day"""))
