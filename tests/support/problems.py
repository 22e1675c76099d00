"""The shape every error answer must have (RFC 9457 with the gateway's request id)."""

from typing import Any

import httpx

PROBLEM_FIELDS = {"type", "title", "status", "detail", "request_id"}


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """Check `response` is a problem of `status` tied to its request id; return it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"

    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_FIELDS
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    return body
