"""Objects in an S3 bucket, or any S3-compatible endpoint, under a key prefix.

A writer streams: it buffers at most one part. An object that fits in one part
is sent with a single PutObject on commit. A larger one becomes a multipart
upload, started when the first part fills, completed on commit and aborted on abort,
so a failed upload leaves no stored parts behind. Every failure of the store reaches
the caller as `StorageUnavailable`, after at most two short attempts.
"""

from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from typing import Self
from urllib.parse import urlsplit

import structlog
from aiobotocore.session import get_session
from botocore.exceptions import ClientError
from types_aiobotocore_s3 import S3Client
from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

from aetherflow_gateway.core.aws import AWS_ERRORS, aws_client_config
from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.storage.base import StorageUnavailable

logger = structlog.get_logger(__name__)


class S3ObjectStore:
    def __init__(
        self, client: S3Client, url: str, part_size_bytes: int, exits: AsyncExitStack
    ) -> None:
        parts = urlsplit(url)
        self._client = client
        self._bucket = parts.netloc
        self._prefix = parts.path.strip("/")
        self._part_size_bytes = part_size_bytes
        self._exits = exits

    @classmethod
    async def open(cls, settings: Settings) -> Self:
        """Create the one client this store holds until `close`."""
        exits = AsyncExitStack()
        client_context = get_session().create_client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            config=aws_client_config(settings.dependency_timeout_seconds),
        )
        with _translated("create_client"):
            client = await exits.enter_async_context(client_context)
        return cls(client, settings.storage_url, settings.s3_part_size_bytes, exits)

    def writer(self, key: str, content_type: str) -> "S3ObjectWriter":
        object_key = f"{self._prefix}/{key}" if self._prefix else key
        return S3ObjectWriter(
            self._client, self._bucket, object_key, content_type, self._part_size_bytes
        )

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
        client: S3Client,
        bucket: str,
        key: str,
        content_type: str,
        part_size_bytes: int,
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._content_type = content_type
        self._part_size_bytes = part_size_bytes
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[CompletedPartTypeDef] = []
        self._closed = False

    async def write(self, chunk: bytes) -> None:
        with self._failure_closes():
            self._buffer += chunk

            # Strictly greater: the part that ends the object is sent by `commit`,
            # so an object of exactly one part still goes out as one PutObject.
            while len(self._buffer) > self._part_size_bytes:
                await self._send_part(self._part_size_bytes)

    async def commit(self) -> str:
        with self._failure_closes():
            if self._upload_id is None:
                await self._put_whole_object()
            else:
                await self._send_part(len(self._buffer))
                await self._complete_upload(self._upload_id)

        self._closed = True
        return f"s3://{self._bucket}/{self._key}"

    async def abort(self) -> None:
        """Discard the parts sent so far; after a successful commit, do nothing."""
        self._closed = True
        self._buffer.clear()
        if self._upload_id is None:
            return

        with _translated("abort_multipart_upload"):
            await self._abort_upload(self._upload_id)
        self._upload_id = None

    async def _put_whole_object(self) -> None:
        with _translated("put_object"):
            await self._client.put_object(
                Bucket=self._bucket,
                Key=self._key,
                Body=bytes(self._buffer),
                ContentType=self._content_type,
            )
        self._buffer.clear()

    async def _send_part(self, size: int) -> None:
        with memoryview(self._buffer) as view:
            body = view[:size].tobytes()
        del self._buffer[:size]

        upload_id = self._upload_id or await self._start_upload()
        number = len(self._parts) + 1
        with _translated("upload_part"):
            response = await self._client.upload_part(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=upload_id,
                PartNumber=number,
                Body=body,
            )
        self._parts.append({"ETag": response["ETag"], "PartNumber": number})

    async def _start_upload(self) -> str:
        with _translated("create_multipart_upload"):
            response = await self._client.create_multipart_upload(
                Bucket=self._bucket, Key=self._key, ContentType=self._content_type
            )
        self._upload_id = response["UploadId"]
        return self._upload_id

    async def _complete_upload(self, upload_id: str) -> None:
        with _translated("complete_multipart_upload"):
            await self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=upload_id,
                MultipartUpload={"Parts": self._parts},
            )
        self._upload_id = None

    async def _abort_upload(self, upload_id: str) -> None:
        try:
            await self._client.abort_multipart_upload(
                Bucket=self._bucket, Key=self._key, UploadId=upload_id
            )
        except ClientError as exc:
            # Already aborted (or completed) by an earlier call: nothing is left.
            if exc.response.get("Error", {}).get("Code") != "NoSuchUpload":
                raise

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


@contextmanager
def _translated(operation: str) -> Iterator[None]:
    """Turn any failure of S3 or of the network into `StorageUnavailable`."""
    try:
        yield
    except AWS_ERRORS as exc:
        logger.warning("storage.s3_failed", operation=operation, error=str(exc))
        raise StorageUnavailable(f"S3 {operation} failed: {exc}") from exc
