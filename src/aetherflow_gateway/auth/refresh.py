"""Refresh tokens: opaque, single-use, rotated on every exchange.

A login starts a *family*. Each exchange retires the presented token (`used_at`,
`replaced_by`) and issues its successor in the same family, with a fresh access
token. Only a SHA-256 hash of each value is stored. A retired token presented
again means two parties hold the family (the legitimate client and a thief), and
neither can be told apart, so the whole family is revoked and both must log in.

An exchange reads the account: a deactivated user, or one moved to another
department since the family began, gets no new tokens and loses the family.
"""

import enum
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aetherflow_gateway.audit.service import Outcome, SecurityEvent, record
from aetherflow_gateway.auth.models import RefreshToken, User
from aetherflow_gateway.auth.tokens import Caller, IssuedToken
from aetherflow_gateway.core.errors import InvalidCredentials
from aetherflow_gateway.core.services import Services
from aetherflow_gateway.db.base import utcnow
from aetherflow_gateway.db.scoping import SYSTEM, department_scope

logger = structlog.get_logger(__name__)

# A recognisable prefix lets secret scanners find leaked refresh tokens.
TOKEN_PREFIX = "afr_"  # noqa: S105 - a label, not a secret


@dataclass(frozen=True)
class TokenPair:
    access: IssuedToken
    refresh_token: str
    refresh_expires_in: int


class Refusal(enum.Enum):
    UNKNOWN = "unknown"
    REVOKED = "revoked"
    EXPIRED = "expired"
    REUSED = "reused"
    ACCOUNT_CHANGED = "account_changed"


def hash_token(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


async def start_family(services: Services, user: User) -> TokenPair:
    """The first pair of a new login."""
    scope = department_scope(user.department)
    async with services.database.transaction(scope) as session:
        _, value = _add_token(services, session, user, family_id=uuid.uuid4())
    return _pair(services, user, value)


async def exchange(services: Services, presented: str) -> TokenPair:
    """Retire `presented` and issue its successor, or refuse with 401."""
    async with services.database.transaction(SYSTEM) as session:
        outcome = await _rotate(services, session, hash_token(presented))

    if isinstance(outcome, _Refused):
        await _report(services, outcome)
        raise InvalidCredentials("The refresh token is not valid.")
    user, value = outcome
    logger.info("refresh_token.rotated", user_id=str(user.id))
    return _pair(services, user, value)


async def revoke_for(services: Services, caller: Caller, presented: str | None) -> int:
    """Revoke the caller's families: all of them, or the one `presented` is of."""
    scope = department_scope(caller.department)
    async with services.database.transaction(scope) as session:
        statement = update(RefreshToken).where(
            RefreshToken.user_id == caller.user_id, RefreshToken.revoked_at.is_(None)
        )
        if presented is not None:
            family = await _family_of(session, caller, hash_token(presented))
            if family is None:
                return 0
            statement = statement.where(RefreshToken.family_id == family)

        revoked = await session.execute(
            statement.values(revoked_at=utcnow()).returning(RefreshToken.id)
        )
        return len(revoked.all())


@dataclass(frozen=True)
class _Refused:
    reason: Refusal
    token: RefreshToken | None = None


async def _rotate(
    services: Services, session: AsyncSession, token_hash: str
) -> _Refused | tuple[User, str]:
    token = await _find(session, token_hash)
    if token is None:
        return _Refused(Refusal.UNKNOWN)

    reason = _refusal(token, utcnow())
    # A twin exchange that claimed the token first is a reuse as well.
    if reason is None and not await _claim(session, token):
        reason = Refusal.REUSED
    if reason is Refusal.REUSED:
        await _revoke_family(session, token)
    if reason is not None:
        return _Refused(reason, token)
    return await _succeed(services, session, token)


async def _succeed(
    services: Services, session: AsyncSession, token: RefreshToken
) -> _Refused | tuple[User, str]:
    user = await session.get(User, token.user_id)
    if user is None or not user.is_active or user.department != token.department:
        await _revoke_family(session, token)
        return _Refused(Refusal.ACCOUNT_CHANGED, token)

    successor, value = _add_token(services, session, user, family_id=token.family_id)
    token.replaced_by = successor.id
    return user, value


def _refusal(token: RefreshToken, now: datetime) -> Refusal | None:
    if token.revoked_at is not None:
        return Refusal.REVOKED
    if token.used_at is not None:
        return Refusal.REUSED
    if token.expires_at <= now:
        return Refusal.EXPIRED
    return None


async def _find(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    statement = select(RefreshToken).where(RefreshToken.token_hash == token_hash)
    return (await session.execute(statement)).scalar_one_or_none()


async def _claim(session: AsyncSession, token: RefreshToken) -> bool:
    """Mark `token` used unless another exchange did first; atomic on any backend."""
    claimed = await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.id == token.id,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
        )
        .values(used_at=utcnow())
        .returning(RefreshToken.id)
    )
    return claimed.scalar_one_or_none() is not None


async def _revoke_family(session: AsyncSession, token: RefreshToken) -> None:
    await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.family_id == token.family_id,
            RefreshToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )


async def _family_of(
    session: AsyncSession, caller: Caller, token_hash: str
) -> uuid.UUID | None:
    statement = select(RefreshToken.family_id).where(
        RefreshToken.token_hash == token_hash, RefreshToken.user_id == caller.user_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


def _add_token(
    services: Services, session: AsyncSession, user: User, family_id: uuid.UUID
) -> tuple[RefreshToken, str]:
    value = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ttl = timedelta(seconds=services.settings.refresh_token_ttl_seconds)
    token = RefreshToken(
        id=uuid.uuid4(),
        user_id=user.id,
        family_id=family_id,
        token_hash=hash_token(value),
        department=user.department,
        expires_at=utcnow() + ttl,
    )
    session.add(token)
    return token, value


def _pair(services: Services, user: User, refresh_value: str) -> TokenPair:
    access = services.tokens.issue(Caller(user_id=user.id, department=user.department))
    ttl = services.settings.refresh_token_ttl_seconds
    return TokenPair(access=access, refresh_token=refresh_value, refresh_expires_in=ttl)


async def _report(services: Services, refused: _Refused) -> None:
    # After the transaction: the audit row is written in a transaction of its own.
    token = refused.token
    if refused.reason is not Refusal.REUSED or token is None:
        logger.info("refresh_token.refused", reason=refused.reason.value)
        return

    logger.warning(
        "auth.refresh_reused",
        user_id=str(token.user_id),
        family_id=str(token.family_id),
    )
    await record(
        services.database,
        SecurityEvent.REFRESH_REUSED,
        Outcome.DENIED,
        actor_id=token.user_id,
        department=token.department,
        details={"family_id": str(token.family_id)},
    )


async def revoke_user_families(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Revoke every live refresh token of `user_id`, in the caller's transaction."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
