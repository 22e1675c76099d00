"""The failures every kind of operation can answer are declared as problems."""

from typing import Any

import httpx
import pytest

PROBLEM = "application/problem+json"


@pytest.fixture
async def operations(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    document = (await client.get("/openapi.json")).json()
    return [
        operation
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def declares_problem(operation: dict[str, Any], status: str) -> bool:
    response = operation["responses"].get(status, {})
    return PROBLEM in response.get("content", {})


async def test_every_bearer_operation_declares_401(
    operations: list[dict[str, Any]],
) -> None:
    secured = [op for op in operations if op.get("security")]

    assert secured
    assert all(declares_problem(op, "401") for op in secured)


async def test_every_operation_with_input_declares_a_problem_422(
    operations: list[dict[str, Any]],
) -> None:
    with_input = [
        op for op in operations if op.get("parameters") or op.get("requestBody")
    ]

    assert with_input
    assert all(declares_problem(op, "422") for op in with_input)


async def test_every_operation_with_a_body_declares_400_and_413(
    operations: list[dict[str, Any]],
) -> None:
    with_body = [op for op in operations if op.get("requestBody")]

    for status in ("400", "413"):
        assert all(declares_problem(op, status) for op in with_body), status


async def test_fastapi_validation_schema_is_gone(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()

    assert "HTTPValidationError" not in str(document)
