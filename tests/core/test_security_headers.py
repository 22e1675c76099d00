"""Every answer tells browsers and caches to keep away, whatever produced it."""

import httpx
import pytest

from aetherflow_gateway.core.security_headers import SECURITY_HEADERS
from tests.support.builders import account


def assert_hardened(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/health"),
        ("GET", "/nowhere"),
        ("DELETE", "/health"),
        ("GET", "/jobs"),
        ("POST", "/auth/login"),
        ("GET", "/openapi.json"),
    ],
)
async def test_success_and_refusals_carry_the_headers(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path)

    assert_hardened(response)


async def test_authenticated_data_is_never_cached(client: httpx.AsyncClient) -> None:
    analyst = await account(client, "Sales")

    response = await client.get("/datasets", headers=analyst.headers)

    assert response.status_code == 200
    assert_hardened(response)


async def test_interactive_docs_keep_their_scripts(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")

    assert response.status_code == 200
    assert "<script" in response.text
    # Only framing is restricted, so the page's own and CDN scripts still load.
    assert response.headers["content-security-policy"] == "frame-ancestors 'none'"
