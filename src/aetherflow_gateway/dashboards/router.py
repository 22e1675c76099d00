from fastapi import APIRouter

from aetherflow_gateway.auth.dependencies import (
    UNAUTHENTICATED,
    CurrentUser,
    require_own_department,
)
from aetherflow_gateway.core.dependencies import DatabaseDep, SettingsDep
from aetherflow_gateway.core.errors import problem_schema
from aetherflow_gateway.dashboards import service
from aetherflow_gateway.dashboards.schemas import DashboardOut

router = APIRouter(prefix="/dashboards", tags=["dashboards"])


@router.get(
    "/{department}",
    responses={
        **UNAUTHENTICATED,
        403: problem_schema("Another department's dashboard"),
    },
)
async def get_dashboard(
    department: str, caller: CurrentUser, database: DatabaseDep, settings: SettingsDep
) -> DashboardOut:
    """Your department's insights, job counts and dataset count."""
    require_own_department(caller, department, settings)
    return await service.dashboard(database, caller)
