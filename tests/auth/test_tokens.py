"""Hand-made tokens against a protected route: only the gateway's own kind may pass."""

import base64
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from aetherflow_gateway.core.settings import Settings
from tests.support.builders import account
from tests.support.problems import assert_problem
from tests.support.tokens import assert_unauthenticated, bearer, claims

PROTECTED = "/jobs"
OTHER_KEY = "another-secret-that-is-also-long-enough-for-any-hmac-0123456789"
REQUIRED_CLAIMS = ("sub", "department", "iat", "exp", "iss", "aud", "jti", "token_use")


def signed(
    settings: Settings, payload: dict[str, Any], algorithm: str = "HS256"
) -> str:
    """Signed with the gateway's signing key, naming it as the gateway does."""
    kid, secret = list(settings.hmac_keys.items())[-1]
    return jwt.encode(payload, secret, algorithm=algorithm, headers={"kid": kid})


def gateway_kid(settings: Settings) -> dict[str, str]:
    """A header naming the gateway's own key, so only the signature can be wrong."""
    return {"kid": list(settings.hmac_keys)[-1]}


def segment(data: dict[str, Any]) -> str:
    encoded = base64.urlsafe_b64encode(json.dumps(data).encode())
    return encoded.rstrip(b"=").decode()


async def test_a_token_issued_at_login_opens_protected_routes(
    client: httpx.AsyncClient,
) -> None:
    analyst = await account(client, "Supply")

    response = await client.get(PROTECTED, headers=analyst.headers)

    assert response.status_code == 200, response.text
    assert "items" in response.json()


async def test_a_well_formed_token_signed_with_the_secret_is_accepted(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = signed(settings, claims(settings))

    response = await client.get(PROTECTED, headers=bearer(token))

    assert response.status_code == 200, response.text


async def test_a_department_spelled_in_another_case_acts_as_the_configured_one(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    headers = bearer(signed(settings, claims(settings, department="sales")))

    own = await client.get("/dashboards/Sales", headers=headers)
    other = await client.get("/dashboards/Supply", headers=headers)

    assert own.status_code == 200, own.text
    assert own.json()["department"] == "Sales"
    assert_problem(other, 403)


async def test_a_request_without_a_usable_bearer_token_is_rejected(
    client: httpx.AsyncClient, subtests: pytest.Subtests
) -> None:
    cases = {
        "no Authorization header": {},
        "Bearer and nothing else": {"Authorization": "Bearer"},
        "Bearer and a blank": {"Authorization": "Bearer  "},
        "Bearer and garbage": {"Authorization": "Bearer not-a-jwt"},
        "three garbage segments": {"Authorization": "Bearer aaa.bbb.ccc"},
        "Basic credentials": {"Authorization": "Basic dXNlcjpwYXNzd29yZA=="},
    }
    for case, headers in cases.items():
        with subtests.test(case):
            response = await client.get(PROTECTED, headers=headers)

            assert_unauthenticated(response)


async def test_an_unsigned_token_is_rejected_however_alg_none_is_spelled(
    client: httpx.AsyncClient, settings: Settings, subtests: pytest.Subtests
) -> None:
    body = segment(claims(settings))
    for alg in ("none", "None", "NONE", "nOnE"):
        with subtests.test(alg=alg):
            header = {"alg": alg, "typ": "JWT", **gateway_kid(settings)}
            token = f"{segment(header)}.{body}."

            response = await client.get(PROTECTED, headers=bearer(token))

            assert_unauthenticated(response)


async def test_a_token_without_its_signature_is_rejected(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    header, body, _ = signed(settings, claims(settings)).split(".")

    response = await client.get(PROTECTED, headers=bearer(f"{header}.{body}."))

    assert_unauthenticated(response)


async def test_a_token_signed_with_another_key_is_rejected(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = jwt.encode(
        claims(settings), OTHER_KEY, algorithm="HS256", headers=gateway_kid(settings)
    )

    response = await client.get(PROTECTED, headers=bearer(token))

    assert_unauthenticated(response)


async def test_a_tampered_payload_under_the_old_signature_is_rejected(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    original = claims(settings)
    header, _, signature = signed(settings, original).split(".")
    tampered = segment({**original, "department": "Finance"})

    response = await client.get(
        PROTECTED, headers=bearer(f"{header}.{tampered}.{signature}")
    )

    assert_unauthenticated(response)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_another_hmac_algorithm_is_refused_even_with_the_right_secret(
    client: httpx.AsyncClient, settings: Settings, subtests: pytest.Subtests
) -> None:
    for algorithm in ("HS384", "HS512"):
        with subtests.test(algorithm=algorithm):
            token = signed(settings, claims(settings), algorithm=algorithm)

            response = await client.get(PROTECTED, headers=bearer(token))

            assert_unauthenticated(response)


async def test_an_asymmetric_algorithm_is_refused(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    private_key = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(
        claims(settings), private_key, algorithm="ES256", headers=gateway_kid(settings)
    )

    response = await client.get(PROTECTED, headers=bearer(token))

    assert_unauthenticated(response)


async def test_a_token_with_an_unacceptable_claim_is_rejected(
    client: httpx.AsyncClient, settings: Settings, subtests: pytest.Subtests
) -> None:
    now = int(time.time())
    cases: dict[str, dict[str, Any]] = {
        "expired": {"iat": now - 3600, "exp": now - 5},
        "issued in the future": {"iat": now + 3600, "exp": now + 7200},
        "not valid before a future time": {"nbf": now + 3600},
        "wrong issuer": {"iss": "someone-else"},
        "wrong audience": {"aud": "another-service"},
        "unknown department": {"department": "Marketing"},
        "department not a string": {"department": ["Sales"]},
        "subject not a UUID": {"sub": "admin"},
        "subject not a string": {"sub": 42},
        "expiry not a number": {"exp": "tomorrow"},
    }
    for case, changes in cases.items():
        with subtests.test(case):
            token = signed(settings, claims(settings, **changes))

            response = await client.get(PROTECTED, headers=bearer(token))

            assert_unauthenticated(response)


async def test_a_token_missing_a_required_claim_is_rejected(
    client: httpx.AsyncClient, settings: Settings, subtests: pytest.Subtests
) -> None:
    for missing in REQUIRED_CLAIMS:
        with subtests.test(missing=missing):
            token = signed(settings, claims(settings, **{missing: None}))

            response = await client.get(PROTECTED, headers=bearer(token))

            assert_unauthenticated(response)
