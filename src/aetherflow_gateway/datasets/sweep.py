"""Removing what crashed uploads leave behind.

The upload pipeline cleans up after every failure it sees. A process that is
killed sees nothing, and can leave:

- a committed object whose dataset was never written: every upload records its
  object in `pending_objects` before the first byte and deletes that row in the
  transaction that writes the dataset, so a row older than the grace period
  names an orphan;
- an unfinished write (an S3 multipart upload, a local temporary file);
- an idempotency claim that was never completed.

The sweep removes these once they are older than `sweep_grace_seconds`, so it never
races a live upload, and deletes idempotency keys past their time to live. It runs
beside the relay in every gateway process and as `aetherflow-gateway sweep`.
Everything it does is idempotent: two sweeps at once only repeat each other's
deletes.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import delete, select

from aetherflow_gateway.core import metrics
from aetherflow_gateway.core.services import Services
from aetherflow_gateway.datasets.models import PendingObject, UploadKey
from aetherflow_gateway.db.base import utcnow
from aetherflow_gateway.db.scoping import SYSTEM

logger = structlog.get_logger(__name__)

BATCH_SIZE = 100


@dataclass(frozen=True)
class SweepReport:
    orphaned_objects: int
    unfinished_writes: int
    expired_keys: int


async def sweep(services: Services) -> SweepReport:
    settings = services.settings
    cutoff = utcnow() - timedelta(seconds=settings.sweep_grace_seconds)

    orphans = await _remove_orphaned_objects(services, cutoff)
    unfinished = await services.store.abort_stale_writes(cutoff)
    keys = await _remove_expired_keys(services, settings.idempotency_key_ttl_seconds)

    report = SweepReport(orphans, unfinished, keys)
    _count(report)
    logger.info(
        "sweep.finished",
        orphaned_objects=orphans,
        unfinished_writes=unfinished,
        expired_keys=keys,
    )
    return report


async def _remove_orphaned_objects(services: Services, cutoff: datetime) -> int:
    statement = (
        select(PendingObject.object_url)
        .where(PendingObject.created_at < cutoff)
        .limit(BATCH_SIZE)
    )
    async with services.database.transaction(SYSTEM) as session:
        urls = list((await session.execute(statement)).scalars())

    for url in urls:
        await services.store.delete(url)
        async with services.database.transaction(SYSTEM) as session:
            await session.execute(
                delete(PendingObject).where(PendingObject.object_url == url)
            )
        logger.info("sweep.orphan_removed", object_url=url)
    return len(urls)


async def _remove_expired_keys(services: Services, ttl_seconds: int) -> int:
    expired = utcnow() - timedelta(seconds=ttl_seconds)
    statement = delete(UploadKey).where(UploadKey.created_at < expired)
    async with services.database.transaction(SYSTEM) as session:
        result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]


def _count(report: SweepReport) -> None:
    metrics.SWEPT.labels("orphaned_object").inc(report.orphaned_objects)
    metrics.SWEPT.labels("unfinished_write").inc(report.unfinished_writes)
    metrics.SWEPT.labels("expired_key").inc(report.expired_keys)
