-- customer_360: one row per customer — the golden record (customers), its keys, the vehicles the
-- customer owns now, counts and spend per source, and the first and last interaction per source.
-- Spend: vehicle_spend = invoice prices; service_spend = labour + parts of repair orders where
-- the customer is the owner; app_spend = app purchases and charging. All events, any date.
WITH agg AS (
  SELECT customer_id,
    sum(CASE WHEN source = 'sales' THEN 1 ELSE 0 END) AS purchases,
    sum(CASE WHEN source = 'after_sales' AND role = 'owner' THEN 1 ELSE 0 END) AS service_visits,
    sum(CASE WHEN source = 'after_sales' AND role = 'sender' THEN 1 ELSE 0 END)
      AS service_visits_as_sender,
    sum(CASE WHEN source = 'marketing' THEN 1 ELSE 0 END) AS leads,
    sum(CASE WHEN source = 'app' THEN 1 ELSE 0 END) AS app_events,
    sum(CASE WHEN source = 'sales' THEN COALESCE(amount, 0) ELSE 0 END) AS vehicle_spend,
    sum(CASE WHEN source = 'after_sales' AND role = 'owner' THEN COALESCE(amount, 0) ELSE 0 END)
      AS service_spend,
    sum(CASE WHEN source = 'app' THEN COALESCE(amount, 0) ELSE 0 END) AS app_spend,
    min(CASE WHEN source = 'sales' THEN event_time END) AS first_purchase_at,
    max(CASE WHEN source = 'sales' THEN event_time END) AS last_purchase_at,
    min(CASE WHEN source = 'after_sales' THEN event_time END) AS first_service_at,
    max(CASE WHEN source = 'after_sales' THEN event_time END) AS last_service_at,
    min(CASE WHEN source = 'marketing' THEN event_time END) AS first_lead_at,
    max(CASE WHEN source = 'marketing' THEN event_time END) AS last_lead_at,
    min(CASE WHEN source = 'app' THEN event_time END) AS first_app_at,
    max(CASE WHEN source = 'app' THEN event_time END) AS last_app_at,
    min(event_time) AS first_interaction_at,
    max(event_time) AS last_interaction_at
  FROM events
  GROUP BY customer_id
),
veh AS (
  SELECT customer_id,
         sum(CASE WHEN is_current THEN 1 ELSE 0 END) AS vehicles_owned,
         count(*) AS vehicles_ever_owned,
         string_agg(CASE WHEN is_current THEN vin END, ',' ORDER BY vin) AS vins
  FROM vehicle_ownership
  GROUP BY customer_id
)
SELECT c.customer_id, c.name, c.gender, c.birth_date, c.city,
       c.phone, c.app_user_id, c.unionid, c.resident_id_hash IS NOT NULL AS has_resident_id,
       c.mention_count, c.sources,
       COALESCE(veh.vehicles_owned, 0) AS vehicles_owned,
       COALESCE(veh.vehicles_ever_owned, 0) AS vehicles_ever_owned, veh.vins,
       COALESCE(agg.purchases, 0) AS purchases,
       COALESCE(agg.service_visits, 0) AS service_visits,
       COALESCE(agg.service_visits_as_sender, 0) AS service_visits_as_sender,
       COALESCE(agg.leads, 0) AS leads, COALESCE(agg.app_events, 0) AS app_events,
       COALESCE(agg.vehicle_spend, 0) AS vehicle_spend,
       COALESCE(agg.service_spend, 0) AS service_spend,
       COALESCE(agg.app_spend, 0) AS app_spend,
       agg.first_purchase_at, agg.last_purchase_at, agg.first_service_at, agg.last_service_at,
       agg.first_lead_at, agg.last_lead_at, agg.first_app_at, agg.last_app_at,
       agg.first_interaction_at, agg.last_interaction_at
FROM customers c
LEFT JOIN agg ON agg.customer_id = c.customer_id
LEFT JOIN veh ON veh.customer_id = c.customer_id
