-- lead_allocation: for every scored open lead (lead_scores), the dealer proposed to work it and
-- why. Candidates are the dealers in the lead's city (dealer_performance.city); they are ranked
-- by their past conversion of closed leads for the lead's intended model, then by their overall
-- lead conversion, then by vehicles sold. With no dealer in the city, the best dealer nationwide
-- by the same ranking is proposed, and the reason says so.
WITH model_conv AS (
  SELECT dealer_code, intended_model,
    CAST(sum(CASE WHEN converted AND same_dealer THEN 1 ELSE 0 END) AS DOUBLE) / count(*) AS rate,
    count(*) AS closed
  FROM lead_outcomes WHERE status <> 'open' AND dealer_code IS NOT NULL
  GROUP BY dealer_code, intended_model
),
candidates AS (
  SELECT s.lead_id, d.dealer_code, d.city, d.city = s.city AS same_city,
    COALESCE(m.rate, 0) AS model_rate, COALESCE(m.closed, 0) AS model_closed,
    COALESCE(d.lead_conversion_rate, 0) AS dealer_rate, d.vehicles_sold,
    ROW_NUMBER() OVER (PARTITION BY s.lead_id
      ORDER BY CASE WHEN d.city = s.city THEN 0 ELSE 1 END, COALESCE(m.rate, 0) DESC,
               COALESCE(d.lead_conversion_rate, 0) DESC, d.vehicles_sold DESC, d.dealer_code)
      AS rank
  FROM lead_scores s
  CROSS JOIN dealer_performance d
  LEFT JOIN model_conv m ON m.dealer_code = d.dealer_code AND m.intended_model = s.intended_model
  WHERE d.vehicles_sold > 0 OR d.leads > 0
)
SELECT s.lead_id, s.customer_id, s.score, s.city, s.intended_model,
  c.dealer_code AS proposed_dealer, c.city AS dealer_city,
  CASE WHEN c.same_city THEN 'in ' || s.city ELSE 'no dealer in ' || COALESCE(s.city, '?')
       || '; best nationwide' END
    || '; converted ' || CAST(round(c.model_rate * 100, 1) AS VARCHAR) || '% of '
    || CAST(c.model_closed AS VARCHAR) || ' closed ' || COALESCE(s.intended_model, '?')
    || ' leads; ' || CAST(round(c.dealer_rate * 100, 1) AS VARCHAR) || '% of all its leads; '
    || CAST(c.vehicles_sold AS VARCHAR) || ' vehicles sold' AS reason,
  s.reasons AS score_reasons
FROM lead_scores s
JOIN candidates c ON c.lead_id = s.lead_id AND c.rank = 1
