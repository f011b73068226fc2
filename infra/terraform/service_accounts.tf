# One service account per function, each granted only what its code does:
#   ingress  publishes to `utterances` and `feedback`, reads the webhook key
#            (and Firestore's router/stats when router = thompson)
#   scorer   reads/writes Firestore, writes replies to the Realtime Database,
#            publishes to `selection-logs` and `utterances-dead`
#   log_sink writes rows to the dataset, keeps its ledgers in Firestore,
#            publishes to `selection-logs-dead` and `feedback-dead`
# plus the identity Pub/Sub pushes as (invoker of scorer and log_sink; the
# deploy step grants run.invoker on each function once it exists) and the
# identity Cloud Build builds the functions as.
# Firestore has no per-collection IAM, so datastore.user is project-wide.

locals {
  # Deployed function name -> entry point. Gen2 names become Cloud Run
  # service names, which allow no underscore.
  functions = {
    ingress  = "ingress"
    scorer   = "scorer"
    log-sink = "log_sink"
  }
  # Each gen2 function also answers at this fixed URL, so subscriptions can
  # name their push endpoints before the functions are deployed.
  function_url = {
    ingress  = "https://${var.region}-${var.project}.cloudfunctions.net/ingress"
    scorer   = "https://${var.region}-${var.project}.cloudfunctions.net/scorer"
    log-sink = "https://${var.region}-${var.project}.cloudfunctions.net/log-sink"
  }
  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_service_account" "function" {
  for_each     = local.functions
  account_id   = "zatsudan-${each.key}"
  display_name = "zatsudan ${each.key} function"
  depends_on   = [google_project_service.api]
}

resource "google_service_account" "pusher" {
  account_id   = "zatsudan-pusher"
  display_name = "zatsudan Pub/Sub push identity (OIDC)"
  depends_on   = [google_project_service.api]
}

resource "google_service_account" "builder" {
  account_id   = "zatsudan-builder"
  display_name = "zatsudan Cloud Build identity for function builds"
  depends_on   = [google_project_service.api]
}

resource "google_project_iam_member" "builder" {
  for_each = toset(["roles/cloudbuild.builds.builder", "roles/logging.logWriter"])
  project  = var.project
  role     = each.value
  member   = google_service_account.builder.member
}

resource "google_project_iam_member" "firestore_user" {
  for_each = toset(["scorer", "log-sink"])
  project  = var.project
  role     = "roles/datastore.user"
  member   = google_service_account.function[each.value].member
}

# The Realtime Database has no narrower role that can write data.
resource "google_project_iam_member" "scorer_writes_rtdb_replies" {
  project = var.project
  role    = "roles/firebasedatabase.admin"
  member  = google_service_account.function["scorer"].member
}

resource "google_pubsub_topic_iam_member" "ingress_publishes_utterances" {
  topic  = google_pubsub_topic.utterances.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.function["ingress"].member
}

resource "google_pubsub_topic_iam_member" "ingress_publishes_feedback" {
  topic  = google_pubsub_topic.feedback.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.function["ingress"].member
}

# The bandit router reads router/stats (written by jobs/refresh_router_stats.py).
resource "google_project_iam_member" "ingress_reads_router_stats" {
  count   = var.router == "thompson" ? 1 : 0
  project = var.project
  role    = "roles/datastore.viewer"
  member  = google_service_account.function["ingress"].member
}

resource "google_pubsub_topic_iam_member" "scorer_publishes_selection_logs" {
  topic  = google_pubsub_topic.selection_logs.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.function["scorer"].member
}

resource "google_pubsub_topic_iam_member" "scorer_dead_letters" {
  topic  = google_pubsub_topic.utterances_dead.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.function["scorer"].member
}

resource "google_pubsub_topic_iam_member" "log_sink_dead_letters" {
  topic  = google_pubsub_topic.selection_logs_dead.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.function["log-sink"].member
}

resource "google_pubsub_topic_iam_member" "log_sink_dead_letters_feedback" {
  topic  = google_pubsub_topic.feedback_dead.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.function["log-sink"].member
}

resource "google_bigquery_dataset_iam_member" "log_sink_writes_rows" {
  dataset_id = google_bigquery_dataset.zatsudan.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = google_service_account.function["log-sink"].member
}

resource "google_secret_manager_secret_iam_member" "ingress_reads_webhook_key" {
  secret_id = google_secret_manager_secret.webhook_key.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.function["ingress"].member
}

# The Pub/Sub service agent mints the OIDC tokens of pushes as the pusher.
resource "google_service_account_iam_member" "pubsub_mints_push_tokens" {
  service_account_id = google_service_account.pusher.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent
  depends_on         = [google_project_service.api]
}

# The corpus pipeline (jobs/corpus, a Cloud Run job; not deployed by
# `make deploy`): loads and filters in BigQuery, writes shards to the corpus
# bucket, publishes and leases tasks, writes candidates to Firestore.
resource "google_service_account" "corpus" {
  account_id   = "zatsudan-corpus"
  display_name = "zatsudan corpus pipeline job"
  depends_on   = [google_project_service.api]
}

resource "google_project_iam_member" "corpus" {
  for_each = toset(["roles/bigquery.jobUser", "roles/datastore.user"])
  project  = var.project
  role     = each.value
  member   = google_service_account.corpus.member
}

resource "google_bigquery_dataset_iam_member" "corpus_loads_posts" {
  dataset_id = google_bigquery_dataset.zatsudan.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = google_service_account.corpus.member
}

resource "google_storage_bucket_iam_member" "corpus_writes_shards" {
  bucket = google_storage_bucket.corpus.name
  role   = "roles/storage.objectAdmin"
  member = google_service_account.corpus.member
}

resource "google_pubsub_topic_iam_member" "corpus_publishes" {
  for_each = {
    tasks = google_pubsub_topic.corpus_tasks.id
    dead  = google_pubsub_topic.corpus_tasks_dead.id
  }
  topic  = each.value
  role   = "roles/pubsub.publisher"
  member = google_service_account.corpus.member
}

resource "google_pubsub_subscription_iam_member" "corpus_leases_tasks" {
  subscription = google_pubsub_subscription.corpus_tasks_workers.id
  role         = "roles/pubsub.subscriber"
  member       = google_service_account.corpus.member
}
