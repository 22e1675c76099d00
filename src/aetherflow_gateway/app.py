"""The FastAPI application: routers, error handlers, middleware and lifespan."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from aetherflow_gateway import __version__
from aetherflow_gateway.auth.router import router as auth_router
from aetherflow_gateway.core.errors import register_error_handlers
from aetherflow_gateway.core.middleware import RequestLogMiddleware
from aetherflow_gateway.core.services import Services, open_services
from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.dashboards.router import router as dashboards_router
from aetherflow_gateway.datasets.router import router as datasets_router
from aetherflow_gateway.health.router import router as health_router
from aetherflow_gateway.jobs.router import router as jobs_router
from aetherflow_gateway.outbox.relay import run_relay

logger = structlog.get_logger(__name__)

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
    app = FastAPI(
        title="AetherFlow API Gateway",
        version=__version__,
        lifespan=_lifespan(settings),
    )
    for router in (
        auth_router,
        datasets_router,
        jobs_router,
        dashboards_router,
        health_router,
    ):
        app.include_router(router)
    register_error_handlers(app)
    app.add_middleware(RequestLogMiddleware)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


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
    task = asyncio.create_task(
        run_relay(
            services.database,
            services.publisher,
            services.settings.relay_interval_seconds,
            stop,
        )
    )
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
        app.openapi_schema = schema
    return app.openapi_schema
