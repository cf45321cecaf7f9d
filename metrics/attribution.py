"""Multi-touch attribution: how much of each converted journey each campaign gets credit for.

A journey is a lead with an opportunity created in the period (and matching the lead
filters); its conversion is the first of those opportunities, and its touchpoints are the
lead's marketing touches at or before that opportunity's created_at, ordered by time (then
touch_id, so ties are stable). Under every model the credits of one journey sum to exactly 1,
so a table's credits add up to the number of journeys. Nothing is dropped: touches without a
campaign go to "(no campaign)", journeys without any marketing touch before the opportunity
go to "(no marketing touch)" with credit 1.

A journey's pipeline is the amount of the lead's opportunities created in the period and its
revenue the won amount among them, so attributed pipeline adds up to the pipeline created in
the period (the pipeline_created metric) under every model.

Everything runs in one query with window functions; there is no per-journey Python. The SQL
is DuckDB that every engine runs with the same meaning (metrics.engines renders it): a
journey's first opportunity is picked with ROW_NUMBER over a total order, not FIRST(… ORDER
BY …), and a filtered count over a window is a COUNT of a CASE.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd
from sqlglot import exp

from metrics.errors import QueryError
from metrics.selection import LeadFilter, columns_of, lead_condition, time_filter
from metrics.warehouse import Warehouse

Where = LeadFilter | Mapping[str, Sequence[str]] | None

MODELS: tuple[str, ...] = ("first_touch", "last_touch", "linear", "u_shaped", "w_shaped",
                           "time_decay")
MODEL_LABELS: dict[str, str] = {
    "first_touch": "First touch", "last_touch": "Last touch", "linear": "Linear",
    "u_shaped": "U-shaped (40/20/40)", "w_shaped": "W-shaped (30/30/30 + 10)",
    "time_decay": "Time decay",
}
LEVELS = ("campaign", "channel")
NO_CAMPAIGN = "(no campaign)"
NO_CHANNEL = "(no channel)"
NO_TOUCH = "(no marketing touch)"

# Weight of one touch before normalisation per model; n = touches of the journey (n >= 1
# here), pos = 1..n in time order. Each is divided by the journey's sum, so only ratios matter.
_RAW_WEIGHT = {
    "first_touch": "CASE WHEN pos = 1 THEN 1.0 ELSE 0.0 END",
    "last_touch": "CASE WHEN pos = n THEN 1.0 ELSE 0.0 END",
    "linear": "1.0",
    # 40 % first, 40 % last, 20 % shared by the middle; 100 % for one touch, 50/50 for two.
    "u_shaped": """CASE WHEN n = 1 THEN 1.0 WHEN n = 2 THEN 0.5
                        WHEN pos = 1 OR pos = n THEN 0.4 ELSE 0.2 / (n - 2) END""",
    # First, lead-creation and opportunity-creation (last) touches get 30 % each, adding up
    # where two are the same touch; the other touches share 10 %. Without other touches the key
    # touches' 90 % (or less, when they coincide) is scaled to 100 % by the normalisation.
    "w_shaped": """CASE WHEN pos = 1 THEN 0.3 ELSE 0.0 END
                   + CASE WHEN pos = creation_pos THEN 0.3 ELSE 0.0 END
                   + CASE WHEN pos = n THEN 0.3 ELSE 0.0 END
                   + CASE WHEN pos NOT IN (1, creation_pos, n)
                          THEN 0.1 / (n - key_touches) ELSE 0.0 END""",
    # Halves every half-life before the opportunity. Measured from the journey's latest touch
    # (whose weight is then 1) so that very old touches cannot underflow every weight to 0.
    "time_decay": "pow(0.5, (days_before - min_days_before) / $half_life)",
}


def _raw(model: str) -> str:
    """A touch's weight before normalisation; a journey without touches has one row, weight 1."""
    return f"CASE WHEN n = 0 THEN 1.0 ELSE {_RAW_WEIGHT[model]} END"


