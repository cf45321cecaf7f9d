-- name: win_rate
-- label: Win rate
-- owners: sales
-- kind: ratio
-- unit: percent
-- direction: up
-- anchor: closed_at
-- description: Of the opportunities closed in the period, the share won: won ÷ (won + lost).
--   Open opportunities do not count until they close.
SELECT lead_id, closed_at, opportunity_id,
       CASE WHEN status = 'won' THEN 1 ELSE 0 END AS numerator,
       1 AS denominator
FROM opportunity_lifecycle
WHERE status IN ('won', 'lost') AND closed_at IS NOT NULL
