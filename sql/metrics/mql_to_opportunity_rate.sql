-- name: mql_to_opportunity_rate
-- label: MQL → opportunity rate
-- owners: marketing, sales
-- kind: ratio
-- unit: percent
-- direction: up
-- anchor: first_mql_at
-- maturity_days: 90
-- description: Of the leads that first became an MQL in the period, the share that became an
--   opportunity (pipeline). Cohorts mature after about 90 days.
SELECT lead_id, first_mql_at,
       CASE WHEN first_opportunity_at IS NOT NULL THEN 1 ELSE 0 END AS numerator,
       1 AS denominator
FROM lead_lifecycle
WHERE first_mql_at IS NOT NULL
