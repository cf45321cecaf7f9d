-- name: mql_to_sql_rate
-- label: MQL → SQL rate
-- owners: marketing, sales
-- kind: ratio
-- unit: percent
-- direction: up
-- anchor: first_mql_at
-- maturity_days: 60
-- description: Of the leads that first became an MQL in the period, the share that sales qualified
--   (ever reached SQL). Cohorts mature after about 60 days.
SELECT lead_id, first_mql_at,
       CASE WHEN first_sql_at IS NOT NULL THEN 1 ELSE 0 END AS numerator,
       1 AS denominator
FROM lead_lifecycle
WHERE first_mql_at IS NOT NULL
