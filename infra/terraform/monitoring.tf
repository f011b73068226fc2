# An alert whenever a dead-letter subscription holds a message: each one is
# an event the system gave up on (poison input or retries exhausted).

resource "google_monitoring_alert_policy" "dead_letters" {
  for_each     = { for key, subscription in google_pubsub_subscription.dead_letters : key => subscription.name }
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
