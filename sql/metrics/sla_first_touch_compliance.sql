-- name: sla_first_touch_compliance
-- label: SLA first-touch compliance
-- owners: sales, marketing
-- kind: ratio
-- unit: percent
-- direction: up
-- anchor: first_mql_at
-- description: Share of MQLs that sales touched within the agreed SLA (business hours after the
--   first MQL; see the SLA policy). MQLs still inside their SLA window and not yet touched are
--   left out until their deadline passes, so the current period is not unfairly low.
SELECT lead_id, first_mql_at,
       CASE WHEN first_sales_touch_at IS NOT NULL
             AND first_sales_touch_at <= sla_deadline_at THEN 1 ELSE 0 END AS numerator,
       CASE WHEN first_sales_touch_at IS NOT NULL
              OR sla_deadline_at <= $as_of THEN 1 ELSE 0 END AS denominator,
       first_sales_touch_rep_id AS touched_by
FROM lead_lifecycle
WHERE first_mql_at IS NOT NULL
