-- Per algorithm: traffic share, mean reward with a 95% confidence interval
-- (normal approximation), and latency percentiles (received -> reply decided).
-- @user_id: NULL for everyone, or one user's replies only.
WITH replies AS (
  SELECT message_id, algorithm, total_ms
  FROM `{dataset}.selections_dedup`
  WHERE @user_id IS NULL OR user_id = @user_id
),
rewards AS (
{rewards}
)
SELECT
  replies.algorithm AS algorithm,
  COUNT(*) AS replies,
  COUNT(*) / SUM(COUNT(*)) OVER () AS traffic_share,
  COUNT(rewards.reward) AS rated,
  AVG(rewards.reward) AS mean_reward,
  SAFE_DIVIDE(1.96 * STDDEV_SAMP(rewards.reward), SQRT(COUNT(rewards.reward))) AS reward_ci95,
  APPROX_QUANTILES(replies.total_ms, 100)[OFFSET(50)] AS p50_ms,
  APPROX_QUANTILES(replies.total_ms, 100)[OFFSET(90)] AS p90_ms,
  APPROX_QUANTILES(replies.total_ms, 100)[OFFSET(99)] AS p99_ms
FROM replies
LEFT JOIN rewards ON rewards.message_id = replies.message_id
GROUP BY replies.algorithm
ORDER BY replies.algorithm
