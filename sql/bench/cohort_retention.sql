-- Cohort retention: customers by year of first vehicle purchase, and the share of each cohort
-- still interacting (any source) 1, 2, 3… years later.
WITH first_purchase AS (
  SELECT customer_id, min(event_date) AS first_date
  FROM events WHERE source = 'sales'
  GROUP BY customer_id
),
active AS (
  SELECT DISTINCT f.customer_id,
         CAST(date_part('year', f.first_date) AS INT) AS cohort,
         CAST(date_part('year', e.event_date) AS INT)
           - CAST(date_part('year', f.first_date) AS INT) AS years_after
  FROM first_purchase f
  JOIN events e ON e.customer_id = f.customer_id AND e.event_date >= f.first_date
),
sizes AS (
  SELECT CAST(date_part('year', first_date) AS INT) AS cohort, count(*) AS cohort_size
  FROM first_purchase GROUP BY 1
)
SELECT a.cohort, a.years_after, s.cohort_size, count(*) AS active,
       round(CAST(count(*) AS DOUBLE) / s.cohort_size, 4) AS retention
FROM active a JOIN sizes s ON s.cohort = a.cohort
GROUP BY a.cohort, a.years_after, s.cohort_size
ORDER BY a.cohort, a.years_after
