-- name: mqls
-- label: MQLs
-- owners: marketing
-- kind: count
-- unit: count
-- direction: up
-- anchor: first_mql_at
-- description: Leads that became marketing qualified for the first time in the period. A lead
--   that is recycled and qualifies again is counted once, in the period of its first MQL.
SELECT lead_id, first_mql_at, 1 AS value
FROM lead_lifecycle
WHERE first_mql_at IS NOT NULL