def _touchpoint_ctes(key: str) -> str:
    """CTEs `touchpoints` and `keyed` over a CTE `journeys` (lead_id, converted_at,
    lead_created_at, …; one row per `key`): each journey's marketing touches at or before its
    conversion in time order, with what the weights need (pos, n, creation_pos, key_touches,
    days_before, min_days_before), or one row with touch_id NULL for a journey without."""
    return f"""
        touchpoints AS (
            SELECT j.*, t.touch_id, t.campaign_id,
                   date_diff('second', t.occurred_at, j.converted_at) / 86400.0 AS days_before,
                   ROW_NUMBER() OVER (PARTITION BY j.{key} ORDER BY t.occurred_at, t.touch_id)
                       AS pos,
                   COUNT(t.touch_id) OVER journey AS n,
                   -- Touches at or before the lead's creation come first in time order, so the
                   -- lead-creation touch (the last of them) is at position "their count"; with
                   -- none it is the first touch.
                   GREATEST(COUNT(CASE WHEN t.occurred_at <= j.lead_created_at
                                       THEN t.touch_id END) OVER journey, 1) AS creation_pos,
                   MIN(date_diff('second', t.occurred_at, j.converted_at) / 86400.0)
                       OVER journey AS min_days_before
            FROM journeys j
            LEFT JOIN touches t ON t.lead_id = j.lead_id AND t.team = 'marketing'
                               AND t.occurred_at <= j.converted_at
            WINDOW journey AS (PARTITION BY j.{key})
        ),
        keyed AS (
            SELECT *, (1 + CASE WHEN creation_pos NOT IN (1, n) THEN 1 ELSE 0 END
                         + CASE WHEN n > 1 THEN 1 ELSE 0 END) AS key_touches
            FROM touchpoints
        )"""


def _ranked_opportunities(table: str, where_sql: str, joined: str | None = None) -> str:
    """SQL: the rows of `table` (as o; joined with `joined` as l by lead_id when the condition
    reads lead columns) matching `where_sql`, with first_of_lead = 1 on each lead's first
    opportunity (by created_at, then opportunity_id: a total order)."""
    join = f" JOIN {joined} l ON l.lead_id = o.lead_id" if joined else ""
    return (f"SELECT o.*, ROW_NUMBER() OVER (PARTITION BY o.lead_id ORDER BY o.created_at, "
            f"o.opportunity_id) AS first_of_lead FROM {table} o{join} WHERE {where_sql}")


def _credits_sql(model: str, where_sql: str) -> str:
    """One row per (journey, touchpoint), or one row with touch_id NULL for a journey without."""
    return f"""
        WITH journeys AS (
            SELECT o.lead_id,
                   MIN(CASE WHEN o.first_of_lead = 1 THEN o.opportunity_id END) AS opportunity_id,
                   MIN(o.created_at) AS converted_at,
                   MIN(l.created_at) AS lead_created_at,
                   COALESCE(SUM(o.amount), 0) AS pipeline,
                   COALESCE(SUM(o.amount) FILTER (WHERE o.status = 'won'), 0) AS revenue
            FROM ({_ranked_opportunities("opportunities", where_sql, "leads")}) AS o
            JOIN leads l ON l.lead_id = o.lead_id
            GROUP BY o.lead_id
        ),
        {_touchpoint_ctes("lead_id")},
        weighted AS (SELECT *, {_raw(model)} AS raw FROM keyed)
        SELECT lead_id, opportunity_id, touch_id, campaign_id, pos, n, pipeline, revenue,
               raw / SUM(raw) OVER (PARTITION BY lead_id) AS credit
        FROM weighted
    """


# -- the rollup built at load time -------------------------------------------------------------
# A journey's credits depend only on its conversion (the first opportunity in the period: its
# created_at and lead), so they can be computed once per opportunity when the warehouse is
# built; a query then only picks each journey's first opportunity and sums its rows. This is
# what keeps attribution and influence fast over tens of millions of touches.
ROLLUP_TABLE = "opportunity_campaign_credit"
# The time-decay half-life the rollup is built with (the page's default); another half-life
# is computed from the touches.
ROLLUP_HALF_LIFE_DAYS = 7.0


