# Names default to the ones the code and the local stack use
# (shared/config.py, shared/messaging/topology.py); tests/infra checks they agree.

variable "project" {
  description = "Google Cloud project id."
  type        = string
}

variable "region" {
  description = "Region of the functions, Pub/Sub pushes and buckets."
  type        = string
  default     = "asia-northeast1"
}

variable "firestore_location" {
  description = "Firestore database location (a region or multi-region)."
  type        = string
  default     = "asia-northeast1"
}

variable "bigquery_location" {
  description = "BigQuery dataset location."
  type        = string
  default     = "asia-northeast1"
}

variable "rtdb_region" {
  description = "Realtime Database region (the one closest to Tokyo by default)."
  type        = string
  default     = "asia-southeast1"
  validation {
    # us-central1 instances have another URL form (firebaseio.com).
    condition     = contains(["asia-southeast1", "europe-west1"], var.rtdb_region)
    error_message = "rtdb_region must be asia-southeast1 or europe-west1."
  }
}

variable "utterances_topic" {
  description = "Topic ingress publishes utterances to (UTTERANCES_TOPIC)."
  type        = string
  default     = "utterances"
}

variable "selection_logs_topic" {
  description = "Topic the scorer publishes selection logs to (SELECTION_LOGS_TOPIC)."
  type        = string
  default     = "selection-logs"
}

variable "feedback_topic" {
  description = "Topic ingress publishes feedback to (FEEDBACK_TOPIC)."
  type        = string
  default     = "feedback"
}

variable "replies_topic" {
  description = "Topic the scorer publishes replies to deliver to (REPLIES_TOPIC)."
  type        = string
  default     = "replies"
}

variable "bigquery_dataset" {
  description = "Dataset of the selection log (BIGQUERY_DATASET)."
  type        = string
  default     = "zatsudan"
}

variable "webhook_key_secret" {
  description = "Secret Manager secret that holds the webhook signing key (WEBHOOK_SECRET)."
  type        = string
  default     = "webhook-key"
}

variable "callback_signing_key_secret" {
  description = "Secret Manager secret with the Standard Webhooks key callbacks are signed with (CALLBACK_SECRET)."
  type        = string
  default     = "callback-signing-key"
}

variable "line_channel_secret_secret" {
  description = "Secret Manager secret with the LINE channel secret (LINE_CHANNEL_SECRET)."
  type        = string
  default     = "line-channel-secret"
}

variable "line_channel_access_token_secret" {
  description = "Secret Manager secret with the LINE channel access token (LINE_CHANNEL_ACCESS_TOKEN)."
  type        = string
  default     = "line-channel-access-token"
}

variable "callback_timeout_s" {
  description = "How long the delivery function waits for a callback receiver or LINE, seconds (CALLBACK_TIMEOUT_S)."
  type        = number
  default     = 5
}

variable "line_api_url" {
  description = "LINE Messaging API base URL (LINE_API_URL)."
  type        = string
  default     = "https://api.line.me"
}

variable "auth_mode" {
  description = "Who may call ingress (AUTH_MODE): required (signed webhooks, Firebase ID tokens) or off (never in production)."
  type        = string
  default     = "required"
}

variable "check_revoked" {
  description = "Refuse ID tokens of disabled or signed-out users (CHECK_REVOKED; one Auth backend call per request)."
  type        = bool
  default     = true
}

variable "webhook_tolerance_s" {
  description = "How old or new a webhook signature's timestamp may be, seconds (WEBHOOK_TOLERANCE_S)."
  type        = number
  default     = 300
}

variable "cors_origins" {
  description = "Comma-separated origins browsers may call ingress from (CORS_ORIGINS); empty: none."
  type        = string
  default     = ""
}

variable "reply_store" {
  description = "Where replies are written (REPLY_STORE): rtdb (production's choice, docs/configuration.md) or firestore."
  type        = string
  default     = "rtdb"
  validation {
    condition     = contains(["rtdb", "firestore"], var.reply_store)
    error_message = "reply_store must be rtdb or firestore."
  }
}

variable "rate_limit_per_minute" {
  description = "Requests per user per minute at ingress, per instance (RATE_LIMIT_PER_MINUTE); 0 turns the limit off."
  type        = number
  default     = 60
}

variable "algorithm_weights" {
  description = "Router weights (ALGORITHM_WEIGHTS)."
  type        = string
  default     = "dual_encoder:0.8,tfidf:0.1,bm25:0.1"
}

variable "router" {
  description = "Router (ROUTER): weighted (fixed ALGORITHM_WEIGHTS) or thompson (bandit on Firestore router/stats)."
  type        = string
  default     = "weighted"
}

variable "router_stats_ttl_s" {
  description = "How long ingress keeps router/stats before reading it again (ROUTER_STATS_TTL_S)."
  type        = number
  default     = 60
}

variable "router_min_propensity" {
  description = "Least probability the bandit gives any algorithm (ROUTER_MIN_PROPENSITY)."
  type        = number
  default     = 0.05
}

variable "context_turns" {
  description = "Earlier turns that feed keyword extraction (CONTEXT_TURNS)."
  type        = number
  default     = 4
}

variable "max_keywords" {
  description = "Keywords whose candidates are loaded (MAX_KEYWORDS)."
  type        = number
  default     = 4
}

variable "candidate_cache_ttl_s" {
  description = "Per-instance candidate cache lifetime in seconds (CANDIDATE_CACHE_TTL_S)."
  type        = number
  default     = 60
}

variable "candidate_cache_size" {
  description = "Keywords kept in the per-instance candidate cache (CANDIDATE_CACHE_SIZE)."
  type        = number
  default     = 4096
}

variable "max_text_chars" {
  description = "Longest utterance ingress accepts (MAX_TEXT_CHARS)."
  type        = number
  default     = 1000
}

variable "max_delivery_attempts" {
  description = "Deliveries before a message goes to <topic>-dead: the subscriptions' policy and the handlers' MAX_DELIVERY_ATTEMPTS."
  type        = number
  default     = 5
}

variable "corpus_shard_retention_days" {
  description = "Corpus shards are rebuilt from sources; older ones are deleted."
  type        = number
  default     = 30
}

variable "model_versions_kept" {
  description = "Noncurrent model versions kept per object."
  type        = number
  default     = 5
}

variable "alert_notification_channels" {
  description = "Monitoring notification channel ids for the dead-letter alerts (empty: alerts show in the console only)."
  type        = list(string)
  default     = []
}

variable "protect_data" {
  description = "Keep the Firestore database, the BigQuery table and non-empty buckets on destroy. Set false (and apply) before `terraform destroy` to remove them."
  type        = bool
  default     = true
}

variable "model_pointer_ttl_s" {
  description = "How often a scorer re-reads models/current, in seconds (MODEL_POINTER_TTL_S)."
  type        = number
  default     = 30
}

variable "router_stats_schedule" {
  description = "When Cloud Scheduler runs the router-stats job (router = thompson), cron syntax in UTC."
  type        = string
  default     = "*/15 * * * *"
}
