-- win_back_worthy: at-risk or churned customers worth winning back — their value exceeds
-- win_back_cost (marque_params). Value = predicted CLV (customer_clv) when there is one, else
-- the realised margin of the last three years as a stand-in for what they would bring again.
-- Customers whose churn cause is hard (moved away) are left out: they cannot come back.
WITH recent AS (
  SELECT e.customer_id,
    sum(CASE WHEN e.source = 'sales' THEN COALESCE(e.amount, 0) * p.vehicle_margin_rate
             WHEN e.source = 'after_sales' AND e.role = 'owner'
               THEN COALESCE(e.labour_amount, 0) * p.labour_margin_rate
                    + COALESCE(e.parts_amount, 0) * p.parts_margin_rate
             WHEN e.event_type IN ('app_purchase', 'app_charge')
               THEN COALESCE(e.amount, 0) * p.app_margin_rate
             ELSE 0 END) AS margin_3y
  FROM marque_params p CROSS JOIN events e
  WHERE e.event_date <= p.as_of_date AND p.as_of_date - e.event_date <= 1096
  GROUP BY e.customer_id
)
SELECT l.customer_id, c.name, c.city, l.stage, cc.cause AS churn_cause,
  COALESCE(lt.predicted_clv, r.margin_3y, 0) AS win_back_value,
  CASE WHEN lt.predicted_clv IS NOT NULL THEN 'predicted CLV' ELSE 'margin of the last 3 years'
  END AS value_basis,
  p.win_back_cost, lt.realised_margin
FROM marque_params p
CROSS JOIN lifecycle l
JOIN customers c ON c.customer_id = l.customer_id
LEFT JOIN ltv lt ON lt.customer_id = l.customer_id
LEFT JOIN recent r ON r.customer_id = l.customer_id
LEFT JOIN churn_cause cc ON cc.customer_id = l.customer_id
WHERE l.stage IN ('at_risk', 'churned')
  AND COALESCE(cc.churn_type, 'soft') <> 'hard'
  AND COALESCE(lt.predicted_clv, r.margin_3y, 0) > p.win_back_cost
