import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from aetherflow_gateway.auth.throttle import ADDRESS_ALLOWANCE_FACTOR, LoginThrottle
from aetherflow_gateway.core.settings import Settings
from tests.support.builders import PASSWORD, register, unique_email
from tests.support.problems import assert_problem
from tests.support.running import gateway_client

# A small allowance keeps the number of (slow, hashed) failed logins down.
ATTEMPTS = 3
WRONG_PASSWORD = "not the password at all"


@pytest.fixture
async def strict_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway that locks an account after `ATTEMPTS` failed logins."""
    async with gateway_client(settings, login_attempts_per_window=ATTEMPTS) as client:
        yield client


async def login(
    client: httpx.AsyncClient, email: str, password: str = WRONG_PASSWORD
) -> httpx.Response:
    return await client.post("/auth/login", json={"email": email, "password": password})


async def fail(client: httpx.AsyncClient, email: str, times: int) -> None:
    for _ in range(times):
        response = await login(client, email)
        assert_problem(response, 401)


class TestAccountLockout:
    async def test_the_attempt_after_the_allowance_answers_429_with_retry_after(
        self, strict_client: httpx.AsyncClient, settings: Settings
    ) -> None:
        email = unique_email()
        await fail(strict_client, email, ATTEMPTS)

        response = await login(strict_client, email)

        problem = assert_problem(response, 429)
        assert problem["type"].endswith("/too-many-requests")
        retry_after = int(response.headers["retry-after"])
        assert 1 <= retry_after <= settings.login_window_seconds + 1

    async def test_the_correct_password_during_a_lockout_is_refused_too(
        self, strict_client: httpx.AsyncClient
    ) -> None:
        email = unique_email()
        await register(strict_client, "Sales", email)
        await fail(strict_client, email, ATTEMPTS)

        response = await login(strict_client, email, PASSWORD)

        assert_problem(response, 429)
        assert "access_token" not in response.text

    async def test_parallel_guesses_cannot_outrun_the_lockout(
        self, strict_client: httpx.AsyncClient
    ) -> None:
        email = unique_email()

        responses = await asyncio.gather(
            *(login(strict_client, email) for _ in range(ATTEMPTS * 3))
        )

        statuses = sorted(response.status_code for response in responses)
        assert statuses == [401] * ATTEMPTS + [429] * (ATTEMPTS * 2)
        for response in responses:
            assert_problem(response, response.status_code)

    async def test_another_case_of_the_email_is_locked_out_as_well(
        self, strict_client: httpx.AsyncClient
    ) -> None:
        email = unique_email()
        await fail(strict_client, email, ATTEMPTS)

        response = await login(strict_client, email.upper())

        assert_problem(response, 429)

    async def test_a_lockout_leaves_other_accounts_alone(
        self, strict_client: httpx.AsyncClient
    ) -> None:
        other = unique_email()
        await register(strict_client, "Supply", other)
        await fail(strict_client, unique_email(), ATTEMPTS)

        response = await login(strict_client, other, PASSWORD)

        assert response.status_code == 200, response.text

    async def test_a_successful_login_clears_the_account_count(
        self, strict_client: httpx.AsyncClient
    ) -> None:
        email = unique_email()
        await register(strict_client, "Finance", email)
        await fail(strict_client, email, ATTEMPTS - 1)
        assert (await login(strict_client, email, PASSWORD)).status_code == 200
        await fail(strict_client, email, ATTEMPTS - 1)

        response = await login(strict_client, email, PASSWORD)

        assert response.status_code == 200, response.text


class TestLoginThrottle:
    """The counters themselves, without HTTP or password hashing."""

    async def test_an_address_is_allowed_more_failures_than_an_account(self) -> None:
        throttle = LoginThrottle(attempts=1, window_seconds=60)
        for _ in range(ADDRESS_ALLOWANCE_FACTOR):
            await throttle.record_failure("10.0.0.1")

        from_same_address = await throttle.admit("fresh-account", "10.0.0.1")
        from_elsewhere = await throttle.admit("fresh-account", "10.0.0.2")

        assert from_same_address is not None
        assert from_elsewhere is None

    async def test_an_address_below_its_allowance_is_not_blocked(self) -> None:
        throttle = LoginThrottle(attempts=1, window_seconds=60)
        for _ in range(ADDRESS_ALLOWANCE_FACTOR - 1):
            await throttle.record_failure("10.0.0.1")

        wait = await throttle.admit("fresh-account", "10.0.0.1")

        assert wait is None

    async def test_a_success_clears_the_account_but_not_the_address(self) -> None:
        throttle = LoginThrottle(attempts=1, window_seconds=60)
        assert await throttle.admit("account-0", "10.0.0.9") is None
        for _ in range(ADDRESS_ALLOWANCE_FACTOR):
            await throttle.record_failure("10.0.0.1")

        await throttle.record_success("account-0")

        assert await throttle.admit("account-0", "10.0.0.2") is None
        assert await throttle.admit("account-1", "10.0.0.1") is not None

    async def test_each_admitted_attempt_takes_a_slot_of_the_account(self) -> None:
        throttle = LoginThrottle(attempts=2, window_seconds=60)

        answers = [await throttle.admit("account", f"10.0.0.{n}") for n in range(3)]

        assert answers[:2] == [None, None]
        assert answers[2] is not None

    async def test_the_wait_never_exceeds_the_window(self) -> None:
        throttle = LoginThrottle(attempts=2, window_seconds=30)
        await throttle.admit("account", "10.0.0.1")
        await throttle.admit("account", "10.0.0.1")

        wait = await throttle.admit("account", "10.0.0.9")

        assert wait is not None
        assert 1 <= wait <= 31
