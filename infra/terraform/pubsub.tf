# Topics and subscriptions: the same names as shared/messaging/topology.py, one
# entry per topic in local.topics. Every topic has one consumer subscription
# that dead-letters into <topic>-dead after max_delivery_attempts, and
# <topic>-dead-sub keeps dead letters for inspection.
# A push topic's subscription pushes to its function's URL with an OIDC token
# and retries with backoff (1-10 s); the topic path in the push URL lets
# functions-framework name the source topic in the CloudEvent, as the local
# stack does. A pull topic is a work queue: workers lease its messages (the
# lease is the ack deadline, extended while working).

locals {
  min_backoff = "1s"
  max_backoff = "10s"
  # A week of dead letters, never expiring for lack of a subscriber.
  dead_letter_retention = "604800s"

  # Topic -> its name, its consumer subscription, the function that
  # subscription pushes to (null: a pull subscription leased by workers),
  # the ack deadline and whether messages are delivered in order.
  topics = {
    utterances = {
      name         = var.utterances_topic
      subscription = "${var.utterances_topic}-scorer"
      push_to      = "scorer"
      ack_deadline = 60
      ordered      = true # ordering key = conversation id
    }
    selection_logs = {
      name         = var.selection_logs_topic
      subscription = "${var.selection_logs_topic}-sink"
      push_to      = "log-sink"
      ack_deadline = 60
      ordered      = false
    }
    # The log sink takes feedback too: it picks the table by the topic in the URL.
    feedback = {
      name         = var.feedback_topic
      subscription = "${var.feedback_topic}-sink"
      push_to      = "log-sink"
      ack_deadline = 60
      ordered      = false
    }
    # Replies to deliver (a callback URL, LINE): the scorer publishes one per
    # utterance that asked for delivery; the delivery function sends it.
    replies = {
      name         = var.replies_topic
      subscription = "${var.replies_topic}-delivery"
      push_to      = "delivery"
      ack_deadline = 60
      ordered      = false
    }
    # Corpus pipeline (jobs/corpus): one task per shard.
    corpus_tasks = {
      name         = "corpus-tasks"
      subscription = "corpus-tasks-workers"
      push_to      = null
      ack_deadline = 10
      ordered      = false
    }
    # Training (jobs/train): one message per hyperparameter trial; a killed
    # worker's trial returns after the lease and resumes from its last
    # checkpoint in the model bucket.
    train_trials = {
      name         = "train-trials"
      subscription = "train-trials-workers"
      push_to      = null
      ack_deadline = 10
      ordered      = false
    }
  }

  # Every topic's id by key; a dead-letter topic's key is "<topic>_dead".
  topic_ids = merge(
    { for key, topic in google_pubsub_topic.topic : key => topic.id },
    { for key, topic in google_pubsub_topic.dead_letters : "${key}_dead" => topic.id },
  )
}

resource "google_pubsub_topic" "topic" {
  for_each   = local.topics
  name       = each.value.name
  depends_on = [google_project_service.api]
}

resource "google_pubsub_topic" "dead_letters" {
  for_each   = local.topics
  name       = "${each.value.name}-dead"
  depends_on = [google_project_service.api]
}

resource "google_pubsub_subscription" "consumer" {
  for_each                = local.topics
  name                    = each.value.subscription
  topic                   = google_pubsub_topic.topic[each.key].id
  ack_deadline_seconds    = each.value.ack_deadline
  enable_message_ordering = each.value.ordered

  dynamic "push_config" {
    for_each = each.value.push_to == null ? [] : [local.function_url[each.value.push_to]]
    content {
      push_endpoint = "${push_config.value}/projects/${var.project}/topics/${each.value.name}"
      oidc_token {
        service_account_email = google_service_account.pusher.email
        audience              = push_config.value
      }
    }
  }

  dynamic "retry_policy" {
    for_each = each.value.push_to == null ? [] : [each.value.push_to]
    content {
      minimum_backoff = local.min_backoff
      maximum_backoff = local.max_backoff
    }
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letters[each.key].id
    max_delivery_attempts = var.max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription" "dead_letters" {
  for_each                   = local.topics
  name                       = "${each.value.name}-dead-sub"
  topic                      = google_pubsub_topic.dead_letters[each.key].id
  ack_deadline_seconds       = 60
  message_retention_duration = local.dead_letter_retention
  expiration_policy {
    ttl = ""
  }
}

# Dead-lettering: the Pub/Sub service agent publishes to the dead-letter
# topics and acknowledges on the source subscriptions.
resource "google_pubsub_topic_iam_member" "service_agent_publishes_dead_letters" {
  for_each = google_pubsub_topic.dead_letters
  topic    = each.value.id
  role     = "roles/pubsub.publisher"
  member   = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "service_agent_forwards_dead_letters" {
  for_each     = google_pubsub_subscription.consumer
  subscription = each.value.id
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}
