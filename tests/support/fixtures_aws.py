"""Session fixtures for the tests that reach S3 and SQS through one moto server.

Import them into a conftest. The admin clients are plain boto3: they stand for the
operator who creates buckets and queues, and for the worker who reads what the
gateway wrote.
"""

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.support.moto_server import AWS_TEST_ENV, MotoServer

__all__ = [
    "aws_credentials",
    "moto_server",
    "s3_admin",
    "s3_bucket",
    "sqs_admin",
    "sqs_queue_url",
]


@pytest.fixture(scope="session", autouse=True)
def aws_credentials() -> Iterator[None]:
    """Fake credentials and region, and none of the developer's own."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            patch.delenv(name, raising=False)
        for name, value in AWS_TEST_ENV.items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="session")
def moto_server(aws_credentials: None) -> Iterator[MotoServer]:
    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_admin(moto_server: MotoServer) -> Iterator[Any]:
    client = boto3.client("s3", endpoint_url=moto_server.url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def sqs_admin(moto_server: MotoServer) -> Iterator[Any]:
    client = boto3.client("sqs", endpoint_url=moto_server.url)
    yield client
    client.close()


@pytest.fixture
def s3_bucket(s3_admin: Any) -> str:
    """A new, empty bucket for one test."""
    name = f"test-{uuid.uuid4().hex}"
    s3_admin.create_bucket(Bucket=name)
    return name


@pytest.fixture
def sqs_queue_url(sqs_admin: Any) -> str:
    """A new, empty queue for one test."""
    response = sqs_admin.create_queue(QueueName=f"test-{uuid.uuid4().hex}")
    return str(response["QueueUrl"])
