"""The long-lived clients one gateway process holds, created in its lifespan."""

from contextlib import AsyncExitStack
from dataclasses import dataclass

from aetherflow_gateway.auth.throttle import LoginThrottle
from aetherflow_gateway.auth.tokens import TokenService
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


async def open_services(settings: Settings, stack: AsyncExitStack) -> Services:
    """Open every client; `stack` closes them in reverse order at shutdown."""
    database = Database(
        settings.resolved_database_url, settings.dependency_timeout_seconds
    )
    stack.push_async_callback(database.close)

    store = await open_object_store(settings)
    stack.push_async_callback(store.close)

    publisher = await open_publisher(settings)
    stack.push_async_callback(publisher.close)

    return Services(
        settings=settings,
        database=database,
        store=store,
        publisher=publisher,
        tokens=TokenService(settings),
        login_throttle=LoginThrottle(
            settings.login_attempts_per_window, settings.login_window_seconds
        ),
    )
