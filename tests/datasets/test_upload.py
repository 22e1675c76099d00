import hashlib

import httpx
import pytest

from tests.support.builders import account, csv_file, raw_multipart, upload


async def test_upload_answers_202_with_dataset_and_queued_job(
    client: httpx.AsyncClient,
) -> None:
    analyst = await account(client, "Sales")
    content = csv_file(rows=5)

    response = await upload(client, analyst, content, filename="q3 sales.csv")

    assert response.status_code == 202, response.text
    dataset, job = response.json()["dataset"], response.json()["job"]
    assert dataset["department"] == "Sales"
    assert dataset["filename"] == "q3 sales.csv"
    assert dataset["content_type"] == "text/csv"
    assert dataset["size_bytes"] == len(content)
    assert dataset["sha256"] == hashlib.sha256(content).hexdigest()
    assert dataset["columns"] == ["region", "amount"]
    assert dataset["uploaded_by"] == analyst.user_id
    assert job["type"] == "etl"
    assert job["status"] == "queued"
    assert job["dataset_id"] == dataset["id"]
    assert job["department"] == "Sales"
    assert job["attempts"] == 0
    assert job["request_id"] == response.headers["x-request-id"]
    assert job["created_at"].endswith("Z")


async def test_uploaded_dataset_is_listed_and_readable(
    client: httpx.AsyncClient,
) -> None:
    analyst = await account(client, "Supply")
    uploaded = (await upload(client, analyst, csv_file())).json()["dataset"]

    listing = await client.get("/datasets", headers=analyst.headers)
    single = await client.get(f"/datasets/{uploaded['id']}", headers=analyst.headers)

    assert listing.status_code == 200
    assert [item["id"] for item in listing.json()["items"]] == [uploaded["id"]]
    assert single.json() == uploaded


async def test_own_department_in_form_is_accepted_case_insensitively(
    client: httpx.AsyncClient,
) -> None:
    analyst = await account(client, "Finance")

    response = await upload(client, analyst, csv_file(), data={"department": "FINANCE"})

    assert response.status_code == 202
    assert response.json()["dataset"]["department"] == "Finance"


@pytest.mark.parametrize(
    ("content", "delimiter_header"),
    [
        (b"\xef\xbb\xbfregion;amount\nnorth;1\n", ["region", "amount"]),
        (b"region\tamount\r\nnorth\t1\r\n", ["region", "amount"]),
        ("r\u00e9gion,montant\nnord,1\n".encode(), ["r\u00e9gion", "montant"]),
        (b'"region, name",amount\n"a, b",1\n', ["region, name", "amount"]),
    ],
)
async def test_header_is_read_whatever_the_bom_and_delimiter(
    client: httpx.AsyncClient, content: bytes, delimiter_header: list[str]
) -> None:
    analyst = await account(client, "Sales")

    response = await upload(client, analyst, content)

    assert response.status_code == 202, response.text
    assert response.json()["dataset"]["columns"] == delimiter_header


@pytest.mark.parametrize(
    ("raw_name", "stored_name"),
    [
        ("../../etc/passwd.csv", "passwd.csv"),
        ("C:\\Users\\ana\\sales.csv", "sales.csv"),
        ("..", "upload.csv"),
    ],
)
async def test_file_name_is_stripped_of_paths_and_control_characters(
    client: httpx.AsyncClient, raw_name: str, stored_name: str
) -> None:
    analyst = await account(client, "Sales")

    response = await upload(client, analyst, csv_file(), filename=raw_name)

    assert response.status_code == 202, response.text
    assert response.json()["dataset"]["filename"] == stored_name


async def test_control_bytes_in_a_raw_file_name_are_removed(
    client: httpx.AsyncClient,
) -> None:
    analyst = await account(client, "Sales")
    disposition = (
        b'Content-Disposition: form-data; name="file"; filename="sa\x00les\x1b.csv"'
    )
    body, headers = raw_multipart(
        [(disposition + b"\r\nContent-Type: text/csv", csv_file())]
    )

    response = await client.post(
        "/datasets/upload", content=body, headers={**analyst.headers, **headers}
    )

    assert response.status_code == 202, response.text
    assert response.json()["dataset"]["filename"] == "sales.csv"
