-- name: revenue_per_mql
-- label: Revenue per MQL
-- owners: marketing, sales
-- kind: ratio
-- unit: currency
-- direction: up
-- anchor: first_mql_at
-- maturity_days: 180
-- description: Won deal value of the leads that first became an MQL in the period, divided by
--   the number of those MQLs: what one MQL is worth. Cohorts younger than 180 days are still
--   incomplete.
SELECT lead_id, first_mql_at,
       COALESCE(won_amount, 0) AS numerator,
       1 AS denominator
FROM lead_lifecycle
WHERE first_mql_at IS NOT NULL
