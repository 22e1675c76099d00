"""Registration modes and invite codes: the invite, never the caller, decides."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from aetherflow_gateway.auth.models import Invite
from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.db.scoping import SYSTEM
from tests.support.accounts import admin_session, invite_code, session
from tests.support.builders import PASSWORD, unique_email
from tests.support.problems import assert_problem
from tests.support.running import client_for, running_app, services_of


async def register(client: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    body = {"email": unique_email(), "password": PASSWORD, **fields}
    return await client.post("/auth/register", json=body)


@pytest.fixture
async def invite_only(settings: Settings) -> AsyncIterator[FastAPI]:
    async with running_app(
        settings.model_copy(update={"registration": "invite"})
    ) as app:
        yield app


@pytest.fixture
async def invite_client(invite_only: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(invite_only) as client:
        yield client


class TestInviteCodes:
    async def test_the_invite_gives_its_department_and_role(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        code = await invite_code(app, "Finance", role="admin")

        response = await register(client, invite_code=code)

        assert response.status_code == 201, response.text
        assert response.json()["department"] == "Finance"

    async def test_an_admin_invite_makes_an_admin(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        code = await invite_code(app, "Supply", role="admin")
        admin = await session(client, "Supply", invite_code=code)

        response = await client.post("/auth/invites", json={}, headers=admin.headers)

        assert response.status_code == 201, response.text

    async def test_a_body_naming_another_department_is_refused_and_the_invite_kept(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        code = await invite_code(app, "Finance")

        refused = await register(client, invite_code=code, department="Sales")
        accepted = await register(client, invite_code=code, department="finance")

        assert_problem(refused, 403)
        assert accepted.status_code == 201, accepted.text
        assert accepted.json()["department"] == "Finance"

    async def test_an_invite_is_single_use(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        code = await invite_code(app, "Sales")
        assert (await register(client, invite_code=code)).status_code == 201

        response = await register(client, invite_code=code)

        assert_problem(response, 403)

    async def test_parallel_registrations_cannot_share_one_invite(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        code = await invite_code(app, "Supply")

        responses = await asyncio.gather(
            register(client, invite_code=code), register(client, invite_code=code)
        )

        assert sorted(response.status_code for response in responses) == [201, 403]

    async def test_an_expired_or_unknown_invite_is_refused(
        self, app: FastAPI, client: httpx.AsyncClient, subtests: pytest.Subtests
    ) -> None:
        codes = {
            "expired": await invite_code(app, "Sales", hours=-1),
            "unknown": "afi_not-a-code-we-issued",
        }
        for case, code in codes.items():
            with subtests.test(case):
                response = await register(client, invite_code=code)

                problem = assert_problem(response, 403)
                assert code not in response.text
                assert (
                    problem["detail"] == "The invite code is unknown, used or expired."
                )

    async def test_only_a_hash_of_the_code_is_stored(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        code = await invite_code(app, "Sales")

        async with services_of(app).database.transaction(SYSTEM) as db:
            rows = (await db.execute(select(Invite))).scalars().all()

        stored = [str(value) for row in rows for value in vars(row).values()]
        assert not [value for value in stored if code in value]


class TestRegistrationModes:
    async def test_invite_mode_refuses_a_registration_without_an_invite(
        self, invite_client: httpx.AsyncClient
    ) -> None:
        response = await register(invite_client, department="Sales")

        assert_problem(response, 403)

    async def test_invite_mode_accepts_a_registration_with_an_invite(
        self, invite_only: FastAPI, invite_client: httpx.AsyncClient
    ) -> None:
        code = await invite_code(invite_only, "Supply")

        response = await register(invite_client, invite_code=code)

        assert response.status_code == 201, response.text
        assert response.json()["department"] == "Supply"

    async def test_closed_mode_refuses_every_registration(
        self, settings: Settings
    ) -> None:
        closed = settings.model_copy(update={"registration": "closed"})
        async with running_app(closed) as app, client_for(app) as client:
            code = await invite_code(app, "Sales")

            plain = await register(client, department="Sales")
            invited = await register(client, invite_code=code)

        assert_problem(plain, 403)
        assert_problem(invited, 403)


class TestInviteEndpoint:
    async def test_an_admin_invites_into_their_own_department(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        admin = await admin_session(app, client, "Finance")

        response = await client.post(
            "/auth/invites",
            json={"role": "member", "ttl_hours": 2},
            headers=admin.headers,
        )

        assert response.status_code == 201, response.text
        invite = response.json()
        assert invite["department"] == "Finance"
        assert invite["role"] == "member"
        joined = await register(client, invite_code=invite["code"])
        assert joined.json()["department"] == "Finance"

    async def test_a_member_may_not_invite(self, client: httpx.AsyncClient) -> None:
        member = await session(client, "Sales")

        response = await client.post("/auth/invites", json={}, headers=member.headers)

        assert_problem(response, 403)

    async def test_an_invite_without_a_token_is_unauthenticated(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post("/auth/invites", json={})

        assert_problem(response, 401)

    async def test_the_invite_body_cannot_choose_a_department_or_anything_else(
        self, app: FastAPI, client: httpx.AsyncClient, subtests: pytest.Subtests
    ) -> None:
        admin = await admin_session(app, client, "Sales")
        bodies: dict[str, dict[str, Any]] = {
            "department": {"department": "Finance"},
            "is_admin": {"is_admin": True},
            "unknown role": {"role": "owner"},
            "lifetime too long": {"ttl_hours": 10_000},
        }
        for case, body in bodies.items():
            with subtests.test(case):
                response = await client.post(
                    "/auth/invites", json=body, headers=admin.headers
                )

                assert_problem(response, 422)
