"""Client disconnects and graceful shutdown, on real gateway processes."""

import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.builders import PASSWORD, csv_file, raw_multipart, unique_email
from tests.support.processes import Gateway, clean_env, run_command, serving

BIG_FILE = csv_file(rows=400_000)  # several MiB: past one write to disk


def token_for(gateway: Gateway) -> str:
    email = unique_email()
    body = {"email": email, "password": PASSWORD, "department": "Sales"}
    httpx.post(f"{gateway.url}/auth/register", json=body, timeout=10).raise_for_status()
    login = httpx.post(
        f"{gateway.url}/auth/login",
        json={"email": email, "password": PASSWORD},
        timeout=10,
    )
    return str(login.json()["access_token"])


def leftovers(folder: Path) -> dict[str, int]:
    """Rows and files an upload leaves in the embedded default's stores."""
    with sqlite3.connect(folder / "var" / "gateway.sqlite3") as connection:
        counts = {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            for table in ("datasets", "jobs", "outbox", "pending_objects")
        }
    objects = folder / "var" / "objects"
    counts["files"] = (
        sum(1 for p in objects.rglob("*") if p.is_file()) if objects.exists() else 0
    )
    return counts


NOTHING = {"datasets": 0, "jobs": 0, "outbox": 0, "pending_objects": 0, "files": 0}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    assert run_command(["migrate"], tmp_path).returncode == 0
    return tmp_path


@pytest.fixture
def gateway(workdir: Path) -> Iterator[Gateway]:
    with serving(workdir, clean_env(shutdown_grace_seconds="2")) as running:
        yield running


def test_client_that_disconnects_mid_upload_leaves_nothing(
    gateway: Gateway, workdir: Path
) -> None:
    token = token_for(gateway)
    part = b'Content-Disposition: form-data; name="file"; filename="big.csv"'
    body, headers = raw_multipart([(part, BIG_FILE)])
    head = (
        "POST /datasets/upload HTTP/1.1\r\nHost: gateway\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: {headers['Content-Type']}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()

    with socket.create_connection(
        ("127.0.0.1", int(gateway.url.rsplit(":", 1)[1]))
    ) as raw:
        raw.sendall(head + body[: len(body) // 2])
        time.sleep(1.0)
    time.sleep(1.0)
    logs = gateway.stop()

    assert leftovers(workdir) == NOTHING, logs
    assert '"upload.client_disconnected"' in logs
    assert "request.unhandled_error" not in logs


def _slow_body(body: bytes, pause_seconds: float, pauses: int) -> Iterator[bytes]:
    step = len(body) // (pauses + 1) + 1
    for start in range(0, len(body), step):
        yield body[start : start + step]
        time.sleep(pause_seconds)


def _upload_in_background(
    gateway: Gateway, token: str, body_chunks: Iterator[bytes], content_type: str
) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []

    def send() -> None:
        try:
            response = httpx.post(
                f"{gateway.url}/datasets/upload",
                content=body_chunks,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": content_type,
                },
                timeout=30,
            )
            outcome.append(response.status_code)
        except httpx.HTTPError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=send)
    thread.start()
    return thread, outcome


def test_upload_in_flight_at_sigterm_finishes_within_the_grace_period(
    gateway: Gateway, workdir: Path
) -> None:
    token = token_for(gateway)
    part = b'Content-Disposition: form-data; name="file"; filename="a.csv"'
    body, headers = raw_multipart([(part, csv_file(rows=1000))])
    thread, outcome = _upload_in_background(
        gateway, token, _slow_body(body, 0.2, 4), headers["Content-Type"]
    )
    time.sleep(0.3)

    gateway.process.send_signal(signal.SIGTERM)
    thread.join(timeout=30)
    gateway.stop()

    assert outcome == [202]
    assert leftovers(workdir)["datasets"] == 1
    assert leftovers(workdir)["pending_objects"] == 0


def test_upload_slower_than_the_grace_period_is_aborted_and_cleaned_up(
    gateway: Gateway, workdir: Path
) -> None:
    token = token_for(gateway)
    part = b'Content-Disposition: form-data; name="file"; filename="big.csv"'
    body, headers = raw_multipart([(part, BIG_FILE)])
    thread, outcome = _upload_in_background(
        gateway, token, _slow_body(body, 1.0, 8), headers["Content-Type"]
    )
    time.sleep(1.5)

    gateway.process.send_signal(signal.SIGTERM)
    logs = gateway.stop()
    thread.join(timeout=30)

    assert outcome
    assert outcome != [202]
    assert leftovers(workdir) == NOTHING
    assert "request.unhandled_error" not in logs
