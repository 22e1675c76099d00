"""A dependency that is down answers a clear 503 and loses nothing."""

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from aetherflow_gateway.core.settings import Settings
from tests.support import postgres
from tests.support.builders import account, csv_file, upload
from tests.support.inspect_stores import row_counts, stored_objects
from tests.support.moto_server import free_port
from tests.support.running import client_for, gateway_client, running_app, services_of


def dead_endpoint() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
async def aws_app(aws_settings: Settings) -> AsyncIterator[FastAPI]:
    async with running_app(aws_settings) as app:
        yield app


async def test_object_store_down_answers_503_and_records_nothing(
    aws_settings: Settings,
) -> None:
    broken = aws_settings.model_copy(update={"s3_endpoint_url": dead_endpoint()})
    async with running_app(broken) as app, client_for(app) as client:
        analyst = await account(client, "Sales")

        response = await upload(client, analyst, csv_file())
        counts = await row_counts(services_of(app).database)

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    assert counts == {"datasets": 0, "jobs": 0, "outbox": 0}
    assert stored_objects(aws_settings) == []


async def test_queue_down_still_accepts_and_keeps_the_message(
    aws_settings: Settings,
) -> None:
    broken = aws_settings.model_copy(update={"sqs_endpoint_url": dead_endpoint()})
    async with running_app(broken) as app, client_for(app) as client:
        analyst = await account(client, "Sales")

        response = await upload(client, analyst, csv_file())
        counts = await row_counts(services_of(app).database)

    assert response.status_code == 202
    assert counts == {"datasets": 1, "jobs": 1, "outbox": 1}


async def test_database_down_answers_503(aws_settings: Settings) -> None:
    async with running_app(aws_settings) as app, client_for(app) as client:
        analyst = await account(client, "Sales")
    broken = aws_settings.model_copy(
        update={"database_url": "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"}
    )

    async with running_app(broken) as app, client_for(app) as client:
        jobs = await client.get("/jobs", headers=analyst.headers)
        uploaded = await upload(client, analyst, csv_file())
        login = await client.post(
            "/auth/login", json={"email": "a@b.c", "password": "x"}
        )

    assert jobs.status_code == 503
    assert uploaded.status_code == 503
    assert login.status_code == 503
    assert jobs.headers["content-type"] == "application/problem+json"
    assert stored_objects(aws_settings) == []


async def test_terminated_database_connections_heal_on_the_next_request(
    aws_app: FastAPI, aws_settings: Settings
) -> None:
    async with client_for(aws_app) as client:
        analyst = await account(client, "Sales")
        await client.get("/jobs", headers=analyst.headers)

        await postgres.execute(
            aws_settings.database_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        response = await client.get("/jobs", headers=analyst.headers)

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("setting", "dependency"),
    [("s3_endpoint_url", "object_store"), ("sqs_endpoint_url", "queue")],
)
async def test_readiness_names_the_dependency_that_is_down(
    aws_settings: Settings, setting: str, dependency: str
) -> None:
    async with gateway_client(aws_settings, **{setting: dead_endpoint()}) as client:
        response = await client.get("/health/ready")
        liveness = await client.get("/health")

    assert response.status_code == 503
    assert response.json()["checks"][dependency] == "unavailable"
    assert response.json()["checks"]["database"] == "ok"
    assert liveness.status_code == 200


async def test_readiness_reports_a_database_that_is_down(
    aws_settings: Settings,
) -> None:
    broken = aws_settings.model_copy(
        update={"database_url": "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"}
    )
    async with running_app(broken) as app, client_for(app) as client:
        response = await client.get("/health/ready")

    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unavailable"
