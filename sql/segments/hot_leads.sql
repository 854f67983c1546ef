-- hot_leads: open leads scoring at least hot_lead_min_score (marque_params) in lead_scores,
-- with the dealer proposed for each (lead_allocation) and the reasons for both.
SELECT s.customer_id, s.lead_id, s.lead_date, s.channel, s.intended_model, s.city, s.score,
  a.proposed_dealer, s.reasons, a.reason AS allocation_reason
FROM marque_params p
CROSS JOIN lead_scores s
LEFT JOIN lead_allocation a ON a.lead_id = s.lead_id
WHERE s.score >= p.hot_lead_min_score
