import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.queue.base import QueueUnavailable
from aetherflow_gateway.queue.sqs import SqsPublisher
from tests.support.moto_server import MotoServer, free_port

pytestmark = pytest.mark.aws

OUTAGE_BOUND_SECONDS = 15
ATTRIBUTES = {"request_id": "req-1", "department": "Sales", "job_type": "etl"}


def sqs_settings(endpoint_url: str, etl_queue_url: str) -> Settings:
    return Settings(
        etl_queue_url=etl_queue_url,
        ml_queue_url=etl_queue_url,
        sqs_endpoint_url=endpoint_url,
        dependency_timeout_seconds=1.0,
        jwt_secret=SecretStr("a-test-secret-that-is-long-enough-for-hs256"),
    )


async def open_publisher(endpoint_url: str, etl_queue_url: str) -> SqsPublisher:
    settings = sqs_settings(endpoint_url, etl_queue_url)
    return await SqsPublisher.open(settings, {"etl": etl_queue_url})


def received(sqs_admin: Any, queue_url: str) -> list[Any]:
    response = sqs_admin.receive_message(
        QueueUrl=queue_url, MessageAttributeNames=["All"], WaitTimeSeconds=1
    )
    return list(response.get("Messages", []))


def string_attributes(message: Any) -> dict[str, str]:
    attributes = message.get("MessageAttributes", {})
    return {name: value["StringValue"] for name, value in attributes.items()}


@pytest.fixture
async def publisher(
    moto_server: MotoServer, sqs_queue_url: str
) -> AsyncIterator[SqsPublisher]:
    publisher = await open_publisher(moto_server.url, sqs_queue_url)
    yield publisher
    await publisher.close()


class TestPublish:
    async def test_message_arrives_with_its_body_and_attributes(
        self, publisher: SqsPublisher, sqs_admin: Any, sqs_queue_url: str
    ) -> None:
        body = '{"version": 1, "job_id": "42"}'

        message_id = await publisher.publish("etl", body, ATTRIBUTES)

        [message] = received(sqs_admin, sqs_queue_url)
        assert message["MessageId"] == message_id
        assert message["Body"] == body
        assert string_attributes(message) == ATTRIBUTES

    async def test_empty_attribute_is_left_out(
        self, publisher: SqsPublisher, sqs_admin: Any, sqs_queue_url: str
    ) -> None:
        await publisher.publish("etl", "{}", {"request_id": "", "department": "Sales"})

        [message] = received(sqs_admin, sqs_queue_url)
        assert string_attributes(message) == {"department": "Sales"}

    async def test_unconfigured_queue_name_is_refused(
        self, publisher: SqsPublisher
    ) -> None:
        with pytest.raises(ValueError, match="'ml'"):
            await publisher.publish("ml", "{}", ATTRIBUTES)


class TestCheck:
    async def test_existing_queue_answers(self, publisher: SqsPublisher) -> None:
        await publisher.check()

    async def test_missing_queue_is_unavailable(
        self, moto_server: MotoServer, sqs_queue_url: str
    ) -> None:
        missing_url = sqs_queue_url.rsplit("/", 1)[0] + "/no-such-queue"
        publisher = await open_publisher(moto_server.url, missing_url)

        with pytest.raises(QueueUnavailable):
            await publisher.check()
        await publisher.close()


class TestOutage:
    @pytest.fixture
    async def dead_publisher(
        self, aws_credentials: None
    ) -> AsyncIterator[SqsPublisher]:
        dead_endpoint = f"http://127.0.0.1:{free_port()}"
        publisher = await open_publisher(dead_endpoint, f"{dead_endpoint}/1/etl")
        yield publisher
        await publisher.close()

    async def test_publish_fails_quickly(self, dead_publisher: SqsPublisher) -> None:
        with pytest.raises(QueueUnavailable):
            async with asyncio.timeout(OUTAGE_BOUND_SECONDS):
                await dead_publisher.publish("etl", "{}", ATTRIBUTES)

    async def test_check_fails_quickly(self, dead_publisher: SqsPublisher) -> None:
        with pytest.raises(QueueUnavailable):
            async with asyncio.timeout(OUTAGE_BOUND_SECONDS):
                await dead_publisher.check()
