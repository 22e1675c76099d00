"""Security events land in the audit table, with who, where and how it ended."""

import httpx
import pytest
import structlog
from fastapi import FastAPI
from sqlalchemy import select

from aetherflow_gateway.audit import service as audit_service
from aetherflow_gateway.audit.models import AuditEvent
from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.db.scoping import SYSTEM
from tests.support.accounts import admin_session, refresh, session
from tests.support.builders import PASSWORD, account, register, unique_email
from tests.support.running import client_for, running_app, services_of


async def recorded(app: FastAPI, event: str) -> list[AuditEvent]:
    statement = (
        select(AuditEvent)
        .where(AuditEvent.event == event)
        .order_by(AuditEvent.occurred_at)
    )
    async with services_of(app).database.transaction(SYSTEM) as session:
        return list((await session.execute(statement)).scalars())


async def test_login_is_recorded_with_actor_department_request_and_address(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    analyst = await account(client, "Sales")

    [event] = await recorded(app, "login.succeeded")

    assert event.outcome == "success"
    assert str(event.actor_id) == analyst.user_id
    assert event.department == "Sales"
    assert event.request_id
    assert event.ip == "127.0.0.1"


async def test_failed_login_is_recorded_against_the_account_it_tried(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    analyst = await account(client, "Finance")

    response = await client.post(
        "/auth/login",
        json={"email": analyst.email, "password": "not the password at all"},
    )

    [event] = await recorded(app, "login.failed")
    assert event.outcome == "failure"
    assert str(event.actor_id) == analyst.user_id
    assert event.request_id == response.headers["x-request-id"]


async def test_failed_login_for_an_unknown_email_has_no_actor(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await client.post(
        "/auth/login", json={"email": unique_email(), "password": PASSWORD}
    )

    [event] = await recorded(app, "login.failed")
    assert event.actor_id is None
    assert event.department is None


async def test_registration_is_recorded(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await register(client, "Supply")

    [event] = await recorded(app, "user.registered")
    assert str(event.actor_id) == response.json()["id"]
    assert event.department == "Supply"


async def test_reaching_into_another_department_is_recorded_as_denied(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    analyst = await account(client, "Sales")

    response = await client.get("/dashboards/Finance", headers=analyst.headers)

    assert response.status_code == 403
    [event] = await recorded(app, "access.denied")
    assert event.outcome == "denied"
    assert str(event.actor_id) == analyst.user_id
    assert event.department == "Sales"
    assert event.details["route"] == "/dashboards/{department}"
    assert event.details["target"] == "/dashboards/Finance"


async def test_login_still_succeeds_when_the_audit_write_fails(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    analyst = await account(client, "Sales")
    make_row = audit_service._event_row

    def unstorable_row(*args: object) -> AuditEvent:
        row = make_row(*args)  # type: ignore[arg-type]
        row.outcome = None  # type: ignore[assignment]  # NOT NULL in the table
        return row

    monkeypatch.setattr(audit_service, "_event_row", unstorable_row)
    with structlog.testing.capture_logs() as logs:
        response = await client.post(
            "/auth/login", json={"email": analyst.email, "password": PASSWORD}
        )

    assert response.status_code == 200
    failures = [log for log in logs if log["event"] == "audit.write_failed"]
    assert [log["audit_event"] for log in failures] == ["login.succeeded"]


async def test_lockout_is_recorded_as_denied(settings: Settings) -> None:
    strict = settings.model_copy(update={"login_attempts_per_window": 1})
    async with running_app(strict) as app, client_for(app) as client:
        wrong = {"email": unique_email(), "password": "not the password at all"}
        await client.post("/auth/login", json=wrong)
        locked = await client.post("/auth/login", json=wrong)

        assert locked.status_code == 429
        [event] = await recorded(app, "login.throttled")
    assert event.outcome == "denied"
    assert event.request_id == locked.headers["x-request-id"]


async def test_refresh_reuse_is_recorded_against_its_owner(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    analyst = await session(client, "Supply")
    assert (await refresh(client, analyst.refresh_token)).status_code == 200

    reused = await refresh(client, analyst.refresh_token)

    assert reused.status_code == 401
    [event] = await recorded(app, "refresh.reused")
    assert (event.outcome, str(event.actor_id)) == ("denied", analyst.user_id)
    assert event.department == "Supply"
    assert event.details["family_id"]


async def test_logout_is_recorded(app: FastAPI, client: httpx.AsyncClient) -> None:
    analyst = await session(client, "Sales")

    response = await client.post("/auth/logout", headers=analyst.headers)

    assert response.status_code == 204
    [event] = await recorded(app, "session.logged_out")
    assert str(event.actor_id) == analyst.user_id
    assert event.details == {"revoked_tokens": 1, "all_sessions": True}


async def test_invite_use_is_recorded_with_the_invite_and_its_role(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await admin_session(app, client, "Finance")

    [event] = await recorded(app, "invite.used")
    assert str(event.actor_id) == admin.user_id
    assert event.department == "Finance"
    assert event.details["role"] == "admin"
    assert event.details["invite_id"]


async def test_role_and_status_changes_are_recorded_with_the_admin_as_actor(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await admin_session(app, client, "Sales")
    member = await session(client, "Sales")

    response = await client.patch(
        f"/users/{member.user_id}",
        json={"role": "admin", "is_active": False},
        headers=admin.headers,
    )

    assert response.status_code == 200, response.text
    [role_change] = await recorded(app, "role.changed")
    [deactivation] = await recorded(app, "user.deactivated")
    for event in (role_change, deactivation):
        assert str(event.actor_id) == admin.user_id
        assert event.details["user_id"] == member.user_id
    assert (role_change.details["from"], role_change.details["to"]) == (
        "member",
        "admin",
    )
