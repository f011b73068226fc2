"""The local RTDB stand-in (no auth) answers browsers from the web page's origin only."""

from __future__ import annotations

import threading

import pytest
import requests

from infra.local.rtdb_server import Server

WEB = "http://127.0.0.1:8608"


@pytest.fixture
def url():
    server = Server(("127.0.0.1", 0), keepalive_s=0.2, allowed_origins=(WEB,))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_web_pages_origin_is_allowed_and_echoed(url):
    response = requests.put(f"{url}/x.json", json={"a": 1}, headers={"Origin": WEB}, timeout=5)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == WEB
    preflight = requests.options(f"{url}/x.json", headers={"Origin": WEB, "Access-Control-Request-Method": "PUT"}, timeout=5)
    assert preflight.status_code == 204 and preflight.headers["Access-Control-Allow-Origin"] == WEB


@pytest.mark.parametrize("method", ["GET", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"])
def test_another_origin_is_refused_and_gets_no_cors_headers(url, method):
    requests.put(f"{url}/secret.json", json="value", timeout=5)
    response = requests.request(method, f"{url}/secret.json", data=b'"evil"', headers={"Origin": "http://evil.example"}, timeout=5)
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers
    assert requests.get(f"{url}/secret.json", timeout=5).json() == "value"  # nothing written


def test_clients_without_an_origin_pass(url):
    assert requests.put(f"{url}/y.json", json=2, timeout=5).status_code == 200
    assert requests.get(f"{url}/y.json", timeout=5).json() == 2
