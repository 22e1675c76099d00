import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from aetherflow_gateway.jobs.schemas import JobOut


class DatasetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    department: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    columns: list[str]
    uploaded_by: uuid.UUID
    created_at: datetime


class DatasetPage(BaseModel):
    items: list[DatasetOut]
    next_cursor: str | None


class UploadAccepted(BaseModel):
    dataset: DatasetOut
    job: JobOut
