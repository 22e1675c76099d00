"""The one mechanism that keeps every query inside the caller's department."""

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aetherflow_gateway.auth.models import User
from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.db.base import utcnow
from aetherflow_gateway.db.database import Database
from aetherflow_gateway.db.models import Dataset, Job
from aetherflow_gateway.db.scoping import SYSTEM, ScopeViolation, department_scope

SALES = department_scope("Sales")


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = Database(settings.resolved_database_url, timeout_seconds=5)
    yield db
    await db.close()


def make_dataset(department: str, owner: uuid.UUID) -> Dataset:
    return Dataset(
        department=department,
        filename="a.csv",
        content_type="text/csv",
        size_bytes=1,
        sha256="0" * 64,
        columns=["a"],
        object_url="file:///nowhere",
        uploaded_by=owner,
        request_id="r",
        created_at=utcnow(),
    )


@pytest.fixture
async def two_departments(database: Database) -> dict[str, uuid.UUID]:
    """One user and one dataset in Sales and in Finance; returns dataset ids."""
    ids = {}
    async with database.transaction(SYSTEM) as session:
        for department in ("Sales", "Finance"):
            user = User(
                email=f"{uuid.uuid4().hex}@example.com",
                password_hash="x",
                department=department,
                created_at=utcnow(),
            )
            session.add(user)
            await session.flush()
            dataset = make_dataset(department, user.id)
            session.add(dataset)
            await session.flush()
            ids[department] = dataset.id
    return ids


async def test_entity_select_sees_only_its_department(
    database: Database, two_departments: dict[str, uuid.UUID]
) -> None:
    async with database.transaction(SALES) as session:
        rows = (await session.execute(select(Dataset))).scalars().all()

    assert [row.id for row in rows] == [two_departments["Sales"]]


async def test_column_aggregate_is_filtered(
    database: Database, two_departments: dict[str, uuid.UUID]
) -> None:
    async with database.transaction(SALES) as session:
        count = await session.scalar(select(func.count(Dataset.id)))

    assert count == 1


async def test_subquery_on_a_departmental_table_is_filtered(
    database: Database, two_departments: dict[str, uuid.UUID]
) -> None:
    inner = select(Dataset.id).scalar_subquery()
    statement = (
        select(Dataset.id)
        .where(Dataset.id.in_(select(Dataset.id)))
        .where(Dataset.id != inner)
    )

    async with database.transaction(SALES) as session:
        rows = (await session.execute(statement.limit(5))).scalars().all()

    assert two_departments["Finance"] not in rows


async def test_count_over_select_from_alone_is_refused(
    database: Database, two_departments: dict[str, uuid.UUID]
) -> None:
    with pytest.raises(ScopeViolation):
        async with database.transaction(SALES) as session:
            await session.scalar(select(func.count()).select_from(Dataset))


async def test_departmental_query_without_a_scope_is_refused(
    database: Database,
) -> None:
    async with database.engine.connect() as connection:
        session = AsyncSession(bind=connection)
        with pytest.raises(ScopeViolation):
            await session.execute(select(Dataset))
        await session.close()


async def test_bulk_update_cannot_reach_another_department(
    database: Database, two_departments: dict[str, uuid.UUID]
) -> None:
    async with database.transaction(SALES) as session:
        await session.execute(
            update(Dataset)
            .where(Dataset.id == two_departments["Finance"])
            .values(filename="stolen.csv")
        )

    async with database.transaction(SYSTEM) as session:
        finance = await session.get(Dataset, two_departments["Finance"])
    assert finance is not None
    assert finance.filename == "a.csv"


async def test_bulk_delete_cannot_reach_another_department(
    database: Database, two_departments: dict[str, uuid.UUID]
) -> None:
    async with database.transaction(SALES) as session:
        await session.execute(delete(Job))
        await session.execute(
            delete(Dataset).where(Dataset.id == two_departments["Finance"])
        )

    async with database.transaction(SYSTEM) as session:
        remaining = await session.scalar(select(func.count(Dataset.id)))
    assert remaining == 2


async def test_row_for_another_department_cannot_be_written(
    database: Database, two_departments: dict[str, uuid.UUID]
) -> None:
    async with database.transaction(SYSTEM) as session:
        finance = await session.get(Dataset, two_departments["Finance"])
        assert finance is not None
        owner = finance.uploaded_by

    with pytest.raises(ScopeViolation):
        async with database.transaction(SALES) as session:
            session.add(make_dataset("Finance", owner))


async def test_system_scope_sees_every_department(
    database: Database, two_departments: dict[str, uuid.UUID]
) -> None:
    async with database.transaction(SYSTEM) as session:
        count = await session.scalar(select(func.count(Dataset.id)))

    assert count == 2


async def test_join_to_a_departmental_table_whose_columns_are_not_selected_is_refused(
    database: Database, two_departments: dict[str, uuid.UUID]
) -> None:
    statement = select(Job).join(Dataset, Job.dataset_id == Dataset.id)

    with pytest.raises(ScopeViolation):
        async with database.transaction(SALES) as session:
            await session.execute(statement)


async def test_count_over_select_from_without_a_scope_is_refused(
    database: Database,
) -> None:
    async with database.engine.connect() as connection:
        session = AsyncSession(bind=connection)
        with pytest.raises(ScopeViolation):
            await session.scalar(select(func.count()).select_from(Dataset))
        await session.close()
