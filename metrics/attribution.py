"""Multi-touch attribution: how much of each converted journey each campaign gets credit for.

A journey is a lead whose (first) opportunity was created in the period; its touchpoints are
the lead's marketing touches at or before that opportunity's creation. Under every model the
credits of one journey sum to exactly 1, so the credits of a table add up to the number of
journeys and credited pipeline adds up to the pipeline of those opportunities. Nothing is
dropped: touches without a campaign go to "(no campaign)", journeys without any marketing
touch to "(no marketing touch)".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from metrics.errors import QueryError
from metrics.selection import lead_filter, time_filter
from metrics.warehouse import Warehouse

MODELS = {
    "first_touch": "First touch", "last_touch": "Last touch", "linear": "Linear",
    "u_shaped": "U-shaped (40/20/40)", "w_shaped": "W-shaped (30/30/30 + 10)",
    "time_decay": "Time decay",
}
NO_CAMPAIGN = "(no campaign)"
NO_TOUCH = "(no marketing touch)"

# Weight of one touch before normalisation, per model; n = touches in the journey, pos = 1..n.
_RAW_WEIGHT = {
    "first_touch": "CASE WHEN pos = 1 THEN 1.0 ELSE 0.0 END",
    "last_touch": "CASE WHEN pos = n THEN 1.0 ELSE 0.0 END",
    "linear": "1.0",
    "u_shaped": """CASE WHEN n = 1 THEN 1.0 WHEN n = 2 THEN 0.5
                        WHEN pos = 1 OR pos = n THEN 0.4 ELSE 0.2 / (n - 2) END""",
    # Key touches get 0.3 each (adding up where two coincide); the rest share 0.1. With no
    # other touches the 0.9 of the key touches is scaled to 1 by the normalisation below.
    "w_shaped": """(CASE WHEN pos = 1 THEN 0.3 ELSE 0.0 END
                    + CASE WHEN pos = creation_pos THEN 0.3 ELSE 0.0 END
                    + CASE WHEN pos = n THEN 0.3 ELSE 0.0 END
                    + CASE WHEN pos <> 1 AND pos <> creation_pos AND pos <> n
                           THEN 0.1 / (n - key_touches) ELSE 0.0 END)""",
    "time_decay": "pow(0.5, days_before / $half_life)",
}


def _credits_sql(model: str, where_sql: str) -> str:
    if model not in _RAW_WEIGHT:
        raise QueryError(f"unknown attribution model '{model}'; use one of {', '.join(MODELS)}.")
    return f"""
        WITH journeys AS (
            SELECT o.lead_id, ARG_MIN(o.opportunity_id, o.created_at) AS opportunity_id,
                   MIN(o.created_at) AS converted_at
            FROM opportunity_lifecycle o JOIN leads l USING (lead_id)
            WHERE {where_sql}
            GROUP BY o.lead_id
        ),
        touchpoints AS (
            SELECT j.lead_id, j.opportunity_id, t.touch_id, t.campaign_id,
                   date_diff('second', t.occurred_at, j.converted_at) / 86400.0 AS days_before,
                   t.occurred_at <= l.created_at AS before_creation,
                   ROW_NUMBER() OVER (PARTITION BY j.lead_id ORDER BY t.occurred_at, t.touch_id) AS pos,
                   COUNT(*) OVER (PARTITION BY j.lead_id) AS n
            FROM journeys j
            JOIN touches t ON t.lead_id = j.lead_id AND t.team = 'marketing'
                          AND t.occurred_at <= j.converted_at
            JOIN leads l ON l.lead_id = j.lead_id
        ),
        positioned AS (
            SELECT *,
                   COALESCE(MAX(CASE WHEN before_creation THEN pos END)
                            OVER (PARTITION BY lead_id), 1) AS creation_pos
            FROM touchpoints
        ),
        keyed AS (
            SELECT *, (1 + CASE WHEN creation_pos NOT IN (1, n) THEN 1 ELSE 0 END
                         + CASE WHEN n > 1 THEN 1 ELSE 0 END) AS key_touches
            FROM positioned
        ),
        weighted AS (
            SELECT lead_id, opportunity_id, touch_id, campaign_id, {_RAW_WEIGHT[model]} AS raw
            FROM keyed
        )
        SELECT lead_id, opportunity_id, touch_id, campaign_id,
               raw / SUM(raw) OVER (PARTITION BY lead_id) AS credit
        FROM weighted
        UNION ALL
        SELECT j.lead_id, j.opportunity_id, NULL, NULL, 1.0
        FROM journeys j
        WHERE NOT EXISTS (SELECT 1 FROM touches t WHERE t.lead_id = j.lead_id
                          AND t.team = 'marketing' AND t.occurred_at <= j.converted_at)
    """


def _where(start, end, where) -> tuple[str, dict]:
    time_cond, time_params = time_filter("created_at", table="o", start=start, end=end)
    lead_cond, lead_params = lead_filter(where, table="l")
    from sqlglot import exp

    return exp.and_(time_cond, lead_cond).sql("duckdb"), {**time_params, **lead_params}


def attribution_credits(wh: Warehouse, *, model: str, start=None, end=None,
                        where: Mapping[str, Sequence[str]] | None = None,
                        half_life_days: float = 7.0) -> pd.DataFrame:
    """One row per (journey, touch): lead_id, opportunity_id, touch_id, campaign_id, credit."""
    where_sql, params = _where(start, end, where)
    if model == "time_decay":
        if half_life_days <= 0:
            raise QueryError("the time-decay half-life must be a positive number of days.")
        params["half_life"] = float(half_life_days)
    return wh.execute(_credits_sql(model, where_sql) + " ORDER BY lead_id, touch_id NULLS FIRST",
                      params, label=f"{model} attribution")


def attribution(wh: Warehouse, *, model: str, start=None, end=None,
                where: Mapping[str, Sequence[str]] | None = None, half_life_days: float = 7.0,
                level: str = "campaign") -> pd.DataFrame:
    """Credits, credited pipeline and credited won revenue per campaign or channel.

    Columns: key, label, credit, attributed_pipeline, attributed_revenue (largest first).
    """
    if level not in ("campaign", "channel"):
        raise QueryError("attribution level must be 'campaign' or 'channel'.")
    where_sql, params = _where(start, end, where)
    if model == "time_decay":
        if half_life_days <= 0:
            raise QueryError("the time-decay half-life must be a positive number of days.")
        params["half_life"] = float(half_life_days)
    key = "cr.campaign_id" if level == "campaign" else "c.channel"
    label = "COALESCE(c.name || ' (' || c.channel || ')', cr.campaign_id)" if level == "campaign" \
        else "c.channel"
    return wh.execute(f"""
        WITH credits AS ({_credits_sql(model, where_sql)})
        SELECT CASE WHEN cr.touch_id IS NULL THEN '{NO_TOUCH}'
                    ELSE COALESCE({key}, '{NO_CAMPAIGN}') END AS key,
               CASE WHEN cr.touch_id IS NULL THEN '{NO_TOUCH}'
                    ELSE COALESCE({label}, '{NO_CAMPAIGN}') END AS label,
               SUM(cr.credit) AS credit,
               SUM(cr.credit * COALESCE(o.amount, 0)) AS attributed_pipeline,
               SUM(cr.credit * CASE WHEN o.status = 'won' THEN COALESCE(o.amount, 0) ELSE 0 END)
                   AS attributed_revenue
        FROM credits cr
        JOIN opportunities o USING (opportunity_id)
        LEFT JOIN campaigns c ON c.campaign_id = cr.campaign_id
        GROUP BY ALL
        ORDER BY attributed_pipeline DESC, key
    """, params, label=f"{model} attribution")
