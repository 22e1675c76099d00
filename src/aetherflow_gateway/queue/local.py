"""A durable queue in a local folder, for the embedded default (`make run`).

Each queue is a maildir. A message is written to `tmp/` and renamed into `new/`, so
nobody sees half a message; a consumer claims it by renaming it from `new/` to
`cur/` and deletes it once handled. We keep this small design rather than a queue
library because the embedded mode must run with no extra service, and because a
rename is atomic: of two processes claiming one message, exactly one succeeds.

A consumer that dies between claim and delete leaves its message in `cur/`, and
nothing moves it back to `new/` yet; that matters once a worker consumes these
queues unattended, and is the worker's start-up job to fix.
"""

import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Self

import structlog
from anyio import to_thread

from aetherflow_gateway.core.file_urls import path_from_file_url
from aetherflow_gateway.queue.base import QueueUnavailable

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ReceivedMessage:
    id: str
    body: str
    attributes: dict[str, str]
    sent_at: str
    claimed_path: Path


class LocalQueue:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def from_url(cls, url: str) -> Self:
        return cls(path_from_file_url(url))

    async def publish(self, body: str, attributes: Mapping[str, str]) -> str:
        message_id = str(uuid.uuid4())
        envelope: dict[str, object] = {
            "id": message_id,
            "body": body,
            "attributes": dict(attributes),
            "sent_at": datetime.now(UTC).isoformat(),
        }
        with self._translated("publish"):
            await to_thread.run_sync(self._deliver, message_id, envelope)
        return message_id

    async def receive(self, max_messages: int = 10) -> list[ReceivedMessage]:
        """Claim up to `max_messages`, oldest first; none is given to two callers."""
        with self._translated("receive"):
            return await to_thread.run_sync(self._claim_many, max_messages)

    async def delete(self, message: ReceivedMessage) -> None:
        with self._translated("delete"):
            await to_thread.run_sync(
                partial(message.claimed_path.unlink, missing_ok=True)
            )

    async def check(self) -> None:
        with self._translated("check"):
            await to_thread.run_sync(self._probe_writable)

    def _deliver(self, message_id: str, envelope: dict[str, object]) -> None:
        self._make_folders()
        # Names sort in publication order, which `receive` follows.
        name = f"{time.time_ns():020d}.{message_id}.json"
        temporary = self.folder / "tmp" / name
        with temporary.open("x", encoding="utf-8") as file:
            json.dump(envelope, file)
            file.flush()
            os.fsync(file.fileno())
        os.rename(temporary, self.folder / "new" / name)

    def _claim_many(self, max_messages: int) -> list[ReceivedMessage]:
        self._make_folders()
        claimed: list[ReceivedMessage] = []
        for name in sorted(os.listdir(self.folder / "new")):
            if len(claimed) >= max_messages:
                break
            message = self._claim(name)
            if message is not None:
                claimed.append(message)
        return claimed

    def _claim(self, name: str) -> ReceivedMessage | None:
        claimed_path = self.folder / "cur" / name
        try:
            os.rename(self.folder / "new" / name, claimed_path)
        except FileNotFoundError:
            return None  # another consumer renamed it first

        envelope = json.loads(claimed_path.read_text(encoding="utf-8"))
        return ReceivedMessage(
            id=envelope["id"],
            body=envelope["body"],
            attributes=envelope["attributes"],
            sent_at=envelope["sent_at"],
            claimed_path=claimed_path,
        )

    def _probe_writable(self) -> None:
        self._make_folders()
        with tempfile.TemporaryFile(dir=self.folder / "tmp"):
            pass

    def _make_folders(self) -> None:
        for part in ("tmp", "new", "cur"):
            (self.folder / part).mkdir(parents=True, exist_ok=True)

    @contextmanager
    def _translated(self, operation: str) -> Iterator[None]:
        """Turn a failing disk operation into `QueueUnavailable`."""
        try:
            yield
        except OSError as exc:
            logger.warning(
                "queue.local_failed",
                operation=operation,
                folder=str(self.folder),
                error=str(exc),
            )
            raise QueueUnavailable(f"local queue {operation} failed: {exc}") from exc


class LocalPublisher:
    """The gateway's side of the local queues: publish, and check each folder."""

    def __init__(self, queues: Mapping[str, LocalQueue]) -> None:
        self._queues = dict(queues)

    @classmethod
    def from_urls(cls, queue_urls: Mapping[str, str]) -> Self:
        return cls({name: LocalQueue.from_url(url) for name, url in queue_urls.items()})

    async def publish(self, queue: str, body: str, attributes: dict[str, str]) -> str:
        if queue not in self._queues:
            raise ValueError(f"no local queue is configured for {queue!r}")
        return await self._queues[queue].publish(body, attributes)

    async def check(self) -> None:
        for local_queue in self._queues.values():
            await local_queue.check()

    async def close(self) -> None:
        return None
