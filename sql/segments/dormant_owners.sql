-- dormant_owners: owners to reactivate — customers who own a vehicle as of the as-of date and
-- whose owned vehicles have had no service visit for more than dormant_service_days (9 months;
-- marque_params), or never had one and were acquired longer ago than that. With the customer's
-- city and what they are worth (view ltv).
WITH owned AS (
  SELECT o.customer_id, o.vin, o.valid_from
  FROM as_of a CROSS JOIN vehicle_ownership o
  WHERE o.valid_from <= a.as_of_date AND (o.valid_to IS NULL OR o.valid_to > a.as_of_date)
),
per_customer AS (
  SELECT owned.customer_id, count(*) AS vehicles, max(v.last_service_date) AS last_service_date,
         min(owned.valid_from) AS owner_since
  FROM owned LEFT JOIN vehicles v ON v.vin = owned.vin
  GROUP BY owned.customer_id
)
SELECT c.customer_id, c.name, c.city, pc.vehicles, pc.owner_since, pc.last_service_date,
  p.as_of_date - COALESCE(pc.last_service_date, pc.owner_since) AS days_without_service,
  l.realised_margin, l.predicted_clv, l.total_value
FROM marque_params p
CROSS JOIN per_customer pc
JOIN customers c ON c.customer_id = pc.customer_id
LEFT JOIN ltv l ON l.customer_id = pc.customer_id
WHERE p.as_of_date - COALESCE(pc.last_service_date, pc.owner_since) > p.dormant_service_days
