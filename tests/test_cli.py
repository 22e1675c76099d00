"""The `aetherflow-gateway` command as an operator runs it: real processes."""

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import processes

run = processes.run_command
clean_env = processes.clean_env


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`migrate` then `serve` on the embedded default, in an empty folder."""
    assert run(["migrate"], tmp_path).returncode == 0
    with processes.serving(tmp_path, clean_env()) as gateway:
        yield gateway.url, gateway.process


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
        [*processes.COMMAND, "relay"],
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


@pytest.mark.parametrize(
    ("trusted_proxies", "seen_address"),
    [("", "127.0.0.1"), ("127.0.0.1", "203.0.113.7"), ("10.0.0.0/8", "127.0.0.1")],
    ids=["no proxy trusted", "the peer is trusted", "another proxy is trusted"],
)
def test_forwarded_address_is_believed_only_from_a_trusted_proxy(
    tmp_path: Path, trusted_proxies: str, seen_address: str
) -> None:
    assert run(["migrate"], tmp_path).returncode == 0
    env = clean_env(trusted_proxies=trusted_proxies)

    with processes.serving(tmp_path, env) as gateway:
        httpx.post(
            f"{gateway.url}/auth/login",
            json={"email": "nobody@example.com", "password": "wrong password"},
            headers={"X-Forwarded-For": "203.0.113.7"},
        )
        logs = gateway.stop()

    events = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    [failed] = [e for e in events if e.get("audit_event") == "login.failed"]
    assert failed["ip"] == seen_address
