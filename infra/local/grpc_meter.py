"""A gRPC pass-through that counts what goes through it, for the cost bench.

    meter = MeteringProxy(port, "127.0.0.1:8601", usage=firestore_usage)
    meter.start()   # clients pointed at 127.0.0.1:<port> reach the emulator
    meter.counts    # Counter of whatever ``usage`` returned per message

It sits between one client process (a function, given the proxy's address as
its ``FIRESTORE_EMULATOR_HOST`` or ``PUBSUB_EMULATOR_HOST``) and an emulator,
forwards every call unchanged (bytes in, bytes out, metadata and status
codes included) and asks ``usage.message(method, kind, payload)`` what each
request (``kind`` "request") and response ("response") message costs; at the
end of a call ``usage.settle(method, counts)`` may adjust the call's total
(Firestore bills a query that found nothing as one read). What a message
costs is the caller's business (``bench/usage.py``): this module only sees
bytes, so it serves Firestore and Pub/Sub alike, and counts at the wire,
whatever client library made the call.

Dev tooling only: production code never runs through it.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent import futures
from typing import Iterator, Mapping, Protocol

import grpc


class Usage(Protocol):
    def message(self, method: str, kind: str, payload: bytes) -> Mapping[str, int]: ...

    def settle(self, method: str, counts: Counter[str]) -> Counter[str]: ...


# Methods whose responses (or requests and responses) stream; every other
# method of the emulators' APIs is unary.
STREAMING_BOTH = ("/Listen", "/Write", "/StreamingPull")
STREAMING_RESPONSES = ("/BatchGetDocuments", "/RunQuery", "/RunAggregationQuery")
# Headers gRPC sets per connection itself; forwarding them breaks the call.
HOP_BY_HOP = {"user-agent", "te", "content-type", "grpc-accept-encoding", "grpc-encoding", "grpc-timeout"}
WORKERS = 64  # a listener holds a worker for its whole life


def _identity(payload: bytes) -> bytes:
    return payload


class MeteringProxy:
    def __init__(self, port: int, upstream: str, usage: Usage, host: str = "127.0.0.1") -> None:
        self.address = f"{host}:{port}"
        self.upstream = upstream
        self.usage = usage
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._channel = grpc.insecure_channel(upstream)
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=WORKERS))
        self._server.add_generic_rpc_handlers([_Forwarder(self)])
        if self._server.add_insecure_port(self.address) == 0:
            raise OSError(f"cannot listen on {self.address}")

    def start(self) -> "MeteringProxy":
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(grace=None)
        self._channel.close()

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self.counts)

    def add(self, method: str, call: Counter[str]) -> None:
        settled = self.usage.settle(method, call)
        with self._lock:
            self.counts.update(settled)


class _Call:
    """What one call cost so far; added to the proxy's counts when it ends
    (a listener's stream, which may never end, adds as it goes)."""

    def __init__(self, proxy: MeteringProxy, method: str, settle_each: bool = False) -> None:
        self.proxy, self.method, self.settle_each = proxy, method, settle_each
        self.counts: Counter[str] = Counter()

    def count(self, kind: str, payload: bytes) -> None:
        found = self.proxy.usage.message(self.method, kind, payload)
        if self.settle_each:
            self.proxy.add(self.method, Counter(found))
        else:
            self.counts.update(found)

    def end(self) -> None:
        if not self.settle_each:
            self.proxy.add(self.method, self.counts)


class _Forwarder(grpc.GenericRpcHandler):
    def __init__(self, proxy: MeteringProxy) -> None:
        self.proxy = proxy

    def service(self, details: grpc.HandlerCallDetails):
        method = details.method
        metadata = [(k, v) for k, v in details.invocation_metadata if k not in HOP_BY_HOP and not k.startswith(":")]
        proxy, channel = self.proxy, self.proxy._channel
        plain = {"request_deserializer": _identity, "response_serializer": _identity}
        upstream = {"request_serializer": _identity, "response_deserializer": _identity}

        def requests_counted(requests: Iterator[bytes], call: _Call) -> Iterator[bytes]:
            for request in requests:
                call.count("request", request)
                yield request

        def responses_counted(upstream_call, call: _Call, context) -> Iterator[bytes]:
            context.add_callback(upstream_call.cancel)  # the client went away: so does the upstream call
            try:
                for response in upstream_call:
                    call.count("response", response)
                    yield response
            except grpc.RpcError as error:
                _abort_like(context, error)
            finally:
                call.end()

        if method.endswith(STREAMING_BOTH):
            def both(requests, context):
                call = _Call(proxy, method, settle_each=True)
                upstream_call = channel.stream_stream(method, **upstream)(requests_counted(requests, call), metadata=metadata)
                yield from responses_counted(upstream_call, call, context)

            return grpc.stream_stream_rpc_method_handler(both, **plain)
        if method.endswith(STREAMING_RESPONSES):
            def responses(request, context):
                call = _Call(proxy, method)
                call.count("request", request)
                upstream_call = channel.unary_stream(method, **upstream)(
                    request, metadata=metadata, timeout=context.time_remaining())
                yield from responses_counted(upstream_call, call, context)

            return grpc.unary_stream_rpc_method_handler(responses, **plain)

        def unary(request, context):
            call = _Call(proxy, method)
            call.count("request", request)
            try:
                response = channel.unary_unary(method, **upstream)(request, metadata=metadata, timeout=context.time_remaining())
            except grpc.RpcError as error:
                call.end()
                _abort_like(context, error)
                return None  # the client is gone: nobody reads an answer
            call.count("response", response)
            call.end()
            return response

        return grpc.unary_unary_rpc_method_handler(unary, **plain)


def _abort_like(context: grpc.ServicerContext, error: grpc.RpcError) -> None:
    """Answers the client with the upstream's status (ALREADY_EXISTS stays ALREADY_EXISTS)."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else str(error)
    if code == grpc.StatusCode.CANCELLED and not context.is_active():
        return
    context.abort(code, details or "")
