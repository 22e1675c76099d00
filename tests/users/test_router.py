"""Account administration: only an active admin of the same department may act."""

import time
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from aetherflow_gateway.core.settings import Settings
from tests.support.accounts import admin_session, log_in, refresh, session
from tests.support.problems import assert_problem


async def change(
    client: httpx.AsyncClient, headers: dict[str, str], user_id: str, **body: Any
) -> httpx.Response:
    return await client.patch(f"/users/{user_id}", json=body, headers=headers)


class TestRoleChanges:
    async def test_an_admin_promotes_a_member_of_their_department(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        admin = await admin_session(app, client, "Sales")
        member = await session(client, "Sales")

        response = await change(client, admin.headers, member.user_id, role="admin")

        assert response.status_code == 200, response.text
        assert response.json()["role"] == "admin"
        invited = await client.post("/auth/invites", json={}, headers=member.headers)
        assert invited.status_code == 201, invited.text

    async def test_a_member_may_not_change_roles(
        self, client: httpx.AsyncClient
    ) -> None:
        member = await session(client, "Sales")
        other = await session(client, "Sales")

        response = await change(client, member.headers, other.user_id, role="admin")

        assert_problem(response, 403)

    async def test_an_admin_of_another_department_finds_no_such_user(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        admin = await admin_session(app, client, "Finance")
        member = await session(client, "Sales")

        response = await change(client, admin.headers, member.user_id, role="admin")

        assert_problem(response, 404)

    async def test_an_admin_cannot_change_their_own_account(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        admin = await admin_session(app, client, "Supply")

        response = await change(client, admin.headers, admin.user_id, role="member")

        assert_problem(response, 409)

    async def test_a_demoted_admin_loses_admin_rights_at_once(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        first = await admin_session(app, client, "Sales")
        second = await admin_session(app, client, "Sales")
        await change(client, first.headers, second.user_id, role="member")

        response = await client.post("/auth/invites", json={}, headers=second.headers)

        assert_problem(response, 403)

    async def test_only_role_and_active_status_can_be_changed(
        self, app: FastAPI, client: httpx.AsyncClient, subtests: pytest.Subtests
    ) -> None:
        admin = await admin_session(app, client, "Finance")
        member = await session(client, "Finance")
        bodies: dict[str, dict[str, Any]] = {
            "department": {"department": "Sales"},
            "is_admin": {"is_admin": True},
            "id": {"id": admin.user_id},
            "email": {"email": "someone@example.com"},
            "password": {"password": "a brand new password"},
            "role with a department": {"role": "admin", "department": "Sales"},
            "unknown role": {"role": "owner"},
            "nothing at all": {},
        }
        for case, body in bodies.items():
            with subtests.test(case):
                response = await change(client, admin.headers, member.user_id, **body)

                assert_problem(response, 422)

    async def test_a_bad_user_id_is_a_client_error(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        admin = await admin_session(app, client, "Finance")

        response = await change(client, admin.headers, "not-a-uuid", role="admin")

        assert_problem(response, 422)


class TestDeactivation:
    async def test_a_deactivated_user_can_neither_refresh_nor_log_in(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        admin = await admin_session(app, client, "Sales")
        member = await session(client, "Sales")

        response = await change(client, admin.headers, member.user_id, is_active=False)

        assert response.status_code == 200, response.text
        assert response.json()["is_active"] is False
        assert_problem(await refresh(client, member.refresh_token), 401)
        assert_problem(await log_in(client, member.email), 401)

    async def test_reactivation_does_not_bring_old_sessions_back(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        admin = await admin_session(app, client, "Sales")
        member = await session(client, "Sales")
        await change(client, admin.headers, member.user_id, is_active=False)

        await change(client, admin.headers, member.user_id, is_active=True)

        assert_problem(await refresh(client, member.refresh_token), 401)
        assert (await log_in(client, member.email)).status_code == 200

    async def test_an_access_token_outlives_deactivation_by_at_most_its_lifetime(
        self, app: FastAPI, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        admin = await admin_session(app, client, "Supply")
        member = await session(client, "Supply")
        await change(client, admin.headers, member.user_id, is_active=False)

        response = await client.get("/jobs", headers=member.headers)

        # The documented bound: self-contained tokens are not looked up.
        assert response.status_code == 200
        expires = jwt.decode(member.access_token, options={"verify_signature": False})
        assert expires["exp"] <= time.time() + settings.access_token_ttl_seconds

    async def test_a_deactivated_admin_loses_admin_rights_at_once(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        first = await admin_session(app, client, "Finance")
        second = await admin_session(app, client, "Finance")
        await change(client, first.headers, second.user_id, is_active=False)

        response = await client.post("/auth/invites", json={}, headers=second.headers)

        assert_problem(response, 401)


class TestListing:
    async def test_an_admin_lists_only_their_department(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        admin = await admin_session(app, client, "Sales")
        colleague = await session(client, "Sales")
        outsider = await session(client, "Finance")

        response = await client.get("/users", headers=admin.headers)

        assert response.status_code == 200, response.text
        ids = {user["id"] for user in response.json()["items"]}
        assert {admin.user_id, colleague.user_id} <= ids
        assert outsider.user_id not in ids
        assert "password_hash" not in response.text

    async def test_a_member_may_not_list_accounts(
        self, client: httpx.AsyncClient
    ) -> None:
        member = await session(client, "Sales")

        response = await client.get("/users", headers=member.headers)

        assert_problem(response, 403)
