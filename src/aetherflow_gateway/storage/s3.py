"""Objects in an S3 bucket, or any S3-compatible endpoint, under a key prefix.

A writer streams. An object that fits in one part is sent with a single PutObject on
commit. A larger one becomes a multipart upload, started when the first part fills.
Each full part is handed to a task of its own, so the caller goes on writing while up
to `s3_upload_concurrency` parts travel; with that many in flight, `write` waits for
one of them to finish. Memory per upload so stays near part size times
(concurrency + 1): the parts in flight and the one filling.

A part fills in a `BytesIO` that is then sent as it is. botocore would wrap a `bytes`
body in a `BytesIO` that shares its buffer, and aiohttp asks that wrapper for its
buffer, which copies it: bytes would cost every part in flight twice.

Parts may finish in any order. Each task returns its part number and ETag, and
`commit` waits for every task and completes the upload with the parts sorted by
number. A failed part surfaces in the next `write` that cuts a part, or in `commit`.
`abort` cancels the parts in flight, waits until they have stopped and only then
aborts the multipart upload, so a failed upload leaves no stored parts behind. What a
killed process leaves, `abort_stale_writes` finds by the upload's start time.

Every failure of the store reaches the caller as `StorageUnavailable`, after the few
short attempts that `core.aws` allows. CompleteMultipartUpload alone may take long:
S3-compatible servers (MinIO, moto) answer it only once the object is assembled, so
it goes through a second client whose read timeout grows with the upload limit.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Self
from urllib.parse import urlsplit

import structlog
from aiobotocore.config import AioConfig
from botocore.exceptions import ClientError

# Type stubs, installed for development only.
if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import (
        CompletedPartTypeDef,
        MultipartUploadTypeDef,
    )

from aetherflow_gateway.core.aws import AWS_ERRORS, aws_client_config, aws_session
from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.storage.base import StorageUnavailable

logger = structlog.get_logger(__name__)

# botocore's default pool of 10 connections would queue the parts of a few
# uploads running side by side; leave room for four at full concurrency.
UPLOADS_AT_FULL_CONCURRENCY = 4
MIN_POOL_CONNECTIONS = 10
# moto assembles about 80 MiB/s on a small machine; allow for a slower server.
ASSEMBLY_BYTES_PER_SECOND = 32 << 20


@dataclass(frozen=True)
class S3Clients:
    """Two clients of one endpoint that differ only in how long they wait."""

    default: S3Client
    completing: S3Client


class S3ObjectStore:
    def __init__(
        self,
        clients: S3Clients,
        url: str,
        part_size_bytes: int,
        concurrency: int,
        exits: AsyncExitStack,
    ) -> None:
        parts = urlsplit(url)
        self._clients = clients
        self._client = clients.default
        self._bucket = parts.netloc
        self._prefix = parts.path.strip("/")
        self._part_size_bytes = part_size_bytes
        self._concurrency = concurrency
        self._exits = exits

    @classmethod
    async def open(cls, settings: Settings) -> Self:
        """Create the clients this store holds until `close`."""
        exits = AsyncExitStack()
        quick_seconds = settings.dependency_timeout_seconds
        assembly_seconds = settings.max_upload_bytes / ASSEMBLY_BYTES_PER_SECOND
        try:
            with _translated("create_client"):
                clients = S3Clients(
                    default=await _open_client(settings, exits, quick_seconds),
                    completing=await _open_client(
                        settings, exits, quick_seconds + assembly_seconds
                    ),
                )
        except BaseException:
            await exits.aclose()
            raise

        return cls(
            clients,
            settings.storage_url,
            settings.s3_part_size_bytes,
            settings.s3_upload_concurrency,
            exits,
        )

    def writer(self, key: str, content_type: str) -> S3ObjectWriter:
        return S3ObjectWriter(
            self._clients,
            self._bucket,
            self._object_key(key),
            content_type,
            part_size_bytes=self._part_size_bytes,
            concurrency=self._concurrency,
        )

    def url_for(self, key: str) -> str:
        return f"s3://{self._bucket}/{self._object_key(key)}"

    async def abort_stale_writes(self, older_than: datetime) -> int:
        """Abort this prefix's multipart uploads started before `older_than`."""
        stale = await self._uploads_started_before(older_than)
        for upload in stale:
            with _translated("abort_multipart_upload"):
                await _abort_upload(
                    self._client, self._bucket, upload["Key"], upload["UploadId"]
                )
            logger.info(
                "multipart_upload.stale_aborted",
                key=upload["Key"],
                initiated=upload["Initiated"].isoformat(),
            )
        return len(stale)

    async def read(self, url: str) -> bytes:
        key = self._own_key(url)
        with _translated("get_object"):
            response = await self._client.get_object(Bucket=self._bucket, Key=key)
            async with response["Body"] as body:
                return await body.read()

    async def delete(self, url: str) -> None:
        key = self._own_key(url)
        with _translated("delete_object"):
            await self._client.delete_object(Bucket=self._bucket, Key=key)

    async def check(self) -> None:
        with _translated("head_bucket"):
            await self._client.head_bucket(Bucket=self._bucket)

    async def close(self) -> None:
        await self._exits.aclose()

    def _object_key(self, key: str) -> str:
        return f"{self._prefix}/{key}" if self._prefix else key

    async def _uploads_started_before(
        self, moment: datetime
    ) -> list[MultipartUploadTypeDef]:
        paginator = self._client.get_paginator("list_multipart_uploads")
        prefix = f"{self._prefix}/" if self._prefix else ""
        stale: list[MultipartUploadTypeDef] = []
        with _translated("list_multipart_uploads"):
            async for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
                uploads = page.get("Uploads", [])
                stale += [upload for upload in uploads if upload["Initiated"] < moment]
        return stale

    def _own_key(self, url: str) -> str:
        parts = urlsplit(url)
        key = parts.path.removeprefix("/")
        inside = not self._prefix or key.startswith(f"{self._prefix}/")
        if parts.scheme != "s3" or parts.netloc != self._bucket or not inside:
            raise ValueError("the URL does not name an object of this store")
        return key


