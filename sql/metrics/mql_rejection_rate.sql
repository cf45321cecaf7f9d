-- name: mql_rejection_rate
-- label: MQL rejection rate
-- owners: marketing, sales
-- kind: ratio
-- unit: percent
-- direction: down
-- anchor: first_mql_at
-- maturity_days: 30
-- description: Of the leads that first became an MQL in the period, the share sales disqualified
--   or recycled after the MQL. The reason sales gave is the rejection_reason dimension: the
--   closed loop back to marketing.
SELECT lead_id, first_mql_at,
       CASE WHEN rejected_at IS NOT NULL THEN 1 ELSE 0 END AS numerator,
       1 AS denominator,
       rejection_stage,
       rejection_reason
FROM lead_lifecycle
WHERE first_mql_at IS NOT NULL
