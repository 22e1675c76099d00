"""Liveness and readiness.

`/health` answers as long as the process serves requests. `/health/ready` checks
each dependency with a bounded wait, so a load balancer stops routing to a replica
that cannot do its work, and an operator sees which dependency is at fault.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Literal

import structlog
from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from aetherflow_gateway.core.dependencies import ServicesDep

logger = structlog.get_logger(__name__)

router = APIRouter(tags=["health"])

DependencyState = Literal["ok", "unavailable"]


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, DependencyState]


@router.get("/health")
async def liveness() -> Liveness:
    """The process is up."""
    return Liveness()


@router.get(
    "/health/ready",
    responses={503: {"model": Readiness, "description": "A dependency is down"}},
)
async def readiness(services: ServicesDep, response: Response) -> Readiness:
    """Each dependency's state; 503 when any is down."""
    timeout = services.settings.dependency_timeout_seconds
    probes = {
        "database": services.database.ping,
        "object_store": services.store.check,
        "queue": services.publisher.check,
    }
    states = await asyncio.gather(
        *(_probe(name, check, timeout) for name, check in probes.items())
    )
    checks = dict(zip(probes, states, strict=True))
    ready = all(state == "ok" for state in checks.values())
    if not ready:
        response.status_code = 503
    return Readiness(status="ok" if ready else "unavailable", checks=checks)


async def _probe(
    name: str, check: Callable[[], Awaitable[None]], limit_seconds: float
) -> DependencyState:
    try:
        async with asyncio.timeout(limit_seconds):
            await check()
    except Exception as exc:
        logger.warning(
            "health.dependency_down", dependency=name, error=type(exc).__name__
        )
        return "unavailable"
    return "ok"


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics() -> Response:
    """This process's metrics in Prometheus's text format."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
