from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from aetherflow_gateway.auth import service
from aetherflow_gateway.auth.schemas import (
    LoginRequest,
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
        409: problem_schema("The email is already registered"),
        422: problem_schema("Bad email, weak password or unknown department"),
    },
)
async def register(body: RegisterRequest, services: ServicesDep) -> UserOut:
    """Register a user in a department."""
    user = await service.register(services, body)
    return UserOut.model_validate(user)


@router.post(
    "/login",
    openapi_extra=_LOGIN_BODY,
    responses={
        401: problem_schema("Unknown email or wrong password"),
        422: problem_schema("Missing fields"),
        429: problem_schema("Too many failed logins"),
    },
)
async def login(
    credentials: Annotated[LoginRequest, Depends(login_credentials)],
    request: Request,
    services: ServicesDep,
) -> TokenOut:
    """Exchange an email and password for an access token."""
    address = request.client.host if request.client else "unknown"
    token = await service.login(services, credentials, address)
    return TokenOut(access_token=token.value, expires_in=token.expires_in)
