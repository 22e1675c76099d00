"""Reading jobs, always inside the caller's department."""

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from aetherflow_gateway.auth.tokens import Caller
from aetherflow_gateway.core.errors import NotFound
from aetherflow_gateway.db.database import Database
from aetherflow_gateway.db.pagination import newest_first, page_of
from aetherflow_gateway.db.scoping import department_scope
from aetherflow_gateway.jobs.models import Job, JobStatus, JobType


@dataclass(frozen=True)
class JobFilters:
    status: JobStatus | None = None
    type: JobType | None = None
    dataset_id: uuid.UUID | None = None


async def list_jobs(
    database: Database,
    caller: Caller,
    filters: JobFilters,
    cursor: str | None,
    limit: int,
) -> tuple[list[Job], str | None]:
    statement = select(Job)
    if filters.status is not None:
        statement = statement.where(Job.status == filters.status.value)
    if filters.type is not None:
        statement = statement.where(Job.type == filters.type.value)
    if filters.dataset_id is not None:
        statement = statement.where(Job.dataset_id == filters.dataset_id)
    statement = newest_first(statement, Job.created_at, Job.id, cursor, limit)

    async with database.transaction(department_scope(caller.department)) as session:
        jobs = list((await session.execute(statement)).scalars())

    return page_of(jobs, limit)


async def get_job(database: Database, caller: Caller, job_id: uuid.UUID) -> Job:
    async with database.transaction(department_scope(caller.department)) as session:
        job = (
            await session.execute(select(Job).where(Job.id == job_id))
        ).scalar_one_or_none()
    if job is None:
        raise NotFound("No such job.")
    return job
