"""Every refused upload answers a clear 4xx problem and leaves nothing behind."""

import gzip
import io
import zipfile
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.datasets.form_stream import MAX_FIELD_BYTES, MAX_FIELDS
from tests.support.builders import Account, account, csv_file, raw_multipart, upload
from tests.support.inspect_stores import queued_messages, row_counts, stored_objects
from tests.support.running import client_for, running_app, services_of


async def assert_nothing_kept(app: FastAPI, settings: Settings) -> None:
    assert await row_counts(services_of(app).database) == {
        "datasets": 0,
        "jobs": 0,
        "outbox": 0,
    }
    assert stored_objects(settings) == []
    assert await queued_messages(settings, settings.etl_queue_url) == []


def zipped(content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("sales.csv", content)
    return buffer.getvalue()


BAD_FILES = {
    "empty": (b"", 422),
    "header only": (b"region,amount\n", 422),
    "header only, no newline": (b"region,amount", 422),
    "blank lines only": (b"\n\n\n", 422),
    "numbers where the header belongs": (b"1,2\n3,4\n", 422),
    "empty column name": (b"region,,amount\nn,1,2\n", 422),
    "repeated column name": (b"region,region\nn,s\n", 422),
    "NUL bytes": (b"region,amount\nnorth,\x001\n", 415),
    "gzip": (gzip.compress(csv_file()), 415),
    "zip": (zipped(csv_file()), 415),
    "png": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), 415),
    "latin-1 text": ("r\u00e9gion,montant\nnord,1\n".encode("latin-1"), 415),
    "utf-16 text": ("region,amount\nnorth,1\n".encode("utf-16"), 415),
    "binary noise": (bytes(range(256)) * 4, 415),
}


@pytest.mark.parametrize("case", BAD_FILES)
async def test_bad_file_is_refused_and_nothing_kept(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, case: str
) -> None:
    analyst = await account(client, "Sales")
    content, status = BAD_FILES[case]

    response = await upload(client, analyst, content)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status
    await assert_nothing_kept(app, settings)


