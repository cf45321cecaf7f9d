-- name: avg_lead_score
-- label: Average lead score
-- owners: marketing
-- kind: average
-- unit: count
-- direction: up
-- anchor: created_at
-- description: Average lead score (0-100) of the leads created in the period; leads without a
--   score are left out, not counted as zero.
SELECT lead_id, created_at, lead_score AS value
FROM lead_lifecycle
WHERE lead_score IS NOT NULL
