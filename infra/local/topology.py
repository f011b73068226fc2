"""Topics, subscriptions and tables the system uses, as data.

The local stack creates exactly these; Terraform declares the same names
(checked by a test), and the code reads the topic names from shared/config.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.config import Topics

# Retry and dead-letter policy of every push subscription.
MAX_DELIVERY_ATTEMPTS = 5
MIN_BACKOFF_S = 1
MAX_BACKOFF_S = 10
ACK_DEADLINE_S = 60


@dataclass(frozen=True)
class PushSubscription:
    topic: str
    name: str
    function: str  # the stack service that receives the pushes
    ordered: bool = False


# Corpus shard tasks and training trials are queues leased by workers (pull).
TOPICS = [Topics.utterances, Topics.selection_logs, Topics.feedback, Topics.corpus_tasks, Topics.train_trials, Topics.replies]

PUSH_SUBSCRIPTIONS = [
    PushSubscription(Topics.utterances, "utterances-scorer", "scorer", ordered=True),
    PushSubscription(Topics.selection_logs, "selection-logs-sink", "log_sink"),
    PushSubscription(Topics.feedback, "feedback-sink", "log_sink"),
    PushSubscription(Topics.replies, "replies-delivery", "delivery"),
]


def dead_letter_topic(topic: str) -> str:
    return Topics.dead_letter(topic)


def dead_letter_subscription(topic: str) -> str:
    """A pull subscription that keeps dead letters until someone reads them."""
    return f"{dead_letter_topic(topic)}-sub"


BIGQUERY_TABLES = {
    # table -> (partition column, clustering columns)
    "selections": ("received_at", ["algorithm"]),
    "feedback": ("given_at", ["message_id"]),
    "posts": ("created_at", ["keyword", "lang"]),  # raw corpus (jobs/corpus)
}

# De-duplicating views over the tables (shared/sql/<view>.sql, `{dataset}` is
# filled in): reports read these, so a row BigQuery's best-effort insert-id
# de-duplication let through twice is counted once.
BIGQUERY_VIEWS = ["selections_dedup", "feedback_dedup"]


@dataclass(frozen=True)
class PullSubscription:
    topic: str
    name: str
    # The lease: a worker extends it while working; if the worker dies the
    # task returns to the queue this long after the last extension.
    ack_deadline_s: int


PULL_SUBSCRIPTIONS = [
    # Corpus pipeline (jobs/corpus): shard tasks, leased by workers.
    PullSubscription(Topics.corpus_tasks, "corpus-tasks-workers", ack_deadline_s=10),
    # Training (jobs/train): hyperparameter trials, leased by trainer workers.
    PullSubscription(Topics.train_trials, "train-trials-workers", ack_deadline_s=10),
]
