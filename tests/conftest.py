"""The test harness: real PostgreSQL, moto's S3 and SQS server, and the app.

API tests take `client` and run twice: once on PostgreSQL with S3 and SQS (moto's
server, reached over HTTP like AWS) and once on the embedded default (SQLite, a
local folder and local queues). Tests that need a specific backend ask for
`aws_settings` or `embedded_settings`.
"""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from aetherflow_gateway.app import create_app
from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.db.migrate import upgrade_to_head
from tests.support import postgres
from tests.support.moto_server import AWS_TEST_ENV, MotoServer

TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"


@pytest.fixture(scope="session", autouse=True)
def aws_credentials() -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in AWS_TEST_ENV}
    os.environ.update(AWS_TEST_ENV)
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = postgres.create_database()
    upgrade_to_head(url)
    yield url
    postgres.drop_database(url)


@pytest.fixture
def aws_resources(moto_server: MotoServer) -> dict[str, str]:
    """A fresh bucket and pair of queues for one test."""
    suffix = uuid.uuid4().hex[:8]
    s3 = boto3.client("s3", endpoint_url=moto_server.url)
    sqs = boto3.client("sqs", endpoint_url=moto_server.url)
    bucket = f"datasets-{suffix}"
    s3.create_bucket(Bucket=bucket)
    return {
        "bucket": bucket,
        "etl": sqs.create_queue(QueueName=f"etl-{suffix}")["QueueUrl"],
        "ml": sqs.create_queue(QueueName=f"ml-{suffix}")["QueueUrl"],
    }


@pytest.fixture
async def aws_settings(
    postgres_url: str, moto_server: MotoServer, aws_resources: dict[str, str], tmp_path: Path
) -> AsyncIterator[Settings]:
    yield Settings(
        _env_file=None,
        var_dir=tmp_path,
        database_url=postgres_url,
        storage_url=f"s3://{aws_resources['bucket']}/uploads",
        s3_endpoint_url=moto_server.url,
        etl_queue_url=aws_resources["etl"],
        ml_queue_url=aws_resources["ml"],
        sqs_endpoint_url=moto_server.url,
        jwt_secret=TEST_SECRET,
        relay_in_serve=False,
        dependency_timeout_seconds=2.0,
    )
    await postgres.truncate_all(postgres_url)


@pytest.fixture
async def embedded_settings(tmp_path: Path) -> Settings:
    settings = Settings(
        _env_file=None,
        var_dir=tmp_path / "var",
        storage_url=f"file://{tmp_path}/objects",
        etl_queue_url=f"file://{tmp_path}/queue/etl",
        ml_queue_url=f"file://{tmp_path}/queue/ml",
        relay_in_serve=False,
    )
    await asyncio.to_thread(upgrade_to_head, settings.resolved_database_url)
    return settings


@pytest.fixture(params=["postgres-aws", "embedded"])
def settings(request: pytest.FixtureRequest) -> Settings:
    name = "aws_settings" if request.param == "postgres-aws" else "embedded_settings"
    resolved: Settings = request.getfixturevalue(name)
    return resolved


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
        yield c
