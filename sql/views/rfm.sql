-- rfm: recency, frequency and monetary value per customer as of the as-of date, over the
-- transactions that bring money: vehicle purchases, service visits as owner, app purchases and
-- charging. Scores 1–5 by quintile (5 = most recent / most frequent / highest spend; ties broken
-- by customer_id so the scores are reproducible) and a named segment:
--   champions (R≥4, F≥4) · loyal (F≥4) · new (R≥4, F≤2) · at_risk (R≤2, F≥3) ·
--   hibernating (R≤2) · needs_attention (the rest)
WITH tx AS (
  SELECT e.customer_id, max(e.event_date) AS last_date, count(*) AS frequency,
         sum(COALESCE(e.amount, 0)) AS monetary, a.as_of_date
  FROM as_of a CROSS JOIN events e
  WHERE e.event_date <= a.as_of_date
    AND (e.source = 'sales' OR (e.source = 'after_sales' AND e.role = 'owner')
         OR e.event_type IN ('app_purchase', 'app_charge'))
  GROUP BY e.customer_id, a.as_of_date
),
scored AS (
  SELECT customer_id, as_of_date, last_date, as_of_date - last_date AS recency_days, frequency,
    monetary,
    NTILE(5) OVER (ORDER BY as_of_date - last_date DESC, customer_id) AS r_score,
    NTILE(5) OVER (ORDER BY frequency, customer_id) AS f_score,
    NTILE(5) OVER (ORDER BY monetary, customer_id) AS m_score
  FROM tx
)
SELECT customer_id, as_of_date, last_date, recency_days, frequency, monetary,
  r_score, f_score, m_score,
  CAST(r_score AS VARCHAR) || CAST(f_score AS VARCHAR) || CAST(m_score AS VARCHAR) AS rfm_cell,
  CASE WHEN r_score >= 4 AND f_score >= 4 THEN 'champions'
       WHEN f_score >= 4 THEN 'loyal'
       WHEN r_score >= 4 AND f_score <= 2 THEN 'new'
       WHEN r_score <= 2 AND f_score >= 3 THEN 'at_risk'
       WHEN r_score <= 2 THEN 'hibernating'
       ELSE 'needs_attention' END AS rfm_segment
FROM scored
