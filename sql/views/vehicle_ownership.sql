-- vehicle_ownership: who owned which vehicle when. One row per (VIN, owner): a VIN's successive
-- owners with dated intervals [valid_from, valid_to). valid_to is the next owner's valid_from,
-- NULL for the current owner.
-- Evidence of ownership: the buyer on a sales invoice, or the owner named on a repair order.
-- The person who brought the car in (role sender) is NOT an owner. valid_from is the earliest
-- evidence (the sale date for a buyer); last_evidence the latest.
WITH claims AS (
  SELECT vin, customer_id, event_date,
         CASE WHEN source = 'sales' THEN 1 ELSE 0 END AS is_purchase,
         CASE WHEN source = 'sales' THEN record_id END AS purchase_record
  FROM events
  WHERE vin IS NOT NULL AND vin <> ''
    AND (source = 'sales' OR (source = 'after_sales' AND role = 'owner'))
),
per_owner AS (
  SELECT vin, customer_id, min(event_date) AS valid_from, max(event_date) AS last_evidence,
         sum(is_purchase) AS purchases, sum(1 - is_purchase) AS repair_orders_as_owner,
         min(purchase_record) AS purchase_record
  FROM claims
  GROUP BY vin, customer_id
)
SELECT vin, customer_id,
       ROW_NUMBER() OVER (PARTITION BY vin ORDER BY valid_from, customer_id) AS owner_seq,
       valid_from,
       LEAD(valid_from) OVER (PARTITION BY vin ORDER BY valid_from, customer_id) AS valid_to,
       LEAD(valid_from) OVER (PARTITION BY vin ORDER BY valid_from, customer_id) IS NULL
         AS is_current,
       last_evidence, purchases, repair_orders_as_owner,
       CASE WHEN purchases > 0 THEN 'bought it (invoice ' || purchase_record || ')'
            ELSE 'named owner on a repair order' END
         || '; owner on ' || CAST(repair_orders_as_owner AS VARCHAR) || ' repair order(s)'
         AS evidence
FROM per_owner
