-- days_mql_to_won v1 for clickhouse: grain month, by segment, where {'lead_score': ['80'], 'region': ['EMEA', 'NA']}, 2025-01-01 to 2025-04-01
-- trend
SELECT
  CAST(dateTrunc('MONTH', m.first_mql_at) AS Nullable(DATE)) AS period,
  m._lead_segment AS segment,
  quantileExactInclusive(0.5)(CAST(m.value AS Nullable(Float64))) AS value
FROM (
  SELECT
    lead_id,
    first_mql_at,
    DATE_DIFF(SECOND, first_mql_at, first_won_at) / 86400.0 AS value,
    lead_lifecycle.lead_score AS _lead_lead_score,
    lead_lifecycle.region AS _lead_region,
    lead_lifecycle.segment AS _lead_segment
  FROM lead_lifecycle
  WHERE
    NOT (
      first_mql_at IS NULL
    )
    AND NOT (
      first_won_at IS NULL
    )
    AND first_won_at >= first_mql_at
) AS m
WHERE
  NOT (
    m.first_mql_at IS NULL
  )
  AND m.first_mql_at >= {start:DateTime64(6, 'UTC')}
  AND m.first_mql_at < {end:DateTime64(6, 'UTC')}
  AND (
    (
      m.lead_id IS NULL
      OR m._lead_lead_score IN (accurateCastOrNull({w0_0:String}, 'Float64'))
    )
    AND (
      m.lead_id IS NULL OR m._lead_region IN ({w1_0:String}, {w1_1:String})
    )
  )
GROUP BY
  CAST(dateTrunc('MONTH', m.first_mql_at) AS Nullable(DATE)),
  m._lead_segment
ORDER BY
  CAST(dateTrunc('MONTH', m.first_mql_at) AS Nullable(DATE)),
  m._lead_segment
LIMIT 100001;
-- scorecard tile
SELECT
  CASE WHEN GROUPING(w._in_w0) = 0 THEN 0 WHEN GROUPING(w._in_w1) = 0 THEN 1 ELSE -1 END AS window_set,
  w._period AS period,
  quantileExactInclusive(0.5)(CAST(w.value AS Nullable(Float64))) AS value
FROM (
  SELECT
    *,
    m.first_mql_at >= {win0_start:DateTime64(6, 'UTC')}
    AND m.first_mql_at < {win0_end:DateTime64(6, 'UTC')} AS _in_w0,
    m.first_mql_at >= {win1_start:DateTime64(6, 'UTC')}
    AND m.first_mql_at < {win1_end:DateTime64(6, 'UTC')} AS _in_w1,
    m.first_mql_at >= {win2_start:DateTime64(6, 'UTC')}
    AND m.first_mql_at < {win2_end:DateTime64(6, 'UTC')} AS _in_w2,
    CAST(dateTrunc('MONTH', m.first_mql_at) AS Nullable(DATE)) AS _period
  FROM (
    SELECT
      lead_id,
      first_mql_at,
      DATE_DIFF(SECOND, first_mql_at, first_won_at) / 86400.0 AS value
    FROM lead_lifecycle
    WHERE
      NOT (
        first_mql_at IS NULL
      )
      AND NOT (
        first_won_at IS NULL
      )
      AND first_won_at >= first_mql_at
  ) AS m
  WHERE
    NOT (
      m.first_mql_at IS NULL
    )
    AND m.first_mql_at >= {start:DateTime64(6, 'UTC')}
    AND m.first_mql_at < {end:DateTime64(6, 'UTC')}
) AS w
GROUP BY
  GROUPING SETS (
    (
      w._in_w0
    ),
    (
      w._in_w1
    ),
    (w._in_w2, w._period)
  )
HAVING
  (
    GROUPING(w._in_w0) = 0 AND w._in_w0
  )
  OR (
    GROUPING(w._in_w1) = 0 AND w._in_w1
  )
  OR (
    GROUPING(w._in_w2) = 0 AND w._in_w2
  )
ORDER BY
  window_set,
  period
LIMIT 100003;
