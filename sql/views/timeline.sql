-- timeline: every event of every customer across the four sources (view `events`), numbered in
-- time order per customer (event_seq = 1 for the first event) and sorted by customer, then time.
-- One customer's history:
--   SELECT event_seq, event_time, source, event_type, amount, detail
--   FROM timeline WHERE customer_id = 'C…' ORDER BY event_seq
SELECT ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY event_time, source, record_id)
         AS event_seq,
       events.*
FROM events
ORDER BY customer_id, event_seq
