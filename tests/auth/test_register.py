import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.builders import PASSWORD, register, unique_email
from tests.support.problems import assert_problem

# Cases that fail before any database work share one app per backend (subtests):
# the harness, not the gateway, is what makes a test case cost half a second.
UNPROCESSABLE: dict[str, dict[str, Any]] = {
    "bad email": {"email": "not-an-email"},
    "two at signs": {"email": "two@at@example.com"},
    "password of 14 characters": {"password": "p" * 14},
    "password of 257 characters": {"password": "p" * 257},
    "unknown department": {"department": "Marketing"},
    "empty department": {"department": ""},
    "extra field": {"role": "admin"},
    "email not a string": {"email": ["a@example.com"]},
}
MALFORMED: dict[str, tuple[bytes, str | None]] = {
    "truncated JSON": (b'{"email": "a@example.com", "password": ', "application/json"),
    "not UTF-8": (b"\xff\xfe not utf-8", "application/json"),
    "JSON array": (b"[]", "application/json"),
    "JSON string": (b'"just a string"', "application/json"),
    "plain text": (b"email=a@example.com", "text/plain"),
    "no body at all": (b"", None),
}


def registration(**changes: Any) -> dict[str, Any]:
    return {
        "email": unique_email(),
        "password": PASSWORD,
        "department": "Sales",
        **changes,
    }


async def test_registration_returns_the_public_record_in_the_configured_department(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()

    response = await register(client, "sales", email)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body.keys() == {"id", "email", "department", "created_at"}
    assert uuid.UUID(body["id"])
    assert body["email"] == email
    assert body["department"] == "Sales"
    created_at = datetime.fromisoformat(body["created_at"])
    assert created_at.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - created_at) < timedelta(minutes=1)
    assert PASSWORD not in response.text
    assert "argon2" not in response.text


@pytest.mark.parametrize(
    "password_length", [15, 256], ids=["shortest-allowed", "longest-allowed"]
)
async def test_passwords_at_the_length_limits_are_accepted(
    client: httpx.AsyncClient, password_length: int
) -> None:
    # Random hex: long enough, and neither common nor a repetition.
    random_text = "".join(uuid.uuid4().hex for _ in range(8))
    body = registration(password=random_text[:password_length])

    response = await client.post("/auth/register", json=body)

    assert response.status_code == 201, response.text


async def test_an_email_already_registered_is_refused_whatever_its_case(
    client: httpx.AsyncClient, subtests: pytest.Subtests
) -> None:
    email = unique_email("änne")
    first = await register(client, "Sales", email)
    assert first.status_code == 201, first.text

    for spelling in (email, email.upper(), email.capitalize()):
        with subtests.test(spelling=spelling):
            response = await register(client, "Finance", spelling)

            problem = assert_problem(response, 409)
            assert problem["type"].endswith("/conflict")
            assert PASSWORD not in response.text


async def test_an_invalid_registration_is_unprocessable(
    client: httpx.AsyncClient, subtests: pytest.Subtests
) -> None:
    for case, changes in UNPROCESSABLE.items():
        with subtests.test(case):
            body = registration(**changes)

            response = await client.post("/auth/register", json=body)

            assert_problem(response, 422)
            assert body["password"] not in response.text


async def test_a_registration_missing_a_field_is_unprocessable(
    client: httpx.AsyncClient, subtests: pytest.Subtests
) -> None:
    for missing in ("email", "password", "department"):
        with subtests.test(missing=missing):
            body = registration()
            del body[missing]

            response = await client.post("/auth/register", json=body)

            problem = assert_problem(response, 422)
            assert ["body", missing] in [error["loc"] for error in problem["errors"]]
            assert PASSWORD not in response.text


async def test_a_malformed_body_is_a_client_error_not_a_crash(
    client: httpx.AsyncClient, subtests: pytest.Subtests
) -> None:
    for case, (content, content_type) in MALFORMED.items():
        with subtests.test(case):
            headers = {"Content-Type": content_type} if content_type else {}

            response = await client.post(
                "/auth/register", content=content, headers=headers
            )

            assert 400 <= response.status_code < 500
            assert_problem(response, response.status_code)
