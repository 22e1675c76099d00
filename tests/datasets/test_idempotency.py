import asyncio
import uuid

import httpx
import pytest
from fastapi import FastAPI

from aetherflow_gateway.auth.tokens import Caller
from aetherflow_gateway.datasets import idempotency
from tests.support.builders import account, csv_file, upload
from tests.support.inspect_stores import row_counts
from tests.support.running import services_of


def keyed(key: str) -> dict[str, str | bytes]:
    return {"Idempotency-Key": key}


async def test_retry_with_the_same_key_and_file_replays_the_first_answer(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    analyst = await account(client, "Sales")
    key = f"upload-{uuid.uuid4()}"

    first = await upload(client, analyst, csv_file(), headers=keyed(key))
    second = await upload(client, analyst, csv_file(), headers=keyed(key))

    assert first.status_code == second.status_code == 202
    assert second.json() == first.json()
    assert await row_counts(services_of(app).database) == {
        "datasets": 1,
        "jobs": 1,
        "outbox": 1,
    }


async def test_same_key_with_another_file_is_unprocessable(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    analyst = await account(client, "Sales")
    await upload(client, analyst, csv_file(rows=2), headers=keyed("k-1"))

    response = await upload(client, analyst, csv_file(rows=3), headers=keyed("k-1"))

    assert response.status_code == 422
    assert "different file" in response.json()["detail"]
    assert (await row_counts(services_of(app).database))["datasets"] == 1


async def test_racing_retries_create_exactly_one_upload(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    analyst = await account(client, "Supply")
    content = csv_file(rows=2000)

    responses = await asyncio.gather(
        *(upload(client, analyst, content, headers=keyed("race")) for _ in range(6))
    )

    statuses = sorted(response.status_code for response in responses)
    accepted = [r.json() for r in responses if r.status_code == 202]
    assert set(statuses) <= {202, 409}
    assert accepted
    assert all(body == accepted[0] for body in accepted)
    assert await row_counts(services_of(app).database) == {
        "datasets": 1,
        "jobs": 1,
        "outbox": 1,
    }


async def test_key_held_by_an_upload_in_flight_answers_409(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    analyst = await account(client, "Finance")
    caller = Caller(user_id=uuid.UUID(analyst.user_id), department="Finance")
    await idempotency.claim(services_of(app).database, caller, "in-flight")

    response = await upload(client, analyst, csv_file(), headers=keyed("in-flight"))

    assert response.status_code == 409
    assert (await row_counts(services_of(app).database))["datasets"] == 0


async def test_failed_upload_releases_its_key(client: httpx.AsyncClient) -> None:
    analyst = await account(client, "Sales")

    refused = await upload(client, analyst, b"", headers=keyed("retry-me"))
    accepted = await upload(client, analyst, csv_file(), headers=keyed("retry-me"))

    assert refused.status_code == 422
    assert accepted.status_code == 202


async def test_keys_belong_to_one_user(client: httpx.AsyncClient, app: FastAPI) -> None:
    first, second = await account(client, "Sales"), await account(client, "Sales")

    one = await upload(client, first, csv_file(), headers=keyed("shared"))
    other = await upload(client, second, csv_file(), headers=keyed("shared"))

    assert one.status_code == other.status_code == 202
    assert one.json()["dataset"]["id"] != other.json()["dataset"]["id"]


@pytest.mark.parametrize("key", ["x" * 256, "has space", "caf\u00e9", ""])
async def test_key_that_breaks_the_rules_is_a_bad_request(
    client: httpx.AsyncClient, app: FastAPI, key: str
) -> None:
    analyst = await account(client, "Sales")

    # Sent as raw bytes: HTTP clients refuse to encode non-ASCII header text.
    headers = {"Idempotency-Key": key.encode()}
    response = await upload(client, analyst, csv_file(), headers=headers)

    assert response.status_code == 400
    assert (await row_counts(services_of(app).database))["datasets"] == 0
