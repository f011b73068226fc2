"""Creating topics and leased task queues, with their dead letters, as the
table (``topology``) says. What exists already is kept: the training
coordinator (jobs/train) makes sure of its queue on every run, the local
stack provisions everything once (the corpus pipeline's queue included;
Terraform in production), and tests make queues of their own."""

from __future__ import annotations

from shared.messaging import topology


def create_topic(publisher, subscriber, project: str, topic: str) -> None:
    """``topic``, its dead-letter topic, and the subscription keeping the dead letters."""
    dead = topology.dead_letter_topic(topic)
    for name in (topic, dead):
        _create(publisher.create_topic, name=publisher.topic_path(project, name))
    _create(
        subscriber.create_subscription,
        request={
            "name": subscriber.subscription_path(project, topology.dead_letter_subscription(topic)),
            "topic": publisher.topic_path(project, dead),
        },
    )


def create_pull_subscription(publisher, subscriber, project: str, topic: str, subscription: str, ack_deadline_s: int) -> str:
    """The workers' pull subscription: the lease is its ack deadline, and a
    task that fails ``MAX_DELIVERY_ATTEMPTS`` times goes to the dead-letter
    topic. Returns its path."""
    path = subscriber.subscription_path(project, subscription)
    _create(
        subscriber.create_subscription,
        request={
            "name": path,
            "topic": publisher.topic_path(project, topic),
            "ack_deadline_seconds": ack_deadline_s,
            "dead_letter_policy": {
                "dead_letter_topic": publisher.topic_path(project, topology.dead_letter_topic(topic)),
                "max_delivery_attempts": topology.MAX_DELIVERY_ATTEMPTS,
            },
        },
    )
    return path


def create_task_queue(publisher, subscriber, project: str, topic: str, subscription: str, ack_deadline_s: int) -> str:
    """A topic with its dead letters and the workers' pull subscription; returns the subscription's path."""
    create_topic(publisher, subscriber, project, topic)
    return create_pull_subscription(publisher, subscriber, project, topic, subscription, ack_deadline_s)


def _create(create, **request) -> None:
    from google.api_core.exceptions import AlreadyExists

    try:
        create(**request)
    except AlreadyExists:
        pass
