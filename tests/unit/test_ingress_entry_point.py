"""functions/ingress/main.py under functions-framework: what its routing refuses
before ingress runs (a path with a line break) is JSON too, never an HTML page."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def client():
    import functions_framework

    app = functions_framework.create_app(target="ingress", source=str(REPO / "functions" / "ingress" / "main.py"))
    return app.test_client()


@pytest.mark.parametrize("path", ["/v1/replies/%0A", "/v1/utterances%0A", "/%0D%0A"])
def test_paths_the_framework_cannot_route_get_a_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
