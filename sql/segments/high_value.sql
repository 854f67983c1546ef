-- high_value: the top tier — customers whose realised margin (view ltv) reaches
-- high_value_min_margin (marque_params) and who are not churned as of the as-of date, with
-- their RFM cell.
SELECT lt.customer_id, c.name, c.city, lt.realised_margin, lt.predicted_clv, lt.total_value,
  l.stage, r.rfm_cell, r.rfm_segment
FROM marque_params p
CROSS JOIN ltv lt
JOIN customers c ON c.customer_id = lt.customer_id
JOIN lifecycle l ON l.customer_id = lt.customer_id
LEFT JOIN rfm r ON r.customer_id = lt.customer_id
WHERE lt.realised_margin >= p.high_value_min_margin AND l.stage <> 'churned'
