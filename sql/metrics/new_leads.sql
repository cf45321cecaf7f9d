-- name: new_leads
-- label: New leads
-- owners: marketing
-- kind: count
-- unit: count
-- direction: up
-- anchor: created_at
-- description: Leads created in the period, from every source (marketing, sales and partners).
SELECT lead_id, created_at, 1 AS value
FROM lead_lifecycle
