"""scorer (Pub/Sub push on `utterances`): rank candidates, write the reply, log it.

Logic: shared/scorer.py; poison events are dead-lettered by shared/messaging/push.py.
"""

import functions_framework

from shared.messaging import push
from shared.app import build_scorer, lazy

_handle = lazy(build_scorer)


@functions_framework.cloud_event
@push.delivery
def scorer(cloud_event):
    _handle()(cloud_event.data)


# A failure of the body above: 500 (retried). A body functions-framework cannot
# read: dead-lettered and acknowledged, or 400 if it holds no message.
functions_framework.errorhandler(Exception)(push.answer_failure(_handle))
