import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from aetherflow_gateway.jobs.models import JobStatus, JobType


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    type: JobType
    status: JobStatus
    dataset_id: uuid.UUID
    department: str
    attempts: int
    error: str | None
    request_id: str
    created_by: uuid.UUID
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobPage(BaseModel):
    items: list[JobOut]
    next_cursor: str | None
