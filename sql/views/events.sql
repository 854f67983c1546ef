-- events: every event of every customer across the four sources, one row per customer and
-- source record, unordered (the base of every other view; `timeline` is the same, ordered).
--   sales        vehicle_purchase  (role buyer; amount = price)
--   after_sales  service_visit     (role owner, or sender when the customer only brought the car;
--                                   amount = labour + parts; detail = service type)
--   marketing    lead              (model = intended model; detail = campaign)
--   app          app_<event type>  (app_login, app_purchase, app_share…; amount when paid)
-- Customers come from customer_map (identity resolution); VINs are upper-cased and trimmed.
SELECT m.customer_id, CAST(s.sale_date AS TIMESTAMP) AS event_time,
       CAST(s.sale_date AS DATE) AS event_date, 'sales' AS source,
       'vehicle_purchase' AS event_type, s.record_id, 'buyer' AS role,
       upper(trim(s.vin)) AS vin, s.model, s.dealer_code,
       CAST(NULL AS VARCHAR) AS channel, s.city,
       CAST(s.price AS DOUBLE) AS amount,
       CAST(NULL AS DOUBLE) AS labour_amount, CAST(NULL AS DOUBLE) AS parts_amount,
       CAST(NULL AS BIGINT) AS mileage_km, CAST(NULL AS VARCHAR) AS detail
FROM raw_sales s
JOIN customer_map m ON m.source = 'sales' AND m.role = 'buyer' AND m.record_id = s.record_id
UNION ALL
SELECT r.customer_id, CAST(o.ro_time AS TIMESTAMP) AS event_time,
       CAST(o.ro_time AS DATE) AS event_date, 'after_sales' AS source,
       'service_visit' AS event_type, o.record_id, r.role, upper(trim(o.vin)) AS vin,
       CAST(NULL AS VARCHAR) AS model, o.dealer_code, CAST(NULL AS VARCHAR) AS channel,
       CAST(NULL AS VARCHAR) AS city,
       CAST(COALESCE(o.labour_amount, 0) + COALESCE(o.parts_amount, 0) AS DOUBLE) AS amount,
       CAST(o.labour_amount AS DOUBLE) AS labour_amount,
       CAST(o.parts_amount AS DOUBLE) AS parts_amount,
       CAST(o.mileage_km AS BIGINT) AS mileage_km, o.service_type AS detail
FROM raw_service_orders o
-- one row per (repair order, customer): 'owner' wins when the owner also brought the car
JOIN (SELECT record_id, customer_id, min(role) AS role FROM customer_map
      WHERE source = 'after_sales' GROUP BY record_id, customer_id) r
  ON r.record_id = o.record_id
UNION ALL
SELECT m.customer_id, CAST(l.created_at AS TIMESTAMP) AS event_time,
       CAST(l.created_at AS DATE) AS event_date, 'marketing' AS source, 'lead' AS event_type,
       l.record_id, 'lead' AS role, CAST(NULL AS VARCHAR) AS vin, l.intended_model AS model,
       l.dealer_code, l.channel, l.city, CAST(NULL AS DOUBLE) AS amount,
       CAST(NULL AS DOUBLE) AS labour_amount, CAST(NULL AS DOUBLE) AS parts_amount,
       CAST(NULL AS BIGINT) AS mileage_km, l.campaign AS detail
FROM raw_leads l
JOIN customer_map m ON m.source = 'marketing' AND m.role = 'lead' AND m.record_id = l.record_id
UNION ALL
SELECT m.customer_id, CAST(e.event_time AS TIMESTAMP) AS event_time,
       CAST(e.event_time AS DATE) AS event_date, 'app' AS source,
       'app_' || e.event_type AS event_type, e.record_id, 'app_user' AS role,
       CAST(NULL AS VARCHAR) AS vin, CAST(NULL AS VARCHAR) AS model,
       CAST(NULL AS VARCHAR) AS dealer_code, CAST(NULL AS VARCHAR) AS channel,
       CAST(NULL AS VARCHAR) AS city, CAST(e.amount AS DOUBLE) AS amount,
       CAST(NULL AS DOUBLE) AS labour_amount, CAST(NULL AS DOUBLE) AS parts_amount,
       CAST(NULL AS BIGINT) AS mileage_km, e.event_type AS detail
FROM raw_app_events e
JOIN customer_map m ON m.source = 'app' AND m.record_id = e.record_id
