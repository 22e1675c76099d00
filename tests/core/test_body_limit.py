"""Bodies other than uploads are bounded, whether or not their length is declared."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from aetherflow_gateway.core.settings import Settings
from tests.support.builders import account, csv_file, upload
from tests.support.problems import assert_problem
from tests.support.running import client_for, gateway_client

LIMIT = 2048


@pytest.fixture
async def small_limit_client(
    embedded_settings: Settings,
) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(embedded_settings, max_json_body_bytes=LIMIT) as client:
        yield client


def oversized_login() -> bytes:
    return b'{"email": "a@b.c", "password": "' + b"x" * LIMIT + b'"}'


async def chunks(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 512):
        yield body[start : start + 512]


async def test_declared_oversize_body_is_refused(
    small_limit_client: httpx.AsyncClient,
) -> None:
    response = await small_limit_client.post(
        "/auth/login",
        content=oversized_login(),
        headers={"Content-Type": "application/json"},
    )

    assert_problem(response, 413)


async def test_chunked_body_is_counted_as_it_arrives(
    small_limit_client: httpx.AsyncClient,
) -> None:
    response = await small_limit_client.post(
        "/auth/login",
        content=chunks(oversized_login()),
        headers={"Content-Type": "application/json"},
    )

    assert "content-length" not in response.request.headers
    assert_problem(response, 413)


async def test_body_under_the_limit_reaches_the_route(
    small_limit_client: httpx.AsyncClient,
) -> None:
    response = await small_limit_client.post(
        "/auth/login",
        content=chunks(b'{"email": "nobody@example.com", "password": "wrong"}'),
        headers={"Content-Type": "application/json"},
    )

    assert_problem(response, 401)


async def test_uploads_are_bounded_by_their_own_limit_only(
    small_limit_client: httpx.AsyncClient,
) -> None:
    analyst = await account(small_limit_client, "Sales")

    response = await upload(small_limit_client, analyst, csv_file(rows=500))

    assert len(csv_file(rows=500)) > LIMIT
    assert response.status_code == 202, response.text


def test_default_limit_is_64_kib() -> None:
    assert Settings(_env_file=None).max_json_body_bytes == 64 * 1024


async def test_limit_applies_to_the_real_app(app: FastAPI) -> None:
    async with client_for(app) as client:
        response = await client.post(
            "/auth/register",
            content=b'{"email": "' + b"a" * (65 * 1024) + b'"}',
            headers={"Content-Type": "application/json"},
        )

    assert_problem(response, 413)
