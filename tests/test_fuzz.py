"""The whole API, fuzzed from its own OpenAPI document with schemathesis.

For each backend, every operation receives generated requests, both ones that fit
the document and ones that break it, three times over: without a token, as a Sales
analyst and as a Finance analyst (each department holding one dataset, so lists
return real rows). Every answer must be declared by the document (status, media
type, body schema), none may be a 5xx, and no authenticated answer may show
another department's data.

The run is bounded (see `EXAMPLES_PER_OPERATION`) to finish in about a minute on
a two-core machine, and derived from a fixed seed so that a failure replays the
same way in CI and on a laptop. `AETHERFLOW_FUZZ_EXAMPLES=500` runs a deeper,
randomised search instead.
"""

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import strategies as st
from schemathesis.checks import (
    not_a_server_error,
)
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from aetherflow_gateway.app import create_app
from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.db.migrate import upgrade_to_head
from tests.conftest import TEST_SECRET
from tests.support import postgres
from tests.support.builders import PASSWORD, csv_file, unique_email

DEEPER_SEARCH = os.environ.get("AETHERFLOW_FUZZ_EXAMPLES")
EXAMPLES_PER_OPERATION = int(DEEPER_SEARCH or 25)
CALLERS = (None, "Sales", "Finance")


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def only_department(department: str) -> Callable[..., bool | None]:
    """A check: an authenticated answer names no department but the caller's."""

    def only_callers_department(
        ctx: schemathesis.CheckContext, response: schemathesis.Response, case: Any
    ) -> bool | None:
        # Refusals and empty answers (204) carry no department to check.
        if response.status_code >= 400 or not response.content:
            return None
        seen = set(_departments_in(response.json()))
        assert seen <= {department}, f"{department} saw {sorted(seen)}"
        return True

    return only_callers_department


def _departments_in(body: object) -> Iterator[str]:
    if isinstance(body, dict):
        for key, value in body.items():
            if key == "department" and isinstance(value, str):
                yield value
            yield from _departments_in(value)
    elif isinstance(body, list):
        for item in body:
            yield from _departments_in(item)


def local_stores(tmp_path: Path) -> dict[str, Any]:
    return {
        "var_dir": tmp_path / "var",
        "storage_url": f"file://{tmp_path}/objects",
        "etl_queue_url": f"file://{tmp_path}/queue/etl",
        "ml_queue_url": f"file://{tmp_path}/queue/ml",
        "relay_in_serve": False,
        # The fuzzer registers its callers itself, whatever a deployment's default.
        "registration": "open",
    }


@pytest.fixture
def embedded_fuzz_settings(tmp_path: Path) -> Settings:
    settings = Settings(_env_file=None, **local_stores(tmp_path))
    upgrade_to_head(settings.resolved_database_url)
    return settings


@pytest.fixture
async def postgres_fuzz_settings(
    postgres_url: str, tmp_path: Path
) -> AsyncIterator[Settings]:
    yield Settings(
        _env_file=None,
        database_url=postgres_url,
        jwt_secret=TEST_SECRET,
        **local_stores(tmp_path),
    )
    await postgres.truncate_all(postgres_url)


@pytest.fixture(params=["embedded", "postgres"])
def fuzz_app(request: pytest.FixtureRequest) -> Iterator[FastAPI]:
    settings: Settings = request.getfixturevalue(f"{request.param}_fuzz_settings")
    app = create_app(settings)
    yield app
    # schemathesis started the app's lifespan on its own event loop; end it there.
    asgi.shutdown_lifespans()


def caller_headers(app: FastAPI, department: str) -> dict[str, str]:
    """Register and log in a fresh analyst of `department`, who owns one dataset."""
    email = unique_email(department.lower())
    with asgi.get_client(app) as client:
        body = {"email": email, "password": PASSWORD, "department": department}
        assert client.post("/auth/register", json=body).status_code == 201
        login = client.post("/auth/login", json={"email": email, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        files = {"file": ("seed.csv", csv_file(), "text/csv")}
        seeded = client.post("/datasets/upload", files=files, headers=headers)
        assert seeded.status_code == 202, seeded.text
    return headers


def fuzz_operation(
    operation: Any, headers: dict[str, str] | None, checks: list[Callable[..., Any]]
) -> None:
    strategy = st.one_of(
        operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
    )

    @hypothesis.given(case=strategy)
    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=DEEPER_SEARCH is None,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=checks)

    run()


def fuzz_everything(app: FastAPI, caller: str | None) -> list[str]:
    headers = caller_headers(app, caller) if caller else None
    checks = CHECKS + ([only_department(caller)] if caller else [])
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        try:
            fuzz_operation(operation, headers, checks)
        # schemathesis raises its findings as an exception group; collect them
        # so that every operation reports, not just the first.
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.label}: {exc}")
    return failures


@pytest.mark.parametrize("caller", CALLERS, ids=lambda name: name or "anonymous")
def test_api_keeps_to_its_document_under_fuzzing(
    fuzz_app: FastAPI, caller: str | None
) -> None:
    failures = fuzz_everything(fuzz_app, caller)

    assert failures == [], "\n\n".join(failures)
