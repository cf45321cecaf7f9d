-- name: marketing_sourced_pipeline_share
-- label: Marketing-sourced pipeline share
-- owners: marketing, sales
-- kind: ratio
-- unit: percent
-- direction: up
-- anchor: created_at
-- description: Share of the pipeline created in the period whose lead was sourced by marketing
--   (sourced_by = marketing), by amount.
SELECT lead_id, created_at, opportunity_id,
       CASE WHEN sourced_by = 'marketing' THEN amount ELSE 0 END AS numerator,
       amount AS denominator
FROM opportunity_lifecycle
WHERE amount IS NOT NULL
