"""Create a warehouse file: schema, canonical tables, derived tables, atomic swap.

A warehouse is always built into a new file beside the target and renamed over it only when
complete, so a failed load leaves the previous warehouse serving and a reader never sees a
half-built one.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from sqlglot import exp

from metrics.errors import WarehouseError
from metrics.model import StageModel, load_model
from metrics.paths import DATA_DIR, METRICS_DIR, SCHEMA_FILE
from metrics.profile import count_profile, store_profile
from metrics.sla import business_deadline, business_hours_between

CANONICAL_TABLES = ("leads", "lead_events", "touches", "opportunities", "campaigns", "reps")
DERIVED_TABLES = ("lead_lifecycle", "opportunity_lifecycle", "campaign_spend",
                  "opportunity_campaign_credit", "lead_day_counts", "metric_day_counts",
                  "metric_rollups", "warehouse_meta")
SCHEMA_VERSION = 1
# Stages whose first event after the first MQL counts as sales rejecting the lead.
REJECTION_STAGES = ("disqualified", "recycled")
# Lead columns the derived tables repeat row by row (the value of leads.<column> for the row's
# lead_id), so the compiler can filter or break down by them without joining `leads`.
# lead_lifecycle repeats every canonical lead column (l.*); opportunity_lifecycle these.
OPPORTUNITY_LEAD_COLUMNS = ("sourced_by", "source_channel", "campaign_id", "segment", "region")
# DuckDB's memory budget while building: joins, sorts and key indexes beyond it spill to a
# temporary directory beside the file instead of growing the process (DuckDB's own default is
# 80% of RAM). With the demo's chunks and the SLA frame the build stays under about twice this.
BUILD_MEMORY_LIMIT = os.environ.get("METRICS_BUILD_MEMORY", "4GB")


def create_schema(con: duckdb.DuckDBPyConnection, model: StageModel | None = None) -> None:
    """Create the ENUM of stages from the model, then the canonical tables of schema.sql."""
    model = model or load_model()
    values = exp.Tuple(expressions=[exp.Literal.string(s) for s in model.stage_names]).sql("duckdb")
    con.execute(f"CREATE TYPE stage_name AS ENUM {values}")
    con.execute(SCHEMA_FILE.read_text(encoding="utf-8"))


def _stage_first_columns(model: StageModel) -> str:
    return ",\n".join(
        f"MIN(occurred_at) FILTER (WHERE stage = '{s}') AS first_{s}_at"
        for s in model.stage_names
        if s != "lead"
    )


def build_derived(con: duckdb.DuckDBPyConnection, *, as_of: dt.datetime, source: str,
                  model: StageModel | None = None) -> None:
    """(Re)build the derived tables from the canonical ones. `as_of` is naive UTC."""
    model = model or load_model()
    for table in DERIVED_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {table}")
    rejections = [s for s in REJECTION_STAGES if s in model.stage_names]
    rejection_in = ", ".join(f"'{s}'" for s in rejections) or "NULL"
    con.execute(f"""
        CREATE TEMP TABLE stage_firsts AS
        SELECT lead_id, {_stage_first_columns(model)},
               COUNT(*) FILTER (WHERE stage = 'mql') AS mql_count
        FROM lead_events GROUP BY lead_id
    """)
    con.execute(f"""
        CREATE TEMP TABLE lifecycle_base AS
        WITH rejected AS (
            SELECT e.lead_id,
                   MIN(e.occurred_at) AS rejected_at,
                   ARG_MIN(e.stage::VARCHAR, e.occurred_at) AS rejection_stage,
                   ARG_MIN(e.reason, e.occurred_at) AS rejection_reason
            FROM lead_events e JOIN stage_firsts f USING (lead_id)
            WHERE e.stage IN ({rejection_in}) AND e.occurred_at >= f.first_mql_at
            GROUP BY e.lead_id
        ),
        sales_touch AS (
            SELECT t.lead_id,
                   MIN(t.occurred_at) AS first_sales_touch_at,
                   ARG_MIN(t.actor_id, t.occurred_at) AS first_sales_touch_rep_id
            FROM touches t JOIN stage_firsts f USING (lead_id)
            WHERE t.team = 'sales' AND t.occurred_at >= f.first_mql_at
            GROUP BY t.lead_id
        ),
        marketing_touch AS (
            SELECT lead_id, COUNT(*) AS marketing_touches,
                   MIN(occurred_at) AS first_marketing_touch_at,
                   MAX(occurred_at) AS last_marketing_touch_at
            FROM touches WHERE team = 'marketing' GROUP BY lead_id
        ),
        opps AS (
            SELECT lead_id, COUNT(*) AS opportunities,
                   SUM(amount) AS pipeline_amount,
                   SUM(amount) FILTER (WHERE status = 'won') AS won_amount
            FROM opportunities GROUP BY lead_id
        )
        SELECT l.*, f.* EXCLUDE (lead_id),
               r.rejected_at, r.rejection_stage, r.rejection_reason,
               s.first_sales_touch_at, s.first_sales_touch_rep_id,
               COALESCE(m.marketing_touches, 0) AS marketing_touches,
               m.first_marketing_touch_at, m.last_marketing_touch_at,
               COALESCE(o.opportunities, 0) AS opportunities,
               o.pipeline_amount, o.won_amount
        FROM leads l
        LEFT JOIN stage_firsts f USING (lead_id)
        LEFT JOIN rejected r USING (lead_id)
        LEFT JOIN sales_touch s USING (lead_id)
        LEFT JOIN marketing_touch m USING (lead_id)
        LEFT JOIN opps o USING (lead_id)
    """)
    sla = _sla_columns(con, model)
    con.register("sla_frame", sla)
    con.execute("""
        CREATE TABLE lead_lifecycle AS
        SELECT b.*, s.sla_hours, s.sla_deadline_at, s.response_business_hours
        FROM lifecycle_base b LEFT JOIN sla_frame s USING (lead_id)
        ORDER BY b.created_at
    """)
    con.unregister("sla_frame")
    con.execute(f"""
        CREATE TABLE opportunity_lifecycle AS
        WITH influenced AS (
            SELECT o.opportunity_id, COUNT(*) AS marketing_touches_before_close
            FROM opportunities o JOIN touches t
              ON t.lead_id = o.lead_id AND t.team = 'marketing'
             AND t.occurred_at < COALESCE(o.closed_at, $as_of)
            GROUP BY o.opportunity_id
        )
        SELECT o.*, {", ".join(f"l.{c}" for c in OPPORTUNITY_LEAD_COLUMNS)},
               COALESCE(i.marketing_touches_before_close, 0) AS marketing_touches_before_close,
               COALESCE(i.marketing_touches_before_close, 0) > 0 AS marketing_influenced,
               date_diff('second', o.created_at, o.closed_at) / 86400.0 AS cycle_days
        FROM opportunities o
        JOIN leads l USING (lead_id)
        LEFT JOIN influenced i USING (opportunity_id)
        ORDER BY o.created_at
    """, {"as_of": as_of})
    _build_campaign_credit(con, as_of)
    _build_campaign_spend(con, as_of)
    build_lead_day_counts(con, as_of, model)
    # Imported here: metrics.metric_rollup reads this module's schema helpers.
    from metrics.metric_rollup import build_metric_rollups
    build_metric_rollups(con, as_of, definitions_dir=None if source == "reference" else METRICS_DIR)
    con.execute("""
        CREATE TABLE warehouse_meta AS
        SELECT $as_of::TIMESTAMP AS as_of, now()::TIMESTAMP AS built_at,
               $source AS source, $schema_version AS schema_version
    """, {"as_of": as_of, "source": source, "schema_version": SCHEMA_VERSION})
    con.execute("DROP TABLE stage_firsts")
    con.execute("DROP TABLE lifecycle_base")
    store_profile(con, count_profile(con))


def _sla_columns(con: duckdb.DuckDBPyConnection, model: StageModel) -> pd.DataFrame:
    """SLA hours, deadline and business-hours response time for every lead that became an MQL."""
    return sla_frame(con.execute("""
        SELECT lead_id, segment, first_mql_at, first_sales_touch_at
        FROM lifecycle_base WHERE first_mql_at IS NOT NULL
    """).df(), model)


def sla_frame(mqls: pd.DataFrame, model: StageModel) -> pd.DataFrame:
    """The SLA columns of MQLs given as (lead_id, segment, first_mql_at, first_sales_touch_at);
    shared by this build and the one on another engine (metrics.engines.loader)."""
    policy = model.sla
    hours = mqls["segment"].map(policy.segment_hours).fillna(policy.hours).to_numpy(np.float64)
    start = mqls["first_mql_at"].to_numpy("datetime64[us]")
    touched = mqls["first_sales_touch_at"].to_numpy("datetime64[us]")
    return pd.DataFrame({
        "lead_id": mqls["lead_id"],
        "sla_hours": hours,
        "sla_deadline_at": business_deadline(start, hours, policy),
        "response_business_hours": business_hours_between(start, touched, policy),
    })


def _build_campaign_credit(con: duckdb.DuckDBPyConnection, as_of: dt.datetime) -> None:
    """Each opportunity's campaign credits under every attribution model and the campaigns that
    influenced it (metrics.attribution.rollup_sql): the campaigns page then never reads the
    touches."""
    # Imported here: metrics.attribution reads warehouses, which this module builds.
    from metrics.attribution import ROLLUP_HALF_LIFE_DAYS, ROLLUP_TABLE, rollup_sql

    con.execute(f"CREATE TABLE {ROLLUP_TABLE} AS {rollup_sql()}",
                {"as_of": as_of, "half_life": ROLLUP_HALF_LIFE_DAYS})


def build_lead_day_counts(con: duckdb.DuckDBPyConnection, as_of: dt.datetime,
                          model: StageModel | None = None) -> None:
    """(Re)build lead_day_counts (metrics.lead_rollup) from lead_lifecycle: the funnel and SLA
    pages then count a million rows at 10M leads, not ten million."""
    # Imported here: both modules read warehouses, which this module builds.
    from metrics.analysis import SLA_BUCKETS, SLA_UNTOUCHED_BUCKETS
    from metrics.lead_rollup import ROLLUP_TABLE, rollup_sql

    stages = (model or load_model()).funnel_stages
    con.execute(f"DROP TABLE IF EXISTS {ROLLUP_TABLE}")
    con.execute(f"CREATE TABLE {ROLLUP_TABLE} AS "
                f"{rollup_sql(stages, SLA_BUCKETS, SLA_UNTOUCHED_BUCKETS)}", {"as_of": as_of})


def _build_campaign_spend(con: duckdb.DuckDBPyConnection, as_of: dt.datetime) -> None:
    """Spread each campaign's cost evenly over its days, so cost can be put in any period.

    A campaign with no end date runs until as_of; one with no start date starts on the day its
    first lead arrived (or as_of). A campaign with no cost has no spend rows: its cost is
    unknown, not zero.
    """
    con.execute("""
        CREATE TABLE campaign_spend AS
        WITH spans AS (
            SELECT c.campaign_id, c.channel, c.cost,
                   COALESCE(c.started_on, first_lead.day, $as_of::DATE) AS first_day,
                   COALESCE(c.ended_on, GREATEST($as_of::DATE,
                            COALESCE(c.started_on, first_lead.day, $as_of::DATE))) AS last_day
            FROM campaigns c
            LEFT JOIN (SELECT campaign_id, MIN(created_at)::DATE AS day FROM leads
                       GROUP BY campaign_id) first_lead USING (campaign_id)
            WHERE c.cost IS NOT NULL
        ),
        ordered AS (
            SELECT campaign_id, channel, cost, LEAST(first_day, last_day) AS first_day,
                   GREATEST(first_day, last_day) AS last_day
            FROM spans
        )
        SELECT campaign_id, channel AS source_channel,
               CAST(day AS DATE) AS spend_on, CAST(day AS TIMESTAMP) AS spent_at,
               cost / (date_diff('day', first_day, last_day) + 1) AS cost
        FROM ordered, LATERAL (SELECT UNNEST(generate_series(first_day::TIMESTAMP,
                               last_day::TIMESTAMP, INTERVAL 1 DAY)) AS day)
        ORDER BY spend_on
    """, {"as_of": as_of})


@contextmanager
def new_warehouse(path: Path | str, *, model: StageModel | None = None
                  ) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a connection to a fresh warehouse with the schema created; swap it in on success.

    The caller fills the canonical tables and calls `build_derived`. On any exception the new
    file is deleted and the existing warehouse at `path` is left untouched; on success the
    warehouse it replaces is kept (metrics.backups), so the load can be undone.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned_builds(target)
    temp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.building")
    con = duckdb.connect(str(temp), config={"memory_limit": BUILD_MEMORY_LIMIT})
    try:
        create_schema(con, model)
        yield con
        missing = [t for t in DERIVED_TABLES if not _has_table(con, t)]
        if missing:
            raise WarehouseError(f"the build did not create the derived tables {missing}.")
        con.execute("CHECKPOINT")
        con.close()
        # Imported late: metrics.backups describes warehouses with this module's tables.
        from metrics.backups import replace_keeping_previous

        replace_keeping_previous(temp, target)
    except BaseException:
        con.close()
        for leftover in (temp, temp.with_name(temp.name + ".wal")):
            leftover.unlink(missing_ok=True)
        raise


def remove_abandoned_builds(target: Path) -> list[Path]:
    """Delete what builds of `target` killed before their cleanup left behind.

    A build's files (the new file, its WAL, an import's scratch database and transcoded
    copies, DuckDB's spill directory) all start with `.<name>.<pid>.`; those of a process
    that no longer runs are abandoned. Returns what was removed.
    """
    removed = []
    for leftover in target.parent.glob(f".{target.name}.*.building*"):
        pid = leftover.name[len(target.name) + 2:].split(".", 1)[0]
        if not pid.isdigit() or _process_running(int(pid)):
            continue
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
        removed.append(leftover)
    return removed


def _process_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: not ours to judge
    return True


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = $t", {"t": name}
    ).fetchone()[0])


def build_warehouse(path: Path | str, fill: Callable[[duckdb.DuckDBPyConnection], None], *,
                    as_of: dt.datetime | None = None, source: str,
                    model: StageModel | None = None,
                    inspect: Callable[[duckdb.DuckDBPyConnection], object] | None = None):
    """Build a complete warehouse at `path`: `fill(con)` loads the canonical tables.

    Without `as_of`, the data's as-of time is its latest recorded timestamp. `inspect(con)`,
    if given, reads the finished warehouse before it is swapped in and its result is returned:
    reopening the path afterwards could meet a reader's open connection to the old file.
    """
    model = model or load_model()
    with new_warehouse(path, model=model) as con:
        fill(con)
        if as_of is None:
            as_of = latest_timestamp(con)
        build_derived(con, as_of=as_of, source=source, model=model)
        return inspect(con) if inspect else None


def latest_timestamp(con: duckdb.DuckDBPyConnection) -> dt.datetime:
    """The latest time anything happened in the canonical tables (now, for an empty warehouse)."""
    row = con.execute("""
        SELECT GREATEST(
            (SELECT MAX(created_at) FROM leads), (SELECT MAX(occurred_at) FROM lead_events),
            (SELECT MAX(occurred_at) FROM touches),
            (SELECT MAX(GREATEST(created_at, COALESCE(closed_at, created_at))) FROM opportunities))
    """).fetchone()
    return row[0] or dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def table_schema(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """{table: {column: type}} for the tables metric SQL may read, as sqlglot's qualify wants."""
    rows = con.execute("""
        SELECT table_name, column_name, data_type FROM information_schema.columns
        WHERE table_schema = 'main' ORDER BY table_name, ordinal_position
    """).fetchall()
    schema: dict[str, dict[str, str]] = {}
    for table, column, dtype in rows:
        if table in CANONICAL_TABLES or table in DERIVED_TABLES:
            # ENUM types are spelled out by DuckDB; for type inference a string is what they are.
            schema.setdefault(table, {})[column] = "VARCHAR" if dtype.startswith("ENUM") else dtype
    return schema


