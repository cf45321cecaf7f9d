-- name: marketing_influenced_revenue_share
-- label: Marketing-influenced revenue share
-- owners: marketing, sales
-- kind: ratio
-- unit: percent
-- direction: up
-- anchor: closed_at
-- description: Share of the revenue won in the period whose lead had at least one marketing
--   touch before the deal closed, whoever sourced it.
SELECT lead_id, closed_at, opportunity_id,
       CASE WHEN marketing_influenced THEN amount ELSE 0 END AS numerator,
       amount AS denominator
FROM opportunity_lifecycle
WHERE status = 'won' AND closed_at IS NOT NULL AND amount IS NOT NULL
