-- mql_rule v1 for snowflake: grain month, by segment, where {'lead_score': ['80'], 'region': ['EMEA', 'NA']}, 2025-01-01 to 2025-04-01
-- trend
SELECT
  CAST(DATE_TRUNC('MONTH', m.created_at) AS DATE) AS period,
  m._lead_segment AS segment,
  COUNT(m.value) AS value
FROM (
  SELECT
    lead_id,
    created_at,
    1 AS value,
    lead_lifecycle.lead_score AS _lead_lead_score,
    lead_lifecycle.region AS _lead_region,
    lead_lifecycle.segment AS _lead_segment
  FROM lead_lifecycle
  WHERE
    lead_score >= 60
) AS m
WHERE
  NOT m.created_at IS NULL
  AND m.created_at >= :start
  AND m.created_at < :end
  AND (
    (
      m.lead_id IS NULL OR m._lead_lead_score IN (CAST(:w0_0 AS DOUBLE))
    )
    AND (
      m.lead_id IS NULL OR m._lead_region IN (:w1_0, :w1_1)
    )
  )
GROUP BY
  CAST(DATE_TRUNC('MONTH', m.created_at) AS DATE),
  m._lead_segment
ORDER BY
  CAST(DATE_TRUNC('MONTH', m.created_at) AS DATE),
  m._lead_segment
LIMIT 100001;
-- scorecard tile
WITH cells AS (
  SELECT
    w._in_w0,
    w._in_w1,
    w._in_w2,
    w._period,
    COUNT(w.value) AS _n
  FROM (
    SELECT
      *,
      m.created_at >= :win0_start AND m.created_at < :win0_end AS _in_w0,
      m.created_at >= :win1_start AND m.created_at < :win1_end AS _in_w1,
      m.created_at >= :win2_start AND m.created_at < :win2_end AS _in_w2,
      CAST(DATE_TRUNC('MONTH', m.created_at) AS DATE) AS _period
    FROM (
      SELECT
        lead_id,
        created_at,
        1 AS value
      FROM lead_lifecycle
      WHERE
        lead_score >= 60
    ) AS m
    WHERE
      NOT m.created_at IS NULL AND m.created_at >= :start AND m.created_at < :end
  ) AS w
  GROUP BY
    w._in_w0,
    w._in_w1,
    w._in_w2,
    w._period
)
SELECT
  *
FROM (
  SELECT
    0 AS window_set,
    CAST(NULL AS DATE) AS period,
    COALESCE(SUM(c._n), 0) AS value
  FROM cells AS c
  WHERE
    c._in_w0
  UNION ALL
  SELECT
    1 AS window_set,
    CAST(NULL AS DATE) AS period,
    COALESCE(SUM(c._n), 0) AS value
  FROM cells AS c
  WHERE
    c._in_w1
  UNION ALL
  SELECT
    -1 AS window_set,
    c._period AS period,
    COALESCE(SUM(c._n), 0) AS value
  FROM cells AS c
  WHERE
    c._in_w2
  GROUP BY
    c._period
) AS u
ORDER BY
  window_set,
  period
LIMIT 100003;
