-- Per algorithm, the reward evidence the Thompson router needs: rated replies
-- and the sum of rewards mapped from [-1, 1] to [0, 1] (Beta successes).
WITH replies AS (
  SELECT message_id, algorithm
  FROM `{dataset}.selections_dedup`
),
rewards AS (
{rewards}
)
SELECT
  replies.algorithm AS algorithm,
  COUNT(*) AS rated,
  SUM((rewards.reward + 1) / 2) AS successes
FROM replies
JOIN rewards ON rewards.message_id = replies.message_id
GROUP BY replies.algorithm
ORDER BY replies.algorithm
