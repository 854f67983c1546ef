-- dealer_performance: one row per dealer up to the as-of date: its city (the city most of its
-- invoices, else its leads, name), vehicles sold and revenue, leads assigned to it and how many
-- of them bought from it (lead_conversion_rate = converted at this dealer / closed leads), its
-- workshop's visits, revenue and customers, and buyer retention (share of its buyers who came
-- back to its workshop).
WITH city_votes AS (
  SELECT dealer_code, city, count(*) + CASE WHEN source = 'sales' THEN 1000000 ELSE 0 END AS votes
  FROM events
  WHERE dealer_code IS NOT NULL AND city IS NOT NULL AND city <> ''
  GROUP BY dealer_code, city, source
),
dealer_city AS (
  SELECT dealer_code, city FROM (
    SELECT dealer_code, city,
           ROW_NUMBER() OVER (PARTITION BY dealer_code ORDER BY votes DESC, city) AS rn
    FROM city_votes
  ) v WHERE rn = 1
),
sold AS (
  SELECT e.dealer_code, count(*) AS vehicles_sold, sum(COALESCE(e.amount, 0)) AS sales_revenue,
         count(DISTINCT e.customer_id) AS buyers
  FROM as_of a CROSS JOIN events e
  WHERE e.source = 'sales' AND e.event_date <= a.as_of_date
  GROUP BY e.dealer_code
),
leads AS (
  SELECT dealer_code, count(*) AS leads,
    sum(CASE WHEN converted AND same_dealer THEN 1 ELSE 0 END) AS leads_converted_here,
    sum(CASE WHEN status <> 'open' THEN 1 ELSE 0 END) AS leads_closed
  FROM lead_outcomes WHERE dealer_code IS NOT NULL
  GROUP BY dealer_code
),
svc AS (
  SELECT e.dealer_code, count(DISTINCT e.record_id) AS service_visits,
         sum(CASE WHEN e.role = 'owner' THEN COALESCE(e.amount, 0) ELSE 0 END) AS service_revenue,
         count(DISTINCT e.customer_id) AS service_customers
  FROM as_of a CROSS JOIN events e
  WHERE e.source = 'after_sales' AND e.event_date <= a.as_of_date
  GROUP BY e.dealer_code
),
retained AS (
  SELECT b.dealer_code, count(DISTINCT b.customer_id) AS buyers_back_in_workshop
  FROM as_of a
  CROSS JOIN events b
  JOIN events s ON s.customer_id = b.customer_id AND s.source = 'after_sales'
              AND s.dealer_code = b.dealer_code AND s.event_date >= b.event_date
              AND s.event_date <= a.as_of_date
  WHERE b.source = 'sales' AND b.event_date <= a.as_of_date
  GROUP BY b.dealer_code
),
dealers AS (
  SELECT dealer_code FROM sold UNION SELECT dealer_code FROM leads
  UNION SELECT dealer_code FROM svc
)
SELECT d.dealer_code, c.city,
  COALESCE(sold.vehicles_sold, 0) AS vehicles_sold,
  COALESCE(sold.sales_revenue, 0) AS sales_revenue,
  COALESCE(leads.leads, 0) AS leads,
  COALESCE(leads.leads_converted_here, 0) AS leads_converted_here,
  CAST(leads.leads_converted_here AS DOUBLE) / NULLIF(leads.leads_closed, 0)
    AS lead_conversion_rate,
  COALESCE(svc.service_visits, 0) AS service_visits,
  COALESCE(svc.service_revenue, 0) AS service_revenue,
  COALESCE(svc.service_customers, 0) AS service_customers,
  CAST(COALESCE(r.buyers_back_in_workshop, 0) AS DOUBLE) / NULLIF(sold.buyers, 0)
    AS buyer_retention
FROM dealers d
LEFT JOIN dealer_city c ON c.dealer_code = d.dealer_code
LEFT JOIN sold ON sold.dealer_code = d.dealer_code
LEFT JOIN leads ON leads.dealer_code = d.dealer_code
LEFT JOIN svc ON svc.dealer_code = d.dealer_code
LEFT JOIN retained r ON r.dealer_code = d.dealer_code
WHERE d.dealer_code IS NOT NULL