def lead_column_copies(schema: dict[str, dict[str, str]]) -> dict[str, frozenset[str]]:
    """{table: lead columns it repeats row by row} for a warehouse's schema.

    `leads` trivially repeats all of its columns; lead_lifecycle the canonical ones (an extra
    imported lead column might share a name with a lifecycle column, so it is not trusted);
    opportunity_lifecycle those of OPPORTUNITY_LEAD_COLUMNS.
    """
    lead_columns = {c.lower() for c in schema.get("leads", {})}
    canonical = {c.lower() for c in reference_schema()["leads"]}
    wanted = {"leads": lead_columns, "lead_lifecycle": canonical,
              "opportunity_lifecycle": set(OPPORTUNITY_LEAD_COLUMNS)}
    return {table: frozenset(columns & lead_columns & {c.lower() for c in schema[table]})
            for table, columns in wanted.items() if table in schema}


_REFERENCE_SCHEMA: dict[str, dict[str, dict[str, str]]] = {}
# The code that decides which tables and columns an empty build creates.
_SCHEMA_CODE = ("build.py", "attribution.py", "lead_rollup.py", "profile.py")
# The last reference schema built, kept on disk with its key: a fresh process (the server, a
# CLI call) then reads it instead of building an empty warehouse in memory (0.25 s).
REFERENCE_SCHEMA_FILE = DATA_DIR / "reference-schema.json"


