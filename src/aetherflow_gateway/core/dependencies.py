"""FastAPI dependencies for the process-wide services, as `Annotated` aliases."""

from typing import Annotated

from fastapi import Depends, Request

from aetherflow_gateway.core.services import Services
from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.db.database import Database


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_settings(request: Request) -> Settings:
    return get_services(request).settings


def get_database(request: Request) -> Database:
    return get_services(request).database


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
