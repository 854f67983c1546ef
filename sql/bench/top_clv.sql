-- Top-N by lifetime value: the 100 customers with the highest total value (realised margin plus
-- predicted CLV when customer_clv exists), with their stage.
SELECT v.customer_id, round(v.total_value, 2) AS value,
       round(v.realised_margin, 2) AS margin, l.stage
FROM ltv v JOIN lifecycle l ON l.customer_id = v.customer_id
ORDER BY v.total_value DESC, v.customer_id
LIMIT 100
