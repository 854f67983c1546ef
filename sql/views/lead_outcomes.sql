-- lead_outcomes: one row per lead up to the as-of date and what became of it.
--   converted   the lead's customer bought a vehicle within lead_conversion_days after the lead
--               (the first such sale is the one shown: sale_record_id, sale_dealer_code, …)
--   test_drive  the customer booked a test drive in the app within that window
--   status      converted | open (not converted, younger than lead_conversion_days) | lost
WITH leads AS (
  SELECT e.customer_id, e.record_id AS lead_id, e.event_date AS lead_date, e.channel,
         e.detail AS campaign, e.model AS intended_model, e.city, e.dealer_code
  FROM as_of a CROSS JOIN events e
  WHERE e.source = 'marketing' AND e.event_date <= a.as_of_date
),
sales AS (
  SELECT e.customer_id, e.record_id, e.event_date, e.dealer_code, e.model
  FROM as_of a CROSS JOIN events e
  WHERE e.source = 'sales' AND e.event_date <= a.as_of_date
),
first_sale AS (
  SELECT lead_id, sale_record_id, sale_date, sale_dealer_code, sale_model FROM (
    SELECT l.lead_id, s.record_id AS sale_record_id, s.event_date AS sale_date,
           s.dealer_code AS sale_dealer_code, s.model AS sale_model,
           ROW_NUMBER() OVER (PARTITION BY l.lead_id ORDER BY s.event_date, s.record_id) AS rn
    FROM marque_params p
    CROSS JOIN leads l
    JOIN sales s ON s.customer_id = l.customer_id AND s.event_date >= l.lead_date
                AND s.event_date - l.lead_date <= p.lead_conversion_days
  ) x WHERE rn = 1
),
test_drives AS (
  SELECT l.lead_id, count(*) AS test_drives
  FROM marque_params p
  CROSS JOIN leads l
  JOIN events e ON e.customer_id = l.customer_id AND e.event_type = 'app_book_test_drive'
              AND e.event_date >= l.lead_date
              AND e.event_date - l.lead_date <= p.lead_conversion_days
              AND e.event_date <= p.as_of_date
  GROUP BY l.lead_id
)
SELECT l.lead_id, l.customer_id, l.lead_date, l.channel, l.campaign, l.intended_model, l.city,
  l.dealer_code, COALESCE(t.test_drives, 0) > 0 AS test_drive,
  s.sale_record_id IS NOT NULL AS converted,
  s.sale_record_id, s.sale_date, s.sale_dealer_code, s.sale_model,
  s.sale_date - l.lead_date AS days_to_sale,
  s.sale_dealer_code = l.dealer_code AS same_dealer,
  CASE WHEN s.sale_record_id IS NOT NULL THEN 'converted'
       WHEN p.as_of_date - l.lead_date <= p.lead_conversion_days THEN 'open'
       ELSE 'lost' END AS status,
  p.as_of_date - l.lead_date AS lead_age_days
FROM marque_params p
CROSS JOIN leads l
LEFT JOIN first_sale s ON s.lead_id = l.lead_id
LEFT JOIN test_drives t ON t.lead_id = l.lead_id
