import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

import aetherflow_gateway
from aetherflow_gateway.queue.base import QueueUnavailable
from aetherflow_gateway.queue.local import LocalPublisher, LocalQueue

ATTRIBUTES = {"request_id": "req-1", "department": "Sales", "job_type": "etl"}

# A consumer in its own interpreter: claims and deletes until the queue looks empty,
# then prints what it claimed.
CONSUMER = """
import asyncio, json, sys
from aetherflow_gateway.queue.local import LocalQueue

async def drain(url):
    queue = LocalQueue.from_url(url)
    claimed = []
    while messages := await queue.receive(5):
        for message in messages:
            claimed.append({"id": message.id, "body": message.body,
                            "attributes": message.attributes})
            await queue.delete(message)
    print(json.dumps(claimed))

asyncio.run(drain(sys.argv[1]))
"""


async def start_consumer(queue_url: str) -> asyncio.subprocess.Process:
    package_parent = Path(aetherflow_gateway.__file__).parents[1]
    python_path = os.pathsep.join(
        [str(package_parent), os.environ.get("PYTHONPATH", "")]
    )
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CONSUMER,
        queue_url,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": python_path},
    )


async def claimed_by(consumer: asyncio.subprocess.Process) -> list[dict[str, Any]]:
    stdout, _ = await consumer.communicate()
    assert consumer.returncode == 0
    return list(json.loads(stdout))


@pytest.fixture
def queue_url(tmp_path: Path) -> str:
    return (tmp_path / "queue" / "etl").as_uri()


class TestPublishAndReceive:
    async def test_another_process_receives_the_message(self, queue_url: str) -> None:
        publisher = LocalPublisher.from_urls({"etl": queue_url})
        message_id = await publisher.publish("etl", '{"job_id": "42"}', ATTRIBUTES)

        consumer = await start_consumer(queue_url)
        claimed = await claimed_by(consumer)

        assert claimed == [
            {"id": message_id, "body": '{"job_id": "42"}', "attributes": ATTRIBUTES}
        ]
        assert await LocalQueue.from_url(queue_url).receive() == []

    async def test_message_survives_a_new_instance(self, queue_url: str) -> None:
        publisher = LocalPublisher.from_urls({"etl": queue_url})
        message_id = await publisher.publish("etl", "body", ATTRIBUTES)
        await publisher.close()

        [message] = await LocalQueue.from_url(queue_url).receive()

        assert (message.id, message.body) == (message_id, "body")
        assert message.attributes == ATTRIBUTES
        assert message.sent_at.endswith("+00:00")

    async def test_messages_come_oldest_first(self, queue_url: str) -> None:
        queue = LocalQueue.from_url(queue_url)
        for number in range(5):
            await queue.publish(str(number), {})

        messages = await queue.receive(max_messages=3)

        assert [message.body for message in messages] == ["0", "1", "2"]

    async def test_claimed_message_is_not_received_again(self, queue_url: str) -> None:
        queue = LocalQueue.from_url(queue_url)
        await queue.publish("body", {})
        [message] = await queue.receive()

        again = await queue.receive()
        await queue.delete(message)

        assert again == []
        assert list(queue.folder.rglob("*.json")) == []

    async def test_unconfigured_queue_name_is_refused(self, queue_url: str) -> None:
        publisher = LocalPublisher.from_urls({"etl": queue_url})

        with pytest.raises(ValueError, match="'ml'"):
            await publisher.publish("ml", "{}", ATTRIBUTES)


class TestConcurrentConsumers:
    async def test_two_processes_never_claim_the_same_message(
        self, queue_url: str
    ) -> None:
        queue = LocalQueue.from_url(queue_url)
        published = {await queue.publish(str(number), {}) for number in range(200)}

        consumers = [await start_consumer(queue_url) for _ in range(2)]
        first, second = [await claimed_by(consumer) for consumer in consumers]
        # A consumer may stop early when the other took every message it listed.
        leftovers = [{"id": message.id} for message in await queue.receive(200)]

        claims = [message["id"] for message in first + second + leftovers]
        assert len(claims) == len(set(claims))
        assert set(claims) == published


class TestFailures:
    async def test_folder_that_is_a_file_is_unavailable(self, tmp_path: Path) -> None:
        path = tmp_path / "etl"
        path.write_text("not a folder")
        publisher = LocalPublisher.from_urls({"etl": path.as_uri()})

        with pytest.raises(QueueUnavailable):
            await publisher.publish("etl", "{}", ATTRIBUTES)
        with pytest.raises(QueueUnavailable):
            await publisher.check()

    async def test_check_creates_the_folders(self, queue_url: str) -> None:
        publisher = LocalPublisher.from_urls({"etl": queue_url})

        await publisher.check()

        folder = LocalQueue.from_url(queue_url).folder
        assert sorted(path.name for path in folder.iterdir()) == ["cur", "new", "tmp"]
