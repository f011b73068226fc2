-- One row per reply (message_id), whatever got through twice: BigQuery's
-- insert-id de-duplication is best effort, so reports read this view.
SELECT *
FROM `{dataset}.selections`
WHERE TRUE
QUALIFY ROW_NUMBER() OVER (PARTITION BY message_id ORDER BY replied_at) = 1
