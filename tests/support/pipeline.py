"""What the pipeline workers do to the shared tables, done directly for tests."""

import uuid
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import update

from aetherflow_gateway.dashboards.models import Insight
from aetherflow_gateway.db.base import utcnow
from aetherflow_gateway.db.scoping import SYSTEM
from aetherflow_gateway.jobs.models import Job
from tests.support.running import services_of


async def set_job_status(app: FastAPI, job_id: str, status: str) -> None:
    async with services_of(app).database.transaction(SYSTEM) as session:
        await session.execute(
            update(Job).where(Job.id == uuid.UUID(job_id)).values(status=status)
        )


async def add_insight(
    app: FastAPI, department: str, title: str, age_seconds: int = 0, **payload: Any
) -> None:
    insight = Insight(
        department=department,
        kind="summary",
        title=title,
        payload=payload,
        created_at=utcnow() - timedelta(seconds=age_seconds),
    )
    async with services_of(app).database.transaction(SYSTEM) as session:
        session.add(insight)
