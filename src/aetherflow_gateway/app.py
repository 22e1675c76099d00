"""The FastAPI application: routers, error handlers, middleware and lifespan."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from aetherflow_gateway import __version__
from aetherflow_gateway.audit.handlers import register_audit_handlers
from aetherflow_gateway.auth.router import jwks_router
from aetherflow_gateway.auth.router import router as auth_router
from aetherflow_gateway.background import run_background
from aetherflow_gateway.core.body_limit import BodyLimitMiddleware
from aetherflow_gateway.core.cors import add_cors
from aetherflow_gateway.core.errors import register_error_handlers
from aetherflow_gateway.core.middleware import RequestLogMiddleware
from aetherflow_gateway.core.openapi import declare_problem_responses
from aetherflow_gateway.core.security_headers import SecurityHeadersMiddleware
from aetherflow_gateway.core.services import Services, open_services
from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.dashboards.router import router as dashboards_router
from aetherflow_gateway.datasets.router import router as datasets_router
from aetherflow_gateway.health.router import router as health_router
from aetherflow_gateway.jobs.router import router as jobs_router
from aetherflow_gateway.users.router import router as users_router

logger = structlog.get_logger(__name__)

DESCRIPTION = """\
The only HTTP entrypoint of the AetherFlow data platform: departments upload CSV
datasets, follow the ETL and ML jobs that process them, and read their dashboards.

Log in at `POST /auth/login` and send the access token as `Authorization: Bearer`.
Every dataset, job, insight and account belongs to one department, and a caller
sees only their own. Every error is an RFC 9457 problem document
(`application/problem+json`), and every response carries `X-Request-ID`.
"""

# Routes that stream their body under their own size limit, not the JSON one.
STREAMED_BODY_PATHS = ("/datasets/upload",)

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "request_id"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "request_id": {"type": ["string", "null"]},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}


def create_app(settings: Settings) -> FastAPI:
    docs = settings.docs_enabled
    app = FastAPI(
        title="AetherFlow API Gateway",
        description=DESCRIPTION,
        version=__version__,
        lifespan=_lifespan(settings),
        # Without them, each of these paths answers 404.
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    for router in (
        auth_router,
        users_router,
        datasets_router,
        jobs_router,
        dashboards_router,
        health_router,
        jwks_router,
    ):
        app.include_router(router)
    register_error_handlers(app)
    register_audit_handlers(app)
    _add_middleware(app, settings)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    # The last one added runs first: security headers wrap everything, even the
    # request log's last-resort 500, and bodies are bounded inside the log so
    # that a refusal carries its request id.
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_json_body_bytes,
        exempt_paths=STREAMED_BODY_PATHS,
    )
    add_cors(app, settings)
    app.add_middleware(RequestLogMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)


def _lifespan(settings: Settings) -> Any:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            services = await open_services(settings, stack)
            app.state.services = services
            if settings.relay_in_serve:
                await stack.enter_async_context(_relay_task(services))
            logger.info("gateway.started", embedded=settings.is_embedded)
            yield
        logger.info("gateway.stopped")

    return lifespan


@asynccontextmanager
async def _relay_task(services: Services) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(run_background(services, stop))
    try:
        yield
    finally:
        stop.set()
        await task


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, routes=app.routes, description=__doc__
        )
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = (
            PROBLEM_SCHEMA
        )
        declare_problem_responses(schema)
        app.openapi_schema = schema
    return app.openapi_schema
