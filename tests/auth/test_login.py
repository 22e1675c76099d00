import unicodedata
import uuid
from typing import Any

import httpx
import jwt
import pytest

from aetherflow_gateway.core.settings import Settings
from tests.support.builders import PASSWORD, register, unique_email
from tests.support.problems import assert_problem

MISSING_FIELDS: dict[str, dict[str, Any]] = {
    "JSON without password": {"json": {"email": "a@example.com"}},
    "JSON without email": {"json": {"password": PASSWORD}},
    "empty JSON object": {"json": {}},
    "JSON with an empty password": {"json": {"email": "a@example.com", "password": ""}},
    "form without password": {"data": {"username": "a@example.com"}},
    "form without username": {"data": {"password": PASSWORD}},
}
UNREADABLE: dict[str, dict[str, Any]] = {
    "plain text": {
        "content": b"a@example.com",
        "headers": {"Content-Type": "text/plain"},
    },
    "no content type": {"content": b'{"email": "a@example.com"}'},
    "multipart form": {
        "files": {"username": (None, "a@example.com"), "password": (None, PASSWORD)}
    },
    "truncated JSON": {
        "content": b'{"email": "a@example.com", "pass',
        "headers": {"Content-Type": "application/json"},
    },
}


def credentials(style: str, email: str, password: str) -> dict[str, Any]:
    if style == "form":
        return {"data": {"username": email, "password": password}}
    return {"json": {"email": email, "password": password}}


@pytest.mark.parametrize("style", ["json", "form"])
async def test_login_returns_a_bearer_token_for_the_account(
    client: httpx.AsyncClient, settings: Settings, style: str
) -> None:
    email = unique_email()
    registered = (await register(client, "Finance", email)).json()

    response = await client.post("/auth/login", **credentials(style, email, PASSWORD))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body.keys() == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "refresh_expires_in",
    }
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.access_token_ttl_seconds
    assert body["refresh_expires_in"] == settings.refresh_token_ttl_seconds
    assert body["refresh_token"].count(".") == 0, "refresh tokens are opaque"
    header = jwt.get_unverified_header(body["access_token"])
    assert header["kid"] == list(settings.hmac_keys)[-1]
    claims = jwt.decode(
        body["access_token"],
        settings.signing_secret,
        algorithms=["HS256"],
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
    )
    assert claims["sub"] == registered["id"]
    assert claims["department"] == "Finance"
    assert claims["exp"] - claims["iat"] == settings.access_token_ttl_seconds
    assert claims["token_use"] == "access"
    assert uuid.UUID(claims["jti"])


async def test_each_login_issues_a_token_with_its_own_id(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    await register(client, "Sales", email)
    body = {"email": email, "password": PASSWORD}

    first = await client.post("/auth/login", json=body)
    second = await client.post("/auth/login", json=body)

    tokens = [response.json()["access_token"] for response in (first, second)]
    ids = {
        jwt.decode(token, options={"verify_signature": False})["jti"]
        for token in tokens
    }
    assert len(ids) == 2


@pytest.mark.parametrize(
    ("registered_as", "typed_as"),
    [
        ("analyst-{}@example.com", "ANALYST-{}@Example.COM"),
        ("Änne-{}@example.com", "Änne-{}@example.com"),
        ("Änne-{}@example.com", "änne-{}@EXAMPLE.com"),
        ("straße-{}@example.com", "STRAßE-{}@example.com"),
        ("José-{}@example.com", unicodedata.normalize("NFD", "JOSÉ-{}@example.com")),
    ],
    ids=[
        "ascii-other-case",
        "non-ascii-as-typed",
        "non-ascii-other-case",
        "sharp-s",
        "decomposed-accent",
    ],
)
async def test_login_finds_the_account_whatever_the_case_of_the_email(
    client: httpx.AsyncClient, registered_as: str, typed_as: str
) -> None:
    tag = uuid.uuid4().hex[:10]
    registered = await register(client, "Sales", registered_as.format(tag))
    assert registered.status_code == 201, registered.text

    response = await client.post(
        "/auth/login", json={"email": typed_as.format(tag), "password": PASSWORD}
    )

    assert response.status_code == 200, response.text


async def test_unknown_email_and_wrong_password_get_the_same_answer(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    await register(client, "Supply", email)

    wrong_password = await client.post(
        "/auth/login", json={"email": email, "password": "not the password at all"}
    )
    unknown_email = await client.post(
        "/auth/login", json={"email": unique_email(), "password": PASSWORD}
    )

    answers = [assert_problem(wrong_password, 401), assert_problem(unknown_email, 401)]
    for answer in answers:
        del answer["request_id"]
    assert answers[0] == answers[1]
    assert answers[0]["type"].endswith("/invalid-credentials")
    headers = [
        {
            name: value
            for name, value in response.headers.items()
            if name != "x-request-id"
        }
        for response in (wrong_password, unknown_email)
    ]
    assert headers[0] == headers[1]


async def test_a_login_missing_a_field_is_unprocessable(
    client: httpx.AsyncClient, subtests: pytest.Subtests
) -> None:
    for case, request in MISSING_FIELDS.items():
        with subtests.test(case):
            response = await client.post("/auth/login", **request)

            problem = assert_problem(response, 422)
            assert problem["errors"]
            assert PASSWORD not in response.text


async def test_a_body_that_is_neither_json_nor_a_form_is_a_client_error(
    client: httpx.AsyncClient, subtests: pytest.Subtests
) -> None:
    for case, request in UNREADABLE.items():
        with subtests.test(case):
            response = await client.post("/auth/login", **request)

            assert 400 <= response.status_code < 500
            assert_problem(response, response.status_code)
            assert PASSWORD not in response.text
