"""Client helpers for a webhook caller: sign requests to ingress, verify callbacks.

    from shared.client import Client, verify_callback

    client = Client(INGRESS_URL, WEBHOOK_SECRET)
    accepted = client.post("/v1/utterances", {"user_id": "u1", "text": "猫が好きです",
                                               "callback_url": "https://bot.example/zatsudan"})
    document = client.get(f"/v1/replies/{accepted['message_id']}?wait=10")

    # the receiver of the callback (raises standardwebhooks' WebhookVerificationError if not ours):
    document = verify_callback(CALLBACK_SECRET, raw_body, request_headers)

The signature is shared/auth.py's ``sign`` (``X-Zatsudan-Signature``); a
request without a body (GET) signs its path and query in its place
(shared/http.py ``signed_target``). Callbacks carry Standard Webhooks headers
(``webhook-id`` = the message id: de-duplicate by it). From a shell:

    python -m shared.client sign "$body"                          # WEBHOOK_SECRET from the environment
    python -m shared.client sign "/v1/replies/$id?wait=5"          # a GET: its path and query
    python -m shared.client verify "$body" "$webhook_id" "$webhook_timestamp" "$webhook_signature"
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Mapping

from shared.auth import SIGNATURE_HEADER, sign


def signature_header(secret: str, body: bytes) -> dict[str, str]:
    """The header that signs a POST body."""
    return {SIGNATURE_HEADER: sign(secret, body)}


def signed_get_header(secret: str, path_and_query: str) -> dict[str, str]:
    """The header that signs a GET: its path and query stand in for the body."""
    return signature_header(secret, path_and_query.encode())


def verify_callback(secret: str, body: bytes | str, headers: Mapping[str, str]) -> dict:
    """The callback's document if its Standard Webhooks signature is good (else it raises)."""
    from standardwebhooks.webhooks import Webhook

    return Webhook(secret).verify(body, dict(headers))


class Client:
    def __init__(self, base_url: str, secret: str, timeout_s: float = 35.0) -> None:
        import requests

        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.timeout_s = timeout_s
        self.session = requests.Session()

    def post(self, path: str, document: Any, headers: Mapping[str, str] | None = None):
        """POST ``document`` as JSON, signed; the ``requests`` response."""
        body = json.dumps(document, ensure_ascii=False).encode()
        headers = {"content-type": "application/json", **signature_header(self.secret, body), **dict(headers or {})}
        return self.session.post(self.base_url + path, data=body, headers=headers, timeout=self.timeout_s)

    def get(self, path_and_query: str):
        """GET ``path_and_query`` (e.g. ``/v1/replies/<id>?wait=5``), signed; the ``requests`` response."""
        return self.session.get(
            self.base_url + path_and_query, headers=signed_get_header(self.secret, path_and_query), timeout=self.timeout_s
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.client", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    signing = commands.add_parser("sign", help="print an X-Zatsudan-Signature value (secret: $WEBHOOK_SECRET)")
    signing.add_argument("body", help="the exact body; for a GET, its path and query")
    verifying = commands.add_parser("verify", help="check a callback (secret: $CALLBACK_SECRET); prints its document")
    for name in ("body", "webhook_id", "webhook_timestamp", "webhook_signature"):
        verifying.add_argument(name)
    args = parser.parse_args(argv)
    if args.command == "sign":
        print(signature_header(os.environ["WEBHOOK_SECRET"], args.body.encode())[SIGNATURE_HEADER])
        return 0
    headers = {"webhook-id": args.webhook_id, "webhook-timestamp": args.webhook_timestamp,
               "webhook-signature": args.webhook_signature}  # fmt: skip
    print(json.dumps(verify_callback(os.environ["CALLBACK_SECRET"], args.body, headers), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
