-- Stage counts: customers per six-stage lifecycle stage and rule as of the as-of date.
SELECT stage, stage_rule, count(*) AS customers
FROM lifecycle
GROUP BY stage, stage_rule
ORDER BY stage, stage_rule
