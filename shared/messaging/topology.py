"""Topics and subscriptions the system uses, as one table.

The one place a topic or subscription name is spelled: settings take their
default topic names from here (``shared.config.Topics``), the local stack
creates exactly these, the jobs lease from the pull subscriptions, and
Terraform declares the same names (``infra/check_terraform.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

UTTERANCES = "utterances"
SELECTION_LOGS = "selection-logs"
FEEDBACK = "feedback"
CORPUS_TASKS = "corpus-tasks"  # shard tasks (jobs/corpus), leased by workers
TRAIN_TRIALS = "train-trials"  # hyperparameter trials (jobs/train), leased by workers
REPLIES = "replies"  # replies to deliver (callback URL, LINE): the delivery function

# Corpus shard tasks and training trials are queues leased by workers (pull).
TOPICS = [UTTERANCES, SELECTION_LOGS, FEEDBACK, CORPUS_TASKS, TRAIN_TRIALS, REPLIES]

# Retry and dead-letter policy of every subscription. A push handler gives up
# at the same count (settings' max_delivery_attempts).
MAX_DELIVERY_ATTEMPTS = 5
MIN_BACKOFF_S = 1
MAX_BACKOFF_S = 10
ACK_DEADLINE_S = 60  # push subscriptions
LEASE_S = 10  # pull subscriptions: a worker's lease, and each extension


@dataclass(frozen=True)
class PushSubscription:
    topic: str
    name: str
    function: str  # the stack service that receives the pushes
    ordered: bool = False


@dataclass(frozen=True)
class PullSubscription:
    topic: str
    name: str
    # The lease: a worker extends it while working; if the worker dies the
    # task returns to the queue this long after the last extension.
    ack_deadline_s: int


def dead_letter_topic(topic: str) -> str:
    """Every subscription dead-letters into ``<topic>-dead``."""
    return f"{topic}-dead"


def dead_letter_subscription(topic: str) -> str:
    """A pull subscription that keeps dead letters until someone reads them."""
    return f"{dead_letter_topic(topic)}-sub"


def workers_subscription(topic: str) -> str:
    """The workers' pull subscription on a task topic (also for a topic
    renamed by settings, e.g. ``TRAIN_TRIALS_TOPIC`` in tests)."""
    return f"{topic}-workers"


PUSH_SUBSCRIPTIONS = [
    PushSubscription(UTTERANCES, "utterances-scorer", "scorer", ordered=True),
    PushSubscription(SELECTION_LOGS, "selection-logs-sink", "log_sink"),
    PushSubscription(FEEDBACK, "feedback-sink", "log_sink"),
    PushSubscription(REPLIES, "replies-delivery", "delivery"),
]

PULL_SUBSCRIPTIONS = [
    # Corpus pipeline (jobs/corpus): shard tasks, leased by workers.
    PullSubscription(CORPUS_TASKS, workers_subscription(CORPUS_TASKS), ack_deadline_s=LEASE_S),
    # Training (jobs/train): hyperparameter trials, leased by trainer workers.
    PullSubscription(TRAIN_TRIALS, workers_subscription(TRAIN_TRIALS), ack_deadline_s=LEASE_S),
]


def pull_subscription(topic: str) -> PullSubscription:
    """The table's pull subscription on ``topic``."""
    [pull] = [p for p in PULL_SUBSCRIPTIONS if p.topic == topic]
    return pull
