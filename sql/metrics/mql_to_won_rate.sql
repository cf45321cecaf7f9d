-- name: mql_to_won_rate
-- label: MQL → won rate
-- owners: marketing, sales
-- kind: ratio
-- unit: percent
-- direction: up
-- anchor: first_mql_at
-- maturity_days: 180
-- description: Of the leads that first became an MQL in the period, the share that became a signed
--   deal. Deals take months: cohorts younger than 180 days are still incomplete.
SELECT lead_id, first_mql_at,
       CASE WHEN first_won_at IS NOT NULL THEN 1 ELSE 0 END AS numerator,
       1 AS denominator
FROM lead_lifecycle
WHERE first_mql_at IS NOT NULL
