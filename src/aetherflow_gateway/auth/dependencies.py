"""The RBAC entry point: a bearer token becomes the `Caller` every handler receives.

Handlers that take `CurrentUser` cannot run without a valid token, and pass the
caller on to services, which open their transaction in the caller's department
(see `aetherflow_gateway.db.scoping`). `CurrentAdmin` also requires the account,
read from the database at that moment, to be an active admin of that department.
"""

from typing import Annotated, Any

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from aetherflow_gateway.auth.tokens import Caller, InvalidToken
from aetherflow_gateway.core.dependencies import ServicesDep
from aetherflow_gateway.core.errors import Forbidden, Unauthenticated, problem_schema
from aetherflow_gateway.core.request_context import current_request
from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.users.service import require_admin

bearer_scheme = OAuth2PasswordBearer(tokenUrl="/auth/login", auto_error=False)


def get_caller(
    services: ServicesDep, token: Annotated[str | None, Depends(bearer_scheme)]
) -> Caller:
    if not token:
        raise Unauthenticated("A bearer token is required.")
    try:
        caller = services.tokens.verify(token)
    except InvalidToken as exc:
        raise Unauthenticated(str(exc)) from exc

    context = current_request()
    if context is not None:
        context.user_id = str(caller.user_id)
        context.department = caller.department
    return caller


CurrentUser = Annotated[Caller, Depends(get_caller)]


async def get_admin(caller: CurrentUser, services: ServicesDep) -> Caller:
    await require_admin(services.database, caller)
    return caller


CurrentAdmin = Annotated[Caller, Depends(get_admin)]
UNAUTHENTICATED: dict[int | str, dict[str, Any]] = {
    401: problem_schema("Missing, invalid or expired token")
}
ADMIN_ONLY: dict[int | str, dict[str, Any]] = {
    **UNAUTHENTICATED,
    403: problem_schema("Not an admin of your department"),
}


def require_own_department(
    caller: Caller, requested: str | None, settings: Settings
) -> str:
    """The caller's department, refusing any other that the request names."""
    if requested is None:
        return caller.department
    if settings.canonical_department(requested) != caller.department:
        raise Forbidden("You may only act on your own department.")
    return caller.department
