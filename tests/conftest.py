"""The test harness: real PostgreSQL, moto's S3 and SQS server, and the app.

API tests take `client` and run twice: once on PostgreSQL with S3 and SQS (moto's
server, reached over HTTP like AWS) and once on the embedded default (SQLite, a
local folder and local queues). Tests that need a specific backend ask for
`aws_settings` or `embedded_settings`.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher, profiles
from fastapi import FastAPI

from aetherflow_gateway.auth import passwords
from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.db.migrate import upgrade_to_head
from tests.support import postgres
from tests.support.fixtures_aws import (
    aws_credentials,
    moto_server,
    s3_admin,
    s3_bucket,
    sqs_admin,
    sqs_queue_url,
)
from tests.support.moto_server import MotoServer
from tests.support.running import client_for, running_app

TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """argon2id at its cheapest parameters, for the hundreds of accounts tests make.

    Still the real hashing code, with the unknown-email dummy hash made alike;
    `test_passwords` checks the production parameters, and the gateway processes
    some tests start hash at full cost.
    """
    hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", hasher)
        patch.setattr(passwords, "_DUMMY_HASH", hasher.hash("dummy"))
        yield


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[postgres.SessionDatabase]:
    """Migrated by the admin; the gateway gets a role that row security binds."""
    admin_url = postgres.create_database()
    upgrade_to_head(admin_url)
    database = postgres.create_app_role(admin_url)
    yield database
    postgres.drop_database(admin_url)
    postgres.drop_role(database.app_role)


@pytest.fixture(scope="session")
def postgres_url(postgres_database: postgres.SessionDatabase) -> str:
    """The URL the gateway connects with: the non-superuser app role."""
    return postgres_database.app_url


@pytest.fixture(scope="session")
def postgres_admin_url(postgres_database: postgres.SessionDatabase) -> str:
    return postgres_database.admin_url


# Fixtures shared with every test module through this conftest.
__all__ = [
    "aws_credentials",
    "moto_server",
    "s3_admin",
    "s3_bucket",
    "sqs_admin",
    "sqs_queue_url",
]


@pytest.fixture
def aws_resources(s3_bucket: str, sqs_admin: Any) -> dict[str, str]:
    """A fresh bucket and pair of queues for one test."""
    suffix = uuid.uuid4().hex[:8]
    return {
        "bucket": s3_bucket,
        "etl": sqs_admin.create_queue(QueueName=f"etl-{suffix}")["QueueUrl"],
        "ml": sqs_admin.create_queue(QueueName=f"ml-{suffix}")["QueueUrl"],
    }


@pytest.fixture
async def aws_settings(
    postgres_url: str,
    moto_server: MotoServer,
    aws_resources: dict[str, str],
    tmp_path: Path,
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
        # Production defaults to invite-only; the API tests register freely.
        registration="open",
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
    async with running_app(settings) as application:
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as test_client:
        yield test_client
