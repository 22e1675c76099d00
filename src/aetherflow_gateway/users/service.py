"""Account administration, always inside the admin's own department.

Whether the caller is an admin is read from the database on every such request,
not from the token, so a demotion or a deactivation takes effect at once here.
An account of another department is not found (404), as every object is.
"""

import uuid

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aetherflow_gateway.audit.service import Outcome, SecurityEvent, record
from aetherflow_gateway.auth.models import User
from aetherflow_gateway.auth.refresh import revoke_user_families
from aetherflow_gateway.auth.tokens import Caller
from aetherflow_gateway.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unauthenticated,
)
from aetherflow_gateway.db.database import Database
from aetherflow_gateway.db.pagination import newest_first, page_of
from aetherflow_gateway.db.scoping import department_scope
from aetherflow_gateway.users.schemas import UserChange

logger = structlog.get_logger(__name__)


async def require_admin(database: Database, caller: Caller) -> None:
    async with database.transaction(department_scope(caller.department)) as session:
        user = await _find(session, caller.user_id)

    # Moved to another department, the account is not found in this one.
    if user is None or not user.is_active:
        raise Unauthenticated("Your account is no longer active in this department.")
    if user.role != "admin":
        raise Forbidden("Only an admin of your department may do this.")


async def list_accounts(
    database: Database, admin: Caller, cursor: str | None, limit: int
) -> tuple[list[User], str | None]:
    statement = newest_first(select(User), User.created_at, User.id, cursor, limit)
    async with database.transaction(department_scope(admin.department)) as session:
        users = list((await session.execute(statement)).scalars())

    return page_of(users, limit)


async def change_account(
    database: Database, admin: Caller, user_id: uuid.UUID, change: UserChange
) -> User:
    if user_id == admin.user_id:
        raise Conflict("An admin cannot change their own role or status.")

    async with database.transaction(department_scope(admin.department)) as session:
        user = await _find(session, user_id)
        if user is None:
            raise NotFound("No such user in your department.")
        previous_role = user.role
        await _apply(session, user, change)

    await _report(database, admin, user, previous_role, change)
    return user


async def _apply(session: AsyncSession, user: User, change: UserChange) -> None:
    if change.role is not None:
        user.role = change.role
    if change.is_active is not None:
        user.is_active = change.is_active
    # Reactivating an account must not bring its old sessions back.
    if change.is_active is False:
        await revoke_user_families(session, user.id)


async def _report(
    database: Database,
    admin: Caller,
    user: User,
    previous_role: str,
    change: UserChange,
) -> None:
    target = {"user_id": str(user.id)}
    if change.is_active is not None:
        event = (
            SecurityEvent.USER_REACTIVATED
            if change.is_active
            else SecurityEvent.USER_DEACTIVATED
        )
        logger.info(event.value, user_id=str(user.id), by=str(admin.user_id))
        await record(
            database,
            event,
            Outcome.SUCCESS,
            actor_id=admin.user_id,
            department=admin.department,
            details=target,
        )
    if change.role is None or change.role == previous_role:
        return

    logger.info("user.role_changed", user_id=str(user.id), role=user.role)
    await record(
        database,
        SecurityEvent.ROLE_CHANGED,
        Outcome.SUCCESS,
        actor_id=admin.user_id,
        department=admin.department,
        details={**target, "from": previous_role, "to": user.role},
    )


async def _find(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    statement = select(User).where(User.id == user_id)
    return (await session.execute(statement)).scalar_one_or_none()
