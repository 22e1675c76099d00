"""The outbox relay: at-least-once delivery, retries with backoff, replicas."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from aetherflow_gateway.core import metrics
from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.db.base import utcnow
from aetherflow_gateway.db.database import Database
from aetherflow_gateway.db.scoping import SYSTEM
from aetherflow_gateway.outbox.models import OutboxMessage
from aetherflow_gateway.outbox.relay import (
    BASE_BACKOFF_SECONDS,
    MAX_BACKOFF_SECONDS,
    backoff_seconds,
    publish_pending,
    report_backlog,
)
from aetherflow_gateway.queue.base import Publisher, QueueUnavailable
from tests.support.builders import account, csv_file, upload
from tests.support.inspect_stores import queued_messages
from tests.support.processes import COMMAND, env_for
from tests.support.running import client_for, running_app, services_of
from tests.support.tcp_proxy import TcpProxy


class RelayDiesAfterSending:
    """A relay process killed after the queue took the message, before its commit."""

    def __init__(self, real: Publisher) -> None:
        self.real = real

    async def publish(self, queue: str, body: str, attributes: dict[str, str]) -> str:
        await self.real.publish(queue, body, attributes)
        raise asyncio.CancelledError


class QueueDown:
    """A publisher whose queue refuses at once, for building a backlog quickly."""

    async def publish(self, queue: str, body: str, attributes: dict[str, str]) -> str:
        raise QueueUnavailable("the queue is down")

    async def check(self) -> None:
        raise QueueUnavailable("the queue is down")

    async def close(self) -> None:
        return None


async def backlog_of(settings: Settings, count: int) -> list[str]:
    """`count` accepted uploads whose messages are still in the outbox."""
    async with running_app(settings) as app:
        services_of(app).publisher = QueueDown()
        return await accepted_uploads(app, count)


async def messages(database: Database) -> list[OutboxMessage]:
    async with database.transaction(SYSTEM) as session:
        return list((await session.execute(select(OutboxMessage))).scalars())


async def make_due(database: Database) -> None:
    async with database.transaction(SYSTEM) as session:
        await session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))


@pytest.fixture
async def proxied_queue(
    aws_settings: Settings,
) -> AsyncIterator[tuple[Settings, TcpProxy]]:
    """The gateway reaches SQS through a relay the test can cut."""
    assert aws_settings.sqs_endpoint_url is not None
    proxy = TcpProxy(int(aws_settings.sqs_endpoint_url.rsplit(":", 1)[1]))
    await proxy.start()
    yield aws_settings.model_copy(update={"sqs_endpoint_url": proxy.url}), proxy
    await proxy.stop()


async def accepted_uploads(app: FastAPI, count: int) -> list[str]:
    async with client_for(app) as client:
        analyst = await account(client, "Sales")
        responses = [
            await upload(client, analyst, csv_file(rows=i + 1)) for i in range(count)
        ]
    assert all(response.status_code == 202 for response in responses)
    return [response.json()["job"]["id"] for response in responses]


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    waits = {
        attempts: [backoff_seconds(attempts) for _ in range(50)]
        for attempts in (1, 3, 30)
    }

    assert all(BASE_BACKOFF_SECONDS <= w <= 2 * BASE_BACKOFF_SECONDS for w in waits[1])
    assert all(
        4 * BASE_BACKOFF_SECONDS <= w <= 8 * BASE_BACKOFF_SECONDS for w in waits[3]
    )
    assert all(MAX_BACKOFF_SECONDS / 2 <= w <= MAX_BACKOFF_SECONDS for w in waits[30])
    assert len(set(waits[3])) > 1


async def test_queue_outage_keeps_the_message_and_the_relay_delivers_it_later(
    proxied_queue: tuple[Settings, TcpProxy], aws_settings: Settings
) -> None:
    settings, proxy = proxied_queue
    async with running_app(settings) as app:
        database, publisher = services_of(app).database, services_of(app).publisher
        await proxy.stop()
        [job_id] = await accepted_uploads(app, 1)
        await publish_pending(database, publisher)
        [failed] = await messages(database)

        await proxy.start()
        await make_due(database)
        published = await publish_pending(database, publisher)
        [delivered] = await messages(database)

    queued = await queued_messages(aws_settings, aws_settings.etl_queue_url)
    assert failed.published_at is None
    assert failed.attempts >= 1
    assert failed.last_error
    assert failed.next_attempt_at > utcnow()
    assert published == 1
    assert delivered.published_at is not None
    assert [message.body["job_id"] for message in queued] == [job_id]


async def test_relay_that_dies_after_sending_delivers_again_with_the_same_job_id(
    aws_settings: Settings,
) -> None:
    [job_id] = await backlog_of(aws_settings, 1)
    async with running_app(aws_settings) as app:
        database, publisher = services_of(app).database, services_of(app).publisher
        await make_due(database)

        with pytest.raises(asyncio.CancelledError):
            await publish_pending(database, RelayDiesAfterSending(publisher))
        await publish_pending(database, publisher)

    queued = await queued_messages(aws_settings, aws_settings.etl_queue_url)
    assert [message.body["job_id"] for message in queued] == [job_id, job_id]


async def test_two_relays_racing_publish_each_message_once(
    aws_settings: Settings,
) -> None:
    job_ids = await backlog_of(aws_settings, 30)
    async with running_app(aws_settings) as first, running_app(aws_settings) as second:
        await make_due(services_of(first).database)

        counts = await asyncio.gather(
            *(
                publish_pending(services_of(app).database, services_of(app).publisher)
                for app in (first, second, first, second)
            )
        )

    queued = await queued_messages(aws_settings, aws_settings.etl_queue_url)
    assert sum(counts) == 30
    assert sorted(message.body["job_id"] for message in queued) == sorted(job_ids)


async def test_message_that_keeps_failing_is_reported_stuck_and_kept(
    aws_settings: Settings,
) -> None:
    async with running_app(aws_settings) as app:
        services_of(app).publisher = QueueDown()
        database, publisher = services_of(app).database, services_of(app).publisher
        await accepted_uploads(app, 1)
        for _ in range(3):
            await make_due(database)
            await publish_pending(database, publisher)

        await report_backlog(database, stuck_attempts=3)
        [kept] = await messages(database)

    assert kept.attempts == 4
    assert kept.published_at is None
    assert metrics.OUTBOX_PENDING._value.get() == 1
    assert metrics.OUTBOX_STUCK._value.get() == 1


async def test_message_not_yet_due_is_left_for_later(aws_settings: Settings) -> None:
    await backlog_of(aws_settings, 1)
    async with running_app(aws_settings) as app:
        database = services_of(app).database
        async with database.transaction(SYSTEM) as session:
            await session.execute(
                update(OutboxMessage).values(
                    next_attempt_at=utcnow() + timedelta(hours=1)
                )
            )

        published = await publish_pending(database, services_of(app).publisher)

    assert published == 0


async def test_relay_process_killed_between_send_and_mark_is_delivered_again(
    aws_settings: Settings, tmp_path: Path
) -> None:
    [job_id] = await backlog_of(aws_settings, 1)
    async with running_app(aws_settings) as app:
        await make_due(services_of(app).database)
    assert aws_settings.sqs_endpoint_url is not None
    queue = TcpProxy(int(aws_settings.sqs_endpoint_url.rsplit(":", 1)[1]))
    await queue.start()
    queue.hold_replies()

    env = env_for(
        aws_settings, sqs_endpoint_url=queue.url, dependency_timeout_seconds="60"
    )
    relay = await asyncio.create_subprocess_exec(
        *COMMAND, "relay", cwd=tmp_path, env=env, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        # SQS holds the message; the relay waits for the answer, its row unmarked.
        await wait_until_waiting(aws_settings, messages=1)
    finally:
        relay.kill()
        await relay.wait()
        await queue.stop()
    async with running_app(aws_settings) as app:
        services = services_of(app)
        sent_again = await publish_pending(services.database, services.publisher)
        left = [m for m in await messages(services.database) if m.published_at is None]

    queued = await queued_messages(aws_settings, aws_settings.etl_queue_url)
    assert sent_again == 1
    assert left == []
    assert [message.body["job_id"] for message in queued] == [job_id, job_id]


async def wait_until_waiting(settings: Settings, messages: int) -> None:
    sqs = boto3.client("sqs", endpoint_url=settings.sqs_endpoint_url)
    deadline = asyncio.get_running_loop().time() + 30
    while asyncio.get_running_loop().time() < deadline:
        attributes = await asyncio.to_thread(
            sqs.get_queue_attributes,
            QueueUrl=settings.etl_queue_url,
            AttributeNames=["ApproximateNumberOfMessages"],
        )
        if int(attributes["Attributes"]["ApproximateNumberOfMessages"]) >= messages:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the queue never held {messages} message(s)")
