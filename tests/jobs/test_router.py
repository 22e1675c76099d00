import uuid

import httpx
import pytest
from fastapi import FastAPI

from tests.support.builders import Account, account, csv_file, upload
from tests.support.pipeline import set_job_status


async def upload_jobs(client: httpx.AsyncClient, who: Account, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        response = await upload(client, who, csv_file())
        assert response.status_code == 202
        ids.append(response.json()["job"]["id"])
    return ids


async def test_jobs_are_listed_newest_first(client: httpx.AsyncClient) -> None:
    analyst = await account(client, "Sales")
    job_ids = await upload_jobs(client, analyst, 3)

    response = await client.get("/jobs", headers=analyst.headers)

    assert response.status_code == 200
    assert [job["id"] for job in response.json()["items"]] == job_ids[::-1]
    assert response.json()["next_cursor"] is None


async def test_cursor_walks_every_job_exactly_once(client: httpx.AsyncClient) -> None:
    analyst = await account(client, "Sales")
    job_ids = await upload_jobs(client, analyst, 5)
    seen: list[str] = []
    cursor = None

    for _ in range(5):
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (
            await client.get("/jobs", params=params, headers=analyst.headers)
        ).json()
        seen += [job["id"] for job in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == job_ids[::-1]


async def test_jobs_filter_by_status_type_and_dataset(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    analyst = await account(client, "Supply")
    first = (await upload(client, analyst, csv_file())).json()
    await upload(client, analyst, csv_file())
    await set_job_status(app, first["job"]["id"], "running")

    running = await client.get("/jobs?status=running", headers=analyst.headers)
    etl = await client.get("/jobs?type=etl", headers=analyst.headers)
    ml = await client.get("/jobs?type=ml", headers=analyst.headers)
    by_dataset = await client.get(
        f"/jobs?dataset_id={first['dataset']['id']}", headers=analyst.headers
    )

    assert [job["id"] for job in running.json()["items"]] == [first["job"]["id"]]
    assert len(etl.json()["items"]) == 2
    assert ml.json()["items"] == []
    assert [job["id"] for job in by_dataset.json()["items"]] == [first["job"]["id"]]


async def test_job_details_are_shown(client: httpx.AsyncClient) -> None:
    analyst = await account(client, "Finance")
    [job_id] = await upload_jobs(client, analyst, 1)

    response = await client.get(f"/jobs/{job_id}", headers=analyst.headers)

    assert response.status_code == 200
    assert response.json()["id"] == job_id
    assert response.json()["status"] == "queued"


async def test_missing_job_is_not_found(client: httpx.AsyncClient) -> None:
    analyst = await account(client, "Finance")

    response = await client.get(f"/jobs/{uuid.uuid4()}", headers=analyst.headers)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "query",
    [
        "status=exploded",
        "type=spark",
        "dataset_id=not-a-uuid",
        "limit=0",
        "limit=201",
        "limit=ten",
        "cursor=%%%",
        "cursor=bm90LWpzb24",
        "cursor=WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwgIngiXQ",
    ],
)
async def test_bad_filter_limit_or_cursor_is_unprocessable(
    client: httpx.AsyncClient, query: str
) -> None:
    analyst = await account(client, "Sales")

    response = await client.get(f"/jobs?{query}", headers=analyst.headers)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_bad_job_id_is_unprocessable(client: httpx.AsyncClient) -> None:
    analyst = await account(client, "Sales")

    response = await client.get("/jobs/not-a-uuid", headers=analyst.headers)

    assert response.status_code == 422
