"""The engine, and the one place where transactions are opened and committed.

Services receive a session from `Database.transaction(scope)`; they add and flush
but never commit. The block commits when it ends without an error and rolls back
otherwise, so one unit of work is one transaction. On PostgreSQL each one also
declares its scope to the row-level security policies (see `db.row_security`).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from aetherflow_gateway.db.row_security import declare_scope
from aetherflow_gateway.db.scoping import SCOPE_KEY, Scope


class Database:
    def __init__(self, url: str, timeout_seconds: float) -> None:
        self.url = make_url(url)
        self.engine = _create_engine(url, timeout_seconds)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._row_security = self.url.get_backend_name() == "postgresql"

    @asynccontextmanager
    async def transaction(self, scope: Scope) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session, session.begin():
            session.info[SCOPE_KEY] = scope
            if self._row_security:
                await declare_scope(session, scope)
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()


def _create_engine(url: str, timeout_seconds: float) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, timeout_seconds)

    # pre_ping replaces connections the server dropped (a restart, or
    # pg_terminate_backend) before a request uses them, so an outage heals itself.
    return create_async_engine(
        url,
        pool_pre_ping=True,
        pool_timeout=timeout_seconds,
        connect_args={"timeout": timeout_seconds, "command_timeout": 30},
    )


def _sqlite_engine(url: str, timeout_seconds: float) -> AsyncEngine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)

    engine = create_async_engine(url, connect_args={"timeout": timeout_seconds})

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(connection: Any, record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine
