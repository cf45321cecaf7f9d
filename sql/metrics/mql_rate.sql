-- name: mql_rate
-- label: Lead → MQL rate
-- owners: marketing
-- kind: ratio
-- unit: percent
-- direction: up
-- anchor: created_at
-- maturity_days: 30
-- description: Share of the leads created in the period that have become an MQL (so far).
--   Recent periods are still converting and look lower until their leads have had 30 days.
SELECT lead_id, created_at,
       CASE WHEN first_mql_at IS NOT NULL THEN 1 ELSE 0 END AS numerator,
       1 AS denominator
FROM lead_lifecycle
