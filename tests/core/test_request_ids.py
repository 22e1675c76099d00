"""X-Request-ID on every answer, including the refusals of the auth endpoints."""

import re
from typing import Any

import httpx
import pytest

from tests.support.problems import assert_problem

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


async def test_a_sane_incoming_request_id_is_echoed(
    client: httpx.AsyncClient, subtests: pytest.Subtests
) -> None:
    for sane in ("trace-1", "a1B2.c3:d4_e5-f6", "x" * 128):
        with subtests.test(request_id=sane):
            response = await client.get("/health", headers={"X-Request-ID": sane})

            assert response.status_code == 200
            assert response.headers["x-request-id"] == sane


async def test_an_insane_incoming_request_id_is_replaced_by_a_new_one(
    client: httpx.AsyncClient, subtests: pytest.Subtests
) -> None:
    cases = {
        "too long": "x" * 129,
        "spaces": "trace with spaces",
        "markup": "<script>alert(1)</script>",
        "quotes": 'trace"id',
        "empty": "",
    }
    for case, insane in cases.items():
        with subtests.test(case):
            response = await client.get("/health", headers={"X-Request-ID": insane})

            assert response.status_code == 200
            assert response.headers["x-request-id"] != insane
            assert GENERATED_ID.fullmatch(response.headers["x-request-id"])


async def test_each_request_without_an_id_gets_a_distinct_one(
    client: httpx.AsyncClient,
) -> None:
    first = await client.get("/health")
    second = await client.get("/health")

    ids = [response.headers["x-request-id"] for response in (first, second)]
    assert all(GENERATED_ID.fullmatch(request_id) for request_id in ids)
    assert ids[0] != ids[1]


async def test_every_error_answer_carries_its_request_id_in_header_and_body(
    client: httpx.AsyncClient, subtests: pytest.Subtests
) -> None:
    failures: dict[str, tuple[str, str, dict[str, Any], int]] = {
        "unknown route": ("GET", "/no-such-route", {}, 404),
        "wrong method": ("DELETE", "/auth/login", {}, 405),
        "no token": ("GET", "/jobs", {}, 401),
        "bad registration": ("POST", "/auth/register", {"json": {}}, 422),
        "unreadable login": ("POST", "/auth/login", {"content": b"?"}, 400),
        "wrong password": (
            "POST",
            "/auth/login",
            {"json": {"email": "nobody@example.com", "password": "irrelevant"}},
            401,
        ),
    }
    for case, (method, url, request, status) in failures.items():
        for sent in ("trace-42", None):
            with subtests.test(case, sent=sent):
                headers = {"X-Request-ID": sent} if sent else {}

                response = await client.request(method, url, headers=headers, **request)

                assert_problem(response, status)
                if sent:
                    assert response.headers["x-request-id"] == sent
