"""Refresh tokens: rotation, theft detection, logout, and accounts that change."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from fastapi import FastAPI

from aetherflow_gateway.core.settings import Settings
from tests.support.accounts import (
    change_refresh_tokens,
    change_user,
    log_in,
    refresh,
    session,
)
from tests.support.problems import assert_problem

PROTECTED = "/jobs"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class TestRotation:
    async def test_a_refresh_token_buys_a_new_pair_that_works(
        self, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        user = await session(client, "Sales")

        response = await refresh(client, user.refresh_token)

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["refresh_token"] != user.refresh_token
        assert body["access_token"] != user.access_token
        assert body["expires_in"] == settings.access_token_ttl_seconds
        assert body["refresh_expires_in"] == settings.refresh_token_ttl_seconds
        jobs = await client.get(PROTECTED, headers=bearer(body["access_token"]))
        assert jobs.status_code == 200, jobs.text

    async def test_the_new_refresh_token_can_be_exchanged_in_turn(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await session(client, "Supply")
        second = (await refresh(client, user.refresh_token)).json()["refresh_token"]

        third = await refresh(client, second)

        assert third.status_code == 200, third.text

    async def test_an_unknown_refresh_token_is_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await refresh(client, "afr_made-up-value")

        problem = assert_problem(response, 401)
        assert problem["type"].endswith("/invalid-credentials")

    async def test_an_expired_refresh_token_is_refused(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        user = await session(client, "Finance")
        past = datetime.now(UTC) - timedelta(seconds=1)
        await change_refresh_tokens(app, user.user_id, expires_at=past)

        response = await refresh(client, user.refresh_token)

        assert_problem(response, 401)


class TestReuse:
    async def test_reusing_a_retired_token_is_refused_and_revokes_its_family(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await session(client, "Sales")
        newer = (await refresh(client, user.refresh_token)).json()["refresh_token"]

        replayed = await refresh(client, user.refresh_token)
        after_theft = await refresh(client, newer)

        assert_problem(replayed, 401)
        assert_problem(after_theft, 401)

    async def test_two_parallel_exchanges_of_one_token_cannot_both_succeed(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await session(client, "Finance")

        responses = await asyncio.gather(
            refresh(client, user.refresh_token), refresh(client, user.refresh_token)
        )

        statuses = sorted(response.status_code for response in responses)
        assert statuses == [200, 401]
        [winner] = [response for response in responses if response.status_code == 200]
        assert_problem(await refresh(client, winner.json()["refresh_token"]), 401)

    async def test_reuse_leaves_other_sessions_of_the_user_alone(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await session(client, "Sales")
        other_device = (await log_in(client, user.email)).json()["refresh_token"]
        await refresh(client, user.refresh_token)

        await refresh(client, user.refresh_token)
        response = await refresh(client, other_device)

        assert response.status_code == 200, response.text

    async def test_reuse_is_logged_as_an_event_with_the_family(
        self, client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
    ) -> None:
        user = await session(client, "Supply")
        await refresh(client, user.refresh_token)
        capsys.readouterr()

        await refresh(client, user.refresh_token)

        logged = capsys.readouterr()
        output = logged.out + logged.err
        assert "auth.refresh_reused" in output
        assert user.user_id in output
        assert user.refresh_token not in output


class TestTokenKinds:
    async def test_an_access_token_is_refused_at_the_refresh_endpoint(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await session(client, "Finance")

        response = await refresh(client, user.access_token)

        assert_problem(response, 401)

    async def test_a_refresh_token_is_refused_as_a_bearer_token(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await session(client, "Finance")

        response = await client.get(PROTECTED, headers=bearer(user.refresh_token))

        problem = assert_problem(response, 401)
        assert problem["type"].endswith("/unauthenticated")

    async def test_an_access_token_is_not_a_jwt_anyone_could_mistake_for_another(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await session(client, "Sales")

        header = jwt.get_unverified_header(user.access_token)
        claims = jwt.decode(user.access_token, options={"verify_signature": False})

        assert header["typ"] == "at+jwt"
        assert claims["token_use"] == "access"


class TestLogout:
    async def test_logout_revokes_every_session_of_the_caller(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await session(client, "Sales")
        other_device = (await log_in(client, user.email)).json()["refresh_token"]

        response = await client.post("/auth/logout", headers=user.headers)

        assert response.status_code == 204, response.text
        assert_problem(await refresh(client, user.refresh_token), 401)
        assert_problem(await refresh(client, other_device), 401)

    async def test_logout_with_a_refresh_token_ends_only_that_session(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await session(client, "Supply")
        other_device = (await log_in(client, user.email)).json()["refresh_token"]

        response = await client.post(
            "/auth/logout",
            json={"refresh_token": user.refresh_token},
            headers=user.headers,
        )

        assert response.status_code == 204, response.text
        assert_problem(await refresh(client, user.refresh_token), 401)
        assert (await refresh(client, other_device)).status_code == 200

    async def test_logout_cannot_end_another_users_session(
        self, client: httpx.AsyncClient
    ) -> None:
        victim = await session(client, "Sales")
        attacker = await session(client, "Sales")

        await client.post(
            "/auth/logout",
            json={"refresh_token": victim.refresh_token},
            headers=attacker.headers,
        )

        assert (await refresh(client, victim.refresh_token)).status_code == 200

    async def test_logout_needs_a_bearer_token(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/auth/logout")

        assert_problem(response, 401)

    async def test_logout_refuses_fields_it_does_not_know(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await session(client, "Finance")

        response = await client.post(
            "/auth/logout", json={"user_id": user.user_id}, headers=user.headers
        )

        assert_problem(response, 422)


class TestAccountChanges:
    async def test_a_deactivated_user_cannot_refresh(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        user = await session(client, "Sales")
        await change_user(app, user.user_id, is_active=False)

        response = await refresh(client, user.refresh_token)

        assert_problem(response, 401)

    async def test_a_deactivated_user_cannot_log_in_and_is_told_nothing_more(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        user = await session(client, "Sales")
        await change_user(app, user.user_id, is_active=False)

        response = await log_in(client, user.email)

        problem = assert_problem(response, 401)
        assert problem["type"].endswith("/invalid-credentials")

    async def test_a_user_moved_to_another_department_cannot_refresh(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        user = await session(client, "Sales")
        await change_user(app, user.user_id, department="Finance")

        response = await refresh(client, user.refresh_token)

        assert_problem(response, 401)

    async def test_a_moved_user_logging_in_again_acts_in_the_new_department(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        user = await session(client, "Sales")
        await change_user(app, user.user_id, department="Finance")

        token = (await log_in(client, user.email)).json()["access_token"]

        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["department"] == "Finance"
