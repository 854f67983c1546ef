-- lifecycle_aaarrr: the AAARRR (pirate) funnel as of the as-of date, one row per customer with
-- a flag per step and the furthest step reached (funnel_step):
--   awareness    any contact at all (every customer)
--   acquisition  identified: a purchase, a repair order, an app account, or a lead with a phone
--   activation   bought a vehicle, serviced one as its owner, or paid in the app
--   retention    activated and interacted within the last at_risk_days
--   revenue      retained and spent on service (as owner) or in the app in the last 365 days
--   referral     shared in the app (app_share)
WITH f AS (
  SELECT e.customer_id,
    max(CASE WHEN e.source IN ('sales', 'after_sales', 'app') THEN 1
             WHEN e.source = 'marketing' AND c.phone IS NOT NULL THEN 1 ELSE 0 END) AS acquired,
    max(CASE WHEN e.source = 'sales' OR (e.source = 'after_sales' AND e.role = 'owner')
               OR e.event_type IN ('app_purchase', 'app_charge')
             THEN 1 ELSE 0 END) AS activated,
    max(e.event_date) AS last_date,
    sum(CASE WHEN ((e.source = 'after_sales' AND e.role = 'owner') OR e.source = 'app')
              AND a.as_of_date - e.event_date < 365
             THEN COALESCE(e.amount, 0) ELSE 0 END) AS spend_365d,
    sum(CASE WHEN e.event_type = 'app_share' THEN 1 ELSE 0 END) AS shares
  FROM as_of a
  CROSS JOIN events e
  LEFT JOIN customers c ON c.customer_id = e.customer_id
  WHERE e.event_date <= a.as_of_date
  GROUP BY e.customer_id
),
steps AS (
  SELECT f.customer_id, a.as_of_date,
    true AS awareness,
    f.acquired = 1 AS acquisition,
    f.activated = 1 AS activation,
    f.activated = 1 AND a.as_of_date - f.last_date < p.at_risk_days AS retention,
    f.activated = 1 AND a.as_of_date - f.last_date < p.at_risk_days AND f.spend_365d > 0
      AS revenue,
    f.shares > 0 AS referral,
    f.spend_365d
  FROM as_of a CROSS JOIN marque_params p CROSS JOIN f
)
SELECT customer_id, as_of_date, awareness, acquisition, activation, retention, revenue, referral,
  CASE WHEN referral THEN 'referral' WHEN revenue THEN 'revenue' WHEN retention THEN 'retention'
       WHEN activation THEN 'activation' WHEN acquisition THEN 'acquisition'
       ELSE 'awareness' END AS funnel_step,
  spend_365d
FROM steps
