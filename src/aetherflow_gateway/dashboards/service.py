"""A department's dashboard: recent insights and counts, computed in SQL."""

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aetherflow_gateway.auth.tokens import Caller
from aetherflow_gateway.dashboards.models import Insight
from aetherflow_gateway.dashboards.schemas import DashboardOut, InsightOut, JobCounts
from aetherflow_gateway.datasets.models import Dataset
from aetherflow_gateway.db.database import Database
from aetherflow_gateway.db.scoping import department_scope
from aetherflow_gateway.jobs.models import Job

RECENT_INSIGHTS = 50


async def dashboard(database: Database, caller: Caller) -> DashboardOut:
    async with database.transaction(department_scope(caller.department)) as session:
        insights = await _recent_insights(session)
        jobs = await _job_counts(session)
        datasets = await session.scalar(select(func.count(Dataset.id)))

    return DashboardOut(
        department=caller.department,
        insights=[InsightOut.model_validate(insight) for insight in insights],
        jobs=jobs,
        datasets=datasets or 0,
    )


async def _recent_insights(session: AsyncSession) -> list[Insight]:
    statement = (
        select(Insight)
        .order_by(Insight.created_at.desc(), Insight.id.desc())
        .limit(RECENT_INSIGHTS)
    )
    return list((await session.execute(statement)).scalars())


async def _job_counts(session: AsyncSession) -> JobCounts:
    statement = select(Job.status, func.count()).group_by(Job.status)
    rows = (await session.execute(statement)).all()
    counts = {status: count for status, count in rows}
    return JobCounts.model_validate(counts)
