"""What the upload pipeline needs from an object store, whatever backs it.

A writer receives the file in chunks as they arrive and either commits (the object
becomes visible under its URL) or aborts (nothing is left behind). Backends raise
`StorageUnavailable` for any failure of the store itself; the caller turns it into
a 503.
"""

from datetime import datetime
from typing import Protocol


class StorageUnavailable(Exception):
    """The object store failed or did not answer in time."""


class ObjectWriter(Protocol):
    async def write(self, chunk: bytes) -> None: ...

    async def commit(self) -> str:
        """Make the object visible and return its URL (`s3://…` or `file://…`)."""
        ...

    async def abort(self) -> None:
        """Discard everything written so far; safe to call more than once."""
        ...


class ObjectStore(Protocol):
    def writer(self, key: str, content_type: str) -> ObjectWriter: ...

    def url_for(self, key: str) -> str:
        """The URL a writer for `key` commits to."""
        ...

    async def abort_stale_writes(self, older_than: datetime) -> int:
        """Discard writes started before `older_than` and never finished."""
        ...

    async def read(self, url: str) -> bytes:
        """The whole object; for tests and small objects only."""
        ...

    async def delete(self, url: str) -> None: ...

    async def check(self) -> None:
        """Raise `StorageUnavailable` unless the store answers now."""
        ...

    async def close(self) -> None: ...
