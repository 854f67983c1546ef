-- vehicles: one row per VIN seen in sales or after-sales: model, first sale, current owner,
-- number of owners, age in years as of the as-of date (from the first sale), service history
-- (visits, spend, last visit, last mileage) up to the as-of date.
WITH sold AS (
  SELECT vin, min(event_date) AS first_sale_date, min(model) AS model,
         min(dealer_code) AS selling_dealer, max(amount) AS price
  FROM events WHERE source = 'sales' AND vin IS NOT NULL AND vin <> ''
  GROUP BY vin
),
svc AS (
  SELECT upper(trim(o.vin)) AS vin, count(*) AS service_visits,
         max(CAST(o.ro_time AS DATE)) AS last_service_date,
         sum(COALESCE(o.labour_amount, 0) + COALESCE(o.parts_amount, 0)) AS service_spend,
         max(o.mileage_km) AS last_mileage_km
  FROM as_of a CROSS JOIN raw_service_orders o
  WHERE o.vin IS NOT NULL AND o.vin <> '' AND CAST(o.ro_time AS DATE) <= a.as_of_date
  GROUP BY upper(trim(o.vin))
),
own AS (
  SELECT vin, count(*) AS owners,
         max(CASE WHEN is_current THEN customer_id END) AS current_owner
  FROM vehicle_ownership GROUP BY vin
),
vins AS (SELECT vin FROM sold UNION SELECT vin FROM svc)
SELECT v.vin, sold.model, sold.first_sale_date, sold.selling_dealer, sold.price,
       own.current_owner, COALESCE(own.owners, 0) AS owners,
       CAST(a.as_of_date - sold.first_sale_date AS DOUBLE) / 365.25 AS age_years,
       COALESCE(svc.service_visits, 0) AS service_visits,
       COALESCE(svc.service_spend, 0) AS service_spend,
       svc.last_service_date, svc.last_mileage_km
FROM as_of a
CROSS JOIN vins v
LEFT JOIN sold ON sold.vin = v.vin
LEFT JOIN svc ON svc.vin = v.vin
LEFT JOIN own ON own.vin = v.vin
