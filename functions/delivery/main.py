"""delivery (Pub/Sub push on `replies`): a written reply, sent where its utterance asked.

A callback URL (a POST signed with Standard Webhooks, webhook-id = message id)
or LINE (reply token, else push). Logic: shared/delivery.py; a reply that can
never be delivered is dead-lettered with its reason, others are retried.
"""

import functions_framework

from shared.messaging import push
from shared.app import build_delivery, lazy

_handle = lazy(build_delivery)


@functions_framework.cloud_event
@push.delivery
def delivery(cloud_event):
    _handle()(cloud_event.data)


# A failure of the body above: 500 (retried). A body functions-framework cannot
# read: dead-lettered and acknowledged, or 400 if it holds no message.
functions_framework.errorhandler(Exception)(push.answer_failure(_handle))
