# Where each resource was before its kind became one for_each block: an
# existing deployment moves its state to the new addresses on the next plan
# instead of destroying and re-creating (topics, tables with their rows).
# The drift check proves every `to` exists and no `from` does.

# Pub/Sub: one resource per kind, for_each over local.topics.
moved {
  from = google_pubsub_topic.utterances
  to   = google_pubsub_topic.topic["utterances"]
}
moved {
  from = google_pubsub_topic.selection_logs
  to   = google_pubsub_topic.topic["selection_logs"]
}
moved {
  from = google_pubsub_topic.feedback
  to   = google_pubsub_topic.topic["feedback"]
}
moved {
  from = google_pubsub_topic.corpus_tasks
  to   = google_pubsub_topic.topic["corpus_tasks"]
}
moved {
  from = google_pubsub_topic.train_trials
  to   = google_pubsub_topic.topic["train_trials"]
}
moved {
  from = google_pubsub_topic.utterances_dead
  to   = google_pubsub_topic.dead_letters["utterances"]
}
moved {
  from = google_pubsub_topic.selection_logs_dead
  to   = google_pubsub_topic.dead_letters["selection_logs"]
}
moved {
  from = google_pubsub_topic.feedback_dead
  to   = google_pubsub_topic.dead_letters["feedback"]
}
moved {
  from = google_pubsub_topic.corpus_tasks_dead
  to   = google_pubsub_topic.dead_letters["corpus_tasks"]
}
moved {
  from = google_pubsub_topic.train_trials_dead
  to   = google_pubsub_topic.dead_letters["train_trials"]
}
moved {
  from = google_pubsub_subscription.utterances_scorer
  to   = google_pubsub_subscription.consumer["utterances"]
}
moved {
  from = google_pubsub_subscription.selection_logs_sink
  to   = google_pubsub_subscription.consumer["selection_logs"]
}
moved {
  from = google_pubsub_subscription.feedback_sink
  to   = google_pubsub_subscription.consumer["feedback"]
}
moved {
  from = google_pubsub_subscription.corpus_tasks_workers
  to   = google_pubsub_subscription.consumer["corpus_tasks"]
}
moved {
  from = google_pubsub_subscription.train_trials_workers
  to   = google_pubsub_subscription.consumer["train_trials"]
}
moved {
  from = google_pubsub_subscription.utterances_dead_sub
  to   = google_pubsub_subscription.dead_letters["utterances"]
}
moved {
  from = google_pubsub_subscription.selection_logs_dead_sub
  to   = google_pubsub_subscription.dead_letters["selection_logs"]
}
moved {
  from = google_pubsub_subscription.feedback_dead_sub
  to   = google_pubsub_subscription.dead_letters["feedback"]
}
moved {
  from = google_pubsub_subscription.corpus_tasks_dead_sub
  to   = google_pubsub_subscription.dead_letters["corpus_tasks"]
}
moved {
  from = google_pubsub_subscription.train_trials_dead_sub
  to   = google_pubsub_subscription.dead_letters["train_trials"]
}

# Project roles: local.project_roles.
moved {
  from = google_project_iam_member.builder["roles/cloudbuild.builds.builder"]
  to   = google_project_iam_member.role["builder roles/cloudbuild.builds.builder"]
}
moved {
  from = google_project_iam_member.builder["roles/logging.logWriter"]
  to   = google_project_iam_member.role["builder roles/logging.logWriter"]
}
moved {
  from = google_project_iam_member.firestore_user["scorer"]
  to   = google_project_iam_member.role["scorer roles/datastore.user"]
}
moved {
  from = google_project_iam_member.firestore_user["log-sink"]
  to   = google_project_iam_member.role["log-sink roles/datastore.user"]
}
moved {
  from = google_project_iam_member.scorer_writes_rtdb_replies
  to   = google_project_iam_member.role["scorer roles/firebasedatabase.admin"]
}
moved {
  from = google_project_iam_member.ingress_reads_router_stats[0]
  to   = google_project_iam_member.role["ingress roles/datastore.user"]
}
moved {
  from = google_project_iam_member.corpus["roles/bigquery.jobUser"]
  to   = google_project_iam_member.role["corpus roles/bigquery.jobUser"]
}
moved {
  from = google_project_iam_member.corpus["roles/datastore.user"]
  to   = google_project_iam_member.role["corpus roles/datastore.user"]
}

# Topic publishers: local.publishes.
moved {
  from = google_pubsub_topic_iam_member.ingress_publishes_utterances
  to   = google_pubsub_topic_iam_member.publisher["ingress utterances"]
}
moved {
  from = google_pubsub_topic_iam_member.ingress_publishes_feedback
  to   = google_pubsub_topic_iam_member.publisher["ingress feedback"]
}
moved {
  from = google_pubsub_topic_iam_member.scorer_publishes_selection_logs
  to   = google_pubsub_topic_iam_member.publisher["scorer selection_logs"]
}
moved {
  from = google_pubsub_topic_iam_member.scorer_dead_letters
  to   = google_pubsub_topic_iam_member.publisher["scorer utterances_dead"]
}
moved {
  from = google_pubsub_topic_iam_member.log_sink_dead_letters
  to   = google_pubsub_topic_iam_member.publisher["log-sink selection_logs_dead"]
}
moved {
  from = google_pubsub_topic_iam_member.log_sink_dead_letters_feedback
  to   = google_pubsub_topic_iam_member.publisher["log-sink feedback_dead"]
}
moved {
  from = google_pubsub_topic_iam_member.corpus_publishes["tasks"]
  to   = google_pubsub_topic_iam_member.publisher["corpus corpus_tasks"]
}
moved {
  from = google_pubsub_topic_iam_member.corpus_publishes["dead"]
  to   = google_pubsub_topic_iam_member.publisher["corpus corpus_tasks_dead"]
}

# BigQuery: tables by local.tables, views by name, dataset editors by identity.
moved {
  from = google_bigquery_table.selections
  to   = google_bigquery_table.table["selections"]
}
moved {
  from = google_bigquery_table.feedback
  to   = google_bigquery_table.table["feedback"]
}
moved {
  from = google_bigquery_table.posts
  to   = google_bigquery_table.table["posts"]
}
moved {
  from = google_bigquery_table.selections_dedup
  to   = google_bigquery_table.view["selections_dedup"]
}
moved {
  from = google_bigquery_table.feedback_dedup
  to   = google_bigquery_table.view["feedback_dedup"]
}
moved {
  from = google_bigquery_dataset_iam_member.log_sink_writes_rows
  to   = google_bigquery_dataset_iam_member.data_editor["log-sink"]
}
moved {
  from = google_bigquery_dataset_iam_member.corpus_loads_posts
  to   = google_bigquery_dataset_iam_member.data_editor["corpus"]
}
