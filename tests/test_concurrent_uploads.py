"""Many clients at once, some retrying: every accepted upload exists exactly once."""

import asyncio
import random

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.db.models import Dataset, Job, OutboxMessage
from aetherflow_gateway.db.scoping import SYSTEM
from tests.support.builders import Account, account, csv_file, upload
from tests.support.inspect_stores import queued_messages, stored_objects
from tests.support.running import client_for, running_app, services_of

UPLOADS = 200
CLIENTS = 50
USERS = 5


async def send(client: httpx.AsyncClient, who: Account, number: int) -> httpx.Response:
    headers = {"Idempotency-Key": f"upload-{number}"}
    return await upload(client, who, csv_file(rows=number % 7 + 1), headers=headers)


async def test_every_accepted_upload_ends_with_one_object_dataset_job_and_message(
    aws_settings: Settings,
) -> None:
    async with running_app(aws_settings) as app, client_for(app) as client:
        users = [await account(client, "Sales") for _ in range(USERS)]
        work = [(users[n % USERS], n) for n in range(UPLOADS)]
        retried = random.Random(7).sample(work, UPLOADS // 4)
        queue: asyncio.Queue[tuple[Account, int]] = asyncio.Queue()
        for item in work + retried:
            queue.put_nowait(item)
        responses: list[httpx.Response] = []

        async def worker() -> None:
            while not queue.empty():
                who, number = queue.get_nowait()
                responses.append(await send(client, who, number))

        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
        counts = await _counts(app)

    accepted = [r.json() for r in responses if r.status_code == 202]
    job_ids = {body["job"]["id"] for body in accepted}
    delivered = await queued_messages(aws_settings, aws_settings.etl_queue_url)
    assert {r.status_code for r in responses} <= {202, 409}
    assert len(job_ids) == UPLOADS
    assert counts == {"datasets": UPLOADS, "jobs": UPLOADS, "unpublished": 0}
    assert len(stored_objects(aws_settings)) == UPLOADS
    assert {message.body["job_id"] for message in delivered} == job_ids


async def _counts(app: FastAPI) -> dict[str, int]:
    async with services_of(app).database.transaction(SYSTEM) as session:
        datasets = await session.scalar(select(func.count(Dataset.id)))
        jobs = await session.scalar(select(func.count(Job.id)))
        unpublished = await session.scalar(
            select(func.count(OutboxMessage.id)).where(
                OutboxMessage.published_at.is_(None)
            )
        )
    return {
        "datasets": datasets or 0,
        "jobs": jobs or 0,
        "unpublished": unpublished or 0,
    }
