"""What an operator reads on stderr about authenticated and refused requests."""

import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog

from aetherflow_gateway.core.logging import configure_logging
from aetherflow_gateway.core.settings import Settings
from tests.support.builders import PASSWORD, account
from tests.support.problems import assert_problem

# The loggers whose handlers or levels `configure_logging` changes.
TOUCHED_LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "botocore")


class StderrLogs:
    def __init__(self, capfd: pytest.CaptureFixture[str]) -> None:
        self._capfd = capfd

    def start(self) -> None:
        """Log as the CLI does, to the stderr of the running test phase."""
        configure_logging()
        # Loggers cached now would keep writing to this test's stderr once closed.
        structlog.configure(cache_logger_on_first_use=False)
        self._capfd.readouterr()

    def text(self) -> str:
        return self._capfd.readouterr().err

    def events(self) -> list[dict[str, Any]]:
        """Every line written since the last read; each must be one JSON object."""
        return parse_lines(self.text())


@pytest.fixture
def stderr_logs(capfd: pytest.CaptureFixture[str]) -> Iterator[StderrLogs]:
    """Production logging for one test (see `start`), undone afterwards."""
    loggers = [logging.getLogger(name) for name in TOUCHED_LOGGERS]
    saved = [(lg.handlers[:], lg.level, lg.propagate) for lg in loggers]

    yield StderrLogs(capfd)

    structlog.reset_defaults()
    for lg, (handlers, level, propagate) in zip(loggers, saved, strict=True):
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate = propagate


def parse_lines(text: str) -> list[dict[str, Any]]:
    events = [json.loads(line) for line in text.splitlines()]
    assert all(isinstance(event, dict) for event in events)
    return events


def finished(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [event for event in events if event.get("event") == "request.finished"]


async def test_each_request_ends_with_one_line_naming_caller_route_and_outcome(
    client: httpx.AsyncClient, stderr_logs: StderrLogs
) -> None:
    analyst = await account(client, "sales")
    stderr_logs.start()
    job_id = uuid.uuid4()

    response = await client.get(
        f"/jobs/{job_id}", headers={**analyst.headers, "X-Request-ID": "trace-42"}
    )

    assert_problem(response, 404)
    [line] = finished(stderr_logs.events())
    assert line["request_id"] == "trace-42"
    assert line["user_id"] == analyst.user_id
    assert line["department"] == "Sales"
    assert line["method"] == "GET"
    assert line["path"] == "/jobs/{job_id}"
    assert line["status_code"] == 404
    assert isinstance(line["latency_ms"], int | float)
    assert line["latency_ms"] >= 0
    assert str(job_id) not in json.dumps(line)


async def test_a_refused_token_is_logged_without_a_caller(
    client: httpx.AsyncClient, stderr_logs: StderrLogs
) -> None:
    stderr_logs.start()

    response = await client.get("/jobs", headers={"Authorization": "Bearer forged"})

    assert_problem(response, 401)
    [line] = finished(stderr_logs.events())
    assert line["request_id"] == response.headers["x-request-id"]
    assert line["user_id"] is None
    assert line["department"] is None
    assert line["path"] == "/jobs"
    assert line["status_code"] == 401


@pytest.mark.parametrize(
    ("method", "path", "logged_as"),
    [
        ("GET", "/openapi.json", "/openapi.json"),
        ("HEAD", "/docs", "/docs"),
        ("GET", "/jobs/not-a-route/at-all", "<unmatched>"),
    ],
)
async def test_routes_outside_the_api_are_logged_by_path_and_unknown_ones_alike(
    client: httpx.AsyncClient,
    stderr_logs: StderrLogs,
    method: str,
    path: str,
    logged_as: str,
) -> None:
    stderr_logs.start()

    await client.request(method, path)

    [line] = finished(stderr_logs.events())
    assert line["path"] == logged_as


async def test_passwords_tokens_and_the_secret_never_reach_the_logs(
    client: httpx.AsyncClient, settings: Settings, stderr_logs: StderrLogs
) -> None:
    stderr_logs.start()

    analyst = await account(client, "Finance")
    await client.post(
        "/auth/login", json={"email": analyst.email, "password": "a wrong password"}
    )
    await client.get("/jobs", headers=analyst.headers)
    await client.get("/jobs", headers={"Authorization": f"Bearer {analyst.token}x"})

    logged = stderr_logs.text()
    assert finished(parse_lines(logged))
    assert PASSWORD not in logged
    assert "a wrong password" not in logged
    assert analyst.token not in logged
    assert analyst.token.rsplit(".", 1)[1] not in logged
    assert settings.signing_secret not in logged
