"""A throwaway PostgreSQL database for one test session, on the machine's server."""

import asyncio
import os
import uuid

import asyncpg

ADMIN_DSN = os.environ.get(
    "AETHERFLOW_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
TABLES = ("outbox", "insights", "jobs", "datasets", "users")


def _dsn_for(database: str) -> str:
    return ADMIN_DSN.rsplit("/", 1)[0] + f"/{database}"


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(ADMIN_DSN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def create_database() -> str:
    """Create an empty database and return its SQLAlchemy URL."""
    name = f"aetherflow_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    return "postgresql+asyncpg://" + _dsn_for(name).removeprefix("postgresql://")


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def truncate_all(url: str) -> None:
    connection = await asyncpg.connect(_dsn_for(url.rsplit("/", 1)[1]))
    try:
        await connection.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
    finally:
        await connection.close()


async def execute(url: str, statement: str, *args: object) -> str:
    connection = await asyncpg.connect(_dsn_for(url.rsplit("/", 1)[1]))
    try:
        return await connection.execute(statement, *args)
    finally:
        await connection.close()
