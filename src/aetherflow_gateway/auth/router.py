from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from aetherflow_gateway.auth import refresh, service
from aetherflow_gateway.auth.dependencies import (
    ADMIN_ONLY,
    UNAUTHENTICATED,
    CurrentAdmin,
    CurrentUser,
)
from aetherflow_gateway.auth.schemas import (
    InviteOut,
    InviteRequest,
    JwksOut,
    LoginRequest,
    LogoutRequest,
    RefreshRequest,
    RegisterRequest,
    TokenOut,
    UserOut,
)
from aetherflow_gateway.core.dependencies import ServicesDep
from aetherflow_gateway.core.errors import (
    InvalidRequest,
    problem_schema,
)

router = APIRouter(prefix="/auth", tags=["auth"])
jwks_router = APIRouter(tags=["auth"])

_LOGIN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/LoginRequest"}
            },
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {
                        "username": {"type": "string", "description": "the email"},
                        "password": {"type": "string", "format": "password"},
                    },
                }
            },
        },
    }
}


async def login_credentials(request: Request) -> LoginRequest:
    """The credentials, from a JSON body or from the OAuth2 password form."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        form = await request.form(max_files=0, max_fields=8)
        raw = {"email": form.get("username"), "password": form.get("password")}
    elif content_type.startswith("application/json"):
        try:
            raw = await request.json()
        except ValueError as exc:
            raise InvalidRequest("The body is not valid JSON.") from exc
    else:
        raise InvalidRequest("Send JSON or an OAuth2 password form.")

    try:
        return LoginRequest.model_validate(raw)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from exc


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    responses={
        403: problem_schema("Registration closed, or the invite is missing or bad"),
        409: problem_schema("The email is already registered"),
        422: problem_schema("Bad email, weak password or unknown department"),
    },
)
async def register(body: RegisterRequest, services: ServicesDep) -> UserOut:
    """Register a user, in the invite's department or (when open) the one named."""
    user = await service.register(services, body)
    return UserOut.model_validate(user)


@router.post(
    "/login",
    openapi_extra=_LOGIN_BODY,
    responses={
        401: problem_schema("Unknown email or wrong password"),
        422: problem_schema("Missing fields"),
        429: problem_schema("Too many failed logins"),
        503: problem_schema("The login throttle's store is unavailable"),
    },
)
async def login(
    credentials: Annotated[LoginRequest, Depends(login_credentials)],
    request: Request,
    services: ServicesDep,
) -> TokenOut:
    """Exchange an email and password for an access token and a refresh token."""
    address = request.client.host if request.client else "unknown"
    return _token_out(await service.login(services, credentials, address))


@router.post(
    "/refresh",
    responses={
        401: problem_schema("Unknown, used, revoked or expired refresh token"),
        422: problem_schema("Missing refresh_token"),
    },
)
async def refresh_tokens(body: RefreshRequest, services: ServicesDep) -> TokenOut:
    """Exchange a refresh token for a new pair; the one presented is retired."""
    return _token_out(await refresh.exchange(services, body.refresh_token))


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={**UNAUTHENTICATED, 422: problem_schema("Malformed body")},
)
async def logout(
    caller: CurrentUser,
    services: ServicesDep,
    body: Annotated[LogoutRequest | None, Body()] = None,
) -> None:
    """End your sessions: the refresh token's family, or all of them without one."""
    presented = body.refresh_token if body else None
    await service.logout(services, caller, presented)


@router.post(
    "/invites",
    status_code=status.HTTP_201_CREATED,
    responses={**ADMIN_ONLY, 422: problem_schema("Unknown role or bad lifetime")},
)
async def create_invite(
    body: InviteRequest, admin: CurrentAdmin, services: ServicesDep
) -> InviteOut:
    """Create a single-use invite into your department (admins only)."""
    issued = await service.invite(services, admin, body)
    return InviteOut(
        code=issued.code,
        department=issued.department,
        role=issued.role,
        expires_at=issued.expires_at,
    )


@jwks_router.get("/.well-known/jwks.json")
async def jwks(services: ServicesDep) -> JwksOut:
    """The public keys that verify access tokens (empty when HS256 signs them)."""
    return JwksOut(keys=services.tokens.keys.public_jwks())


def _token_out(pair: refresh.TokenPair) -> TokenOut:
    return TokenOut(
        access_token=pair.access.value,
        expires_in=pair.access.expires_in,
        refresh_token=pair.refresh_token,
        refresh_expires_in=pair.refresh_expires_in,
    )
