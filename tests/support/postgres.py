"""A throwaway PostgreSQL database for one test session, on the machine's server.

Two roles use it, as in production: the administrator (the DSN below, a superuser)
creates and migrates the database and truncates it between tests; the gateway
connects as a fresh non-superuser role without BYPASSRLS, so every test of the app
runs under the row-level security policies.
"""

import asyncio
import os
import secrets
import uuid
from dataclasses import dataclass

import asyncpg
from sqlalchemy.engine import make_url

ADMIN_DSN = os.environ.get(
    "AETHERFLOW_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@dataclass(frozen=True)
class SessionDatabase:
    admin_url: str
    app_url: str
    app_role: str


def _dsn_for(database: str) -> str:
    return ADMIN_DSN.rsplit("/", 1)[0] + f"/{database}"


async def _admin(statement: str, database: str | None = None) -> None:
    connection = await asyncpg.connect(_dsn_for(database) if database else ADMIN_DSN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def create_database() -> str:
    """Create an empty database and return its SQLAlchemy URL (as the admin)."""
    name = f"aetherflow_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    return "postgresql+asyncpg://" + _dsn_for(name).removeprefix("postgresql://")


def create_app_role(admin_url: str) -> SessionDatabase:
    """A login role that may read and write the tables, and nothing more."""
    database = _database_of(admin_url)
    role = f"aetherflow_app_{uuid.uuid4().hex[:10]}"
    password = secrets.token_hex(16)
    asyncio.run(_admin(_role_statements(role, password, database), database))

    app_url = make_url(admin_url).set(username=role, password=password)
    return SessionDatabase(
        admin_url=admin_url,
        app_url=app_url.render_as_string(hide_password=False),
        app_role=role,
    )


def _role_statements(role: str, password: str, database: str) -> str:
    # CREATE ROLE defaults to NOLOGIN; everything a superuser could add is refused
    # explicitly, BYPASSRLS above all.
    privileges = "SELECT, INSERT, UPDATE, DELETE"
    return f"""
        CREATE ROLE "{role}" LOGIN PASSWORD '{password}'
            NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION;
        GRANT CONNECT ON DATABASE "{database}" TO "{role}";
        GRANT USAGE ON SCHEMA public TO "{role}";
        GRANT {privileges} ON ALL TABLES IN SCHEMA public TO "{role}";
        GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}";
        ALTER DEFAULT PRIVILEGES IN SCHEMA public
            GRANT {privileges} ON TABLES TO "{role}";
    """


def drop_database(url: str) -> None:
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{_database_of(url)}" WITH (FORCE)'))


def drop_role(role: str) -> None:
    """Drop the app role; call after its database is gone, with its grants."""
    asyncio.run(_admin(f'DROP ROLE IF EXISTS "{role}"'))


async def truncate_all(url: str) -> None:
    """Empty every table but Alembic's, whoever added it, as the admin."""
    connection = await asyncpg.connect(_dsn_for(_database_of(url)))
    try:
        names = await connection.fetch(
            "SELECT quote_ident(tablename) AS name FROM pg_tables "
            "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
        tables = ", ".join(row["name"] for row in names)
        await connection.execute(f"TRUNCATE {tables} CASCADE")
    finally:
        await connection.close()


async def execute(url: str, statement: str, *args: object) -> str:
    """Run one statement as the admin, in the database `url` names."""
    connection = await asyncpg.connect(_dsn_for(_database_of(url)))
    try:
        return await connection.execute(statement, *args)
    finally:
        await connection.close()


async def fetch(url: str, statement: str, *args: object) -> list[asyncpg.Record]:
    """Rows of one query, read as the admin, who sees past every policy."""
    connection = await asyncpg.connect(_dsn_for(_database_of(url)))
    try:
        return list(await connection.fetch(statement, *args))
    finally:
        await connection.close()


def _database_of(url: str) -> str:
    return url.rsplit("/", 1)[1]
