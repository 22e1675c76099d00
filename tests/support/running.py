"""An app with its lifespan running, and a client that talks to it in-process."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from aetherflow_gateway.app import create_app
from aetherflow_gateway.core.services import Services
from aetherflow_gateway.core.settings import Settings


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


@asynccontextmanager
async def client_for(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://gateway.test"
    ) as c:
        yield c


@asynccontextmanager
async def gateway_client(
    settings: Settings, **changes: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app running on `settings` with `changes` applied."""
    async with (
        running_app(settings.model_copy(update=changes)) as app,
        client_for(app) as client,
    ):
        yield client


def services_of(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services
