-- name: marketing_cac
-- label: Marketing CAC
-- owners: marketing
-- kind: ratio
-- unit: currency
-- direction: down
-- anchor: occurred_at
-- description: Campaign cost in the period divided by the deals won in the period from
--   marketing-sourced leads: what marketing spends per new customer. Cost is not split by
--   segment or region; channel and campaign filters apply to both sides. A period with no
--   recorded campaign cost has no value: unknown cost is not zero cost.
SELECT lead_id, closed_at AS occurred_at, campaign_id, source_channel,
       CAST(NULL AS DOUBLE) AS numerator, 1 AS denominator
FROM opportunity_lifecycle
WHERE status = 'won' AND sourced_by = 'marketing' AND closed_at IS NOT NULL
UNION ALL
SELECT NULL AS lead_id, spent_at AS occurred_at, campaign_id, source_channel,
       cost AS numerator, 0 AS denominator
FROM campaign_spend
