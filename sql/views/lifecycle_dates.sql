-- lifecycle_dates: the dates lifecycle_history computes stages at: the as-of date (kind 'as_of')
-- and the last day of every earlier month in which a vehicle was sold, serviced or a lead came
-- in (kind 'month_end').
SELECT as_of_date AS snapshot_date, 'as_of' AS kind FROM as_of
UNION ALL
SELECT DISTINCT CAST(date_trunc('month', d) + INTERVAL '1 month' - INTERVAL '1 day' AS DATE)
         AS snapshot_date,
       'month_end' AS kind
FROM as_of a
CROSS JOIN (
  SELECT sale_date AS d FROM raw_sales
  UNION ALL SELECT CAST(ro_time AS DATE) AS d FROM raw_service_orders
  UNION ALL SELECT CAST(created_at AS DATE) AS d FROM raw_leads
) months
WHERE CAST(date_trunc('month', d) + INTERVAL '1 month' - INTERVAL '1 day' AS DATE) < a.as_of_date
