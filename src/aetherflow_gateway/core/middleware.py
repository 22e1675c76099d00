"""The request-id and access-log middleware, written as plain ASGI.

Plain ASGI (rather than Starlette's `BaseHTTPMiddleware`) keeps upload bodies
streaming untouched and lets us see the final status even when a handler fails.
"""

import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aetherflow_gateway.core import metrics
from aetherflow_gateway.core.errors import internal_error_response
from aetherflow_gateway.core.request_context import start_request

logger = structlog.get_logger("aetherflow_gateway.access")

REQUEST_ID_HEADER = b"x-request-id"


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER)
        context = start_request(incoming.decode("latin-1") if incoming else None)
        context.client_address = _client_address(scope)
        started = time.perf_counter()
        status_code_sent: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status_code_sent
            if message["type"] == "http.response.start":
                status_code_sent = message["status"]
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != REQUEST_ID_HEADER
                ]
                headers.append((REQUEST_ID_HEADER, context.request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # The last line of defence, inside this middleware so that even an
            # unexpected failure answers a problem body carrying the request id.
            logger.exception("request.unhandled_error", error=type(exc).__name__)
            if status_code_sent is None:
                await internal_error_response()(scope, receive, send_with_id)
        finally:
            path = _route_path(scope)
            seconds = time.perf_counter() - started
            status = status_code_sent or 500
            metrics.REQUESTS.labels(scope["method"], path, str(status)).inc()
            metrics.REQUEST_SECONDS.labels(scope["method"], path).observe(seconds)
            logger.info(
                "request.finished",
                request_id=context.request_id,
                user_id=context.user_id,
                department=context.department,
                method=scope["method"],
                path=path,
                status_code=status,
                latency_ms=round(seconds * 1000, 2),
                **context.extra,
            )


def _route_path(scope: Scope) -> str:
    """The matched route's template, so that logs and metrics group by route."""
    route = scope.get("route")
    if route is not None:
        return str(route.path)
    # Starlette's own routes (the docs, the OpenAPI document) record only their
    # endpoint; their paths hold no parameters, so the path is the template.
    if "endpoint" in scope:
        return str(scope["path"])
    return "<unmatched>"


def _client_address(scope: Scope) -> str | None:
    # The peer, or the client a trusted proxy named (see AETHERFLOW_TRUSTED_PROXIES).
    client = scope.get("client")
    return str(client[0]) if client else None
