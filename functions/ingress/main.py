"""ingress (HTTP): accept an utterance, publish it, answer 202 with its reply path.

POST /v1/utterances, GET /healthz. Logic: shared/ingress.py.
"""

import functions_framework

from shared.app import build_ingress, lazy

_handle = lazy(build_ingress)


@functions_framework.http
def ingress(request):
    return _handle()(request)
