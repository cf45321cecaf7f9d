-- name: median_hours_to_first_touch
-- label: Median hours to first sales touch
-- owners: sales
-- kind: median
-- unit: hours
-- direction: down
-- anchor: first_mql_at
-- description: Median clock hours (nights and weekends included) from a lead's first MQL to the
--   first sales touch after it, over the MQLs that have been touched. Untouched MQLs are not in
--   it: read it next to SLA compliance.
SELECT lead_id, first_mql_at,
       date_diff('second', first_mql_at, first_sales_touch_at) / 3600.0 AS value,
       first_sales_touch_rep_id AS touched_by
FROM lead_lifecycle
WHERE first_mql_at IS NOT NULL AND first_sales_touch_at IS NOT NULL
