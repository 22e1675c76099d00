"""Clean-up work that must finish even when the request that started it is cancelled.

When the shutdown grace period runs out, uvicorn cancels the requests still running
and goes straight on to close the database and the object store. An upload that
is cancelled still has to abort its write and forget its pending object, so it
runs that work here: as a task of its own, shielded from the request's
cancellation, which the lifespan awaits (up to a bound) before closing the clients.
"""

import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog

logger = structlog.get_logger(__name__)


class Cleanups:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` to the end even if the caller is cancelled meanwhile."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        await asyncio.shield(task)

    async def drain(self, timeout_seconds: float) -> None:
        """Wait for clean-ups still running, at shutdown."""
        if not self._tasks:
            return
        logger.info("cleanups.draining", tasks=len(self._tasks))
        _, unfinished = await asyncio.wait(self._tasks, timeout=timeout_seconds)
        if unfinished:
            logger.warning("cleanups.unfinished", tasks=len(unfinished))