async def test_image_part_type_is_unsupported(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    analyst = await account(client, "Sales")

    response = await upload(client, analyst, csv_file(), content_type="image/png")

    assert response.status_code == 415
    await assert_nothing_kept(app, settings)


async def test_body_that_is_not_multipart_is_unsupported(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    analyst = await account(client, "Sales")
    headers = {**analyst.headers, "Content-Type": "text/csv"}

    response = await client.post(
        "/datasets/upload", content=csv_file(), headers=headers
    )

    assert response.status_code == 415
    await assert_nothing_kept(app, settings)


async def test_form_without_a_file_is_unprocessable(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    analyst = await account(client, "Sales")

    field = (b'Content-Disposition: form-data; name="department"', b"Sales")
    body, headers = raw_multipart([field])

    response = await client.post(
        "/datasets/upload", content=body, headers={**analyst.headers, **headers}
    )

    assert response.status_code == 422
    assert "file" in response.json()["detail"]
    await assert_nothing_kept(app, settings)


async def test_two_files_are_unprocessable(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    analyst = await account(client, "Sales")
    files = [
        ("file", ("a.csv", csv_file(), "text/csv")),
        ("file", ("b.csv", csv_file(), "text/csv")),
    ]

    response = await client.post(
        "/datasets/upload", files=files, headers=analyst.headers
    )

    assert response.status_code == 422
    await assert_nothing_kept(app, settings)


def note_field(number: int, value: bytes = b"x") -> tuple[bytes, bytes]:
    return (f'Content-Disposition: form-data; name="note{number}"'.encode(), value)


FILE_PART = (
    b'Content-Disposition: form-data; name="file"; filename="a.csv"',
    csv_file(),
)
OVERSIZED_FORMS = {
    "too many fields": [*(note_field(n) for n in range(MAX_FIELDS + 1)), FILE_PART],
    "a field too large": [note_field(0, b"x" * (MAX_FIELD_BYTES + 1)), FILE_PART],
}


@pytest.mark.parametrize("case", OVERSIZED_FORMS)
async def test_form_over_its_field_limits_is_a_bad_request(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, case: str
) -> None:
    analyst = await account(client, "Sales")
    body, headers = raw_multipart(OVERSIZED_FORMS[case])

    response = await client.post(
        "/datasets/upload", content=body, headers={**analyst.headers, **headers}
    )

    assert response.status_code == 400, response.text
    assert "at most" in response.json()["detail"]
    await assert_nothing_kept(app, settings)


async def test_form_at_its_field_limits_is_accepted(
    client: httpx.AsyncClient,
) -> None:
    analyst = await account(client, "Sales")
    notes = [note_field(n, b"x" * MAX_FIELD_BYTES) for n in range(MAX_FIELDS)]
    body, headers = raw_multipart([*notes, FILE_PART])

    response = await client.post(
        "/datasets/upload", content=body, headers={**analyst.headers, **headers}
    )

    assert response.status_code == 202, response.text


async def test_truncated_multipart_body_is_a_bad_request(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    analyst = await account(client, "Sales")
    disposition = b'Content-Disposition: form-data; name="file"; filename="a.csv"'
    body, headers = raw_multipart([(disposition, csv_file())])

    response = await client.post(
        "/datasets/upload", content=body[:-30], headers={**analyst.headers, **headers}
    )

    assert response.status_code == 400
    await assert_nothing_kept(app, settings)


@pytest.mark.parametrize("position", ["before the file", "after the file"])
async def test_another_department_in_the_form_is_forbidden(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, position: str
) -> None:
    analyst = await account(client, "Sales")
    department = (b'Content-Disposition: form-data; name="department"', b"Finance")
    file = (
        b'Content-Disposition: form-data; name="file"; filename="a.csv"',
        csv_file(),
    )
    parts = [department, file] if position == "before the file" else [file, department]
    body, headers = raw_multipart(parts)

    response = await client.post(
        "/datasets/upload", content=body, headers={**analyst.headers, **headers}
    )

    assert response.status_code == 403
    await assert_nothing_kept(app, settings)


async def test_upload_without_a_token_is_refused_before_the_body_is_read(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    response = await client.post(
        "/datasets/upload", files={"file": ("a.csv", csv_file(), "text/csv")}
    )

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    await assert_nothing_kept(app, settings)


@pytest.fixture
async def small_limit_app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with running_app(
        settings.model_copy(update={"max_upload_bytes": 1000})
    ) as app:
        yield app


async def _streamed(content: bytes, chunk: int = 100) -> AsyncIterator[bytes]:
    for start in range(0, len(content), chunk):
        yield content[start : start + chunk]


async def test_file_over_the_limit_is_refused_while_streaming(
    small_limit_app: FastAPI, settings: Settings
) -> None:
    async with client_for(small_limit_app) as client:
        analyst: Account = await account(client, "Sales")
        disposition = b'Content-Disposition: form-data; name="file"; filename="a.csv"'
        body, headers = raw_multipart([(disposition, csv_file(rows=500))])

        # A generator body is sent without Content-Length, so only the streaming
        # count can catch it.
        response = await client.post(
            "/datasets/upload",
            content=_streamed(body),
            headers={**analyst.headers, **headers},
        )

    assert response.status_code == 413
    await assert_nothing_kept(small_limit_app, settings)


async def test_declared_length_over_the_limit_is_refused_at_once(
    small_limit_app: FastAPI, settings: Settings
) -> None:
    async with client_for(small_limit_app) as client:
        analyst = await account(client, "Sales")

        response = await upload(client, analyst, csv_file(rows=20_000))

    assert response.status_code == 413
    await assert_nothing_kept(small_limit_app, settings)


async def test_file_exactly_at_the_limit_is_accepted(
    small_limit_app: FastAPI, settings: Settings
) -> None:
    content = (
        b"region,amount\n"
        + b"n,"
        + b"1" * (1000 - len(b"region,amount\nn,") - 1)
        + b"\n"
    )
    async with client_for(small_limit_app) as client:
        analyst = await account(client, "Sales")

        response = await upload(client, analyst, content)

    assert len(content) == 1000
    assert response.status_code == 202, response.text
