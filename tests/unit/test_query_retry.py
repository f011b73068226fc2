"""Query streams resume after an error midway, given ``QUERY_RETRY``.

google-cloud-firestore's own default looks its retry up on the raw gRPC
callable and fails with AttributeError '_retry' instead
(googleapis/python-firestore#596). A fake RunQuery (pure logic: no emulator
can be made to cut a stream on cue) breaks off after the first document.
"""

from __future__ import annotations

import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1.types import Document, RunQueryResponse, Value

from shared.stores import QUERY_RETRY

PARENT = "projects/p/databases/(default)/documents/turns"


class CutOnce:
    """RunQuery whose first stream breaks after one document; the next serves the rest."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.requests = []

    def run_query(self, request, metadata=None, **kwargs):
        self.requests.append(request)
        served = 0 if len(self.requests) == 1 else 1

        def responses():
            for index, text in enumerate(self.texts[served:], start=served):
                document = Document(name=f"{PARENT}/d{index}", fields={"text": Value(string_value=text)})
                yield RunQueryResponse(document=document)
                if len(self.requests) == 1:
                    raise exceptions.ServiceUnavailable("stream cut")

        return responses()


@pytest.fixture
def cut_once(monkeypatch):
    client = firestore.Client(project="p", credentials=AnonymousCredentials())
    api = CutOnce(["a", "b", "c"])
    api._transport = type("Transport", (), {"run_query": object()})()  # a raw callable: no _retry
    monkeypatch.setattr(type(client), "_firestore_api", property(lambda self: api))
    return client, api


def test_a_stream_cut_midway_resumes_after_the_last_document(cut_once):
    client, api = cut_once
    texts = [s.get("text") for s in client.collection("turns").stream(retry=QUERY_RETRY)]
    assert texts == ["a", "b", "c"]
    assert len(api.requests) == 2
    assert "start_at" not in str(api.requests[0]["structured_query"]) and "start_at" in str(api.requests[1]["structured_query"])


def test_without_it_the_pinned_library_fails_midway(cut_once):
    """When this fails after an upgrade, the library is mended and QUERY_RETRY may go."""
    client, _ = cut_once
    with pytest.raises(AttributeError, match="_retry"):
        list(client.collection("turns").stream())
