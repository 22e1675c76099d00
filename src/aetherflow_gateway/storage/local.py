"""Objects as files in a local folder, for the embedded default (`make run`).

A writer fills a hidden temporary file next to its target and renames it into place
on commit, so a reader sees either the whole object or nothing. Disk work runs in a
worker thread, a megabyte at a time, to keep the event loop free; a cancelled caller
still waits for its thread, so an abort never races a write. The content type
is not kept: nothing reads it back from this store.
"""

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import structlog
from anyio import to_thread

from aetherflow_gateway.core.file_urls import path_from_file_url
from aetherflow_gateway.storage.base import StorageUnavailable

logger = structlog.get_logger(__name__)

FLUSH_BYTES = 1 << 20


def checked_key(key: str) -> PurePosixPath:
    """`key` as a relative path that cannot leave the folder it is joined to."""
    path = PurePosixPath(key)
    if not key or path.is_absolute() or "\\" in key:
        raise ValueError("an object key must be a relative path")
    if any(part in {"", ".", ".."} for part in key.split("/")):
        raise ValueError("an object key may not contain empty, '.' or '..' parts")
    return path


class LocalObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def from_url(cls, url: str) -> "LocalObjectStore":
        return cls(path_from_file_url(url))

    def writer(self, key: str, content_type: str) -> "LocalObjectWriter":
        return LocalObjectWriter(self.root / checked_key(key))

    def url_for(self, key: str) -> str:
        return (self.root / checked_key(key)).as_uri()

    async def abort_stale_writes(self, older_than: datetime) -> int:
        with _translated("sweep"):
            return await to_thread.run_sync(
                _remove_stale_temporaries, self.root, older_than
            )

    async def read(self, url: str) -> bytes:
        path = self._own_path(url)
        with _translated("read"):
            return await to_thread.run_sync(path.read_bytes)

    async def delete(self, url: str) -> None:
        path = self._own_path(url)
        with _translated("delete"):
            await to_thread.run_sync(partial(path.unlink, missing_ok=True))

    async def check(self) -> None:
        with _translated("check"):
            await to_thread.run_sync(_probe_writable, self.root)

    async def close(self) -> None:
        return None

    def _own_path(self, url: str) -> Path:
        path = path_from_file_url(url)
        if not path.is_relative_to(self.root):
            raise ValueError("the URL does not name an object of this store")
        checked_key(path.relative_to(self.root).as_posix())
        return path


class LocalObjectWriter:
    def __init__(self, target: Path) -> None:
        self._target = target
        self._temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        self._buffer = bytearray()
        self._file: BinaryIO | None = None
        self._closed = False

    async def write(self, chunk: bytes) -> None:
        with self._failure_closes():
            self._buffer += chunk
            if len(self._buffer) >= FLUSH_BYTES:
                await self._flush()

    async def commit(self) -> str:
        with self._failure_closes():
            await self._flush()
            with _translated("commit"):
                await to_thread.run_sync(self._finish)

        self._closed = True
        return self._target.as_uri()

    async def abort(self) -> None:
        self._closed = True
        self._buffer.clear()
        with _translated("abort"):
            await to_thread.run_sync(self._discard)

    async def _flush(self) -> None:
        data = bytes(self._buffer)
        self._buffer.clear()
        with _translated("write"):
            await to_thread.run_sync(self._write_to_file, data)

    def _write_to_file(self, data: bytes) -> None:
        if self._file is None:
            self._target.parent.mkdir(parents=True, exist_ok=True)
            self._file = self._temporary.open("xb")
        self._file.write(data)

    def _finish(self) -> None:
        file = self._file
        assert file is not None, "commit always flushes first"
        file.flush()
        os.fsync(file.fileno())
        file.close()
        os.replace(self._temporary, self._target)

    def _discard(self) -> None:
        if self._file is None:
            return  # the temporary file was never created
        self._file.close()
        self._temporary.unlink(missing_ok=True)

    @contextmanager
    def _failure_closes(self) -> Iterator[None]:
        """Leave only `abort` to a writer that failed: its data is incomplete."""
        if self._closed:
            raise RuntimeError("the writer was already committed, aborted or failed")
        try:
            yield
        except BaseException:
            self._closed = True
            raise


def _remove_stale_temporaries(root: Path, older_than: datetime) -> int:
    # Writers name their temporary files ".<name>.<hex>.tmp" beside the target.
    cutoff = older_than.timestamp()
    removed = 0
    for path in root.rglob(".*.tmp"):
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _probe_writable(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=root):
        pass


@contextmanager
def _translated(operation: str) -> Iterator[None]:
    """Turn a failing disk operation into `StorageUnavailable`."""
    try:
        yield
    except OSError as exc:
        logger.warning("storage.local_failed", operation=operation, error=str(exc))
        raise StorageUnavailable(f"local object store: {exc}") from exc
