-- name: pipeline_to_spend
-- label: Pipeline-to-spend
-- owners: marketing
-- kind: ratio
-- unit: ratio
-- direction: up
-- anchor: occurred_at
-- description: Marketing-sourced pipeline created in the period divided by campaign cost in the
--   period (each campaign's cost is spread evenly over its running days). 5.0x means every
--   dollar of campaign spend created five dollars of pipeline. Cost is not split by segment or
--   region; channel and campaign filters apply to both sides. A period with no recorded
--   campaign cost has no value.
SELECT lead_id, created_at AS occurred_at, campaign_id, source_channel,
       amount AS numerator, CAST(NULL AS DOUBLE) AS denominator
FROM opportunity_lifecycle
WHERE sourced_by = 'marketing' AND amount IS NOT NULL
UNION ALL
SELECT NULL AS lead_id, spent_at AS occurred_at, campaign_id, source_channel,
       0 AS numerator, cost AS denominator
FROM campaign_spend
