import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from aetherflow_gateway.auth.dependencies import UNAUTHENTICATED, CurrentUser
from aetherflow_gateway.core.dependencies import DatabaseDep
from aetherflow_gateway.core.errors import problem_schema
from aetherflow_gateway.db.pagination import DEFAULT_LIMIT, MAX_LIMIT
from aetherflow_gateway.jobs import service
from aetherflow_gateway.jobs.models import JobStatus, JobType
from aetherflow_gateway.jobs.schemas import JobOut, JobPage

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get(
    "",
    responses={**UNAUTHENTICATED, 422: problem_schema("Bad filter, limit or cursor")},
)
async def list_jobs(
    caller: CurrentUser,
    database: DatabaseDep,
    status: JobStatus | None = None,
    type: JobType | None = None,
    dataset_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> JobPage:
    """List your department's jobs, newest first."""
    filters = service.JobFilters(status=status, type=type, dataset_id=dataset_id)
    jobs, next_cursor = await service.list_jobs(
        database, caller, filters, cursor, limit
    )
    return JobPage(
        items=[JobOut.model_validate(job) for job in jobs], next_cursor=next_cursor
    )


@router.get(
    "/{job_id}", responses={**UNAUTHENTICATED, 404: problem_schema("No such job")}
)
async def get_job(
    job_id: uuid.UUID, caller: CurrentUser, database: DatabaseDep
) -> JobOut:
    """Show one of your department's jobs."""
    return JobOut.model_validate(await service.get_job(database, caller, job_id))
