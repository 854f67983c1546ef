-- lifecycle_aida: the AIDA-style ladder (awareness, interest, consideration, purchase,
-- satisfaction, loyalty, advocacy) as of the as-of date: the highest step each customer reached.
--   advocacy       shared in the app (app_share)
--   loyalty        six-stage lifecycle says loyal
--   satisfaction   owns a vehicle and came back for service
--   purchase       bought or owns a vehicle
--   consideration  booked a test drive in the app, or left leads on 2+ occasions
--   interest       browsed a model in the app, or a lead naming an intended model
--   awareness      any other contact (a lead, an app account)
WITH f AS (
  SELECT e.customer_id,
    sum(CASE WHEN e.event_type = 'app_share' THEN 1 ELSE 0 END) AS shares,
    sum(CASE WHEN e.event_type = 'app_book_test_drive' THEN 1 ELSE 0 END) AS test_drives,
    sum(CASE WHEN e.event_type = 'app_browse_model' THEN 1 ELSE 0 END) AS model_views,
    sum(CASE WHEN e.source = 'marketing' THEN 1 ELSE 0 END) AS leads,
    sum(CASE WHEN e.source = 'marketing' AND e.model IS NOT NULL AND e.model <> ''
             THEN 1 ELSE 0 END) AS model_leads,
    sum(CASE WHEN e.source = 'after_sales' THEN 1 ELSE 0 END) AS service_visits
  FROM as_of a CROSS JOIN events e
  WHERE e.event_date <= a.as_of_date
  GROUP BY e.customer_id
)
SELECT l.customer_id, l.as_of_date,
  CASE
    WHEN f.shares > 0 THEN 'advocacy'
    WHEN l.stage = 'loyal' THEN 'loyalty'
    WHEN l.vehicles_now > 0 AND f.service_visits > 0 THEN 'satisfaction'
    WHEN l.purchases > 0 OR l.vehicles_ever > 0 THEN 'purchase'
    WHEN f.test_drives > 0 OR f.leads >= 2 THEN 'consideration'
    WHEN f.model_views > 0 OR f.model_leads > 0 THEN 'interest'
    ELSE 'awareness'
  END AS aida_step,
  f.shares, f.test_drives, f.model_views, f.leads, f.service_visits, l.stage AS six_stage
FROM lifecycle l
JOIN f ON f.customer_id = l.customer_id
