"""How the application is assembled: what a deployment can switch off."""

from collections.abc import AsyncIterator

import httpx
import pytest

from aetherflow_gateway.core.settings import Settings
from tests.support.problems import assert_problem
from tests.support.running import gateway_client

DOCS_PATHS = ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect")


@pytest.fixture
async def docs_off_client(
    embedded_settings: Settings,
) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(embedded_settings, docs_enabled=False) as client:
        yield client


@pytest.mark.parametrize("path", DOCS_PATHS)
async def test_docs_switched_off_answer_404(
    docs_off_client: httpx.AsyncClient, path: str
) -> None:
    response = await docs_off_client.get(path)

    assert_problem(response, 404)


async def test_docs_are_on_by_default(client: httpx.AsyncClient) -> None:
    responses = [await client.get(path) for path in DOCS_PATHS[:3]]

    assert [response.status_code for response in responses] == [200, 200, 200]


async def test_api_still_answers_without_docs(
    docs_off_client: httpx.AsyncClient,
) -> None:
    response = await docs_off_client.get("/health")

    assert response.status_code == 200
