"""Registration and login.

Both run in the `SYSTEM` scope: a login must find the account before anyone knows
its department, and registration checks the email across every department.
"""

import structlog
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from aetherflow_gateway.auth.models import User
from aetherflow_gateway.auth.passwords import hash_password, verify_password
from aetherflow_gateway.auth.schemas import LoginRequest, RegisterRequest
from aetherflow_gateway.auth.tokens import Caller, IssuedToken
from aetherflow_gateway.core.errors import (
    Conflict,
    InvalidCredentials,
    TooManyRequests,
    Unprocessable,
)
from aetherflow_gateway.core.services import Services
from aetherflow_gateway.db.scoping import SYSTEM

logger = structlog.get_logger(__name__)


async def register(services: Services, request: RegisterRequest) -> User:
    department = services.settings.canonical_department(request.department)
    if department is None:
        known = ", ".join(services.settings.departments)
        raise Unprocessable(f"Unknown department; expected one of: {known}.")

    password_hash = await hash_password(request.password)
    # Stored in lower case so that every backend compares emails alike: SQLite's
    # lower() folds only ASCII, so a mixed-case non-ASCII address would neither
    # log in nor collide with its lower-case twin.
    email = request.email.lower()
    user = User(email=email, password_hash=password_hash, department=department)
    try:
        async with services.database.transaction(SYSTEM) as session:
            session.add(user)
    except IntegrityError as exc:
        raise Conflict("An account with this email already exists.") from exc

    logger.info("user.registered", user_id=str(user.id), department=department)
    return user


async def login(services: Services, request: LoginRequest, address: str) -> IssuedToken:
    # lower(), as at registration; casefold() would turn "ß" into "ss", another address.
    account = request.email.strip().lower()
    throttle = services.login_throttle
    async with throttle.turn(account):
        wait = await throttle.retry_after(account, address)
        if wait is not None:
            logger.warning("login.throttled", retry_after=wait)
            raise TooManyRequests("Too many failed logins; try again later.", wait)

        user = await _find_by_email(services, account)
        if not await verify_password(
            user.password_hash if user else None, request.password
        ):
            await throttle.record_failure(account, address)
            logger.info("login.failed")
            raise InvalidCredentials("The email or password is incorrect.")

        assert user is not None
        await throttle.record_success(account)

    logger.info("login.succeeded", user_id=str(user.id), department=user.department)
    return services.tokens.issue(Caller(user_id=user.id, department=user.department))


async def _find_by_email(services: Services, account: str) -> User | None:
    async with services.database.transaction(SYSTEM) as session:
        statement = select(User).where(func.lower(User.email) == account)
        return (await session.execute(statement)).scalar_one_or_none()
