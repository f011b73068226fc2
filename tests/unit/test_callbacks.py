"""Callback URLs: which may be called (SSRF rules), and the POST that calls one.

Names resolve through a fake resolver here: no test sends a packet past the
loopback interface (the POST tests talk to a server on 127.0.0.1)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shared import callbacks
from shared.callbacks import CallbackPolicy, Target, UnsafeUrl, Unresolvable

# Host name -> the addresses the fake DNS gives it.
DNS = {
    "hooks.example": ["93.184.216.34"],
    "v6.example": ["2606:2800:220:1:248:1893:25c8:1946"],
    "inside.example": ["10.0.0.7"],
    "split.example": ["93.184.216.34", "192.168.1.2"],  # one public, one private: refused
    "rebind.example": ["127.0.0.1"],
    "meta.example": ["169.254.169.254"],
    "mapped.example": ["::ffff:127.0.0.1"],
    "cgnat.example": ["100.64.0.1"],
    "ula.example": ["fd00::1"],
}


def fake_resolve(host: str, port: int) -> list[str]:
    if host in DNS:
        return DNS[host]
    try:
        import ipaddress

        return [str(ipaddress.ip_address(host))]
    except ValueError:
        raise Unresolvable(f"{host} does not resolve") from None


def no_resolving(host: str, port: int):
    pytest.fail(f"resolved {host}: the loopback-only policy must resolve nothing")


PRODUCTION = CallbackPolicy(loopback_only=False, resolve=fake_resolve)
LOCAL = CallbackPolicy(loopback_only=True, resolve=no_resolving)

REFUSED_IN_PRODUCTION = {
    "http://hooks.example/x": "must be https",
    "https://user:pw@hooks.example/x": "http(s) URL",  # no user:password@
    "https://metadata.google.internal/computeMetadata/v1/": "metadata server",
    "https://meta.example/": "link-local",
    "https://169.254.169.254/latest/meta-data": "link-local",
    "https://inside.example/hook": "private",
    "https://split.example/hook": "private",
    "https://rebind.example/": "loopback",
    "https://127.0.0.1/": "loopback",
    "https://[::1]/": "loopback",
    "https://mapped.example/": "loopback",
    "https://cgnat.example/": "not a global address",
    "https://ula.example/": "private",
    "https://0.0.0.0/": "unspecified",
    "https://224.0.0.1/": "multicast",
    "https://hooks.example:99999/": "not a valid URL",
    "ftp://hooks.example/": "http(s) URL",
    "https://hooks.example/a b": "http(s) URL",
    "https://" + "a" * 2050: "http(s) URL",
}


@pytest.mark.parametrize("url, reason", REFUSED_IN_PRODUCTION.items())
def test_production_refuses_what_is_not_a_public_https_address(url, reason):
    with pytest.raises(UnsafeUrl, match=reason.replace("(", r"\(").replace(")", r"\)")):
        PRODUCTION.check(url)


def test_production_connects_to_the_checked_address_with_the_host_name_kept():
    assert PRODUCTION.check("https://Hooks.Example:8443/zatsudan?k=1") == Target(
        "https", "hooks.example", 8443, "/zatsudan?k=1", "93.184.216.34"
    )
    assert PRODUCTION.check("https://v6.example").address == "2606:2800:220:1:248:1893:25c8:1946"
    assert PRODUCTION.check("https://v6.example").path == "/"


def test_a_name_that_does_not_resolve_is_its_own_error():
    with pytest.raises(Unresolvable):
        PRODUCTION.check("https://nowhere.example/")


@pytest.mark.parametrize(
    "url, address",
    [("http://127.0.0.1:9000/hook", "127.0.0.1"), ("http://localhost:1/", "127.0.0.1"), ("http://[::1]:2/x", "::1"),
     ("https://127.0.0.5/", "127.0.0.5")],
)
def test_locally_loopback_receivers_are_allowed_over_http(url, address):
    assert LOCAL.check(url).address == address


@pytest.mark.parametrize("url", ["https://hooks.example/", "http://10.0.0.1/", "http://0/", "http://[fd00::1]/"])
def test_locally_anything_else_is_refused_without_resolving_it(url):
    with pytest.raises(UnsafeUrl, match="loopback"):
        LOCAL.check(url)


# ----- the POST ------------------------------------------------------------------
class Receiver(BaseHTTPRequestHandler):
    status = 200
    delay_s = 0.0
    seen: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        type(self).seen.append((self.path, self.headers.get("Host"), body))
        time.sleep(self.delay_s)
        self.send_response(self.status)
        self.send_header("Location", "http://169.254.169.254/")
        self.send_header("content-length", "2")
        self.end_headers()
        try:
            self.wfile.write(b"ok")
        except BrokenPipeError:  # the client timed out and left
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    handler = type("R", (Receiver,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, server.server_address[1]
    server.shutdown()
    server.server_close()


def test_the_post_goes_to_the_checked_address_and_follows_no_redirect(receiver):
    handler, port = receiver
    handler.status = 302
    target = Target("http", "hooks.example", port, "/hook?x=1", "127.0.0.1")
    answer = callbacks.post(target, b'{"a":1}', {"content-type": "application/json"}, timeout_s=5)
    assert (answer.status, answer.body) == (302, "ok")
    assert handler.seen == [("/hook?x=1", f"hooks.example:{port}", b'{"a":1}')]


def test_a_slow_receiver_times_out(receiver):
    handler, port = receiver
    handler.delay_s = 2.0
    started = time.monotonic()
    with pytest.raises(Exception, match="(?i)timeout|timed out"):
        callbacks.post(Target("http", "127.0.0.1", port, "/", "127.0.0.1"), b"{}", {}, timeout_s=0.5)
    assert time.monotonic() - started < 1.8


@pytest.fixture(scope="module")
def tls_certificate(tmp_path_factory):
    """A self-signed certificate for hooks.example (openssl, as the examples in docs/calling-ingress.md use)."""
    folder = tmp_path_factory.mktemp("tls")
    import subprocess

    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=hooks.example",
         "-addext", "subjectAltName=DNS:hooks.example", "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    return folder / "cert.pem", folder / "key.pem"


@pytest.fixture
def tls_receiver(tls_certificate):
    import ssl

    handler = type("R", (Receiver,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*tls_certificate)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield handler, server.server_address[1], str(tls_certificate[0])
    server.shutdown()
    server.server_close()


def test_https_goes_to_the_checked_address_and_verifies_the_certificate_against_the_name(tls_receiver):
    handler, port, ca = tls_receiver
    answer = callbacks.post(Target("https", "hooks.example", port, "/h", "127.0.0.1"), b"{}", {}, timeout_s=5, ca_certs=ca)
    assert answer.status == 200 and handler.seen[0][:2] == ("/h", f"hooks.example:{port}")
    # The same address under another name: the certificate does not match, nothing is sent.
    with pytest.raises(Exception, match="(?i)hostname|certificate|match"):
        callbacks.post(Target("https", "other.example", port, "/h", "127.0.0.1"), b"{}", {}, timeout_s=5, ca_certs=ca)
    assert len(handler.seen) == 1