class S3ObjectWriter:
    def __init__(
        self,
        clients: S3Clients,
        bucket: str,
        key: str,
        content_type: str,
        *,
        part_size_bytes: int,
        concurrency: int,
    ) -> None:
        self._clients = clients
        self._client = clients.default
        self._bucket = bucket
        self._key = key
        self._content_type = content_type
        self._part_size_bytes = part_size_bytes
        self._concurrency = concurrency
        self._filling = io.BytesIO()
        self._upload_id: str | None = None
        self._parts_started = 0
        self._in_flight: set[asyncio.Task[CompletedPartTypeDef]] = set()
        self._parts: list[CompletedPartTypeDef] = []
        self._closed = False

    async def write(self, chunk: bytes) -> None:
        with self._failure_closes():
            self._filling.write(chunk)

            # Strictly greater: the part that ends the object is sent by `commit`,
            # so an object of exactly one part still goes out as one PutObject.
            while self._filling.tell() > self._part_size_bytes:
                await self._send_part(self._cut_full_part())

    async def commit(self) -> str:
        with self._failure_closes():
            if self._upload_id is None:
                await self._put_whole_object()
            else:
                await self._send_part(self._take_filling())
                await self._collect_parts(at_most_in_flight=0)
                await self._complete_upload(self._upload_id)

        self._closed = True
        return f"s3://{self._bucket}/{self._key}"

    async def abort(self) -> None:
        """Discard the parts sent so far; after a successful commit, do nothing."""
        self._closed = True
        self._take_filling()
        await self._cancel_parts()
        if self._upload_id is None:
            return

        with _translated("abort_multipart_upload"):
            await _abort_upload(self._client, self._bucket, self._key, self._upload_id)
        self._upload_id = None

    async def _put_whole_object(self) -> None:
        body = self._take_filling()
        body.seek(0)
        with _translated("put_object"):
            await self._client.put_object(
                Bucket=self._bucket,
                Key=self._key,
                Body=body,
                ContentType=self._content_type,
            )

    def _cut_full_part(self) -> io.BytesIO:
        """The first part-size bytes as a part; what lies beyond starts the next."""
        part = self._take_filling()
        with part.getbuffer() as view:
            self._filling.write(view[self._part_size_bytes :])
        part.truncate(self._part_size_bytes)
        return part

    def _take_filling(self) -> io.BytesIO:
        part, self._filling = self._filling, io.BytesIO()
        return part

    async def _send_part(self, body: io.BytesIO) -> None:
        """Start sending `body` as the next part once fewer parts are in flight."""
        upload_id = self._upload_id or await self._start_upload()
        await self._collect_parts(at_most_in_flight=self._concurrency - 1)

        body.seek(0)
        self._parts_started += 1
        sending = self._upload_part(upload_id, self._parts_started, body)
        self._in_flight.add(asyncio.create_task(sending))

    async def _upload_part(
        self, upload_id: str, number: int, body: io.BytesIO
    ) -> CompletedPartTypeDef:
        with _translated("upload_part"):
            response = await self._client.upload_part(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=upload_id,
                PartNumber=number,
                Body=body,
            )
        return {"ETag": response["ETag"], "PartNumber": number}

    async def _collect_parts(self, at_most_in_flight: int) -> None:
        """Record finished parts, waiting while more than the limit are in flight."""
        self._record_finished_parts()
        while len(self._in_flight) > at_most_in_flight:
            await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
            self._record_finished_parts()

    def _record_finished_parts(self) -> None:
        for task in [task for task in self._in_flight if task.done()]:
            self._in_flight.discard(task)
            self._parts.append(task.result())  # raises the part's failure, if any

    async def _cancel_parts(self) -> None:
        if not self._in_flight:
            return

        logger.info(
            "multipart_upload.parts_cancelled",
            key=self._key,
            parts_in_flight=len(self._in_flight),
        )
        for task in self._in_flight:
            task.cancel()
        await asyncio.gather(*self._in_flight, return_exceptions=True)
        self._in_flight.clear()

    async def _start_upload(self) -> str:
        with _translated("create_multipart_upload"):
            response = await self._client.create_multipart_upload(
                Bucket=self._bucket, Key=self._key, ContentType=self._content_type
            )
        self._upload_id = response["UploadId"]
        return self._upload_id

    async def _complete_upload(self, upload_id: str) -> None:
        parts = sorted(self._parts, key=lambda part: part["PartNumber"])
        with _translated("complete_multipart_upload"):
            await self._clients.completing.complete_multipart_upload(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        self._upload_id = None

    @contextmanager
    def _failure_closes(self) -> Iterator[None]:
        """Leave only `abort` to a writer that failed: a part may be half sent."""
        if self._closed:
            raise RuntimeError("the writer was already committed, aborted or failed")
        try:
            yield
        except BaseException:
            self._closed = True
            raise


async def _abort_upload(
    client: S3Client, bucket: str, key: str, upload_id: str
) -> None:
    try:
        await client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    except ClientError as exc:
        # Already aborted (or completed) by an earlier call: nothing is left.
        if exc.response.get("Error", {}).get("Code") != "NoSuchUpload":
            raise


async def _open_client(
    settings: Settings, exits: AsyncExitStack, read_timeout_seconds: float
) -> S3Client:
    pool = UPLOADS_AT_FULL_CONCURRENCY * settings.s3_upload_concurrency
    config = aws_client_config(settings.dependency_timeout_seconds).merge(
        AioConfig(
            read_timeout=read_timeout_seconds,
            max_pool_connections=max(MIN_POOL_CONNECTIONS, pool),
        )
    )
    context = aws_session().create_client(
        "s3", endpoint_url=settings.s3_endpoint_url, config=config
    )
    return await exits.enter_async_context(context)


@contextmanager
def _translated(operation: str) -> Iterator[None]:
    """Turn any failure of S3 or of the network into `StorageUnavailable`."""
    try:
        yield
    except AWS_ERRORS as exc:
        logger.warning("storage.s3_failed", operation=operation, error=str(exc))
        raise StorageUnavailable(f"S3 {operation} failed: {exc}") from exc
