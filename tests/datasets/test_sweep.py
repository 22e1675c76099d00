"""The sweep removes what a crashed upload left, and nothing a live one needs."""

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, update

from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.datasets.models import PendingObject, UploadKey
from aetherflow_gateway.datasets.sweep import sweep
from aetherflow_gateway.db.base import utcnow
from aetherflow_gateway.db.scoping import SYSTEM
from tests.support.builders import account, csv_file, upload
from tests.support.inspect_stores import leave_unfinished_write, stored_objects
from tests.support.running import running_app, services_of

HOURS_AGO = timedelta(hours=48)


async def crash_after_commit(app: FastAPI, key: str) -> str:
    """What a process killed between storing the object and the dataset leaves."""
    services = services_of(app)
    url = services.store.url_for(key)
    async with services.database.transaction(SYSTEM) as session:
        session.add(
            PendingObject(
                object_url=url, department="Sales", created_at=utcnow() - HOURS_AGO
            )
        )
    writer = services.store.writer(key, "text/csv")
    await writer.write(csv_file())
    await writer.commit()
    return url


async def pending_rows(app: FastAPI) -> int:
    async with services_of(app).database.transaction(SYSTEM) as session:
        return await session.scalar(select(func.count(PendingObject.object_url))) or 0


async def test_orphaned_object_is_removed_once_past_the_grace_period(
    app: FastAPI, settings: Settings
) -> None:
    await crash_after_commit(app, "sales/2026/01/01/orphan.csv")

    report = await sweep(services_of(app))

    assert report.orphaned_objects == 1
    assert stored_objects(settings) == []
    assert await pending_rows(app) == 0


async def test_accepted_uploads_are_left_alone(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    analyst = await account(client, "Sales")
    await upload(client, analyst, csv_file())
    before = stored_objects(settings)

    report = await sweep(services_of(app))

    assert report.orphaned_objects == 0
    assert len(before) == 1
    assert stored_objects(settings) == before
    assert await pending_rows(app) == 0


async def test_recent_pending_object_is_not_touched(
    app: FastAPI, settings: Settings
) -> None:
    services = services_of(app)
    url = services.store.url_for("sales/2026/01/01/live.csv")
    async with services.database.transaction(SYSTEM) as session:
        session.add(PendingObject(object_url=url, department="Sales"))

    report = await sweep(services)

    assert report.orphaned_objects == 0
    assert await pending_rows(app) == 1


async def test_unfinished_write_past_the_grace_period_is_discarded(
    app: FastAPI, settings: Settings
) -> None:
    leave_unfinished_write(settings, "sales/2026/01/01/partial.csv")
    services = services_of(app)
    services.settings = settings.model_copy(update={"sweep_grace_seconds": 0})
    assert stored_objects(settings) != []

    report = await sweep(services)

    assert report.unfinished_writes == 1
    assert stored_objects(settings) == []


async def test_unfinished_write_within_the_grace_period_is_kept(
    embedded_settings: Settings,
) -> None:
    # Embedded only: moto reports every multipart upload as started in 2010.
    leave_unfinished_write(embedded_settings, "sales/2026/01/01/live.csv")

    async with running_app(embedded_settings) as app:
        report = await sweep(services_of(app))

    assert report.unfinished_writes == 0
    assert stored_objects(embedded_settings) != []


async def test_keys_past_their_time_to_live_are_deleted(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    analyst = await account(client, "Sales")
    await upload(client, analyst, csv_file(), headers={"Idempotency-Key": "old"})
    await upload(client, analyst, csv_file(rows=4), headers={"Idempotency-Key": "new"})
    async with services_of(app).database.transaction(SYSTEM) as session:
        await session.execute(
            update(UploadKey)
            .where(UploadKey.key == "old")
            .values(created_at=utcnow() - timedelta(hours=25))
        )

    report = await sweep(services_of(app))

    async with services_of(app).database.transaction(SYSTEM) as session:
        keys = list((await session.execute(select(UploadKey.key))).scalars())
    assert report.expired_keys == 1
    assert keys == ["new"]
