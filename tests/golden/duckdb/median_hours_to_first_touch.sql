-- median_hours_to_first_touch v1 for duckdb: grain month, by segment, where {'lead_score': ['80'], 'region': ['EMEA', 'NA']}, 2025-01-01 to 2025-04-01
-- trend
SELECT
  CAST(DATE_TRUNC('MONTH', m.first_mql_at) AS DATE) AS period,
  m._lead_segment AS segment,
  MEDIAN(CAST(m.value AS DOUBLE)) AS value
FROM (
  SELECT
    lead_id,
    first_mql_at,
    DATE_DIFF('SECOND', first_mql_at, first_sales_touch_at) / 3600.0 AS value,
    first_sales_touch_rep_id AS touched_by,
    lead_lifecycle.lead_score AS _lead_lead_score,
    lead_lifecycle.region AS _lead_region,
    lead_lifecycle.segment AS _lead_segment
  FROM lead_lifecycle
  WHERE
    NOT first_mql_at IS NULL AND NOT first_sales_touch_at IS NULL
) AS m
WHERE
  NOT m.first_mql_at IS NULL
  AND m.first_mql_at >= $start
  AND m.first_mql_at < $end
  AND (
    (
      m.lead_id IS NULL OR m._lead_lead_score IN (TRY_CAST($w0_0 AS DOUBLE))
    )
    AND (
      m.lead_id IS NULL OR m._lead_region IN ($w1_0, $w1_1)
    )
  )
GROUP BY
  CAST(DATE_TRUNC('MONTH', m.first_mql_at) AS DATE),
  m._lead_segment
ORDER BY
  CAST(DATE_TRUNC('MONTH', m.first_mql_at) AS DATE),
  m._lead_segment
LIMIT 100001;
-- scorecard tile
SELECT
  CASE WHEN GROUPING(w._in_w0) = 0 THEN 0 WHEN GROUPING(w._in_w1) = 0 THEN 1 ELSE -1 END AS window_set,
  w._period AS period,
  MEDIAN(CAST(w.value AS DOUBLE)) AS value
FROM (
  SELECT
    *,
    m.first_mql_at >= $win0_start AND m.first_mql_at < $win0_end AS _in_w0,
    m.first_mql_at >= $win1_start AND m.first_mql_at < $win1_end AS _in_w1,
    m.first_mql_at >= $win2_start AND m.first_mql_at < $win2_end AS _in_w2,
    CAST(DATE_TRUNC('MONTH', m.first_mql_at) AS DATE) AS _period
  FROM (
    SELECT
      lead_id,
      first_mql_at,
      DATE_DIFF('SECOND', first_mql_at, first_sales_touch_at) / 3600.0 AS value,
      first_sales_touch_rep_id AS touched_by
    FROM lead_lifecycle
    WHERE
      NOT first_mql_at IS NULL AND NOT first_sales_touch_at IS NULL
  ) AS m
  WHERE
    NOT m.first_mql_at IS NULL AND m.first_mql_at >= $start AND m.first_mql_at < $end
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
