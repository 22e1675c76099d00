"""Gateway processes started the way an operator starts them."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from aetherflow_gateway.core.settings import Settings
from tests.support.moto_server import free_port

COMMAND = [sys.executable, "-m", "aetherflow_gateway.cli"]


def clean_env(**settings: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AETHERFLOW_")}
    return {**base, **{f"AETHERFLOW_{k.upper()}": v for k, v in settings.items()}}


def env_for(settings: Settings, **overrides: str) -> dict[str, str]:
    """A process environment on the same database, bucket and queues as `settings`.

    Registration is open, and the relay and a once-an-hour sweep run only where a
    test starts them, so that nothing moves behind its back.
    """
    assert settings.sqs_endpoint_url is not None
    assert settings.s3_endpoint_url is not None
    values = {
        "database_url": settings.database_url,
        "storage_url": settings.storage_url,
        "s3_endpoint_url": settings.s3_endpoint_url,
        "etl_queue_url": settings.etl_queue_url,
        "ml_queue_url": settings.ml_queue_url,
        "sqs_endpoint_url": settings.sqs_endpoint_url,
        "jwt_secret": "process-test-secret-0123456789-abcdefghij",
        "registration": "open",
        "relay_in_serve": "false",
        "relay_interval_seconds": "0.2",
        "sweep_interval_seconds": "3600",
        **overrides,
    }
    return clean_env(**values)


def run_command(
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


@dataclass
class Gateway:
    url: str
    process: subprocess.Popen[str]

    def stop(self) -> str:
        """Terminate, wait, and return everything the process logged."""
        if self.process.poll() is None:
            self.process.terminate()
        _, stderr = self.process.communicate(timeout=60)
        return stderr


@contextmanager
def serving(cwd: Path, env: dict[str, str]) -> Iterator[Gateway]:
    port = free_port()
    process = subprocess.Popen(
        [*COMMAND, "serve", "--port", str(port)],
        cwd=cwd,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    gateway = Gateway(f"http://127.0.0.1:{port}", process)
    try:
        _wait_until_up(gateway)
        yield gateway
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


def _wait_until_up(gateway: Gateway) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if gateway.process.poll() is not None:
            raise AssertionError(gateway.process.communicate()[1])
        try:
            httpx.get(f"{gateway.url}/health", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("the gateway did not start")
