import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class InsightOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    department: str
    dataset_id: uuid.UUID | None
    job_id: uuid.UUID | None
    kind: str
    title: str
    payload: dict[str, Any]
    created_at: datetime


class JobCounts(BaseModel):
    queued: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0


class DashboardOut(BaseModel):
    department: str
    insights: list[InsightOut]
    jobs: JobCounts
    datasets: int
