import httpx
from fastapi import FastAPI

from tests.support.builders import account, csv_file, upload
from tests.support.pipeline import add_insight, set_job_status


async def test_dashboard_counts_jobs_and_datasets_and_lists_newest_insights(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    analyst = await account(client, "Sales")
    uploads = [(await upload(client, analyst, csv_file())).json() for _ in range(3)]
    await set_job_status(app, uploads[0]["job"]["id"], "succeeded")
    await set_job_status(app, uploads[1]["job"]["id"], "failed")
    await add_insight(app, "Sales", "older", age_seconds=60, revenue=10)
    await add_insight(app, "Sales", "newer", revenue=12)

    response = await client.get("/dashboards/sales", headers=analyst.headers)

    assert response.status_code == 200
    body = response.json()
    assert body["department"] == "Sales"
    assert body["jobs"] == {"queued": 1, "running": 0, "succeeded": 1, "failed": 1}
    assert body["datasets"] == 3
    assert [insight["title"] for insight in body["insights"]] == ["newer", "older"]
    assert body["insights"][0]["payload"] == {"revenue": 12}


async def test_empty_dashboard_has_zero_counts(client: httpx.AsyncClient) -> None:
    analyst = await account(client, "Supply")

    response = await client.get("/dashboards/Supply", headers=analyst.headers)

    assert response.json() == {
        "department": "Supply",
        "insights": [],
        "jobs": {"queued": 0, "running": 0, "succeeded": 0, "failed": 0},
        "datasets": 0,
    }


async def test_unknown_department_dashboard_is_forbidden(
    client: httpx.AsyncClient,
) -> None:
    analyst = await account(client, "Supply")

    response = await client.get("/dashboards/Marketing", headers=analyst.headers)

    assert response.status_code == 403
