-- mql_to_opportunity_rate v1 for snowflake: grain month, by segment, where {'lead_score': ['80'], 'region': ['EMEA', 'NA']}, 2025-01-01 to 2025-04-01
-- trend
SELECT
  CAST(DATE_TRUNC('MONTH', m.first_mql_at) AS DATE) AS period,
  m._lead_segment AS segment,
  SUM(CAST(m.numerator AS DOUBLE)) / NULLIF(SUM(CAST(m.denominator AS DOUBLE)), 0) AS value,
  SUM(CAST(m.numerator AS DOUBLE)) AS numerator,
  SUM(CAST(m.denominator AS DOUBLE)) AS denominator
FROM (
  SELECT
    lead_id,
    first_mql_at,
    CASE WHEN NOT first_opportunity_at IS NULL THEN 1 ELSE 0 END AS numerator,
    1 AS denominator,
    lead_lifecycle.lead_score AS _lead_lead_score,
    lead_lifecycle.region AS _lead_region,
    lead_lifecycle.segment AS _lead_segment
  FROM lead_lifecycle
  WHERE
    NOT first_mql_at IS NULL
) AS m
WHERE
  NOT m.first_mql_at IS NULL
  AND m.first_mql_at >= :start
  AND m.first_mql_at < :end
  AND (
    (
      m.lead_id IS NULL OR m._lead_lead_score IN (CAST(:w0_0 AS DOUBLE))
    )
    AND (
      m.lead_id IS NULL OR m._lead_region IN (:w1_0, :w1_1)
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
WITH cells AS (
  SELECT
    w._in_w0,
    w._in_w1,
    w._in_w2,
    w._period,
    SUM(CAST(w.numerator AS DOUBLE)) AS _num,
    SUM(CAST(w.denominator AS DOUBLE)) AS _den
  FROM (
    SELECT
      *,
      m.first_mql_at >= :win0_start AND m.first_mql_at < :win0_end AS _in_w0,
      m.first_mql_at >= :win1_start AND m.first_mql_at < :win1_end AS _in_w1,
      m.first_mql_at >= :win2_start AND m.first_mql_at < :win2_end AS _in_w2,
      CAST(DATE_TRUNC('MONTH', m.first_mql_at) AS DATE) AS _period
    FROM (
      SELECT
        lead_id,
        first_mql_at,
        CASE WHEN NOT first_opportunity_at IS NULL THEN 1 ELSE 0 END AS numerator,
        1 AS denominator
      FROM lead_lifecycle
      WHERE
        NOT first_mql_at IS NULL
    ) AS m
    WHERE
      NOT m.first_mql_at IS NULL AND m.first_mql_at >= :start AND m.first_mql_at < :end
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
    SUM(c._num) / NULLIF(SUM(c._den), 0) AS value,
    SUM(c._num) AS numerator,
    SUM(c._den) AS denominator
  FROM cells AS c
  WHERE
    c._in_w0
  UNION ALL
  SELECT
    1 AS window_set,
    CAST(NULL AS DATE) AS period,
    SUM(c._num) / NULLIF(SUM(c._den), 0) AS value,
    SUM(c._num) AS numerator,
    SUM(c._den) AS denominator
  FROM cells AS c
  WHERE
    c._in_w1
  UNION ALL
  SELECT
    -1 AS window_set,
    c._period AS period,
    SUM(c._num) / NULLIF(SUM(c._den), 0) AS value,
    SUM(c._num) AS numerator,
    SUM(c._den) AS denominator
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
