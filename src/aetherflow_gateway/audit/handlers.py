"""Refusals that belong in the audit trail, recorded where they are answered.

Every 403 the gateway gives is an authenticated caller reaching past its rights
(another department's dashboard or upload, an admin-only action), so the handler
for `Forbidden` records it before answering the usual problem body. Objects of
another department answer 404 like missing ones and are not told apart here.
"""

import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from aetherflow_gateway.audit.service import Outcome, SecurityEvent, record
from aetherflow_gateway.core.dependencies import get_database
from aetherflow_gateway.core.errors import Forbidden, problem_response
from aetherflow_gateway.core.request_context import current_request

MAX_TARGET_CHARS = 256


async def _on_forbidden(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Forbidden)
    context = current_request()
    route = getattr(request.scope.get("route"), "path", None)
    await record(
        get_database(request),
        SecurityEvent.ACCESS_DENIED,
        Outcome.DENIED,
        actor_id=_user_id(context.user_id if context else None),
        department=context.department if context else None,
        details={
            "method": request.method,
            "route": route,
            "target": request.url.path[:MAX_TARGET_CHARS],
        },
    )
    return problem_response(exc.status, exc.slug, exc.title, exc.detail, exc.headers)


def _user_id(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


def register_audit_handlers(app: FastAPI) -> None:
    """Call after `register_error_handlers`; `Forbidden` is answered here instead."""
    app.add_exception_handler(Forbidden, _on_forbidden)
