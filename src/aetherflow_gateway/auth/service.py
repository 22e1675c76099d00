"""Registration, login and logout.

Registration and login run in the `SYSTEM` scope: a login must find the account
before anyone knows its department, registration checks the email across every
department, and an invite names its department only once it is read.
"""

import unicodedata
from datetime import timedelta

import structlog
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from aetherflow_gateway.audit.service import Outcome, SecurityEvent, record
from aetherflow_gateway.auth import invites, refresh
from aetherflow_gateway.auth.models import Invite, User
from aetherflow_gateway.auth.passwords import hash_password, verify_password
from aetherflow_gateway.auth.schemas import InviteRequest, LoginRequest, RegisterRequest
from aetherflow_gateway.auth.tokens import Caller
from aetherflow_gateway.core.errors import (
    Conflict,
    Forbidden,
    InvalidCredentials,
    TooManyRequests,
    Unprocessable,
)
from aetherflow_gateway.core.services import Services
from aetherflow_gateway.db.scoping import SYSTEM

logger = structlog.get_logger(__name__)


async def register(services: Services, request: RegisterRequest) -> User:
    _check_registration_mode(services, request)
    department = _requested_department(services, request)

    password_hash = await hash_password(request.password)
    # Stored in lower case so that every backend compares emails alike: SQLite's
    # lower() folds only ASCII, so a mixed-case non-ASCII address would neither
    # log in nor collide with its lower-case twin.
    user = User(email=request.email.lower(), password_hash=password_hash)
    try:
        async with services.database.transaction(SYSTEM) as session:
            invite = await _place(services, session, user, request, department)
    except IntegrityError as exc:
        await record(
            services.database,
            SecurityEvent.REGISTRATION_REFUSED,
            Outcome.FAILURE,
            department=department,
            details={"reason": "email_taken"},
        )
        raise Conflict("An account with this email already exists.") from exc

    await _report_registration(services, user, invite)
    return user


def _check_registration_mode(services: Services, request: RegisterRequest) -> None:
    mode = services.settings.registration_mode
    if mode == "closed":
        raise Forbidden("Registration is closed; ask an administrator for an account.")
    if mode == "invite" and request.invite_code is None:
        raise Forbidden("Registration needs an invite code.")


def _requested_department(services: Services, request: RegisterRequest) -> str | None:
    if request.department is None:
        return None
    department = services.settings.canonical_department(request.department)
    if department is None:
        known = ", ".join(services.settings.departments)
        raise Unprocessable(f"Unknown department; expected one of: {known}.")
    return department


async def _place(
    services: Services,
    session: AsyncSession,
    user: User,
    request: RegisterRequest,
    department: str | None,
) -> Invite | None:
    """Give `user` a department and role, from the invite when there is one."""
    if request.invite_code is None:
        assert department is not None
        user.department, user.role = department, "member"
        session.add(user)
        return None

    invite = await invites.find_usable(session, request.invite_code)
    if department is not None and department != invite.department:
        raise Forbidden("The invite is for another department.")
    user.department, user.role = invite.department, invite.role
    session.add(user)
    await session.flush()
    await invites.redeem(session, invite, user.id)
    return invite


async def _report_registration(
    services: Services, user: User, invite: Invite | None
) -> None:
    logger.info(
        "user.registered",
        user_id=str(user.id),
        department=user.department,
        role=user.role,
        invite_id=str(invite.id) if invite else None,
    )
    await record(
        services.database,
        SecurityEvent.USER_REGISTERED,
        Outcome.SUCCESS,
        actor_id=user.id,
        department=user.department,
    )
    if invite is not None:
        await record(
            services.database,
            SecurityEvent.INVITE_USED,
            Outcome.SUCCESS,
            actor_id=user.id,
            department=user.department,
            details={"invite_id": str(invite.id), "role": user.role},
        )


async def login(
    services: Services, request: LoginRequest, address: str
) -> refresh.TokenPair:
    # As at registration, where the email validator composes Unicode (NFC) and we
    # lower() it; casefold() would turn "ß" into "ss", another address.
    account = unicodedata.normalize("NFC", request.email.strip()).lower()
    throttle = services.login_throttle
    wait = await throttle.admit(account, address)
    if wait is not None:
        logger.warning("login.throttled", retry_after=wait)
        await record(
            services.database,
            SecurityEvent.LOGIN_THROTTLED,
            Outcome.DENIED,
            details={"retry_after_seconds": wait},
        )
        raise TooManyRequests("Too many failed logins; try again later.", wait)

    user = await _find_by_email(services, account)
    verified = await verify_password(
        user.password_hash if user else None, request.password
    )
    # A deactivated account answers exactly like a wrong password.
    if user is None or not verified or not user.is_active:
        await throttle.record_failure(address)
        logger.info("login.failed")
        await record(
            services.database,
            SecurityEvent.LOGIN_FAILED,
            Outcome.FAILURE,
            actor_id=user.id if user else None,
            department=user.department if user else None,
        )
        raise InvalidCredentials("The email or password is incorrect.")

    await throttle.record_success(account)
    logger.info("login.succeeded", user_id=str(user.id), department=user.department)
    await record(
        services.database,
        SecurityEvent.LOGIN_SUCCEEDED,
        Outcome.SUCCESS,
        actor_id=user.id,
        department=user.department,
    )
    return await refresh.start_family(services, user)


async def logout(services: Services, caller: Caller, refresh_token: str | None) -> None:
    revoked = await refresh.revoke_for(services, caller, refresh_token)

    logger.info("user.logged_out", user_id=str(caller.user_id), revoked=revoked)
    await record(
        services.database,
        SecurityEvent.LOGOUT,
        Outcome.SUCCESS,
        actor_id=caller.user_id,
        department=caller.department,
        details={"revoked_tokens": revoked, "all_sessions": refresh_token is None},
    )


async def invite(
    services: Services, admin: Caller, request: InviteRequest
) -> invites.IssuedInvite:
    hours = request.ttl_hours or services.settings.invite_ttl_hours
    return await invites.create_invite(
        services.database,
        admin.department,
        request.role,
        timedelta(hours=hours),
        created_by=admin.user_id,
    )


async def _find_by_email(services: Services, account: str) -> User | None:
    async with services.database.transaction(SYSTEM) as session:
        statement = select(User).where(func.lower(User.email) == account)
        return (await session.execute(statement)).scalar_one_or_none()
