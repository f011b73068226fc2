-- One reward per reply: the latest explicit rating (thumbs) if there is one,
-- else the latest implied one (the user went on talking). Only the user the
-- reply answered may rate it: anyone else's rows are ignored, so no one can
-- steer the router by rating other people's replies.
SELECT feedback.message_id AS message_id, feedback.reward AS reward
FROM `{dataset}.feedback_dedup` AS feedback
JOIN `{dataset}.selections_dedup` AS answered
  ON answered.message_id = feedback.message_id AND answered.user_id = feedback.user_id
WHERE TRUE
QUALIFY ROW_NUMBER() OVER (
  PARTITION BY feedback.message_id
  ORDER BY CASE feedback.source WHEN 'explicit' THEN 0 ELSE 1 END, feedback.given_at DESC
) = 1
