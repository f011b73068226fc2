# The batch half: the workers' image repository, the identities of the Cloud
# Run jobs `make deploy` creates from it (infra/deploy.py BATCH_JOBS), and the
# schedule of the router-stats refresh when the bandit router is on.
#   corpus-worker  leases shard tasks (identity: google_service_account.corpus)
#   train-worker   leases trials, checkpoints and publishes to the models bucket
#   router-stats   BigQuery rewards -> Firestore router/stats (router = thompson)

locals {
  # Identity (a key of batch_service_accounts) -> account id.
  batch_accounts = {
    corpus       = "zatsudan-corpus"
    trainer      = "zatsudan-trainer"
    router-stats = "zatsudan-router-stats"
  }
  batch_image = "${var.region}-docker.pkg.dev/${var.project}/zatsudan/batch:latest"
}

resource "google_artifact_registry_repository" "zatsudan" {
  location      = var.region
  repository_id = "zatsudan"
  format        = "DOCKER"
  description   = "The batch workers' image (built by Cloud Build in make deploy)."
  depends_on    = [google_project_service.api]
}

# Cloud Build pushes the image as the builder identity.
resource "google_artifact_registry_repository_iam_member" "builder_pushes_batch_image" {
  location   = google_artifact_registry_repository.zatsudan.location
  repository = google_artifact_registry_repository.zatsudan.name
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.builder.member
}

resource "google_service_account" "trainer" {
  account_id   = "zatsudan-trainer"
  display_name = "zatsudan dual-encoder training workers"
  depends_on   = [google_project_service.api]
}

resource "google_service_account" "router_stats" {
  account_id   = "zatsudan-router-stats"
  display_name = "zatsudan router-stats refresh job"
  depends_on   = [google_project_service.api]
}

# Cloud Scheduler's identity when it runs the router-stats job; make deploy
# lets it (and nothing else) run that one job.
resource "google_service_account" "scheduler" {
  account_id   = "zatsudan-scheduler"
  display_name = "zatsudan Cloud Scheduler (runs the router-stats job)"
  depends_on   = [google_project_service.api]
}

resource "google_project_iam_member" "batch_role" {
  for_each = {
    "trainer roles/datastore.user"        = google_service_account.trainer.member # trials/{id}, models/current, candidates
    "router-stats roles/datastore.user"   = google_service_account.router_stats.member
    "router-stats roles/bigquery.jobUser" = google_service_account.router_stats.member
  }
  project = var.project
  role    = split(" ", each.key)[1]
  member  = each.value
}

# Checkpoints, versions and LATEST (the scorer only reads them).
resource "google_storage_bucket_iam_member" "trainer_writes_models" {
  bucket = google_storage_bucket.models.name
  role   = "roles/storage.objectAdmin"
  member = google_service_account.trainer.member
}

resource "google_pubsub_subscription_iam_member" "trainer_leases_trials" {
  subscription = google_pubsub_subscription.consumer["train_trials"].id
  role         = "roles/pubsub.subscriber"
  member       = google_service_account.trainer.member
}

resource "google_bigquery_dataset_iam_member" "router_stats_reads_rewards" {
  dataset_id = google_bigquery_dataset.zatsudan.dataset_id
  role       = "roles/bigquery.dataViewer"
  member     = google_service_account.router_stats.member
}

# Every router_stats_schedule, the router-stats job runs once (Cloud Run
# jobs' own :run method, called with the scheduler identity's token).
resource "google_cloud_scheduler_job" "router_stats" {
  for_each = var.router == "thompson" ? toset(["router-stats"]) : toset([])
  name     = each.key
  region   = var.region
  schedule = var.router_stats_schedule
  http_target {
    http_method = "POST"
    uri         = "https://run.googleapis.com/v2/projects/${var.project}/locations/${var.region}/jobs/${each.key}:run"
    oauth_token {
      service_account_email = google_service_account.scheduler.email
    }
  }
  depends_on = [google_project_service.api]
}
