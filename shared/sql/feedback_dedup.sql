-- One row per feedback (feedback_id), however often it was delivered.
SELECT *
FROM `{dataset}.feedback`
WHERE TRUE
QUALIFY ROW_NUMBER() OVER (PARTITION BY feedback_id ORDER BY given_at) = 1
