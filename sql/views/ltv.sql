-- ltv: lifetime value per customer as of the as-of date.
-- Historical (realised margin): vehicle price × vehicle_margin_rate + labour × labour_margin_rate
--   + parts × parts_margin_rate (repair orders where the customer is the owner) + app purchases
--   and charging × app_margin_rate. Rates: marque_params.
-- Predictive: from table customer_clv (BG/NBD + Gamma-Gamma, `marque clv`) when the lake has it;
--   NULL otherwise (the engine stands in an empty customer_clv). total_value = realised margin
--   + predicted CLV (or the realised margin alone when there is no prediction).
WITH rev AS (
  SELECT e.customer_id,
    sum(CASE WHEN e.source = 'sales' THEN COALESCE(e.amount, 0) ELSE 0 END) AS vehicle_revenue,
    sum(CASE WHEN e.source = 'after_sales' AND e.role = 'owner'
             THEN COALESCE(e.labour_amount, 0) ELSE 0 END) AS labour_revenue,
    sum(CASE WHEN e.source = 'after_sales' AND e.role = 'owner'
             THEN COALESCE(e.parts_amount, 0) ELSE 0 END) AS parts_revenue,
    sum(CASE WHEN e.event_type IN ('app_purchase', 'app_charge')
             THEN COALESCE(e.amount, 0) ELSE 0 END) AS app_revenue,
    min(e.event_date) AS first_date
  FROM as_of a CROSS JOIN events e
  WHERE e.event_date <= a.as_of_date
  GROUP BY e.customer_id
),
margin AS (
  SELECT r.*, p.as_of_date,
    r.vehicle_revenue * p.vehicle_margin_rate AS vehicle_margin,
    r.labour_revenue * p.labour_margin_rate AS labour_margin,
    r.parts_revenue * p.parts_margin_rate AS parts_margin,
    r.app_revenue * p.app_margin_rate AS app_margin
  FROM marque_params p CROSS JOIN rev r
)
SELECT m.customer_id, m.as_of_date, m.vehicle_revenue, m.labour_revenue, m.parts_revenue,
  m.app_revenue, m.vehicle_margin, m.labour_margin, m.parts_margin, m.app_margin,
  m.vehicle_margin + m.labour_margin + m.parts_margin + m.app_margin AS realised_margin,
  CAST(m.as_of_date - m.first_date AS DOUBLE) / 365.25 AS tenure_years,
  CAST(clv.expected_transactions AS DOUBLE) AS expected_transactions,
  CAST(clv.p_alive AS DOUBLE) AS p_alive,
  CAST(clv.expected_spend AS DOUBLE) AS expected_spend,
  CAST(clv.clv AS DOUBLE) AS predicted_clv,
  m.vehicle_margin + m.labour_margin + m.parts_margin + m.app_margin
    + COALESCE(CAST(clv.clv AS DOUBLE), 0) AS total_value
FROM margin m
LEFT JOIN customer_clv clv ON clv.customer_id = m.customer_id
