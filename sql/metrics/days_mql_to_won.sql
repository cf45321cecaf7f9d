-- name: days_mql_to_won
-- label: Days from MQL to won
-- owners: marketing, sales
-- kind: median
-- unit: days
-- direction: down
-- anchor: first_mql_at
-- maturity_days: 180
-- description: For the leads that first became an MQL in the period and have been won, the
--   median days from first MQL to first won. Young cohorts only contain their fastest deals, so
--   they look shorter until they mature.
SELECT lead_id, first_mql_at,
       date_diff('second', first_mql_at, first_won_at) / 86400.0 AS value
FROM lead_lifecycle
WHERE first_mql_at IS NOT NULL AND first_won_at IS NOT NULL AND first_won_at >= first_mql_at