def rollup_sql() -> str:
    """The SELECT of ROLLUP_TABLE (parameter $as_of): one row per opportunity and campaign.

    Rows with in_journey carry each campaign's summed credit under every model (credit_<model>)
    were the opportunity a journey's conversion: its touches at or before the opportunity's
    created_at; campaign_id NULL for touches without a campaign, and one row with
    no_marketing_touch and every credit 1 for an opportunity without a touch. Rows with
    influenced: the campaign touched the lead before the close (before as_of while open), as
    opportunity_lifecycle.marketing_influenced counts per opportunity.
    """
    credits = ",\n".join(f"{_raw(m)} AS raw_{m}" for m in MODELS)
    normalised = ",\n".join(f"raw_{m} / SUM(raw_{m}) OVER (PARTITION BY opportunity_id) AS c_{m}"
                             for m in MODELS)
    summed = ", ".join(f"SUM(c_{m}) AS credit_{m}" for m in MODELS)
    chosen = ", ".join(f"COALESCE(c.credit_{m}, 0) AS credit_{m}" for m in MODELS)
    return f"""
        WITH journeys AS (
            SELECT o.opportunity_id, o.lead_id, o.created_at AS converted_at,
                   l.created_at AS lead_created_at
            FROM opportunities o JOIN leads l ON l.lead_id = o.lead_id
        ),
        {_touchpoint_ctes("opportunity_id")},
        weighted AS (SELECT opportunity_id, campaign_id, touch_id IS NULL AS no_touch, {credits}
                     FROM keyed),
        normalised AS (SELECT opportunity_id, campaign_id, no_touch, {normalised}
                       FROM weighted),
        credited AS (SELECT opportunity_id, campaign_id, no_touch, {summed}
                     FROM normalised GROUP BY ALL),
        influence AS (
            SELECT DISTINCT o.opportunity_id, t.campaign_id
            FROM opportunities o JOIN touches t
              ON t.lead_id = o.lead_id AND t.team = 'marketing' AND t.campaign_id IS NOT NULL
             AND t.occurred_at < COALESCE(o.closed_at, $as_of)
        )
        SELECT COALESCE(c.opportunity_id, i.opportunity_id) AS opportunity_id,
               COALESCE(c.campaign_id, i.campaign_id) AS campaign_id,
               COALESCE(c.no_touch, FALSE) AS no_marketing_touch,
               c.opportunity_id IS NOT NULL AS in_journey,
               i.opportunity_id IS NOT NULL AS influenced,
               {chosen}
        FROM credited c
        FULL JOIN influence i ON i.opportunity_id = c.opportunity_id
                             AND i.campaign_id = c.campaign_id
        ORDER BY opportunity_id
    """


def uses_rollup(wh: Warehouse, model: str, half_life_days: float = ROLLUP_HALF_LIFE_DAYS) -> bool:
    """Whether `attribution` reads the rollup: the warehouse has one (a warehouse built before
    it existed has not) and holds this model's credits (time decay: at its built half-life)."""
    return ROLLUP_TABLE in wh.schema and (model != "time_decay"
                                          or half_life_days == ROLLUP_HALF_LIFE_DAYS)


def _rollup_credits_sql(wh: Warehouse, model: str, start, end, where: Where) -> tuple[str, dict]:
    """The rows `attribution` sums, from the rollup: per journey (a lead with an opportunity
    created in the period) its first opportunity's campaign credits, with the journey's
    pipeline and revenue; touch_id is NULL for a journey without a marketing touch."""
    time_cond, time_params = time_filter("created_at", table="o", start=start, end=end)
    resolve = columns_of("o", wh.lead_columns,
                         wh.lead_copies.get("opportunity_lifecycle", frozenset()))
    lead_cond, lead_params, _ = lead_condition(LeadFilter.of(where), resolve, prefix="f")
    return f"""
        WITH journeys AS (
            SELECT o.lead_id,
                   MIN(CASE WHEN o.first_of_lead = 1 THEN o.opportunity_id END) AS opportunity_id,
                   COALESCE(SUM(o.amount), 0) AS pipeline,
                   COALESCE(SUM(o.amount) FILTER (WHERE o.status = 'won'), 0) AS revenue
            FROM ({_ranked_opportunities("opportunity_lifecycle",
                                         exp.and_(time_cond, lead_cond).sql("duckdb"))}) AS o
            GROUP BY o.lead_id
        )
        SELECT CASE WHEN r.no_marketing_touch THEN NULL ELSE 0 END AS touch_id, r.campaign_id,
               r.credit_{model} AS credit, j.pipeline, j.revenue
        FROM journeys j JOIN {ROLLUP_TABLE} r
          ON r.opportunity_id = j.opportunity_id AND r.in_journey
    """, {**time_params, **lead_params}


