"""ingress (HTTP): accept an utterance, publish it, answer 202 with its reply path.

POST /v1/utterances, POST /v1/feedback, GET /v1/replies/{message_id},
POST /v1/channels/line (LINE), GET /healthz. Logic: shared/ingress.py (routes:
shared/app.py).
"""

import functions_framework
from werkzeug.exceptions import HTTPException

from shared import http
from shared.app import build_ingress, lazy

_handle = lazy(build_ingress)


@functions_framework.http
def ingress(request):
    return _handle()(request)


# What functions-framework's routing refuses before ingress sees it (a path
# with a line break matches none of its rules) is answered as JSON too.
functions_framework.errorhandler(HTTPException)(http.answer_routing_error)
