# Topics and subscriptions: the same names as infra/local/topology.py.
# Every push subscription pushes to its function's URL with an OIDC token,
# retries with backoff (1-10 s), and dead-letters into <topic>-dead after
# max_delivery_attempts; <topic>-dead-sub keeps dead letters for inspection.
# The topic path in the push URL lets functions-framework name the source
# topic in the CloudEvent, as the local stack does.

locals {
  min_backoff = "1s"
  max_backoff = "10s"
  # A week of dead letters, never expiring for lack of a subscriber.
  dead_letter_retention = "604800s"
}

resource "google_pubsub_topic" "utterances" {
  name       = var.utterances_topic
  depends_on = [google_project_service.api]
}

resource "google_pubsub_topic" "selection_logs" {
  name       = var.selection_logs_topic
  depends_on = [google_project_service.api]
}

resource "google_pubsub_topic" "feedback" {
  name       = var.feedback_topic
  depends_on = [google_project_service.api]
}

resource "google_pubsub_topic" "utterances_dead" {
  name       = "${var.utterances_topic}-dead"
  depends_on = [google_project_service.api]
}

resource "google_pubsub_topic" "selection_logs_dead" {
  name       = "${var.selection_logs_topic}-dead"
  depends_on = [google_project_service.api]
}

resource "google_pubsub_topic" "feedback_dead" {
  name       = "${var.feedback_topic}-dead"
  depends_on = [google_project_service.api]
}

resource "google_pubsub_subscription" "utterances_scorer" {
  name                    = "${var.utterances_topic}-scorer"
  topic                   = google_pubsub_topic.utterances.id
  ack_deadline_seconds    = 60
  enable_message_ordering = true # ordering key = conversation id

  push_config {
    push_endpoint = "${local.function_url["scorer"]}/projects/${var.project}/topics/${var.utterances_topic}"
    oidc_token {
      service_account_email = google_service_account.pusher.email
      audience              = local.function_url["scorer"]
    }
  }

  retry_policy {
    minimum_backoff = local.min_backoff
    maximum_backoff = local.max_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.utterances_dead.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription" "selection_logs_sink" {
  name                 = "${var.selection_logs_topic}-sink"
  topic                = google_pubsub_topic.selection_logs.id
  ack_deadline_seconds = 60

  push_config {
    push_endpoint = "${local.function_url["log-sink"]}/projects/${var.project}/topics/${var.selection_logs_topic}"
    oidc_token {
      service_account_email = google_service_account.pusher.email
      audience              = local.function_url["log-sink"]
    }
  }

  retry_policy {
    minimum_backoff = local.min_backoff
    maximum_backoff = local.max_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.selection_logs_dead.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }
}

# The log sink takes feedback too: it picks the table by the topic in the URL.
resource "google_pubsub_subscription" "feedback_sink" {
  name                 = "${var.feedback_topic}-sink"
  topic                = google_pubsub_topic.feedback.id
  ack_deadline_seconds = 60

  push_config {
    push_endpoint = "${local.function_url["log-sink"]}/projects/${var.project}/topics/${var.feedback_topic}"
    oidc_token {
      service_account_email = google_service_account.pusher.email
      audience              = local.function_url["log-sink"]
    }
  }

  retry_policy {
    minimum_backoff = local.min_backoff
    maximum_backoff = local.max_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.feedback_dead.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription" "utterances_dead_sub" {
  name                       = "${var.utterances_topic}-dead-sub"
  topic                      = google_pubsub_topic.utterances_dead.id
  ack_deadline_seconds       = 60
  message_retention_duration = local.dead_letter_retention
  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription" "feedback_dead_sub" {
  name                       = "${var.feedback_topic}-dead-sub"
  topic                      = google_pubsub_topic.feedback_dead.id
  ack_deadline_seconds       = 60
  message_retention_duration = local.dead_letter_retention
  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription" "selection_logs_dead_sub" {
  name                       = "${var.selection_logs_topic}-dead-sub"
  topic                      = google_pubsub_topic.selection_logs_dead.id
  ack_deadline_seconds       = 60
  message_retention_duration = local.dead_letter_retention
  expiration_policy {
    ttl = ""
  }
}

# Dead-lettering: the Pub/Sub service agent publishes to the dead-letter
# topics and acknowledges on the source subscriptions.
resource "google_pubsub_topic_iam_member" "service_agent_publishes_dead_letters" {
  for_each = {
    utterances     = google_pubsub_topic.utterances_dead.id
    selection_logs = google_pubsub_topic.selection_logs_dead.id
    feedback       = google_pubsub_topic.feedback_dead.id
    corpus_tasks   = google_pubsub_topic.corpus_tasks_dead.id
    train_trials   = google_pubsub_topic.train_trials_dead.id
  }
  topic  = each.value
  role   = "roles/pubsub.publisher"
  member = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "service_agent_forwards_dead_letters" {
  for_each = {
    utterances     = google_pubsub_subscription.utterances_scorer.id
    selection_logs = google_pubsub_subscription.selection_logs_sink.id
    feedback       = google_pubsub_subscription.feedback_sink.id
    corpus_tasks   = google_pubsub_subscription.corpus_tasks_workers.id
    train_trials   = google_pubsub_subscription.train_trials_workers.id
  }
  subscription = each.value
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}

# Corpus pipeline (jobs/corpus): one task per shard, leased by workers from a
# pull subscription (the lease is the ack deadline, extended while working).
resource "google_pubsub_topic" "corpus_tasks" {
  name       = "corpus-tasks"
  depends_on = [google_project_service.api]
}

resource "google_pubsub_topic" "corpus_tasks_dead" {
  name       = "corpus-tasks-dead"
  depends_on = [google_project_service.api]
}

resource "google_pubsub_subscription" "corpus_tasks_workers" {
  name                 = "corpus-tasks-workers"
  topic                = google_pubsub_topic.corpus_tasks.id
  ack_deadline_seconds = 10

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.corpus_tasks_dead.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription" "corpus_tasks_dead_sub" {
  name                       = "corpus-tasks-dead-sub"
  topic                      = google_pubsub_topic.corpus_tasks_dead.id
  ack_deadline_seconds       = 60
  message_retention_duration = local.dead_letter_retention
  expiration_policy {
    ttl = ""
  }
}

# Training (jobs/train): one message per hyperparameter trial, leased by
# trainer workers; a killed worker's trial returns after the lease and
# resumes from its last checkpoint in the model bucket.
resource "google_pubsub_topic" "train_trials" {
  name       = "train-trials"
  depends_on = [google_project_service.api]
}

resource "google_pubsub_topic" "train_trials_dead" {
  name       = "train-trials-dead"
  depends_on = [google_project_service.api]
}

resource "google_pubsub_subscription" "train_trials_workers" {
  name                 = "train-trials-workers"
  topic                = google_pubsub_topic.train_trials.id
  ack_deadline_seconds = 10

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.train_trials_dead.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription" "train_trials_dead_sub" {
  name                       = "train-trials-dead-sub"
  topic                      = google_pubsub_topic.train_trials_dead.id
  ack_deadline_seconds       = 60
  message_retention_duration = local.dead_letter_retention
  expiration_policy {
    ttl = ""
  }
}