def _prepare(wh: Warehouse, model: str, start, end, where: Where,
             half_life_days: float) -> tuple[str, dict]:
    """Check the arguments; return the credits SQL and its parameters."""
    if model not in MODELS:
        raise QueryError(f"there is no attribution model '{model}'; use one of "
                         f"{', '.join(MODELS)}.")
    time_cond, time_params = time_filter("created_at", table="o", start=start, end=end)
    lead_cond, lead_params, _ = lead_condition(LeadFilter.of(where),
                                               columns_of("l", wh.lead_columns), prefix="f")
    params: dict[str, object] = {**time_params, **lead_params}
    if model == "time_decay":
        if not (isinstance(half_life_days, int | float) and math.isfinite(half_life_days)
                and half_life_days > 0):
            raise QueryError("the time-decay half-life must be a positive number of days.")
        params["half_life"] = float(half_life_days)
    return _credits_sql(model, exp.and_(time_cond, lead_cond).sql("duckdb")), params


def attribution_credits(wh: Warehouse, *, model: str, start=None, end=None,
                        where: Where = None,
                        half_life_days: float = 7.0) -> pd.DataFrame:
    """The credit of every touchpoint of every journey: one row per (lead_id, touch_id).

    Columns: lead_id, opportunity_id (the journey's first opportunity in the period), touch_id
    and campaign_id (both None for a journey without a marketing touch), position (1..touches),
    touches, credit. Credits of one lead sum to 1.
    """
    sql, params = _prepare(wh, model, start, end, where, half_life_days)
    return wh.execute(f"""
        SELECT lead_id, opportunity_id, touch_id, campaign_id,
               CASE WHEN n = 0 THEN NULL ELSE pos END AS position, n AS touches, credit
        FROM ({sql}) AS credits ORDER BY lead_id, pos""", params,
        label=f"{model} attribution credits")


def attribution(wh: Warehouse, *, model: str, start=None, end=None,
                where: Where = None, half_life_days: float = 7.0,
                level: str = "campaign", use_rollup: bool = True) -> pd.DataFrame:
    """Credited journeys, pipeline and revenue per campaign or channel under one model.

    Columns: key (campaign_id, or the campaign's channel at level "channel"), label
    ("name (channel)" for a campaign, the channel itself), credit (journeys credited; sums to
    the number of journeys), attributed_pipeline (credit × the journey's pipeline created in
    the period), attributed_revenue (credit × the won amount of those opportunities). Touches
    without a campaign have key "(no campaign)"; a campaign missing from campaigns or without
    a channel gives "(no channel)" at level channel; journeys without a marketing touch
    before the opportunity have key "(no marketing touch)". Largest pipeline first.

    The credits come from the rollup built at load time when it holds them (uses_rollup), else
    from the touches; `use_rollup=False` always reads the touches (the rollup's reference).
    """
    if level not in LEVELS:
        raise QueryError(f"attribution level must be 'campaign' or 'channel', not '{level}'.")
    sql, params = _prepare(wh, model, start, end, where, half_life_days)
    if use_rollup and uses_rollup(wh, model, half_life_days):
        sql, params = _rollup_credits_sql(wh, model, start, end, where)
    if level == "campaign":
        key = "COALESCE(cr.campaign_id, $no_campaign)"
        label = """CASE WHEN cr.campaign_id IS NULL THEN $no_campaign
                        WHEN c.channel IS NULL THEN COALESCE(c.name, cr.campaign_id)
                        ELSE COALESCE(c.name, cr.campaign_id) || ' (' || c.channel || ')' END"""
    else:
        key = label = ("CASE WHEN cr.campaign_id IS NULL THEN $no_campaign "
                       "ELSE COALESCE(c.channel, $no_channel) END")
    frame = wh.execute(f"""
        SELECT CASE WHEN cr.touch_id IS NULL THEN $no_touch ELSE {key} END AS key,
               CASE WHEN cr.touch_id IS NULL THEN $no_touch ELSE {label} END AS label,
               SUM(cr.credit) AS credit,
               SUM(cr.credit * cr.pipeline) AS attributed_pipeline,
               SUM(cr.credit * cr.revenue) AS attributed_revenue
        FROM ({sql}) cr
        LEFT JOIN campaigns c ON c.campaign_id = cr.campaign_id
        GROUP BY 1, 2
        ORDER BY attributed_pipeline DESC, credit DESC, key""",
        {**params, "no_campaign": NO_CAMPAIGN, "no_touch": NO_TOUCH,
         **({"no_channel": NO_CHANNEL} if level == "channel" else {})},
        label=f"{model} attribution")
    frame.attrs.update(model=model, model_label=MODEL_LABELS[model], level=level)
    return frame
