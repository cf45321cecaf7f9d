-- name: mql_to_sal_rate
-- label: MQL → SAL acceptance rate
-- owners: marketing, sales
-- kind: ratio
-- unit: percent
-- direction: up
-- anchor: first_mql_at
-- maturity_days: 30
-- description: Of the leads that first became an MQL in the period, the share sales accepted (ever
--   reached SAL). A lead that skipped SAL is not counted as accepted. Recent cohorts are still
--   being worked: judge them after 30 days.
SELECT lead_id, first_mql_at,
       CASE WHEN first_sal_at IS NOT NULL THEN 1 ELSE 0 END AS numerator,
       1 AS denominator
FROM lead_lifecycle
WHERE first_mql_at IS NOT NULL
