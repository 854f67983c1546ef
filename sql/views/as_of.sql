-- as_of: the date every date-dependent view computes "as of" (one row, column as_of_date).
-- Today by default. `marque sql --as-of 2025-06-30 …` (EngineOptions::as_of) replaces this view
-- with that fixed date, so a lifecycle, a segment or a value can be recomputed for any past day.
SELECT CAST(current_date AS DATE) AS as_of_date
