-- at_risk: customers likely to be slipping away as of the as-of date — P(alive) below
-- at_risk_p_alive (table customer_clv, when the lake has it), or lifecycle stage at_risk
-- (silent for more than at_risk_days, or falling activity). `reason` says which.
SELECT l.customer_id, c.name, c.city, l.stage, l.stage_rule,
  CASE WHEN lt.p_alive < p.at_risk_p_alive
       THEN 'P(alive) ' || CAST(round(lt.p_alive, 3) AS VARCHAR) || ' < '
            || CAST(p.at_risk_p_alive AS VARCHAR)
       ELSE l.explanation END AS reason,
  lt.p_alive, lt.realised_margin, lt.predicted_clv
FROM marque_params p
CROSS JOIN lifecycle l
JOIN customers c ON c.customer_id = l.customer_id
LEFT JOIN ltv lt ON lt.customer_id = l.customer_id
WHERE l.stage = 'at_risk'
   OR (lt.p_alive < p.at_risk_p_alive AND l.stage NOT IN ('churned', 'potential'))
