-- lifecycle_facts: the facts the six-stage lifecycle rules of lifecycle_history use, per customer
-- and snapshot date, counting only events up to that date. Two branches:
--   kind 'as_of'     at the as-of date, aggregated straight from the events up to that day (one
--                    pass over events; what view lifecycle and the segments read);
--   kind 'month_end' at every month end of lifecycle_dates from the customer's first event on,
--                    through a customer × month grid (for funnels and cohort retention).
-- A query on kind = 'as_of' (view lifecycle) drops the month-end branch at planning time.
WITH as_of_ev AS (
  SELECT e.customer_id, p.as_of_date AS snapshot_date, 'as_of' AS kind,
    sum(CASE WHEN e.source = 'sales' THEN 1 ELSE 0 END) AS purchases,
    min(CASE WHEN e.source = 'sales' THEN e.event_date END) AS first_purchase_date,
    max(CASE WHEN e.source = 'sales' THEN e.event_date END) AS last_purchase_date,
    max(CASE WHEN e.source = 'after_sales' THEN e.event_date END) AS last_service_date,
    max(CASE WHEN e.source = 'marketing' THEN e.event_date END) AS last_lead_date,
    max(e.event_date) AS last_interaction_date,
    sum(CASE WHEN e.event_type = 'app_share' THEN 1 ELSE 0 END) AS referrals,
    sum(CASE WHEN p.as_of_date - e.event_date < p.at_risk_days THEN 1 ELSE 0 END)
      AS recent_interactions,
    sum(CASE WHEN p.as_of_date - e.event_date >= p.at_risk_days
              AND p.as_of_date - e.event_date < 2 * p.at_risk_days THEN 1 ELSE 0 END)
      AS prior_interactions
  -- (the one-row marque_params first: DataFusion then streams the big side through the cross join)
  FROM marque_params p
  CROSS JOIN events e
  WHERE e.event_date <= p.as_of_date
  GROUP BY e.customer_id, p.as_of_date
),
as_of_own AS (
  SELECT o.customer_id,
    count(*) AS vehicles_ever,
    sum(CASE WHEN o.valid_to IS NULL OR o.valid_to > p.as_of_date THEN 1 ELSE 0 END)
      AS vehicles_now,
    max(o.valid_to) AS last_ownership_end
  FROM marque_params p
  CROSS JOIN vehicle_ownership o
  WHERE o.valid_from <= p.as_of_date
  GROUP BY o.customer_id
),
first_event AS (
  SELECT customer_id, min(event_date) AS first_date FROM events GROUP BY customer_id
),
grid AS (
  SELECT f.customer_id, d.snapshot_date, d.kind
  FROM first_event f JOIN lifecycle_dates d
    ON d.kind = 'month_end' AND d.snapshot_date >= f.first_date
),
month_ev AS (
  SELECT g.customer_id, g.snapshot_date, g.kind,
    sum(CASE WHEN e.source = 'sales' THEN 1 ELSE 0 END) AS purchases,
    min(CASE WHEN e.source = 'sales' THEN e.event_date END) AS first_purchase_date,
    max(CASE WHEN e.source = 'sales' THEN e.event_date END) AS last_purchase_date,
    max(CASE WHEN e.source = 'after_sales' THEN e.event_date END) AS last_service_date,
    max(CASE WHEN e.source = 'marketing' THEN e.event_date END) AS last_lead_date,
    max(e.event_date) AS last_interaction_date,
    sum(CASE WHEN e.event_type = 'app_share' THEN 1 ELSE 0 END) AS referrals,
    sum(CASE WHEN g.snapshot_date - e.event_date < p.at_risk_days THEN 1 ELSE 0 END)
      AS recent_interactions,
    sum(CASE WHEN g.snapshot_date - e.event_date >= p.at_risk_days
              AND g.snapshot_date - e.event_date < 2 * p.at_risk_days THEN 1 ELSE 0 END)
      AS prior_interactions
  FROM marque_params p
  CROSS JOIN grid g
  JOIN events e ON e.customer_id = g.customer_id AND e.event_date <= g.snapshot_date
  GROUP BY g.customer_id, g.snapshot_date, g.kind
),
month_own AS (
  SELECT g.customer_id, g.snapshot_date,
    count(*) AS vehicles_ever,
    sum(CASE WHEN o.valid_to IS NULL OR o.valid_to > g.snapshot_date THEN 1 ELSE 0 END)
      AS vehicles_now,
    max(o.valid_to) AS last_ownership_end
  FROM grid g
  JOIN vehicle_ownership o ON o.customer_id = g.customer_id AND o.valid_from <= g.snapshot_date
  GROUP BY g.customer_id, g.snapshot_date
)
SELECT ev.customer_id, ev.snapshot_date, ev.kind, ev.purchases, ev.first_purchase_date,
       ev.last_purchase_date, ev.last_service_date, ev.last_lead_date,
       ev.last_interaction_date, ev.referrals, ev.recent_interactions, ev.prior_interactions,
       COALESCE(own.vehicles_ever, 0) AS vehicles_ever,
       COALESCE(own.vehicles_now, 0) AS vehicles_now, own.last_ownership_end
FROM as_of_ev ev
LEFT JOIN as_of_own own ON own.customer_id = ev.customer_id
UNION ALL
SELECT ev.customer_id, ev.snapshot_date, ev.kind, ev.purchases, ev.first_purchase_date,
       ev.last_purchase_date, ev.last_service_date, ev.last_lead_date,
       ev.last_interaction_date, ev.referrals, ev.recent_interactions, ev.prior_interactions,
       COALESCE(own.vehicles_ever, 0) AS vehicles_ever,
       COALESCE(own.vehicles_now, 0) AS vehicles_now, own.last_ownership_end
FROM month_ev ev
LEFT JOIN month_own own ON own.customer_id = ev.customer_id
                       AND own.snapshot_date = ev.snapshot_date
