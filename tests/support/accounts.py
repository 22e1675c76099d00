"""Builders for accounts with sessions, admins and invites, and for changing them."""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from aetherflow_gateway.auth.invites import create_invite
from aetherflow_gateway.auth.models import RefreshToken, Role, User
from aetherflow_gateway.db.scoping import SYSTEM
from tests.support.builders import PASSWORD, unique_email
from tests.support.running import services_of


@dataclass(frozen=True)
class Session:
    email: str
    department: str
    user_id: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def log_in(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post("/auth/login", json={"email": email, "password": PASSWORD})


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/auth/refresh", json={"refresh_token": token})


async def session(
    client: httpx.AsyncClient, department: str, invite_code: str | None = None
) -> Session:
    """A registered user of `department` (by invite when given), logged in."""
    email = unique_email(department.lower())
    body: dict[str, Any] = {"email": email, "password": PASSWORD}
    body |= {"invite_code": invite_code} if invite_code else {"department": department}
    registered = await client.post("/auth/register", json=body)
    assert registered.status_code == 201, registered.text

    tokens = await log_in(client, email)
    assert tokens.status_code == 200, tokens.text
    return Session(
        email=email,
        department=department,
        user_id=registered.json()["id"],
        access_token=tokens.json()["access_token"],
        refresh_token=tokens.json()["refresh_token"],
    )


async def invite_code(
    app: FastAPI, department: str, role: Role = "member", hours: float = 1
) -> str:
    """An invite created as the CLI does, with no admin behind it."""
    database = services_of(app).database
    issued = await create_invite(database, department, role, timedelta(hours=hours))
    return issued.code


async def admin_session(
    app: FastAPI, client: httpx.AsyncClient, department: str
) -> Session:
    code = await invite_code(app, department, role="admin")
    return await session(client, department, invite_code=code)


async def change_user(app: FastAPI, user_id: str, **values: Any) -> None:
    """Change an account behind the API's back, as an operator's SQL would."""
    async with services_of(app).database.transaction(SYSTEM) as db:
        await db.execute(
            update(User).where(User.id == uuid.UUID(user_id)).values(**values)
        )


async def change_refresh_tokens(app: FastAPI, user_id: str, **values: Any) -> None:
    async with services_of(app).database.transaction(SYSTEM) as db:
        await db.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == uuid.UUID(user_id))
            .values(**values)
        )
