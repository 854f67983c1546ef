-- Segment membership: dormant owners per city and what they are worth (segment dormant_owners).
SELECT city, count(*) AS owners, round(sum(realised_margin), 2) AS worth
FROM dormant_owners
GROUP BY city
ORDER BY owners DESC, city
LIMIT 10
