-- name: mql_rule
-- label: Leads the MQL rule qualifies
-- owners: marketing, sales
-- kind: count
-- unit: count
-- direction: up
-- anchor: created_at
-- description: The agreed sales-readiness rule: the leads it returns are the ones marketing
--   hands to sales. A lead qualifies when its lead score is at or above the threshold
--   (lead_score >= N); conditions on lead columns (segment, industry, region...) or on
--   behaviour (marketing_touches) may be added with AND / OR. Counted in the month the lead was
--   created. The Lead scoring page compares these leads with the MQLs the CRM recorded, and a
--   proposed change shows MQLs per month, SAL acceptance, win rate and sales load before and
--   after, for both teams to approve.
SELECT lead_id, created_at, 1 AS value
FROM lead_lifecycle
WHERE lead_score >= 60
