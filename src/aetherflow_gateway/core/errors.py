"""Problem responses (RFC 9457) and the errors that produce them.

Every failure the gateway reports is a `ProblemError` subclass carrying its status,
problem type and title; `register_error_handlers` is the one place that turns them,
FastAPI's validation errors, unknown routes and dependency failures into
`application/problem+json` bodies with the request id.
"""

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from aetherflow_gateway.core.request_context import current_request_id

logger = structlog.get_logger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://aetherflow.dev/problems/"
PROBLEM_SCHEMA_REF = "#/components/schemas/Problem"


class ProblemError(Exception):
    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = dict(headers or {})


class InvalidRequest(ProblemError):
    status, slug, title = 400, "invalid-request", "Invalid request"


class ClientDisconnected(ProblemError):
    """The client went away; logged, but nobody is left to read the answer."""

    status, slug, title = 400, "client-disconnected", "Client disconnected"


class Unauthenticated(ProblemError):
    status, slug, title = 401, "unauthenticated", "Authentication required"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class InvalidCredentials(ProblemError):
    status, slug, title = 401, "invalid-credentials", "Invalid credentials"


class Forbidden(ProblemError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(ProblemError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(ProblemError):
    status, slug, title = 409, "conflict", "Conflict"


class PayloadTooLarge(ProblemError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(ProblemError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class Unprocessable(ProblemError):
    status, slug, title = 422, "unprocessable", "Unprocessable content"


class TooManyRequests(ProblemError):
    status, slug, title = 429, "too-many-requests", "Too many requests"

    def __init__(self, detail: str, retry_after_seconds: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_seconds)})


class DependencyUnavailable(ProblemError):
    status, slug, title = 503, "dependency-unavailable", "Service unavailable"

    def __init__(self, detail: str, retry_after_seconds: int = 5) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_seconds)})


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "request_id": current_request_id(),
        **(extra or {}),
    }
    return JSONResponse(
        body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE
    )


def problem_schema(description: str) -> dict[str, Any]:
    """An OpenAPI `responses=` entry declaring a problem body."""
    return {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
    }


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(exc.status, exc.slug, exc.title, exc.detail, exc.headers)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]
    return problem_response(
        422,
        "validation-failed",
        "Validation failed",
        "The request did not match the expected shape.",
        extra={"errors": errors},
    )


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slugs = {404: "not-found", 405: "method-not-allowed"}
    return problem_response(
        exc.status_code,
        slugs.get(exc.status_code, "http-error"),
        _reason(exc.status_code),
        str(exc.detail),
        exc.headers,
    )


async def _on_database_down(request: Request, exc: Exception) -> JSONResponse:
    # A connection that failed or was cut is an outage, not a bug: answer 503 so
    # clients retry, and let the pool reconnect on the next request.
    logger.warning("dependency.unavailable", error=type(exc).__name__)
    error = DependencyUnavailable("A dependency is unavailable; try again shortly.")
    return await _on_problem(request, error)


def internal_error_response() -> JSONResponse:
    return problem_response(
        500, "internal-error", "Internal server error", "An unexpected error occurred."
    )


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    for outage in (OperationalError, InterfaceError, PoolTimeoutError, OSError):
        app.add_exception_handler(outage, _on_database_down)
    app.add_exception_handler(DBAPIError, _on_dbapi_error)


async def _on_dbapi_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if exc.connection_invalidated:
        return await _on_database_down(request, exc)
    raise exc
