-- lifecycle_history: every customer's six-stage lifecycle (DOMAIN.md) at every date of
-- lifecycle_dates (month ends, and the as-of date with kind = 'as_of'), from the customer's first
-- event on. For funnels and cohort retention: stage counts per month, transitions between months.
-- Only events up to each snapshot_date count. Thresholds: marque_params. Rules, first match wins:
--   prospect_cold        no vehicle ever, silent > lead_alive_days          → churned
--   prospect_active      no vehicle ever                                     → potential
--   silent_churned       silent > churned_days                               → churned
--   sold_all_vehicles    owned vehicles, owns none now, no later purchase    → churned
--   silent_at_risk       silent > at_risk_days                               → at_risk
--   falling_activity     interactions in the last at_risk_days < falling_activity_ratio × those of
--                        the at_risk_days before (and ≥ falling_activity_min_prior before) → at_risk
--   repeat_buyer         ≥ 2 purchases or ≥ 2 vehicles                       → loyal
--   referrer             shared in the app (app_share)                       → loyal
--   recent_first_purchase first purchase ≤ first_purchase_days ago           → first_purchase
--   owner_active         otherwise                                           → in_use
-- `explanation` spells out the rule and the facts it used. The facts: view lifecycle_facts.
WITH facts AS (
  SELECT f.*, f.snapshot_date - f.last_interaction_date AS days_silent,
         p.lead_alive_days, p.churned_days, p.at_risk_days, p.first_purchase_days,
         p.falling_activity_ratio, p.falling_activity_min_prior
  FROM marque_params p
  CROSS JOIN lifecycle_facts f
),
ruled AS (
  SELECT facts.*,
    CASE
      WHEN vehicles_ever = 0 AND purchases = 0 AND days_silent > lead_alive_days
        THEN 'prospect_cold'
      WHEN vehicles_ever = 0 AND purchases = 0 THEN 'prospect_active'
      WHEN days_silent > churned_days THEN 'silent_churned'
      WHEN vehicles_ever > 0 AND vehicles_now = 0
           AND (last_purchase_date IS NULL OR last_purchase_date < last_ownership_end)
        THEN 'sold_all_vehicles'
      WHEN days_silent > at_risk_days THEN 'silent_at_risk'
      WHEN prior_interactions >= falling_activity_min_prior
           AND recent_interactions < falling_activity_ratio * prior_interactions
        THEN 'falling_activity'
      WHEN purchases >= 2 OR vehicles_ever >= 2 THEN 'repeat_buyer'
      WHEN referrals > 0 THEN 'referrer'
      WHEN first_purchase_date IS NOT NULL
           AND snapshot_date - first_purchase_date <= first_purchase_days
        THEN 'recent_first_purchase'
      ELSE 'owner_active'
    END AS stage_rule
  FROM facts
)
SELECT customer_id, snapshot_date, kind,
  CASE stage_rule
    WHEN 'prospect_cold' THEN 'churned'
    WHEN 'prospect_active' THEN 'potential'
    WHEN 'silent_churned' THEN 'churned'
    WHEN 'sold_all_vehicles' THEN 'churned'
    WHEN 'silent_at_risk' THEN 'at_risk'
    WHEN 'falling_activity' THEN 'at_risk'
    WHEN 'repeat_buyer' THEN 'loyal'
    WHEN 'referrer' THEN 'loyal'
    WHEN 'recent_first_purchase' THEN 'first_purchase'
    ELSE 'in_use'
  END AS stage,
  stage_rule,
  CASE stage_rule
    WHEN 'prospect_cold' THEN 'no vehicle; last interaction ' || CAST(last_interaction_date AS VARCHAR)
      || ' is ' || CAST(days_silent AS VARCHAR) || ' days old > lead_alive_days '
      || CAST(lead_alive_days AS VARCHAR)
    WHEN 'prospect_active' THEN 'no vehicle; last interaction ' || CAST(last_interaction_date AS VARCHAR)
      || ' is ' || CAST(days_silent AS VARCHAR) || ' days old <= lead_alive_days '
      || CAST(lead_alive_days AS VARCHAR)
    WHEN 'silent_churned' THEN 'last interaction ' || CAST(last_interaction_date AS VARCHAR)
      || ' is ' || CAST(days_silent AS VARCHAR) || ' days old > churned_days '
      || CAST(churned_days AS VARCHAR)
    WHEN 'sold_all_vehicles' THEN 'owned ' || CAST(vehicles_ever AS VARCHAR)
      || ' vehicle(s), none since ' || CAST(last_ownership_end AS VARCHAR)
      || ', no purchase after'
    WHEN 'silent_at_risk' THEN 'last interaction ' || CAST(last_interaction_date AS VARCHAR)
      || ' is ' || CAST(days_silent AS VARCHAR) || ' days old > at_risk_days '
      || CAST(at_risk_days AS VARCHAR)
    WHEN 'falling_activity' THEN CAST(recent_interactions AS VARCHAR)
      || ' interactions in the last ' || CAST(at_risk_days AS VARCHAR) || ' days vs '
      || CAST(prior_interactions AS VARCHAR) || ' in the ' || CAST(at_risk_days AS VARCHAR)
      || ' days before (ratio < ' || CAST(falling_activity_ratio AS VARCHAR) || ')'
    WHEN 'repeat_buyer' THEN CAST(purchases AS VARCHAR) || ' purchase(s), '
      || CAST(vehicles_ever AS VARCHAR) || ' vehicle(s) owned'
    WHEN 'referrer' THEN CAST(referrals AS VARCHAR) || ' share(s) in the app'
    WHEN 'recent_first_purchase' THEN 'first purchase ' || CAST(first_purchase_date AS VARCHAR)
      || ' <= first_purchase_days ' || CAST(first_purchase_days AS VARCHAR) || ' ago'
    ELSE 'owns ' || CAST(vehicles_now AS VARCHAR) || ' vehicle(s); last interaction '
      || CAST(last_interaction_date AS VARCHAR)
  END AS explanation,
  purchases, first_purchase_date, last_purchase_date, last_service_date, last_lead_date,
  last_interaction_date, days_silent, vehicles_ever, vehicles_now, referrals,
  recent_interactions, prior_interactions
FROM ruled
