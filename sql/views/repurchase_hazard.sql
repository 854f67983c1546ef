-- repurchase_hazard: vehicle repurchase as a time-to-event process on the vehicle, not a
-- BG/NBD process on the customer (the marque-clv crate documentation says why): for every
-- vehicle a customer bought, the spell runs from that purchase to the same customer's next
-- vehicle purchase (a repurchase) or, when there is none up to the as-of date, to the as-of
-- date (censored). Per whole year of vehicle age: vehicles at risk (reached that age without a
-- repurchase), repurchases during that year of age, the hazard (repurchases / at risk: the
-- chance of buying again during that year, given none before) and the Kaplan–Meier survival
-- (no repurchase up to the end of that year). The same estimator as
-- marque_clv::repurchase::life_table. Ages at which no spell ends are left out (hazard 0 there).
-- Segment replacement_candidates shows the hazard at each vehicle's current age.
WITH bought AS (
  SELECT customer_id, event_date AS bought_on FROM events WHERE source = 'sales'
),
spells AS (
  SELECT b.customer_id, b.bought_on, min(n.bought_on) AS next_purchase
  FROM bought b
  LEFT JOIN bought n ON n.customer_id = b.customer_id AND n.bought_on > b.bought_on
  GROUP BY b.customer_id, b.bought_on
),
aged AS (
  SELECT CAST(floor(CAST(CASE WHEN s.next_purchase <= p.as_of_date THEN s.next_purchase
                               ELSE p.as_of_date END - s.bought_on AS DOUBLE) / 365.25)
              AS BIGINT) AS age_years,
         CASE WHEN s.next_purchase <= p.as_of_date THEN 1 ELSE 0 END AS repurchased
  FROM marque_params p
  CROSS JOIN spells s
  WHERE s.bought_on <= p.as_of_date
),
by_age AS (
  SELECT age_years, count(*) AS ending, sum(repurchased) AS repurchases
  FROM aged GROUP BY age_years
),
hazards AS (
  SELECT age_years, sum(ending) OVER (ORDER BY age_years DESC) AS at_risk, repurchases,
         CAST(repurchases AS DOUBLE) / sum(ending) OVER (ORDER BY age_years DESC) AS hazard
  FROM by_age
)
SELECT age_years, CAST(at_risk AS BIGINT) AS at_risk, CAST(repurchases AS BIGINT) AS repurchases,
       hazard,
       exp(sum(ln(greatest(1.0 - hazard, 1e-300))) OVER (ORDER BY age_years)) AS survival
FROM hazards
