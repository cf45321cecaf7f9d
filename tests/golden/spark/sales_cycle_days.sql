-- sales_cycle_days v1 for spark: grain month, by segment, where {'lead_score': ['80'], 'region': ['EMEA', 'NA']}, 2025-01-01 to 2025-04-01
-- trend
SELECT
  CAST(DATE_TRUNC('MONTH', CAST(m.closed_at AS TIMESTAMP)) AS DATE) AS period,
  m._lead_segment AS segment,
  MEDIAN(CAST(m.value AS DOUBLE)) AS value
FROM (
  SELECT
    lead_id,
    closed_at,
    opportunity_id,
    CAST((
      UNIX_SECONDS(CAST(closed_at AS TIMESTAMP)) - UNIX_SECONDS(CAST(created_at AS TIMESTAMP))
    ) AS DOUBLE) / CAST(86400.0 AS DOUBLE) AS value,
    opportunity_lifecycle.region AS _lead_region,
    opportunity_lifecycle.segment AS _lead_segment
  FROM opportunity_lifecycle
  WHERE
    status = 'won' AND NOT closed_at IS NULL
) AS m
LEFT JOIN leads AS d
  ON m.lead_id = d.lead_id
WHERE
  NOT m.closed_at IS NULL
  AND m.closed_at >= :start
  AND m.closed_at < :end
  AND (
    (
      m.lead_id IS NULL OR d.lead_score IN (CAST(:w0_0 AS DOUBLE))
    )
    AND (
      m.lead_id IS NULL OR m._lead_region IN (:w1_0, :w1_1)
    )
  )
GROUP BY
  CAST(DATE_TRUNC('MONTH', CAST(m.closed_at AS TIMESTAMP)) AS DATE),
  m._lead_segment
ORDER BY
  CAST(DATE_TRUNC('MONTH', CAST(m.closed_at AS TIMESTAMP)) AS DATE) NULLS LAST,
  m._lead_segment NULLS LAST
LIMIT 100001;
-- scorecard tile
SELECT
  window_set,
  period,
  value
FROM (
  SELECT
    CASE WHEN GROUPING(w._in_w0) = 0 THEN 0 WHEN GROUPING(w._in_w1) = 0 THEN 1 ELSE -1 END AS window_set,
    w._period AS period,
    MEDIAN(CAST(w.value AS DOUBLE)) AS value,
    (
      GROUPING(w._in_w0) = 0 AND w._in_w0
    )
    OR (
      GROUPING(w._in_w1) = 0 AND w._in_w1
    )
    OR (
      GROUPING(w._in_w2) = 0 AND w._in_w2
    ) AS _keep
  FROM (
    SELECT
      *,
      m.closed_at >= :win0_start AND m.closed_at < :win0_end AS _in_w0,
      m.closed_at >= :win1_start AND m.closed_at < :win1_end AS _in_w1,
      m.closed_at >= :win2_start AND m.closed_at < :win2_end AS _in_w2,
      CAST(DATE_TRUNC('MONTH', CAST(m.closed_at AS TIMESTAMP)) AS DATE) AS _period
    FROM (
      SELECT
        lead_id,
        closed_at,
        opportunity_id,
        CAST((
          UNIX_SECONDS(CAST(closed_at AS TIMESTAMP)) - UNIX_SECONDS(CAST(created_at AS TIMESTAMP))
        ) AS DOUBLE) / CAST(86400.0 AS DOUBLE) AS value
      FROM opportunity_lifecycle
      WHERE
        status = 'won' AND NOT closed_at IS NULL
    ) AS m
    WHERE
      NOT m.closed_at IS NULL AND m.closed_at >= :start AND m.closed_at < :end
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
) AS _grouped
WHERE
  _keep
ORDER BY
  window_set,
  period NULLS LAST
LIMIT 100003;
