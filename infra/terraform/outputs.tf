# What `make deploy` (infra/deploy.py) reads: `terraform output -json`.

output "project" {
  value = var.project
}

output "region" {
  value = var.region
}

output "function_service_accounts" {
  description = "Deployed function name -> the service account it runs as."
  value       = { for name, account in google_service_account.function : name => account.email }
}

output "builder_service_account" {
  description = "Cloud Build identity for the function builds."
  value       = google_service_account.builder.id
}

output "pusher_service_account" {
  description = "Identity Pub/Sub pushes as; deploy grants it run.invoker on the push functions."
  value       = google_service_account.pusher.email
}

output "function_urls" {
  value = local.function_url
}

# The environment every function gets (names as shared/config.py reads them;
# who reads which: the settings table in infra/check_terraform.py).
output "function_env" {
  value = {
    GOOGLE_CLOUD_PROJECT      = var.project
    REPLY_STORE               = var.reply_store
    ALGORITHM_WEIGHTS         = var.algorithm_weights
    UTTERANCES_TOPIC          = google_pubsub_topic.topic["utterances"].name
    SELECTION_LOGS_TOPIC      = google_pubsub_topic.topic["selection_logs"].name
    FEEDBACK_TOPIC            = google_pubsub_topic.topic["feedback"].name
    BIGQUERY_DATASET          = google_bigquery_dataset.zatsudan.dataset_id
    BIGQUERY_SELECTIONS_TABLE = google_bigquery_table.table["selections"].table_id
    BIGQUERY_FEEDBACK_TABLE   = google_bigquery_table.table["feedback"].table_id
    ROUTER                    = var.router
    ROUTER_STATS_TTL_S        = tostring(var.router_stats_ttl_s)
    ROUTER_MIN_PROPENSITY     = tostring(var.router_min_propensity)
    CONTEXT_TURNS             = tostring(var.context_turns)
    MAX_KEYWORDS              = tostring(var.max_keywords)
    CANDIDATE_CACHE_TTL_S     = tostring(var.candidate_cache_ttl_s)
    CANDIDATE_CACHE_SIZE      = tostring(var.candidate_cache_size)
    MAX_TEXT_CHARS            = tostring(var.max_text_chars)
    FIREBASE_DATABASE_URL     = local.rtdb_url
    AUTH_MODE                 = var.auth_mode
    WEBHOOK_TOLERANCE_S       = tostring(var.webhook_tolerance_s)
    CHECK_REVOKED             = tostring(var.check_revoked)
    CORS_ORIGINS              = var.cors_origins
    MODEL_STORE               = "gs://${google_storage_bucket.models.name}/models"
    MODEL_POINTER_TTL_S       = tostring(var.model_pointer_ttl_s)
    TRAIN_TRIALS_TOPIC        = google_pubsub_topic.topic["train_trials"].name
    RATE_LIMIT_PER_MINUTE     = tostring(var.rate_limit_per_minute)
    # The handlers give up (dead-letter) when the subscriptions do.
    MAX_DELIVERY_ATTEMPTS = tostring(var.max_delivery_attempts)
  }
}

# Secrets mounted as environment variables: function -> variable -> secret id.
output "function_secrets" {
  value = {
    ingress = { WEBHOOK_SECRET = google_secret_manager_secret.webhook_key.secret_id }
  }
}

# The batch half (infra/deploy.py BATCH_JOBS): each job's identity, the image
# Cloud Build pushes, and whether the router-stats job exists (thompson only).
output "batch_service_accounts" {
  value = {
    corpus       = google_service_account.corpus.email
    trainer      = google_service_account.trainer.email
    router-stats = google_service_account.router_stats.email
  }
}

output "batch_image" {
  value = local.batch_image
}

output "router" {
  value = var.router
}

output "scheduler_service_account" {
  description = "Cloud Scheduler's identity; deploy lets it run the router-stats job."
  value       = google_service_account.scheduler.email
}

# The web page's config.json (FIREBASE_WEB_API_KEY, FIREBASE_AUTH_DOMAIN of infra/local/web_server.py).
output "web_config" {
  value = {
    apiKey     = data.google_firebase_web_app_config.chat.api_key
    authDomain = data.google_firebase_web_app_config.chat.auth_domain
    projectId  = var.project
  }
}