@functools.cache
def _schema_code_digest() -> str:
    digest = hashlib.sha256(duckdb.__version__.encode())
    for path in [*(Path(__file__).with_name(name) for name in _SCHEMA_CODE), SCHEMA_FILE]:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _reference_key(model: StageModel) -> str:
    """Changes with the model, the build code, schema.sql or DuckDB: never a stale schema."""
    return hashlib.sha256(f"{_schema_code_digest()}|{model!r}".encode()).hexdigest()[:20]


def _stored_reference(key: str) -> dict[str, dict[str, str]] | None:
    try:
        stored = json.loads(REFERENCE_SCHEMA_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return stored.get("schema") if isinstance(stored, dict) and stored.get("key") == key else None


def _store_reference(key: str, schema: dict[str, dict[str, str]]) -> None:
    """Write the file whole or not at all; an unwritable folder only costs the next process
    the build."""
    temp = REFERENCE_SCHEMA_FILE.with_name(f".{REFERENCE_SCHEMA_FILE.name}.{os.getpid()}")
    try:
        temp.write_text(json.dumps({"key": key, "schema": schema}), encoding="utf-8")
        os.replace(temp, REFERENCE_SCHEMA_FILE)
    except OSError:
        temp.unlink(missing_ok=True)


def reference_schema(model: StageModel | None = None) -> dict[str, dict[str, str]]:
    """The schema of an empty warehouse built by this code: for validating SQL with no warehouse.

    Built once per model and code version, in memory and on disk (REFERENCE_SCHEMA_FILE)."""
    model = model or load_model()
    key = _reference_key(model)
    if key not in _REFERENCE_SCHEMA:
        schema = _stored_reference(key)
        if schema is None:
            schema = _build_reference_schema(model)
            _store_reference(key, schema)
        _REFERENCE_SCHEMA[key] = schema
    return _REFERENCE_SCHEMA[key]


def _build_reference_schema(model: StageModel) -> dict[str, dict[str, str]]:
    con = duckdb.connect(":memory:")
    try:
        create_schema(con, model)
        build_derived(con, as_of=dt.datetime(2000, 1, 1), source="reference", model=model)
        return table_schema(con)
    finally:
        con.close()
