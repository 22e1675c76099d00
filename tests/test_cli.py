"""The `aetherflow-gateway` command as an operator runs it: real processes."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.moto_server import free_port

COMMAND = [sys.executable, "-m", "aetherflow_gateway.cli"]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("AETHERFLOW_")}


def run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args],
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`migrate` then `serve` on the embedded default, in an empty folder."""
    assert run(["migrate"], tmp_path).returncode == 0
    port = free_port()
    process = subprocess.Popen(
        [*COMMAND, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=clean_env(),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    _wait_until_up(url)
    yield url, process
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


def _wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/health", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("the gateway did not start")


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    first = run(["migrate"], tmp_path)
    second = run(["migrate"], tmp_path)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert (tmp_path / "var" / "gateway.sqlite3").exists()


def test_serve_works_with_no_setting_and_logs_one_json_line_per_request(
    served: tuple[str, subprocess.Popen[str]], tmp_path: Path
) -> None:
    url, process = served

    ready = httpx.get(f"{url}/health/ready", headers={"X-Request-ID": "cli-probe-1"})
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    finished = [line for line in lines if line.get("request_id") == "cli-probe-1"]

    assert ready.status_code == 200
    assert ready.json()["checks"] == {
        "database": "ok",
        "object_store": "ok",
        "queue": "ok",
    }
    # uvicorn re-raises SIGTERM after its graceful shutdown, so the exit status
    # is the signal's; the "gateway.stopped" event shows the lifespan ended cleanly.
    assert process.returncode in (0, -signal.SIGTERM)
    assert "gateway.stopped" in [line["event"] for line in lines]
    assert len(lines) == len(stderr.splitlines()), "every log line is JSON"
    assert finished[-1]["event"] == "request.finished"
    assert finished[-1]["path"] == "/health/ready"
    assert finished[-1]["status_code"] == 200
    assert {"method", "latency_ms", "user_id", "department"} <= finished[-1].keys()
    assert (tmp_path / "var" / "jwt_secret").exists()


def test_bad_setting_stops_start_up_with_one_line_naming_it(tmp_path: Path) -> None:
    env = {**clean_env(), "AETHERFLOW_STORAGE_URL": "s3://datasets/raw"}

    result = run(["serve"], tmp_path, env)

    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "AETHERFLOW_JWT_SECRET" in result.stderr


def test_relay_runs_until_terminated(tmp_path: Path) -> None:
    assert run(["migrate"], tmp_path).returncode == 0
    process = subprocess.Popen(
        [*COMMAND, "relay"],
        cwd=tmp_path,
        env=clean_env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    events: list[str] = []
    while "relay.started" not in events and len(events) < 10:
        events.append(json.loads(process.stderr.readline())["event"])

    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)

    assert "relay.started" in events
    assert process.returncode == 0
    assert json.loads(stderr.splitlines()[-1])["event"] == "relay.stopped"
