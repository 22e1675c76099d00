"""One upload followed through every store: S3, PostgreSQL and SQS."""

import hashlib
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from fastapi import FastAPI
from sqlalchemy import update

from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.db.base import utcnow
from aetherflow_gateway.db.scoping import SYSTEM
from aetherflow_gateway.outbox.models import OutboxMessage
from aetherflow_gateway.outbox.relay import publish_pending
from tests.support.builders import account, csv_file, upload
from tests.support.inspect_stores import queued_messages, read_object, stored_objects
from tests.support.moto_server import free_port
from tests.support.running import client_for, running_app, services_of

MESSAGE_FIELDS = {
    "version",
    "job_id",
    "type",
    "dataset_id",
    "department",
    "object",
    "sha256",
    "size_bytes",
    "submitted_by",
    "submitted_at",
    "request_id",
}


@pytest.fixture
async def aws_app(aws_settings: Settings) -> AsyncIterator[FastAPI]:
    async with running_app(aws_settings) as app:
        yield app


async def test_upload_reaches_s3_postgres_and_sqs(
    aws_app: FastAPI, aws_settings: Settings
) -> None:
    content = csv_file(rows=100)
    async with client_for(aws_app) as client:
        analyst = await account(client, "Finance")
        response = await upload(
            client, analyst, content, headers={"X-Request-ID": "trace-e2e-1"}
        )
    dataset, job = response.json()["dataset"], response.json()["job"]

    messages = await queued_messages(aws_settings, aws_settings.etl_queue_url)

    assert response.status_code == 202
    [message] = messages
    assert set(message.body) == MESSAGE_FIELDS
    assert message.body["version"] == 1
    assert message.body["job_id"] == job["id"]
    assert message.body["type"] == "etl"
    assert message.body["dataset_id"] == dataset["id"]
    assert message.body["department"] == "Finance"
    assert message.body["sha256"] == hashlib.sha256(content).hexdigest()
    assert message.body["size_bytes"] == len(content)
    assert message.body["submitted_by"] == analyst.user_id
    assert datetime.fromisoformat(
        message.body["submitted_at"]
    ) == datetime.fromisoformat(job["created_at"])
    assert message.body["request_id"] == "trace-e2e-1"
    assert message.attributes == {
        "request_id": "trace-e2e-1",
        "department": "Finance",
        "job_type": "etl",
    }
    assert message.body["object"].startswith(
        f"s3://{aws_settings.storage_url[5:]}/finance/"
    )
    assert read_object(aws_settings, message.body["object"]) == content
    assert await queued_messages(aws_settings, aws_settings.ml_queue_url) == []


async def test_message_that_failed_to_publish_is_delivered_by_the_relay(
    aws_settings: Settings,
) -> None:
    dead_queue = aws_settings.model_copy(
        update={"sqs_endpoint_url": f"http://127.0.0.1:{free_port()}"}
    )
    async with running_app(dead_queue) as app, client_for(app) as client:
        analyst = await account(client, "Sales")
        response = await upload(client, analyst, csv_file())
    job_id = response.json()["job"]["id"]
    waiting_before_relay = await queued_messages(
        aws_settings, aws_settings.etl_queue_url
    )

    async with running_app(aws_settings) as app:
        services = services_of(app)
        await _make_due_now(app)
        published = await publish_pending(services.database, services.publisher)
    delivered = await queued_messages(aws_settings, aws_settings.etl_queue_url)

    assert response.status_code == 202
    assert waiting_before_relay == []
    assert published == 1
    assert [message.body["job_id"] for message in delivered] == [job_id]
    assert len(stored_objects(aws_settings)) == 1


async def _make_due_now(app: FastAPI) -> None:
    # The failed publish scheduled a retry with backoff; skip the wait.
    async with services_of(app).database.transaction(SYSTEM) as session:
        await session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
