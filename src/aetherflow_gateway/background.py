"""The background work each gateway process (or a lone `relay`) runs.

Two loops share one stop signal: the outbox relay, every `relay_interval_seconds`,
and the sweep of what crashed uploads left behind, every `sweep_interval_seconds`.
Each loop survives any failure of a cycle (an outage is waited out) and logs it.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

from aetherflow_gateway.core.services import Services
from aetherflow_gateway.datasets.sweep import sweep
from aetherflow_gateway.outbox.relay import relay_cycle

logger = structlog.get_logger(__name__)


async def run_background(services: Services, stop: asyncio.Event) -> None:
    settings = services.settings
    logger.info("relay.started", interval_seconds=settings.relay_interval_seconds)

    async def relay() -> None:
        await relay_cycle(
            services.database, services.publisher, settings.outbox_stuck_attempts
        )

    async def sweeper() -> None:
        await sweep(services)

    await asyncio.gather(
        _every(settings.relay_interval_seconds, relay, "relay.cycle_failed", stop),
        _every(settings.sweep_interval_seconds, sweeper, "sweep.cycle_failed", stop),
    )
    logger.info("relay.stopped")


async def _every(
    interval_seconds: float,
    cycle: Callable[[], Awaitable[None]],
    failure_event: str,
    stop: asyncio.Event,
) -> None:
    while not stop.is_set():
        try:
            await cycle()
        except Exception as exc:
            logger.warning(failure_event, error=type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_seconds)
