"""The OpenAPI document: what clients and the interactive docs rely on."""

import json
from pathlib import Path

import httpx
import pytest

COMMITTED = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"

OPERATIONS = [
    ("post", "/auth/register"),
    ("post", "/auth/login"),
    ("post", "/datasets/upload"),
    ("get", "/datasets"),
    ("get", "/datasets/{dataset_id}"),
    ("get", "/jobs"),
    ("get", "/jobs/{job_id}"),
    ("get", "/dashboards/{department}"),
    ("get", "/health"),
    ("get", "/health/ready"),
]


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, object]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


async def test_every_contract_operation_is_documented(
    document: dict[str, object],
) -> None:
    paths = document["paths"]
    assert isinstance(paths, dict)

    for method, path in OPERATIONS:
        assert method in paths[path], (method, path)


async def test_bearer_scheme_lets_the_interactive_docs_log_in(
    document: dict[str, object],
) -> None:
    schemes = document["components"]["securitySchemes"]  # type: ignore[index]

    [scheme] = schemes.values()
    assert scheme["type"] == "oauth2"
    assert scheme["flows"]["password"]["tokenUrl"] == "/auth/login"


async def test_errors_are_declared_as_problem_documents(
    document: dict[str, object],
) -> None:
    upload = document["paths"]["/datasets/upload"]["post"]  # type: ignore[index]

    for status in ("401", "403", "413", "415", "422", "503"):
        content = upload["responses"][status]["content"]
        assert "application/problem+json" in content, status
    assert "Problem" in document["components"]["schemas"]  # type: ignore[index]


async def test_upload_body_is_declared_as_multipart(
    document: dict[str, object],
) -> None:
    upload = document["paths"]["/datasets/upload"]["post"]  # type: ignore[index]

    schema = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert schema["required"] == ["file"]


async def test_unknown_route_and_wrong_method_answer_problems(
    client: httpx.AsyncClient,
) -> None:
    missing = await client.get("/nowhere")
    wrong_method = await client.delete("/health")

    assert missing.status_code == 404
    assert wrong_method.status_code == 405
    for response in (missing, wrong_method):
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["request_id"] == response.headers["x-request-id"]


def test_the_committed_document_is_current(document: dict[str, object]) -> None:
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))

    assert committed == document, "run `make openapi` and commit docs/openapi.json"
