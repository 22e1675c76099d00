"""Reading datasets, always inside the caller's department."""

import uuid

from sqlalchemy import select

from aetherflow_gateway.auth.tokens import Caller
from aetherflow_gateway.core.errors import NotFound
from aetherflow_gateway.datasets.models import Dataset
from aetherflow_gateway.db.database import Database
from aetherflow_gateway.db.pagination import newest_first, page_of
from aetherflow_gateway.db.scoping import department_scope


async def list_datasets(
    database: Database, caller: Caller, cursor: str | None, limit: int
) -> tuple[list[Dataset], str | None]:
    statement = newest_first(
        select(Dataset), Dataset.created_at, Dataset.id, cursor, limit
    )
    async with database.transaction(department_scope(caller.department)) as session:
        datasets = list((await session.execute(statement)).scalars())

    return page_of(datasets, limit)


async def get_dataset(
    database: Database, caller: Caller, dataset_id: uuid.UUID
) -> Dataset:
    statement = select(Dataset).where(Dataset.id == dataset_id)
    async with database.transaction(department_scope(caller.department)) as session:
        dataset = (await session.execute(statement)).scalar_one_or_none()
    if dataset is None:
        raise NotFound("No such dataset.")
    return dataset
