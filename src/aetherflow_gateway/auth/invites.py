"""Invite codes: single-use, expiring tickets into one department with one role.

A department admin (`POST /auth/invites`) or an operator (`aetherflow-gateway
invite create`) creates one; only the SHA-256 hash of the code is stored, and the
code is shown once. Registering with it takes the invite's department and role,
never the caller's: a body naming another department is refused with 403 (the
invite stays usable), so a client never lands silently somewhere it did not ask.
"""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aetherflow_gateway.auth.models import Invite, Role
from aetherflow_gateway.core.errors import Forbidden
from aetherflow_gateway.db.base import utcnow
from aetherflow_gateway.db.database import Database
from aetherflow_gateway.db.scoping import department_scope

logger = structlog.get_logger(__name__)

CODE_PREFIX = "afi_"


@dataclass(frozen=True)
class IssuedInvite:
    code: str
    department: str
    role: Role
    expires_at: datetime


class InvalidInvite(Forbidden):
    def __init__(self) -> None:
        super().__init__("The invite code is unknown, used or expired.")


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def create_invite(
    database: Database,
    department: str,
    role: Role,
    ttl: timedelta,
    created_by: uuid.UUID | None = None,
) -> IssuedInvite:
    code = CODE_PREFIX + secrets.token_urlsafe(24)
    invite = Invite(
        code_hash=hash_code(code),
        department=department,
        role=role,
        created_by=created_by,
        expires_at=utcnow() + ttl,
    )
    async with database.transaction(department_scope(department)) as session:
        session.add(invite)

    logger.info(
        "invite.created",
        invite_id=str(invite.id),
        department=department,
        role=role,
        created_by=str(created_by) if created_by else None,
    )
    return IssuedInvite(code, department, role, invite.expires_at)


async def find_usable(session: AsyncSession, code: str) -> Invite:
    """The unused, unexpired invite `code` names, or 403."""
    statement = select(Invite).where(Invite.code_hash == hash_code(code))
    invite = (await session.execute(statement)).scalar_one_or_none()
    if invite is None or invite.used_at is not None or invite.expires_at <= utcnow():
        raise InvalidInvite()
    return invite


async def redeem(session: AsyncSession, invite: Invite, user_id: uuid.UUID) -> None:
    """Mark `invite` used by `user_id`, unless a concurrent registration did first."""
    claimed = await session.execute(
        update(Invite)
        .where(Invite.id == invite.id, Invite.used_at.is_(None))
        .values(used_at=utcnow(), used_by=user_id)
        .returning(Invite.id)
    )
    if claimed.scalar_one_or_none() is None:
        raise InvalidInvite()
