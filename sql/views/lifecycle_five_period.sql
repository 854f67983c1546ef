-- lifecycle_five_period: the five-period vocabulary (introduction, growth, maturity, dormancy,
-- churn) as of the as-of date, mapped from the six stages of view lifecycle:
--   potential → introduction; first_purchase → growth; in_use, loyal → maturity;
--   at_risk → dormancy; churned → churn, with churn_type natural|soft|hard|experience and the
--   cause from view churn_cause.
SELECT l.customer_id, l.as_of_date,
  CASE l.stage WHEN 'potential' THEN 'introduction' WHEN 'first_purchase' THEN 'growth'
               WHEN 'in_use' THEN 'maturity' WHEN 'loyal' THEN 'maturity'
               WHEN 'at_risk' THEN 'dormancy' ELSE 'churn' END AS period,
  CASE WHEN l.stage = 'churned' THEN c.churn_type END AS churn_type,
  CASE WHEN l.stage = 'churned' THEN c.cause END AS churn_cause,
  l.stage AS six_stage, l.stage_rule
FROM lifecycle l
LEFT JOIN churn_cause c ON c.customer_id = l.customer_id
