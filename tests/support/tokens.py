"""Hand-made access tokens and the checks of how the gateway refuses them."""

import time
import uuid
from typing import Any

import httpx

from aetherflow_gateway.core.settings import Settings
from tests.support.problems import assert_problem


def claims(settings: Settings, **changes: Any) -> dict[str, Any]:
    """A complete, valid claim set; `changes` override or (with None) remove claims."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "sub": str(uuid.uuid4()),
        "department": "Sales",
        "iat": now,
        "exp": now + 300,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "jti": uuid.uuid4().hex,
        "token_use": "access",
    }
    payload.update(changes)
    return {name: value for name, value in payload.items() if value is not None}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_unauthenticated(response: httpx.Response) -> None:
    """401 as a bearer challenge, whatever was wrong with the token."""
    problem = assert_problem(response, 401)
    assert problem["type"].endswith("/unauthenticated")
    assert response.headers["www-authenticate"] == "Bearer"
