-- lifecycle: every customer's six-stage lifecycle stage as of the as-of date (view as_of):
-- potential → first_purchase → in_use → loyal → at_risk → churned, with the rule that decided
-- it (stage_rule) and the facts (explanation and the fact columns). The rules and thresholds
-- are those of lifecycle_history (see there and marque_params).
SELECT customer_id, snapshot_date AS as_of_date, stage, stage_rule, explanation, purchases,
       first_purchase_date, last_purchase_date, last_service_date, last_lead_date,
       last_interaction_date, days_silent, vehicles_ever, vehicles_now, referrals,
       recent_interactions, prior_interactions
FROM lifecycle_history
WHERE kind = 'as_of'
