"""scorer (Pub/Sub push on `utterances`): rank candidates, write the reply, log it.

Logic: shared/scorer.py; poison events are dead-lettered by shared/push.py.
"""

import functions_framework

from shared.push import answer_failure
from shared.app import build_scorer, lazy

_handle = lazy(build_scorer)


@functions_framework.cloud_event
def scorer(cloud_event):
    _handle()(cloud_event.data)


# A body functions-framework cannot parse answers 400 (never retried); our failures 500.
functions_framework.errorhandler(Exception)(answer_failure)
