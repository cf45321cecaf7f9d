-- name: pipeline_created
-- label: Pipeline created
-- owners: sales
-- kind: sum
-- unit: currency
-- direction: up
-- anchor: created_at
-- description: Total amount of the opportunities created in the period, whatever their status
--   now. Opportunities without an amount add nothing.
SELECT lead_id, created_at, opportunity_id, amount AS value
FROM opportunity_lifecycle
WHERE amount IS NOT NULL
