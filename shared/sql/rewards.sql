-- One reward per reply: the latest explicit rating (thumbs) if there is one,
-- else the latest implied one (the user went on talking).
SELECT message_id, reward
FROM `{dataset}.feedback_dedup`
WHERE TRUE
QUALIFY ROW_NUMBER() OVER (
  PARTITION BY message_id
  ORDER BY CASE source WHEN 'explicit' THEN 0 ELSE 1 END, given_at DESC
) = 1
