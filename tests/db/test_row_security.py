"""PostgreSQL's row-level security: the department boundary beneath the ORM's.

Every statement here is raw SQL, which the ORM's scoping hook cannot see, so
whatever stays hidden is hidden by the policies alone.
"""

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from aetherflow_gateway.db.database import Database
from aetherflow_gateway.db.scoping import (
    SYSTEM,
    department_scope,
    departmental_table_names,
)
from tests.support import postgres

SALES = department_scope("Sales")
INSERT_USER = text(
    "INSERT INTO users (id, email, password_hash, department, created_at) "
    "VALUES (:id, :email, 'x', :department, now())"
)


@pytest.fixture
async def database(postgres_url: str) -> AsyncIterator[Database]:
    """The gateway's own connection: the app role, as in production."""
    db = Database(postgres_url, timeout_seconds=5)
    yield db
    await db.close()
    await postgres.truncate_all(postgres_url)


async def add_user(database: Database, department: str) -> uuid.UUID:
    user_id = uuid.uuid4()
    async with database.transaction(SYSTEM) as session:
        values = {"id": user_id, "email": f"{user_id}@x.test", "department": department}
        await session.execute(INSERT_USER, values)
    return user_id


@pytest.fixture
async def two_departments(database: Database) -> dict[str, uuid.UUID]:
    return {
        department: await add_user(database, department)
        for department in ("Sales", "Finance")
    }


async def test_gateway_role_is_no_superuser_and_cannot_bypass_policies(
    database: Database,
) -> None:
    async with database.transaction(SYSTEM) as session:
        row = (
            await session.execute(
                text(
                    "SELECT rolsuper, rolbypassrls FROM pg_roles "
                    "WHERE rolname = current_user"
                )
            )
        ).one()

    assert tuple(row) == (False, False)


async def test_raw_select_in_a_department_sees_only_that_department(
    database: Database, two_departments: dict[str, uuid.UUID]
) -> None:
    async with database.transaction(SALES) as session:
        rows = (await session.execute(text("SELECT id FROM users"))).scalars().all()

    assert rows == [two_departments["Sales"]]


async def test_raw_update_cannot_reach_another_department(
    database: Database, two_departments: dict[str, uuid.UUID]
) -> None:
    async with database.transaction(SALES) as session:
        changed = await session.execute(
            text("UPDATE users SET email = 'stolen@example.com' WHERE id = :id"),
            {"id": two_departments["Finance"]},
        )

    assert changed.rowcount == 0  # type: ignore[attr-defined]


async def test_raw_insert_into_another_department_is_refused(
    database: Database,
) -> None:
    user_id = uuid.uuid4()

    with pytest.raises(DBAPIError, match="row-level security"):
        async with database.transaction(SALES) as session:
            await session.execute(
                INSERT_USER,
                {"id": user_id, "email": "x@example.com", "department": "Finance"},
            )


async def test_connection_that_declared_no_scope_sees_no_row(
    database: Database, two_departments: dict[str, uuid.UUID]
) -> None:
    async with database.engine.connect() as connection:
        count = await connection.scalar(text("SELECT count(*) FROM users"))

    assert count == 0


async def test_scope_does_not_outlive_its_transaction(
    database: Database, two_departments: dict[str, uuid.UUID]
) -> None:
    async with database.transaction(SYSTEM):
        pass

    async with database.engine.connect() as connection:
        setting = await connection.scalar(
            text("SELECT current_setting('aetherflow.scope', true)")
        )
        count = await connection.scalar(text("SELECT count(*) FROM users"))

    assert not setting
    assert count == 0


async def test_system_scope_sees_every_department(
    database: Database, two_departments: dict[str, uuid.UUID]
) -> None:
    async with database.transaction(SYSTEM) as session:
        count = await session.scalar(text("SELECT count(*) FROM users"))

    assert count == 2


async def test_every_departmental_table_forces_its_policy(
    postgres_admin_url: str,
) -> None:
    rows = await postgres.fetch(
        postgres_admin_url,
        "SELECT c.relname FROM pg_class c JOIN pg_policy p ON p.polrelid = c.oid "
        "WHERE c.relrowsecurity AND c.relforcerowsecurity "
        "AND p.polname = 'department_isolation'",
    )
    protected = {row["relname"] for row in rows}

    assert departmental_table_names() | {"audit_events"} <= protected
