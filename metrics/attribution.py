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

Everything runs in one DuckDB query with window functions; there is no per-journey Python.
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


def _credits_sql(model: str, where_sql: str) -> str:
    """One row per (journey, touchpoint), or one row with touch_id NULL for a journey without."""
    return f"""
        WITH journeys AS (
            SELECT o.lead_id,
                   FIRST(o.opportunity_id ORDER BY o.created_at, o.opportunity_id)
                       AS opportunity_id,
                   MIN(o.created_at) AS converted_at,
                   ANY_VALUE(l.created_at) AS lead_created_at,
                   COALESCE(SUM(o.amount), 0) AS pipeline,
                   COALESCE(SUM(o.amount) FILTER (WHERE o.status = 'won'), 0) AS revenue
            FROM opportunities o JOIN leads l ON l.lead_id = o.lead_id
            WHERE {where_sql}
            GROUP BY o.lead_id
        ),
        touchpoints AS (
            SELECT j.*, t.touch_id, t.campaign_id,
                   date_diff('second', t.occurred_at, j.converted_at) / 86400.0 AS days_before,
                   ROW_NUMBER() OVER (PARTITION BY j.lead_id ORDER BY t.occurred_at, t.touch_id)
                       AS pos,
                   COUNT(t.touch_id) OVER journey AS n,
                   -- Touches at or before the lead's creation come first in time order, so the
                   -- lead-creation touch (the last of them) is at position "their count"; with
                   -- none it is the first touch.
                   GREATEST(COUNT(t.touch_id) FILTER (WHERE t.occurred_at <= j.lead_created_at)
                            OVER journey, 1) AS creation_pos,
                   MIN(date_diff('second', t.occurred_at, j.converted_at) / 86400.0)
                       OVER journey AS min_days_before
            FROM journeys j
            LEFT JOIN touches t ON t.lead_id = j.lead_id AND t.team = 'marketing'
                               AND t.occurred_at <= j.converted_at
            WINDOW journey AS (PARTITION BY j.lead_id)
        ),
        weighted AS (
            SELECT *,
                   CASE WHEN n = 0 THEN 1.0 ELSE {_RAW_WEIGHT[model]} END AS raw
            FROM (SELECT *, (1 + CASE WHEN creation_pos NOT IN (1, n) THEN 1 ELSE 0 END
                               + CASE WHEN n > 1 THEN 1 ELSE 0 END) AS key_touches
                  FROM touchpoints)
        )
        SELECT lead_id, opportunity_id, touch_id, campaign_id, pos, n, pipeline, revenue,
               raw / SUM(raw) OVER (PARTITION BY lead_id) AS credit
        FROM weighted
    """


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
        FROM ({sql}) ORDER BY lead_id, pos""", params, label=f"{model} attribution credits")


def attribution(wh: Warehouse, *, model: str, start=None, end=None,
                where: Where = None, half_life_days: float = 7.0,
                level: str = "campaign") -> pd.DataFrame:
    """Credited journeys, pipeline and revenue per campaign or channel under one model.

    Columns: key (campaign_id, or the campaign's channel at level "channel"), label
    ("name (channel)" for a campaign, the channel itself), credit (journeys credited; sums to
    the number of journeys), attributed_pipeline (credit × the journey's pipeline created in
    the period), attributed_revenue (credit × the won amount of those opportunities). Touches
    without a campaign have key "(no campaign)"; a campaign missing from campaigns or without
    a channel gives "(no channel)" at level channel; journeys without a marketing touch
    before the opportunity have key "(no marketing touch)". Largest pipeline first.
    """
    if level not in LEVELS:
        raise QueryError(f"attribution level must be 'campaign' or 'channel', not '{level}'.")
    sql, params = _prepare(wh, model, start, end, where, half_life_days)
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
        GROUP BY ALL
        ORDER BY attributed_pipeline DESC, credit DESC, key""",
        {**params, "no_campaign": NO_CAMPAIGN, "no_touch": NO_TOUCH,
         **({"no_channel": NO_CHANNEL} if level == "channel" else {})},
        label=f"{model} attribution")
    frame.attrs.update(model=model, model_label=MODEL_LABELS[model], level=level)
    return frame
