-- replacement_candidates: owners for a replacement or add-on campaign — they own a vehicle aged
-- between replacement_min_age_years and replacement_max_age_years (4–6) as of the as-of date,
-- are still active (lifecycle stage first_purchase, in_use or loyal) and spent at least
-- replacement_min_service_spend on that vehicle's service. One row per customer and vehicle.
-- repurchase_hazard: the chance that an owner buys again during the vehicle's current year of
-- age, from the repurchase life table (view repurchase_hazard); NULL where no spell ended at
-- that age.
SELECT o.customer_id, c.name, c.city, v.vin, v.model, v.first_sale_date,
  round(v.age_years, 2) AS age_years, v.service_visits, v.service_spend, l.stage,
  lt.realised_margin, lt.predicted_clv, h.hazard AS repurchase_hazard
FROM marque_params p
CROSS JOIN vehicle_ownership o
JOIN vehicles v ON v.vin = o.vin
JOIN lifecycle l ON l.customer_id = o.customer_id
JOIN customers c ON c.customer_id = o.customer_id
LEFT JOIN ltv lt ON lt.customer_id = o.customer_id
LEFT JOIN repurchase_hazard h ON h.age_years = CAST(floor(v.age_years) AS BIGINT)
WHERE o.valid_from <= p.as_of_date AND (o.valid_to IS NULL OR o.valid_to > p.as_of_date)
  AND v.age_years >= p.replacement_min_age_years AND v.age_years <= p.replacement_max_age_years
  AND l.stage IN ('first_purchase', 'in_use', 'loyal')
  AND v.service_spend >= p.replacement_min_service_spend
