import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from aetherflow_gateway.db.base import (
    Base,
    DepartmentOwned,
    JSONDocument,
    new_id,
    utcnow,
)


class Insight(DepartmentOwned, Base):
    """A result the pipeline workers insert for a department's dashboard."""

    __tablename__ = "insights"
    __table_args__ = (
        Index("ix_insights_department_created", "department", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    dataset_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("datasets.id"))
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id"))
    kind: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
