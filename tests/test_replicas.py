"""Two gateway processes and two relays on one PostgreSQL, racing over a burst."""

import asyncio
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import asyncpg
import httpx
import pytest

from aetherflow_gateway.core.settings import Settings
from tests.support.builders import PASSWORD, csv_file, unique_email
from tests.support.inspect_stores import queued_messages
from tests.support.moto_server import free_port
from tests.support.processes import COMMAND, Gateway, env_for, serving

BURST = 40


@pytest.fixture
def gateways(aws_settings: Settings, tmp_path: Path) -> Iterator[list[Gateway]]:
    """Two servers whose queue is unreachable: every message waits in the outbox."""
    env = env_for(aws_settings, sqs_endpoint_url=f"http://127.0.0.1:{free_port()}")
    with ExitStack() as stack:
        yield [stack.enter_context(serving(tmp_path, env)) for _ in range(2)]


async def _burst(gateways: list[Gateway]) -> list[str]:
    async with httpx.AsyncClient(timeout=60) as client:
        email = unique_email()
        register = {"email": email, "password": PASSWORD, "department": "Supply"}
        await client.post(f"{gateways[0].url}/auth/register", json=register)
        login = await client.post(
            f"{gateways[1].url}/auth/login", json={"email": email, "password": PASSWORD}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

        responses = await asyncio.gather(
            *(
                client.post(
                    f"{gateways[n % 2].url}/datasets/upload",
                    files={"file": (f"{n}.csv", csv_file(rows=n + 1), "text/csv")},
                    headers=headers,
                )
                for n in range(BURST)
            )
        )
    assert [r.status_code for r in responses] == [202] * BURST
    return [r.json()["job"]["id"] for r in responses]


async def _wait_until_published(admin_url: str, deadline_seconds: float) -> int:
    dsn = admin_url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + deadline_seconds
        while time.monotonic() < deadline:
            pending = await connection.fetchval(
                "SELECT count(*) FROM outbox WHERE published_at IS NULL"
            )
            if pending == 0:
                return 0
            await asyncio.sleep(0.2)
        return int(pending)
    finally:
        await connection.close()


async def test_two_relays_deliver_a_burst_from_two_gateways_exactly_once(
    gateways: list[Gateway],
    aws_settings: Settings,
    postgres_admin_url: str,
    tmp_path: Path,
) -> None:
    job_ids = await _burst(gateways)
    relays = [
        await asyncio.create_subprocess_exec(
            *COMMAND,
            "relay",
            cwd=tmp_path,
            env=env_for(aws_settings),
            stderr=asyncio.subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        pending = await _wait_until_published(postgres_admin_url, deadline_seconds=60)
    finally:
        for relay in relays:
            relay.terminate()
            await asyncio.wait_for(relay.wait(), timeout=30)

    delivered = await queued_messages(aws_settings, aws_settings.etl_queue_url)
    assert pending == 0
    assert sorted(message.body["job_id"] for message in delivered) == sorted(job_ids)
