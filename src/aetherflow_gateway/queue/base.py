"""What the outbox relay needs from a message queue, whatever backs it.

Messages are published to a named queue (`etl` or `ml`, the job types) with string
attributes. Backends raise `QueueUnavailable` for any failure of the queue itself;
the outbox keeps the message and tries again later.
"""

from typing import Protocol


class QueueUnavailable(Exception):
    """The queue failed or did not answer in time."""


class Publisher(Protocol):
    async def publish(self, queue: str, body: str, attributes: dict[str, str]) -> str:
        """Send one message and return the id the queue gave it."""
        ...

    async def check(self) -> None:
        """Raise `QueueUnavailable` unless every configured queue answers now."""
        ...

    async def close(self) -> None: ...
