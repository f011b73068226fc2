# An alert whenever a dead-letter subscription holds a message: each one is
# an event the system gave up on (poison input or retries exhausted).

locals {
  dead_letter_subscriptions = {
    utterances     = google_pubsub_subscription.utterances_dead_sub.name
    selection_logs = google_pubsub_subscription.selection_logs_dead_sub.name
    feedback       = google_pubsub_subscription.feedback_dead_sub.name
    corpus_tasks   = google_pubsub_subscription.corpus_tasks_dead_sub.name
    train_trials   = google_pubsub_subscription.train_trials_dead_sub.name
  }
}

resource "google_monitoring_alert_policy" "dead_letters" {
  for_each     = local.dead_letter_subscriptions
  display_name = "zatsudan: dead letters in ${each.value}"
  combiner     = "OR"

  conditions {
    display_name = "undelivered messages in ${each.value}"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${each.value}\" AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "60s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    content   = "Messages in ${each.value} were dead-lettered (attribute dead_letter_reason says why). Inspect: gcloud pubsub subscriptions pull ${each.value} --limit=10"
    mime_type = "text/markdown"
  }

  notification_channels = var.alert_notification_channels
  depends_on            = [google_project_service.api]
}
