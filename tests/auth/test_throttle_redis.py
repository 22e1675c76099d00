"""Login throttling shared through Redis: two gateways, one set of counters.

The gateways are two app instances in this process, and in one test two `serve`
processes.

These tests need the Redis server at AETHERFLOW_TEST_REDIS_URL (by default the
machine's, 127.0.0.1:6379); they fail, rather than skip, when it is not there.
Each run writes under its own key prefix and removes its keys afterwards.
"""

import asyncio
import os
import secrets
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from aetherflow_gateway.core.settings import Settings
from tests.support import processes
from tests.support.builders import PASSWORD, register, unique_email
from tests.support.moto_server import free_port
from tests.support.problems import assert_problem
from tests.support.running import client_for, running_app

REDIS_URL = os.environ.get("AETHERFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ATTEMPTS = 3
WRONG_PASSWORD = "not the password at all"


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    prefix = f"aetherflow-test-{uuid.uuid4().hex}"
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except OSError as exc:  # redis-py's ConnectionError is an OSError too
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}")

    yield prefix

    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
def shared_settings(embedded_settings: Settings, redis_prefix: str) -> Settings:
    return embedded_settings.model_copy(
        update={
            "redis_url": REDIS_URL,
            "redis_key_prefix": redis_prefix,
            "login_attempts_per_window": ATTEMPTS,
            # With Redis configured the default would be invite-only.
            "registration": "open",
        }
    )


@pytest.fixture
async def replicas(
    shared_settings: Settings,
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Two gateway instances, each with its own Redis connections."""
    async with (
        running_app(shared_settings) as first_app,
        running_app(shared_settings) as second_app,
        client_for(first_app) as first,
        client_for(second_app) as second,
    ):
        yield first, second


async def login(
    client: httpx.AsyncClient, email: str, password: str = WRONG_PASSWORD
) -> httpx.Response:
    return await client.post("/auth/login", json={"email": email, "password": password})


class TestSharedCounters:
    async def test_failures_on_one_replica_count_on_the_other(
        self, replicas: tuple[httpx.AsyncClient, httpx.AsyncClient]
    ) -> None:
        first, second = replicas
        email = unique_email()
        assert (await register(first, "Sales", email)).status_code == 201
        for client in (first, second, first):
            assert_problem(await login(client, email), 401)

        response = await login(second, email, PASSWORD)

        assert_problem(response, 429)
        assert int(response.headers["retry-after"]) >= 1

    async def test_a_success_on_one_replica_clears_the_count_on_the_other(
        self, replicas: tuple[httpx.AsyncClient, httpx.AsyncClient]
    ) -> None:
        first, second = replicas
        email = unique_email()
        assert (await register(first, "Supply", email)).status_code == 201
        for _ in range(ATTEMPTS - 1):
            assert_problem(await login(first, email), 401)
        assert (await login(second, email, PASSWORD)).status_code == 200
        for _ in range(ATTEMPTS - 1):
            assert_problem(await login(first, email), 401)

        response = await login(second, email, PASSWORD)

        assert response.status_code == 200, response.text

    async def test_parallel_guesses_on_two_replicas_cannot_outrun_the_lockout(
        self, replicas: tuple[httpx.AsyncClient, httpx.AsyncClient]
    ) -> None:
        first, second = replicas
        email = unique_email()

        responses = await asyncio.gather(
            *(login(client, email) for client in (first, second) * ATTEMPTS)
        )

        statuses = sorted(response.status_code for response in responses)
        assert statuses == [401] * ATTEMPTS + [429] * ATTEMPTS

    async def test_redis_holds_no_email_address(
        self, replicas: tuple[httpx.AsyncClient, httpx.AsyncClient], redis_prefix: str
    ) -> None:
        first, _ = replicas
        email = unique_email()

        await login(first, email)

        client = Redis.from_url(REDIS_URL)
        keys = [
            key.decode() async for key in client.scan_iter(match=f"{redis_prefix}*")
        ]
        await client.aclose()
        assert keys
        assert not [key for key in keys if email.split("@")[0] in key]


def test_two_gateway_processes_share_one_lockout(
    tmp_path: Path, redis_prefix: str
) -> None:
    env = processes.clean_env(
        database_url=f"sqlite:///{tmp_path / 'gateway.sqlite3'}",
        jwt_secret=secrets.token_urlsafe(48),
        redis_url=REDIS_URL,
        redis_key_prefix=redis_prefix,
        login_attempts_per_window=str(ATTEMPTS),
    )
    assert processes.run_command(["migrate"], tmp_path, env).returncode == 0
    guess = {"email": unique_email(), "password": WRONG_PASSWORD}

    with (
        processes.serving(tmp_path, env) as first,
        processes.serving(tmp_path, env) as second,
    ):
        for gateway in (first, second, first):
            refused = httpx.post(f"{gateway.url}/auth/login", json=guess, timeout=10)
            assert_problem(refused, 401)
        locked = httpx.post(f"{second.url}/auth/login", json=guess, timeout=10)

    assert_problem(locked, 429)


class TestRedisDown:
    async def test_logins_answer_503_rather_than_go_unthrottled(
        self, embedded_settings: Settings
    ) -> None:
        dead = embedded_settings.model_copy(
            update={
                "redis_url": f"redis://127.0.0.1:{free_port()}/0",
                "dependency_timeout_seconds": 1.0,
            }
        )
        async with running_app(dead) as app, client_for(app) as client:
            response = await login(client, unique_email())

        problem = assert_problem(response, 503)
        assert "Retry-After" in response.headers
        assert "redis" not in problem["detail"].lower()
