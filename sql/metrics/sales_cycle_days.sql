-- name: sales_cycle_days
-- label: Sales cycle (days)
-- owners: sales
-- kind: median
-- unit: days
-- direction: down
-- anchor: closed_at
-- description: Median days from opportunity creation to close, over the opportunities won in
--   the period (exact durations, not rounded to whole days).
SELECT lead_id, closed_at, opportunity_id,
       date_diff('second', created_at, closed_at) / 86400.0 AS value
FROM opportunity_lifecycle
WHERE status = 'won' AND closed_at IS NOT NULL
