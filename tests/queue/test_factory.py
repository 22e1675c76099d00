from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.queue.factory import QueueRouter, open_publisher
from aetherflow_gateway.queue.local import LocalPublisher, LocalQueue
from aetherflow_gateway.queue.sqs import SqsPublisher
from tests.support.moto_server import MotoServer


async def test_file_urls_give_a_local_publisher(tmp_path: Path) -> None:
    settings = Settings(
        etl_queue_url=(tmp_path / "etl").as_uri(),
        ml_queue_url=(tmp_path / "ml").as_uri(),
    )

    publisher = await open_publisher(settings)

    assert isinstance(publisher, LocalPublisher)


@pytest.mark.aws
async def test_sqs_urls_give_an_sqs_publisher(
    moto_server: MotoServer, sqs_queue_url: str
) -> None:
    settings = Settings(
        etl_queue_url=sqs_queue_url,
        ml_queue_url=sqs_queue_url,
        sqs_endpoint_url=moto_server.url,
        jwt_secret=SecretStr("a-test-secret-that-is-long-enough-for-hs256"),
    )

    publisher = await open_publisher(settings)
    await publisher.close()

    assert isinstance(publisher, SqsPublisher)


@pytest.mark.aws
async def test_mixed_urls_route_each_queue_to_its_backend(
    moto_server: MotoServer, sqs_admin: Any, sqs_queue_url: str, tmp_path: Path
) -> None:
    ml_queue_url = (tmp_path / "ml").as_uri()
    settings = Settings(
        etl_queue_url=sqs_queue_url,
        ml_queue_url=ml_queue_url,
        sqs_endpoint_url=moto_server.url,
        jwt_secret=SecretStr("a-test-secret-that-is-long-enough-for-hs256"),
    )
    publisher = await open_publisher(settings)

    await publisher.publish("etl", "to sqs", {"job_type": "etl"})
    await publisher.publish("ml", "to a folder", {"job_type": "ml"})
    await publisher.check()
    await publisher.close()

    assert isinstance(publisher, QueueRouter)
    [sqs_message] = sqs_admin.receive_message(QueueUrl=sqs_queue_url)["Messages"]
    assert sqs_message["Body"] == "to sqs"
    [local_message] = await LocalQueue.from_url(ml_queue_url).receive()
    assert local_message.body == "to a folder"
