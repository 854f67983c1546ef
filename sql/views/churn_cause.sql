-- churn_cause: for every customer whose stage is at_risk or churned (view lifecycle), the likely
-- cause where the data allow it, mapped to the four kinds of churn of DOMAIN.md. First match:
--   complaints          ≥ complaint_claims warranty claims (service type 索赔)   → experience
--   moved_city          the latest city seen (lead or invoice) differs from the first → hard
--   sold_vehicle        owned vehicles, owns none now, bought none after          → natural
--   serviced_elsewhere  still uses the app in the last at_risk_days but no service visit for
--                       dormant_service_days while owning a vehicle               → soft
--   lead_went_cold      never owned a vehicle                                     → natural
--   no_interaction      otherwise                                                 → soft
WITH cities AS (
  SELECT customer_id,
         min(CASE WHEN first_rank = 1 THEN city END) AS first_city,
         min(CASE WHEN last_rank = 1 THEN city END) AS last_city
  FROM (
    SELECT e.customer_id, e.city,
           ROW_NUMBER() OVER (PARTITION BY e.customer_id ORDER BY e.event_time, e.record_id)
             AS first_rank,
           ROW_NUMBER() OVER (PARTITION BY e.customer_id
                              ORDER BY e.event_time DESC, e.record_id DESC) AS last_rank
    FROM as_of a CROSS JOIN events e
    WHERE e.city IS NOT NULL AND e.city <> '' AND e.event_date <= a.as_of_date
  ) c
  GROUP BY customer_id
),
acts AS (
  SELECT e.customer_id,
    sum(CASE WHEN e.source = 'after_sales' AND e.detail = '索赔' THEN 1 ELSE 0 END) AS claims,
    max(CASE WHEN e.source = 'app' THEN e.event_date END) AS last_app_date
  FROM as_of a CROSS JOIN events e
  WHERE e.event_date <= a.as_of_date
  GROUP BY e.customer_id
)
SELECT l.customer_id, l.as_of_date, l.stage, cause,
  CASE cause WHEN 'complaints' THEN 'experience' WHEN 'moved_city' THEN 'hard'
             WHEN 'sold_vehicle' THEN 'natural' WHEN 'lead_went_cold' THEN 'natural'
             ELSE 'soft' END AS churn_type,
  CASE cause
    WHEN 'complaints' THEN CAST(claims AS VARCHAR) || ' warranty claim(s)'
    WHEN 'moved_city' THEN 'first seen in ' || first_city || ', lately in ' || last_city
    WHEN 'sold_vehicle' THEN l.explanation
    WHEN 'serviced_elsewhere' THEN 'app used ' || CAST(last_app_date AS VARCHAR)
      || '; last service ' || COALESCE(CAST(l.last_service_date AS VARCHAR), 'never')
    ELSE l.explanation
  END AS evidence
FROM (
  SELECT l.*, a.claims, a.last_app_date, c.first_city, c.last_city,
    CASE
      WHEN a.claims >= p.complaint_claims THEN 'complaints'
      WHEN c.first_city <> c.last_city THEN 'moved_city'
      WHEN l.stage_rule = 'sold_all_vehicles' THEN 'sold_vehicle'
      WHEN l.vehicles_now > 0 AND l.as_of_date - a.last_app_date < p.at_risk_days
           AND (l.last_service_date IS NULL
                OR l.as_of_date - l.last_service_date > p.dormant_service_days)
        THEN 'serviced_elsewhere'
      WHEN l.vehicles_ever = 0 THEN 'lead_went_cold'
      ELSE 'no_interaction'
    END AS cause
  FROM marque_params p
  CROSS JOIN lifecycle l
  LEFT JOIN acts a ON a.customer_id = l.customer_id
  LEFT JOIN cities c ON c.customer_id = l.customer_id
  WHERE l.stage IN ('at_risk', 'churned')
) l
