"""Error codes: one table decides every status."""

from __future__ import annotations

import pytest

from shared.errors import STATUS_BY_CODE, ApiError


@pytest.mark.parametrize("code", sorted(STATUS_BY_CODE))
def test_every_code_is_the_callers_fault_except_ours(code):
    status = ApiError(code, "message").status
    if code in ("unavailable", "internal"):
        assert status >= 500
    else:
        assert 400 <= status < 500


@pytest.mark.parametrize(
    "code, status",
    [
        ("invalid_json", 400),
        ("invalid_argument", 400),
        ("unknown_field", 400),
        ("not_found", 404),
        ("method_not_allowed", 405),
        ("payload_too_large", 413),
        ("unsupported_media_type", 415),
        ("unavailable", 503),
        ("internal", 500),
    ],
)
def test_status_of_each_code(code, status):
    assert ApiError(code, "m").status == status


@pytest.mark.parametrize("code", ["teapot", "", "INVALID_JSON"])
def test_an_unmapped_code_is_rejected_when_raised(code):
    with pytest.raises(ValueError, match="unmapped"):
        ApiError(code, "message")


def test_body_is_the_documented_error_envelope():
    error = ApiError("not_found", "no endpoint at /x")
    assert error.body() == {"error": {"code": "not_found", "message": "no endpoint at /x"}}
    assert str(error) == "no endpoint at /x"
    assert isinstance(error.status, int)
