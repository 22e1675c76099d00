"""Alembic's entry point: runs the migrations on the gateway's async engine."""

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from aetherflow_gateway.db.models import Base

SYSTEM_SCOPE = text("SELECT set_config('aetherflow.scope', 'system', true)")


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # A data migration run by a role that row security binds (the tables'
            # owner, under FORCE) must still see every department's rows.
            connection.execute(SYSTEM_SCOPE)
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


url = context.config.get_main_option("sqlalchemy.url")
assert url is not None, "the migrate command sets sqlalchemy.url"
asyncio.run(_run_async(url))
