# One service account per function, each granted only what its code does:
#   ingress  publishes to `utterances` and `feedback`, reads the webhook key
#            and uses Firestore: creates idempotency keys and webhook signatures
#            seen, reads decisions (feedback's owner check), router/stats
#            (router = thompson) and models/current (routes to dual_encoder once
#            a model is published)
#   scorer   reads/writes Firestore, writes replies to the Realtime Database,
#            publishes to `selection-logs` and `utterances-dead`, reads the
#            models bucket (the dual encoder's published versions)
#   log_sink writes rows to the dataset, counts failed deliveries in Firestore,
#            publishes to `selection-logs-dead` and `feedback-dead`
#   delivery sends replies to callback URLs and LINE: reads the callback
#            signing key and the LINE access token, keeps its ledger in
#            Firestore, publishes to `replies-dead`
# The scorer also publishes to `replies`; ingress reads the LINE channel
# secret (the LINE webhook's signature) and records LINE events in Firestore.
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
    delivery = "delivery"
  }
  # Each gen2 function also answers at this fixed URL, so subscriptions can
  # name their push endpoints before the functions are deployed.
  function_url = {
    ingress  = "https://${var.region}-${var.project}.cloudfunctions.net/ingress"
    scorer   = "https://${var.region}-${var.project}.cloudfunctions.net/scorer"
    log-sink = "https://${var.region}-${var.project}.cloudfunctions.net/log-sink"
    delivery = "https://${var.region}-${var.project}.cloudfunctions.net/delivery"
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

# Project roles, by identity (flattened into one binding per role below).
# The Realtime Database has no narrower role that can write data.
locals {
  project_roles = {
    builder  = ["roles/cloudbuild.builds.builder", "roles/logging.logWriter"]
    scorer   = ["roles/datastore.user", "roles/firebasedatabase.admin"]
    log-sink = ["roles/datastore.user"]
    delivery = ["roles/datastore.user"]
    # The bandit router reads router/stats (written by jobs/refresh_router_stats.py).
    ingress = ["roles/datastore.user"]
    corpus  = ["roles/bigquery.jobUser", "roles/datastore.user"]
  }
  # Topics each identity publishes to (keys of local.topic_ids).
  publishes = {
    ingress  = ["utterances", "feedback"]
    scorer   = ["selection_logs", "utterances_dead", "replies"]
    log-sink = ["selection_logs_dead", "feedback_dead"]
    delivery = ["replies_dead"]
    corpus   = ["corpus_tasks", "corpus_tasks_dead"]
  }
  members = merge(
    { for name, account in google_service_account.function : name => account.member },
    {
      builder = google_service_account.builder.member
      corpus  = google_service_account.corpus.member
    },
  )
}

resource "google_project_iam_member" "role" {
  for_each = {
    for grant in flatten([
      for who, roles in local.project_roles : [for role in roles : { who = who, role = role }]
    ]) : "${grant.who} ${grant.role}" => grant
  }
  project = var.project
  role    = each.value.role
  member  = local.members[each.value.who]
}

resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = {
    for grant in flatten([
      for who, topics in local.publishes : [for topic in topics : { who = who, topic = topic }]
    ]) : "${grant.who} ${grant.topic}" => grant
  }
  topic  = local.topic_ids[each.value.topic]
  role   = "roles/pubsub.publisher"
  member = local.members[each.value.who]
}

# The log sink writes rows; the corpus pipeline loads posts.
resource "google_bigquery_dataset_iam_member" "data_editor" {
  for_each   = toset(["log-sink", "corpus"])
  dataset_id = google_bigquery_dataset.zatsudan.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = local.members[each.key]
}

# The scorer reads published model versions (MODEL_STORE, gs://...-models;
# shared/model_store.py); only the trainer writes them.
resource "google_storage_bucket_iam_member" "scorer_reads_models" {
  bucket = google_storage_bucket.models.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.function["scorer"].member
}

resource "google_secret_manager_secret_iam_member" "ingress_reads_webhook_key" {
  secret_id = google_secret_manager_secret.webhook_key.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.function["ingress"].member
}

# Each secret is read by the one function that uses it (secrets.tf).
resource "google_secret_manager_secret_iam_member" "reads_delivery_secret" {
  for_each  = local.delivery_secret_readers
  secret_id = google_secret_manager_secret.delivery[each.key].id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.function[each.value].member
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

resource "google_storage_bucket_iam_member" "corpus_writes_shards" {
  bucket = google_storage_bucket.corpus.name
  role   = "roles/storage.objectAdmin"
  member = google_service_account.corpus.member
}

resource "google_pubsub_subscription_iam_member" "corpus_leases_tasks" {
  subscription = google_pubsub_subscription.consumer["corpus_tasks"].id
  role         = "roles/pubsub.subscriber"
  member       = google_service_account.corpus.member
}
