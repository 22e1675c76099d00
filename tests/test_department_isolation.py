"""The cross-department matrix: every department against every other one.

Objects of another department answer 404 as if they did not exist; a department
named in a path or form field that is not the caller's answers 403.
"""

import itertools
from dataclasses import dataclass

import httpx
import pytest

from tests.support.builders import Account, account, csv_file, upload

DEPARTMENTS = ("Sales", "Supply", "Finance")
PAIRS = list(itertools.permutations(DEPARTMENTS, 2))


@dataclass(frozen=True)
class Holdings:
    owner: Account
    dataset_id: str
    job_id: str


@pytest.fixture
async def holdings(client: httpx.AsyncClient) -> dict[str, Holdings]:
    """One user per department, each with one uploaded dataset and its job."""
    result = {}
    for department in DEPARTMENTS:
        owner = await account(client, department)
        body = (await upload(client, owner, csv_file())).json()
        result[department] = Holdings(owner, body["dataset"]["id"], body["job"]["id"])
    return result


async def test_each_department_sees_only_its_own_rows(
    client: httpx.AsyncClient, holdings: dict[str, Holdings]
) -> None:
    for department, own in holdings.items():
        jobs = await client.get("/jobs", headers=own.owner.headers)
        datasets = await client.get("/datasets", headers=own.owner.headers)
        board = await client.get(f"/dashboards/{department}", headers=own.owner.headers)

        assert [job["id"] for job in jobs.json()["items"]] == [own.job_id]
        assert [d["id"] for d in datasets.json()["items"]] == [own.dataset_id]
        assert board.json()["datasets"] == 1
        assert board.json()["jobs"]["queued"] == 1


# Each test below walks all six (caller, other) pairs over one set of holdings:
# building holdings costs six password hashes, so it is done once per test.


async def test_another_departments_objects_answer_404(
    client: httpx.AsyncClient, holdings: dict[str, Holdings]
) -> None:
    for reader, owner in PAIRS:
        headers = holdings[reader].owner.headers
        theirs = holdings[owner]

        job = await client.get(f"/jobs/{theirs.job_id}", headers=headers)
        dataset = await client.get(f"/datasets/{theirs.dataset_id}", headers=headers)

        assert (job.status_code, dataset.status_code) == (404, 404), (reader, owner)
        assert job.json()["detail"] == "No such job."
        assert dataset.json()["detail"] == "No such dataset."


async def test_filtering_by_another_departments_dataset_finds_nothing(
    client: httpx.AsyncClient, holdings: dict[str, Holdings]
) -> None:
    for reader, owner in PAIRS:
        headers = holdings[reader].owner.headers

        response = await client.get(
            "/jobs", params={"dataset_id": holdings[owner].dataset_id}, headers=headers
        )

        assert response.status_code == 200
        assert response.json()["items"] == [], (reader, owner)


async def test_another_departments_dashboard_is_forbidden(
    client: httpx.AsyncClient, holdings: dict[str, Holdings]
) -> None:
    for reader, owner in PAIRS:
        headers = holdings[reader].owner.headers
        for spelling in (owner, owner.lower(), owner.upper()):
            response = await client.get(f"/dashboards/{spelling}", headers=headers)

            assert response.status_code == 403, (reader, spelling)
            assert response.headers["content-type"] == "application/problem+json"


async def test_uploading_into_another_department_is_forbidden(
    client: httpx.AsyncClient, holdings: dict[str, Holdings]
) -> None:
    for uploader, target in PAIRS:
        who = holdings[uploader].owner

        response = await upload(client, who, csv_file(), data={"department": target})
        jobs = await client.get("/jobs", headers=holdings[target].owner.headers)

        assert response.status_code == 403, (uploader, target)
        assert len(jobs.json()["items"]) == 1
