"""Cross-origin access: off by default, on for configured origins only."""

from collections.abc import AsyncIterator

import httpx
import pytest

from aetherflow_gateway.core.settings import ConfigurationError, Settings, load_settings
from tests.support.running import gateway_client

APP_ORIGIN = "https://app.example.com"
PREFLIGHT = {
    "Origin": APP_ORIGIN,
    "Access-Control-Request-Method": "GET",
    "Access-Control-Request-Headers": "authorization",
}


pytestmark = pytest.mark.usefixtures("clean_environment")


@pytest.fixture
async def cors_client(embedded_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(embedded_settings, cors_origins=(APP_ORIGIN,)) as client:
        yield client


async def test_cors_is_off_unless_configured(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"Origin": APP_ORIGIN})
    preflight = await client.options("/jobs", headers=PREFLIGHT)

    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-origin" not in preflight.headers


async def test_configured_origin_may_call_with_a_bearer_token(
    cors_client: httpx.AsyncClient,
) -> None:
    preflight = await cors_client.options("/jobs", headers=PREFLIGHT)
    response = await cors_client.get("/health", headers={"Origin": APP_ORIGIN})

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "access-control-allow-credentials" not in response.headers


async def test_other_origins_get_no_cors_headers(
    cors_client: httpx.AsyncClient,
) -> None:
    other = {**PREFLIGHT, "Origin": "https://evil.example.net"}

    preflight = await cors_client.options("/jobs", headers=other)
    response = await cors_client.get("/health", headers={"Origin": other["Origin"]})

    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in response.headers


def test_origins_are_read_from_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AETHERFLOW_CORS_ORIGINS", "https://a.example.com, http://localhost:3000/"
    )

    settings = load_settings()

    assert settings.cors_origins == ("https://a.example.com", "http://localhost:3000")


def test_wildcard_with_credentials_stops_start_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AETHERFLOW_CORS_ORIGINS", "*")
    monkeypatch.setenv("AETHERFLOW_CORS_ALLOW_CREDENTIALS", "true")

    with pytest.raises(ConfigurationError, match="AETHERFLOW_CORS_ORIGINS"):
        load_settings()


@pytest.mark.parametrize("origin", ["app.example.com", "https://a.example.com/path"])
def test_an_origin_that_is_not_one_stops_start_up(
    monkeypatch: pytest.MonkeyPatch, origin: str
) -> None:
    monkeypatch.setenv("AETHERFLOW_CORS_ORIGINS", origin)

    with pytest.raises(ConfigurationError, match="AETHERFLOW_CORS_ORIGINS"):
        load_settings()
