-- marque_params: EVERY threshold, rate and weight of the lifecycle, value, segment and lead views,
-- in ONE place (one row). Edit a number here and every view that uses it follows. Durations are
-- in days, amounts in CNY, rates as fractions. The views read it with `FROM marque_params p CROSS JOIN …`
-- (the one-row side first: DataFusion then streams the big side through the cross join).
SELECT
  a.as_of_date,
  -- Lifecycle, six stages (view lifecycle / lifecycle_history)
  365 AS first_purchase_days,           -- first vehicle bought at most this long ago: first_purchase
  180 AS at_risk_days,                  -- owner silent for longer ("half a year"): at_risk
  540 AS churned_days,                  -- owner silent for longer: churned
  365 AS lead_alive_days,               -- prospect (no vehicle) silent for longer: churned (lead went cold)
  CAST(0.5 AS DOUBLE) AS falling_activity_ratio, -- interactions in the last at_risk_days below this share
  3 AS falling_activity_min_prior,      --   of the at_risk_days before (with at least this many): at_risk
  2 AS complaint_claims,                -- warranty claims (索赔) at or above this: churn cause "experience"
  -- Vehicles and service (segments dormant_owners, replacement_candidates)
  270 AS dormant_service_days,          -- owner with no service visit for longer (9 months): dormant
  CAST(4.0 AS DOUBLE) AS replacement_min_age_years,
  CAST(6.0 AS DOUBLE) AS replacement_max_age_years,
  CAST(5000.0 AS DOUBLE) AS replacement_min_service_spend, -- service spend on the vehicle, CNY
  -- Value (views ltv, segments high_value, win_back_worthy, at_risk)
  CAST(0.08 AS DOUBLE) AS vehicle_margin_rate,  -- realised margin on a vehicle sale's price
  CAST(0.55 AS DOUBLE) AS labour_margin_rate,   -- on workshop labour
  CAST(0.25 AS DOUBLE) AS parts_margin_rate,    -- on parts
  CAST(0.30 AS DOUBLE) AS app_margin_rate,      -- on app purchases and charging
  CAST(3000.0 AS DOUBLE) AS win_back_cost,      -- what winning a customer back costs, CNY
  CAST(20000.0 AS DOUBLE) AS high_value_min_margin, -- realised margin of a high-value customer
  CAST(0.3 AS DOUBLE) AS at_risk_p_alive,       -- P(alive) below this (customer_clv): at_risk
  -- Leads (lead_outcomes, lead_funnel, lead_scores, lead_allocation, hot_leads)
  180 AS lead_conversion_days,          -- a lead converts when its customer buys within this long
  90 AS open_lead_days,                 -- a younger lead with no purchase since is open
  30 AS lead_points_7d,                 -- score for a lead at most 7 days old
  20 AS lead_points_30d,                --   … at most 30 days old
  10 AS lead_points_90d,                --   … at most 90 days old
  10 AS lead_points_model,              -- the lead names an intended model
  4 AS lead_points_per_app_event,       -- per app event of the customer in the last 30 days
  20 AS lead_points_app_cap,            --   capped at this
  15 AS lead_points_test_drive,         -- a test drive booked in the app since the lead
  CAST(100.0 AS DOUBLE) AS lead_rate_scale, -- points per unit of a past conversion rate (8% → 8)
  25 AS lead_rate_cap,                  --   capped at this, for the channel and for similar leads
  60 AS hot_lead_min_score              -- open leads scoring at least this: hot_leads
FROM as_of a
