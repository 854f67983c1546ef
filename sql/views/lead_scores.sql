-- lead_scores: every open lead (lead_outcomes.status = 'open' and at most open_lead_days old)
-- scored for purchase potential, with the reasons. Points (weights in marque_params):
--   recency      lead_points_7d / _30d / _90d by the lead's age
--   model        lead_points_model when the lead names an intended model
--   app          lead_points_per_app_event per app event of the customer in the last 30 days,
--                capped at lead_points_app_cap; lead_points_test_drive for a test drive booked
--   channel      the lead's channel's past conversion rate × lead_rate_scale, capped at lead_rate_cap
--   similar      the past conversion rate of closed leads with the same channel and intended
--                model × lead_rate_scale, capped at lead_rate_cap
WITH closed AS (
  SELECT channel, intended_model,
         sum(CASE WHEN converted THEN 1 ELSE 0 END) AS converted, count(*) AS closed
  FROM lead_outcomes WHERE status <> 'open'
  GROUP BY channel, intended_model
),
by_channel AS (
  SELECT channel, CAST(sum(converted) AS DOUBLE) / sum(closed) AS rate, sum(closed) AS closed
  FROM closed GROUP BY channel
),
app AS (
  SELECT e.customer_id, count(*) AS app_events_30d
  FROM as_of a CROSS JOIN events e
  WHERE e.source = 'app' AND e.event_date <= a.as_of_date AND a.as_of_date - e.event_date < 30
  GROUP BY e.customer_id
),
parts AS (
  SELECT o.lead_id, o.customer_id, o.lead_date, o.channel, o.intended_model, o.city,
    o.dealer_code, o.lead_age_days, o.test_drive, COALESCE(app.app_events_30d, 0) AS app_events_30d,
    ch.rate AS channel_rate,
    CAST(s.converted AS DOUBLE) / NULLIF(s.closed, 0) AS similar_rate,
    CASE WHEN o.lead_age_days <= 7 THEN p.lead_points_7d
         WHEN o.lead_age_days <= 30 THEN p.lead_points_30d
         WHEN o.lead_age_days <= 90 THEN p.lead_points_90d ELSE 0 END AS recency_points,
    CASE WHEN o.intended_model IS NOT NULL AND o.intended_model <> ''
         THEN p.lead_points_model ELSE 0 END AS model_points,
    least(COALESCE(app.app_events_30d, 0) * p.lead_points_per_app_event, p.lead_points_app_cap)
      + CASE WHEN o.test_drive THEN p.lead_points_test_drive ELSE 0 END AS app_points,
    least(COALESCE(ch.rate, 0) * p.lead_rate_scale, p.lead_rate_cap) AS channel_points,
    least(COALESCE(CAST(s.converted AS DOUBLE) / NULLIF(s.closed, 0), 0) * p.lead_rate_scale,
          p.lead_rate_cap) AS similar_points
  FROM marque_params p
  CROSS JOIN lead_outcomes o
  LEFT JOIN app ON app.customer_id = o.customer_id
  LEFT JOIN by_channel ch ON ch.channel = o.channel
  LEFT JOIN closed s ON s.channel = o.channel AND s.intended_model = o.intended_model
  WHERE o.status = 'open' AND o.lead_age_days <= p.open_lead_days
)
SELECT lead_id, customer_id, lead_date, channel, intended_model, city, dealer_code,
  round(recency_points + model_points + app_points + channel_points + similar_points, 1) AS score,
  recency_points, model_points, app_points, round(channel_points, 1) AS channel_points,
  round(similar_points, 1) AS similar_points,
  'lead ' || CAST(lead_age_days AS VARCHAR) || ' days old (+' || CAST(recency_points AS VARCHAR)
    || '); ' || CASE WHEN model_points > 0 THEN 'wants ' || intended_model || ' (+'
    || CAST(model_points AS VARCHAR) || '); ' ELSE '' END
    || CAST(app_events_30d AS VARCHAR) || ' app events in 30 days'
    || CASE WHEN test_drive THEN ' and a test drive' ELSE '' END
    || ' (+' || CAST(app_points AS VARCHAR) || '); ' || COALESCE(channel, '?') || ' converts '
    || CAST(round(COALESCE(channel_rate, 0) * 100, 1) AS VARCHAR) || '% (+'
    || CAST(round(channel_points, 1) AS VARCHAR) || '); similar leads convert '
    || CAST(round(COALESCE(similar_rate, 0) * 100, 1) AS VARCHAR) || '% (+'
    || CAST(round(similar_points, 1) AS VARCHAR) || ')' AS reasons
FROM parts
