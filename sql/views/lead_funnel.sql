-- lead_funnel: leads → test drive → purchase per channel and month of the lead (from
-- lead_outcomes). conversion_rate = converted / closed leads (converted + lost), so open leads
-- do not dilute it.
SELECT channel, CAST(date_trunc('month', lead_date) AS DATE) AS lead_month,
  count(*) AS leads,
  count(DISTINCT customer_id) AS customers,
  sum(CASE WHEN test_drive THEN 1 ELSE 0 END) AS test_drives,
  sum(CASE WHEN converted THEN 1 ELSE 0 END) AS converted,
  sum(CASE WHEN status = 'open' THEN 1 ELSE 0 END) AS open,
  sum(CASE WHEN status = 'lost' THEN 1 ELSE 0 END) AS lost,
  CAST(sum(CASE WHEN converted THEN 1 ELSE 0 END) AS DOUBLE)
    / NULLIF(sum(CASE WHEN status <> 'open' THEN 1 ELSE 0 END), 0) AS conversion_rate,
  avg(days_to_sale) AS avg_days_to_sale
FROM lead_outcomes
GROUP BY channel, CAST(date_trunc('month', lead_date) AS DATE)
