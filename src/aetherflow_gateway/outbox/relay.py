"""The transactional outbox's relay: publish what the database promised.

An upload writes its job and its queue message in one transaction, so the message
exists exactly when the job does. Publishing happens afterwards, twice over:

- right after the commit, for the message just written (`publish_now`), so a
  healthy queue sees the job without delay;
- in a loop (`relay_cycle`, repeated by `background`), for anything still
  unpublished: a queue that was down, a process that died after its commit.

Rows are claimed with `FOR UPDATE SKIP LOCKED` inside the publishing transaction,
so replicas never publish the same row at the same time. A relay that dies after
sending but before its commit leaves the row unpublished and it is sent again:
delivery is at least once, and consumers use `job_id` as the idempotency key.
A failed publish is retried with exponential backoff and jitter, and never dropped.
"""

import random
import uuid
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Select, func, select

from aetherflow_gateway.core import metrics
from aetherflow_gateway.db.base import utcnow
from aetherflow_gateway.db.database import Database
from aetherflow_gateway.db.scoping import SYSTEM
from aetherflow_gateway.outbox.messages import encode_body
from aetherflow_gateway.outbox.models import OutboxMessage
from aetherflow_gateway.queue.base import Publisher, QueueUnavailable

logger = structlog.get_logger(__name__)

BATCH_SIZE = 50
BASE_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 300.0


def backoff_seconds(attempts: int) -> float:
    """Full jitter: a random wait up to an exponentially growing cap."""
    cap = min(MAX_BACKOFF_SECONDS, BASE_BACKOFF_SECONDS * 2 ** min(attempts, 16))
    return random.uniform(cap / 2, cap)  # noqa: S311 - jitter, not security


async def publish_now(
    database: Database, publisher: Publisher, job_id: uuid.UUID
) -> bool:
    """Publish a job's message if no other relay holds it; True when it was sent."""
    statement = _claim().where(OutboxMessage.job_id == job_id)
    return await _publish_claimed(database, publisher, statement) == 1


async def publish_pending(database: Database, publisher: Publisher) -> int:
    """Publish up to one batch of due messages; returns how many were sent."""
    statement = (
        _claim().where(OutboxMessage.next_attempt_at <= utcnow()).limit(BATCH_SIZE)
    )
    return await _publish_claimed(database, publisher, statement)


def _claim() -> Select[OutboxMessage]:
    return (
        select(OutboxMessage)
        .where(OutboxMessage.published_at.is_(None))
        .order_by(OutboxMessage.next_attempt_at)
        .with_for_update(skip_locked=True)
    )


async def _publish_claimed(
    database: Database, publisher: Publisher, statement: Select[OutboxMessage]
) -> int:
    sent = 0
    async with database.transaction(SYSTEM) as session:
        for message in (await session.execute(statement)).scalars():
            if not await _publish_one(publisher, message, utcnow()):
                break  # the queue is failing: leave the rest for the next cycle
            sent += 1
    return sent


async def _publish_one(
    publisher: Publisher, message: OutboxMessage, now: datetime
) -> bool:
    try:
        message_id = await publisher.publish(
            message.queue, encode_body(message), message.attributes
        )
    except QueueUnavailable as exc:
        message.attempts += 1
        message.last_error = str(exc)[:1000]
        message.next_attempt_at = now + timedelta(
            seconds=backoff_seconds(message.attempts)
        )
        metrics.OUTBOX_FAILURES.inc()
        logger.warning(
            "outbox.publish_failed",
            job_id=str(message.job_id),
            attempts=message.attempts,
            error=message.last_error,
        )
        return False

    message.published_at = now
    metrics.OUTBOX_PUBLISHED.inc()
    logger.info(
        "outbox.published",
        job_id=str(message.job_id),
        queue=message.queue,
        queue_message_id=message_id,
        request_id=message.attributes.get("request_id"),
    )
    return True


async def report_backlog(database: Database, stuck_attempts: int) -> None:
    """Publish the backlog as metrics, and warn about messages that keep failing."""
    pending = func.count(OutboxMessage.id)
    stuck = func.count(OutboxMessage.id).filter(
        OutboxMessage.attempts >= stuck_attempts
    )
    statement = select(pending, stuck).where(OutboxMessage.published_at.is_(None))
    async with database.transaction(SYSTEM) as session:
        pending_count, stuck_count = (await session.execute(statement)).one()

    metrics.OUTBOX_PENDING.set(pending_count)
    metrics.OUTBOX_STUCK.set(stuck_count)
    if stuck_count:
        logger.warning("outbox.stuck", messages=stuck_count, attempts=stuck_attempts)


async def relay_cycle(
    database: Database, publisher: Publisher, stuck_attempts: int
) -> None:
    """Drain what is due, batch by batch, then report what is left."""
    while await publish_pending(database, publisher) == BATCH_SIZE:
        pass
    await report_backlog(database, stuck_attempts)
