"""The long-lived clients one gateway process holds, created in its lifespan."""

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

from aetherflow_gateway.auth.keys import load_key_set
from aetherflow_gateway.auth.throttle import LoginThrottle, open_login_throttle
from aetherflow_gateway.auth.tokens import TokenService
from aetherflow_gateway.core.cleanups import Cleanups
from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.db.database import Database
from aetherflow_gateway.queue.base import Publisher
from aetherflow_gateway.queue.factory import open_publisher
from aetherflow_gateway.storage.base import ObjectStore
from aetherflow_gateway.storage.factory import open_object_store


@dataclass
class Services:
    settings: Settings
    database: Database
    store: ObjectStore
    publisher: Publisher
    tokens: TokenService
    login_throttle: LoginThrottle
    cleanups: Cleanups = field(default_factory=Cleanups)


async def open_services(settings: Settings, stack: AsyncExitStack) -> Services:
    """Open every client; `stack` closes them in reverse order at shutdown."""
    keys = await asyncio.to_thread(load_key_set, settings)
    database = Database(
        settings.resolved_database_url, settings.dependency_timeout_seconds
    )
    stack.push_async_callback(database.close)

    store = await open_object_store(settings)
    stack.push_async_callback(store.close)

    publisher = await open_publisher(settings)
    stack.push_async_callback(publisher.close)

    login_throttle = await open_login_throttle(settings, stack)

    services = Services(
        settings=settings,
        database=database,
        store=store,
        publisher=publisher,
        tokens=TokenService(settings, keys),
        login_throttle=login_throttle,
    )
    # Registered last, so it runs first at shutdown: while the clients still work.
    stack.push_async_callback(
        services.cleanups.drain, settings.dependency_timeout_seconds * 2
    )
    return services
