"""Fuzzing the edge: generated requests at the running ingress, garbage pushed at the functions.

Ingress: no 5xx, every error is JSON with a code from the spec, and exactly one
message is published per 202 (none for a rejection). Ingress runs here with
``AUTH_MODE=required`` and its topics renamed to fresh ones that only this
test reads, so the accepted fuzz does not flow on to the scorer and log sink.
Credentials are generated too: valid and malformed ``X-Zatsudan-Signature``
headers (huge timestamps, non-ASCII digests, wrong lengths) and bearer tokens
(garbage, the Auth emulator's unsigned tokens for the right or another user).

Push functions: a malformed envelope is acknowledged and dead-lettered (2xx,
one dead letter each) or refused (4xx), never a 5xx that Pub/Sub would retry.
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter

import pytest
import requests
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from shared.auth import sign
from tests.e2e.reliability import services_with
from tests.integration.test_ingress_auth import unsigned_id_token
from tests.unit.test_openapi import bodies, schema

SECRET = "fuzz-secret"

ERROR_CODES = set(schema("Error")["properties"]["error"]["properties"]["code"]["enum"])
def fuzz_settings(examples: int):
    return hsettings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
HEADERS = st.fixed_dictionaries(
    # Mostly JSON, so most requests reach validation; sometimes not.
    {"content-type": st.sampled_from(["application/json"] * 8 + ["application/json; charset=utf-8", "text/plain", ""])},
    optional={
        "traceparent": st.from_regex(r"[!-~][ -~]{0,58}[!-~]", fullmatch=True),
        "Origin": st.sampled_from(["http://evil.example", "null"]),
        # A few keys shared by many requests: retries (same body) and reuse (another body).
        "Idempotency-Key": st.sampled_from(["k1", "k2", "k3", "", "has space"]),
    },
)


def encode(body) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")


VALID_UTTERANCES = st.fixed_dictionaries(
    {"user_id": st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True), "text": st.text(min_size=1, max_size=40).filter(str.strip)},
    optional={"lang": st.sampled_from(["ja", "en"]), "conversation_id": st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True)},
)
# Messages answered for these users (recorded in the fixture): feedback on them
# is accepted from their user only; on any other id it is 404.
from shared import ids as _ids  # noqa: E402

ANSWERED = [(_ids.new_message_id(), f"fz{i}") for i in range(8)]
VALID_FEEDBACK = st.one_of(
    st.builds(
        lambda answer, other, reward, rest: {"message_id": answer[0], "user_id": other or answer[1], "reward": reward, **rest},
        st.sampled_from(ANSWERED),
        st.one_of(st.none(), st.none(), st.none(), st.sampled_from([u for _, u in ANSWERED])),
        st.floats(-1, 1),
        st.fixed_dictionaries({}, optional={"source": st.sampled_from(["explicit", "continued"])}),
    ),
    st.fixed_dictionaries(
        {"message_id": st.from_regex(r"[0-9A-HJKMNP-TV-Z]{26}", fullmatch=True), "reward": st.floats(-1, 1)},
        optional={"source": st.sampled_from(["explicit", "continued"])},
    ),
)
# Header text without line breaks (the HTTP client refuses those), sent as UTF-8 bytes.
# (and not starting with whitespace, which requests refuses to send).
HEADER_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=80).map(str.lstrip)
HEX = st.text("0123456789abcdefABCDEF", min_size=0, max_size=70)
DIGITS = st.text("0123456789", min_size=0, max_size=400)
# A credential, described as data; the header is made from the body in the test.
CREDENTIALS = st.one_of(
    st.just(("none", None)),
    st.just(("signed", None)),  # a valid signature of the body, now
    st.tuples(st.just("signed_at"), st.integers(-10**6, 10**6)),  # valid digest, skewed timestamp
    st.tuples(st.just("signature"), st.one_of(
        st.builds(lambda t, v: f"t={t},v1={v}", DIGITS, HEX),
        st.builds(lambda v: f"t={int(time.time())},v1={v}", HEADER_TEXT),
        st.sampled_from(["t=1,v1=00", "garbage", "", "t=" + "9" * 400 + ",v1=ab", "t=,v1=,t=1", "v1=" + "0" * 64]),
        HEADER_TEXT,
    )),
    st.tuples(st.just("token_for"), st.sampled_from(["body", "other"])),  # the Auth emulator's unsigned token
    st.tuples(st.just("authorization"), st.one_of(
        HEADER_TEXT.map(lambda t: "Bearer " + t),
        st.sampled_from(["Bearer ", "Bearer not.a.jwt", "Bearer a.b.c", "Basic dTpw", "bearer", "Bearer " + "A" * 2000]),
        HEADER_TEXT,
    )),
)
AUTH_WEIGHTED = st.one_of(st.just(("signed", None)), st.just(("signed", None)), CREDENTIALS)


def credential_headers(credential, body: bytes, project: str) -> dict:
    kind, value = credential
    if kind == "signed":
        return {"X-Zatsudan-Signature": sign(SECRET, body)}
    if kind == "signed_at":
        return {"X-Zatsudan-Signature": sign(SECRET, body, int(time.time()) + value)}
    if kind == "signature":
        return {"X-Zatsudan-Signature": value.encode("utf-8")}
    if kind == "token_for":
        try:
            user = json.loads(body).get("user_id") if value == "body" else "someone-else"
        except (ValueError, AttributeError):
            user = None
        return {"Authorization": "Bearer " + unsigned_id_token(project, user if isinstance(user, str) and user else "u")}
    if kind == "authorization":
        return {"Authorization": value.encode("utf-8")}
    return {}


REQUESTS = st.one_of(
    st.tuples(st.just("POST"), st.just("/v1/utterances"), VALID_UTTERANCES.map(encode), HEADERS),
    st.tuples(st.just("POST"), st.just("/v1/feedback"), VALID_FEEDBACK.map(encode), HEADERS),
    st.tuples(st.just("POST"), st.just("/v1/utterances"), bodies("Utterance").map(encode), HEADERS),
    st.tuples(st.just("POST"), st.just("/v1/feedback"), bodies("Feedback").map(encode), HEADERS),
    st.tuples(
        st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
        st.sampled_from(["/v1/utterances", "/v1/feedback", "/healthz", "/", "/v1", "/v1/utterances/x", "/%ff"]),
        st.binary(max_size=64),
        HEADERS,
    ),
)


# The id a 202 hands back, and the attribute the published message carries it in.
ACCEPTED_ID = {"/v1/utterances": "message_id", "/v1/feedback": "feedback_id"}


class Tally:
    def __init__(self) -> None:
        self.answers: Counter = Counter()
        self.accepted: dict[str, set[str]] = {path: set() for path in ACCEPTED_ID}
        self.requests = 0


@pytest.fixture(scope="module")
def fuzz_ingress(stack, clients, unique):
    """Ingress publishing to fresh topics, with a pull subscription on each."""
    from tests.support import PullReader

    topics = {"UTTERANCES_TOPIC": f"fuzz-utterances-{unique}", "FEEDBACK_TOPIC": f"fuzz-feedback-{unique}"}
    for topic in topics.values():
        clients.publisher.create_topic(name=clients.publisher.topic_path(stack.project, topic))
    from tests.support import record_answer

    for message_id, user_id in ANSWERED:
        record_answer(clients.firestore, message_id, user_id)
    readers = {path: PullReader(stack.project, topic) for path, topic in zip(("/v1/utterances", "/v1/feedback"), topics.values())}
    auth = {"AUTH_MODE": "required", "WEBHOOK_SECRET": SECRET,
            # firebase_admin accepts the Auth emulator's unsigned tokens with this set (no key fetch);
            # they are forged for users no emulator knows, so no revocation look-up.
            "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9", "CHECK_REVOKED": "false"}
    with services_with(stack, ("ingress",), **topics, **auth):
        yield stack.url("ingress"), readers
    for reader in readers.values():
        reader.close()


@pytest.fixture(scope="module")
def unique():
    import uuid

    return uuid.uuid4().hex[:8]


@pytest.mark.slow
def test_generated_requests_get_no_5xx_json_errors_and_publish_only_when_accepted(fuzz_ingress, stack):
    url, readers = fuzz_ingress
    session = requests.Session()
    tally = Tally()

    @fuzz_settings(2100)
    @given(request=REQUESTS, credential=AUTH_WEIGHTED)
    def one(request, credential):
        method, path, body, headers = request
        headers = {**headers, **credential_headers(credential, body, stack.project)}
        response = session.request(method, url + path, data=body, headers=headers, timeout=10)
        tally.requests += 1
        tally.answers[response.status_code] += 1
        assert response.status_code < 500, (request, response.text)
        if response.status_code >= 400:
            error = response.json()["error"]
            assert error["code"] in ERROR_CODES and error["message"], response.text
        if response.status_code == 202:
            tally.accepted[path].add(response.json()[ACCEPTED_ID[path]])

    one()
    # Publishing is at least once (the client retries a publish that timed
    # out, and the first may have landed): compare ids, not message counts.
    published = {
        path: {m.attributes[ACCEPTED_ID[path]] for m in reader.read(expect=len(tally.accepted[path]), timeout=30, settle=2)}
        for path, reader in readers.items()
    }
    print(f"\nfuzz: {tally.requests} requests, answers {dict(sorted(tally.answers.items()))}, "
          f"published {({path: len(ids) for path, ids in published.items()})}")
    assert tally.requests >= 2000
    assert published == tally.accepted  # every 202 published, nothing else
    assert all(tally.accepted.values()) and sum(map(len, tally.accepted.values())) < tally.requests


# ----- malformed push envelopes at the functions ------------------------------
def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


ENVELOPES = st.one_of(
    st.binary(max_size=80),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8), lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3), max_leaves=6).map(encode),
    st.fixed_dictionaries(
        {"message": st.fixed_dictionaries(
            {"messageId": st.text(min_size=1, max_size=8)},
            optional={
                "data": st.one_of(st.binary(max_size=60).map(b64), st.text(max_size=20), st.integers()),
                "attributes": st.one_of(st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2), st.text(max_size=3)),
            },
        ), "subscription": st.just("projects/zatsudan-local/subscriptions/fuzz")},
    ).map(encode),
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "function, topic",
    [("scorer", "utterances"), ("log_sink", "selection-logs"), ("log_sink", "feedback")],
)
def test_malformed_push_envelopes_are_dead_lettered_or_refused_never_5xx(stack, pull, function, topic):
    dead = pull(f"{topic}-dead")
    url = f"{stack.url(function)}/projects/{stack.project}/topics/{topic}"
    answers: Counter = Counter()

    @fuzz_settings(150)
    @given(body=ENVELOPES)
    def one(body):
        response = requests.post(url, data=body, headers={"content-type": "application/json"}, timeout=10)
        answers[response.status_code] += 1
        assert response.status_code < 500, (body, response.text[:300])

    one()
    acknowledged = sum(n for status, n in answers.items() if 200 <= status < 300)
    letters = dead.read(expect=acknowledged, timeout=30, settle=2)
    print(f"\n{function} <- {topic}: answers {dict(sorted(answers.items()))}, dead letters {len(letters)}")
    assert len(letters) == acknowledged
    assert all(m.attributes.get("dead_letter_reason") for m in letters)
