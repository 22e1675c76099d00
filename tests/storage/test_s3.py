import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiobotocore.session import get_session
from pydantic import SecretStr

from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.storage.base import StorageUnavailable
from aetherflow_gateway.storage.s3 import S3Clients, S3ObjectStore, S3ObjectWriter
from tests.support.moto_server import MotoServer, free_port
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.aws

PART = 5 << 20
CHUNK = 64 << 10
OUTAGE_BOUND_SECONDS = 15


def s3_settings(endpoint_url: str, bucket: str, concurrency: int = 4) -> Settings:
    return Settings(
        storage_url=f"s3://{bucket}/uploads",
        s3_endpoint_url=endpoint_url,
        s3_part_size_bytes=PART,
        s3_upload_concurrency=concurrency,
        dependency_timeout_seconds=1.0,
        jwt_secret=SecretStr("a-test-secret-that-is-long-enough-for-hs256"),
    )


async def write_in_chunks(store: S3ObjectStore, key: str, data: bytes) -> str:
    return await write_all(store.writer(key, "text/csv"), data)


async def write_all(writer: S3ObjectWriter, data: bytes) -> str:
    for start in range(0, len(data), CHUNK):
        await writer.write(data[start : start + CHUNK])
    return await writer.commit()


def uploads_in_progress(s3_admin: Any, bucket: str) -> list[Any]:
    return list(s3_admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


def stored_keys(s3_admin: Any, bucket: str) -> list[str]:
    listing = s3_admin.list_objects_v2(Bucket=bucket)
    return [item["Key"] for item in listing.get("Contents", [])]


@pytest.fixture
async def store(
    moto_server: MotoServer, s3_bucket: str
) -> AsyncIterator[S3ObjectStore]:
    store = await S3ObjectStore.open(s3_settings(moto_server.url, s3_bucket))
    yield store
    await store.close()


class PartCounter:
    """The real client, counting the `upload_part` calls that are under way."""

    def __init__(self, client: Any, first_part_delay_seconds: float = 0.0) -> None:
        self._client = client
        self._first_part_delay_seconds = first_part_delay_seconds
        self.in_flight = 0
        self.most_in_flight = 0
        self.finished: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def upload_part(self, **arguments: Any) -> Any:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if arguments["PartNumber"] == 1:
                await asyncio.sleep(self._first_part_delay_seconds)
            return await self._client.upload_part(**arguments)
        finally:
            self.in_flight -= 1
            self.finished.append(arguments["PartNumber"])


@pytest.fixture
async def s3_client(moto_server: MotoServer) -> AsyncIterator[Any]:
    """A plain aiobotocore client, for writers built around a wrapped client."""
    session = get_session()
    async with session.create_client("s3", endpoint_url=moto_server.url) as client:
        yield client


@pytest.fixture
async def proxy(moto_server: MotoServer) -> AsyncIterator[TcpProxy]:
    proxy = TcpProxy(target_port=moto_server.port)
    await proxy.start()
    yield proxy
    await proxy.stop()


class TestWriter:
    async def test_small_object_is_one_put_with_its_content_type(
        self, store: S3ObjectStore, s3_admin: Any, s3_bucket: str
    ) -> None:
        data = b"region,amount\nnorth,12\n"

        url = await write_in_chunks(store, "Sales/2024/01/02/a.csv", data)

        assert url == f"s3://{s3_bucket}/uploads/Sales/2024/01/02/a.csv"
        head = s3_admin.head_object(
            Bucket=s3_bucket, Key="uploads/Sales/2024/01/02/a.csv"
        )
        assert head["ContentType"] == "text/csv"
        assert "-" not in head["ETag"]
        assert await store.read(url) == data

    async def test_object_of_exactly_one_part_is_one_put(
        self, store: S3ObjectStore, s3_admin: Any, s3_bucket: str
    ) -> None:
        data = os.urandom(PART)

        url = await write_in_chunks(store, "Sales/one-part.csv", data)

        head = s3_admin.head_object(Bucket=s3_bucket, Key="uploads/Sales/one-part.csv")
        assert "-" not in head["ETag"]
        assert await store.read(url) == data

    async def test_large_object_streams_in_parts_and_reads_back_identical(
        self, store: S3ObjectStore, s3_admin: Any, s3_bucket: str
    ) -> None:
        data = os.urandom(12 << 20)

        url = await write_in_chunks(store, "Sales/large.csv", data)

        head = s3_admin.head_object(Bucket=s3_bucket, Key="uploads/Sales/large.csv")
        assert head["ETag"].endswith('-3"')  # 5 MiB, 5 MiB and 2 MiB
        assert head["ContentType"] == "text/csv"
        assert await store.read(url) == data
        assert uploads_in_progress(s3_admin, s3_bucket) == []

    @pytest.mark.parametrize("concurrency", [1, 3])
    async def test_parts_sent_side_by_side_give_an_identical_object(
        self, moto_server: MotoServer, s3_admin: Any, s3_bucket: str, concurrency: int
    ) -> None:
        store = await S3ObjectStore.open(
            s3_settings(moto_server.url, s3_bucket, concurrency)
        )
        data = os.urandom(5 * PART + 3 * CHUNK)

        url = await write_in_chunks(store, "Sales/parallel.csv", data)

        head = s3_admin.head_object(Bucket=s3_bucket, Key="uploads/Sales/parallel.csv")
        assert head["ETag"].endswith('-6"')
        assert await store.read(url) == data
        assert uploads_in_progress(s3_admin, s3_bucket) == []
        await store.close()

    async def test_parts_in_flight_never_exceed_the_concurrency(
        self, s3_client: Any, s3_bucket: str
    ) -> None:
        counter = PartCounter(s3_client)
        writer = S3ObjectWriter(
            S3Clients(default=counter, completing=s3_client),
            s3_bucket,
            "bounded.csv",
            "text/csv",
            part_size_bytes=PART,
            concurrency=2,
        )

        await write_all(writer, os.urandom(6 * PART + CHUNK))

        assert counter.most_in_flight == 2
        assert counter.in_flight == 0

    async def test_parts_finishing_out_of_order_give_an_identical_object(
        self, s3_client: Any, s3_bucket: str
    ) -> None:
        counter = PartCounter(s3_client, first_part_delay_seconds=0.5)
        writer = S3ObjectWriter(
            S3Clients(default=counter, completing=s3_client),
            s3_bucket,
            "unordered.csv",
            "text/csv",
            part_size_bytes=PART,
            concurrency=3,
        )
        data = os.urandom(3 * PART + CHUNK)

        await write_all(writer, data)

        assert counter.finished[-1] == 1
        stored = await s3_client.get_object(Bucket=s3_bucket, Key="unordered.csv")
        async with stored["Body"] as body:
            assert await body.read() == data

    async def test_abort_leaves_no_object_and_no_upload(
        self, store: S3ObjectStore, s3_admin: Any, s3_bucket: str
    ) -> None:
        writer = store.writer("Sales/aborted.csv", "text/csv")
        await writer.write(os.urandom(PART + CHUNK))
        assert len(uploads_in_progress(s3_admin, s3_bucket)) == 1

        await writer.abort()
        await writer.abort()

        assert uploads_in_progress(s3_admin, s3_bucket) == []
        assert stored_keys(s3_admin, s3_bucket) == []

    async def test_abort_after_a_failed_part_leaves_no_upload(
        self, proxy: TcpProxy, s3_admin: Any, s3_bucket: str
    ) -> None:
        store = await S3ObjectStore.open(s3_settings(proxy.url, s3_bucket))
        writer = store.writer("Sales/interrupted.csv", "text/csv")
        await writer.write(os.urandom(2 * PART + CHUNK))
        await proxy.stop()

        with pytest.raises(StorageUnavailable):
            await writer.commit()
        await proxy.start()
        await writer.abort()
        await store.close()

        assert uploads_in_progress(s3_admin, s3_bucket) == []
        assert stored_keys(s3_admin, s3_bucket) == []

    async def test_abort_with_parts_in_flight_leaves_no_upload(
        self, s3_client: Any, s3_admin: Any, s3_bucket: str
    ) -> None:
        counter = PartCounter(s3_client)
        writer = S3ObjectWriter(
            S3Clients(default=counter, completing=s3_client),
            s3_bucket,
            "abandoned.csv",
            "text/csv",
            part_size_bytes=PART,
            concurrency=4,
        )
        await writer.write(os.urandom(3 * PART + CHUNK))
        await asyncio.sleep(0)  # let the three part requests leave
        assert counter.in_flight == 3

        await writer.abort()

        assert counter.in_flight == 0
        assert uploads_in_progress(s3_admin, s3_bucket) == []
        assert stored_keys(s3_admin, s3_bucket) == []

    async def test_writer_that_failed_can_only_be_aborted(
        self, proxy: TcpProxy, s3_bucket: str
    ) -> None:
        store = await S3ObjectStore.open(s3_settings(proxy.url, s3_bucket))
        writer = store.writer("Sales/failed.csv", "text/csv")
        await writer.write(b"a,b\n")
        await proxy.stop()
        with pytest.raises(StorageUnavailable):
            await writer.commit()
        await proxy.start()

        with pytest.raises(RuntimeError, match="failed"):
            await writer.commit()
        await writer.abort()
        await store.close()


class TestObjects:
    async def test_deleted_object_is_gone(
        self, store: S3ObjectStore, s3_admin: Any, s3_bucket: str
    ) -> None:
        url = await write_in_chunks(store, "Sales/deleted.csv", b"a,b\n")

        await store.delete(url)

        assert stored_keys(s3_admin, s3_bucket) == []

    @pytest.mark.parametrize(
        "url",
        [
            "s3://another-bucket/uploads/a.csv",
            "file:///etc/passwd",
            "s3://{bucket}/a.csv",
        ],
    )
    async def test_url_of_another_store_is_refused(
        self, store: S3ObjectStore, s3_bucket: str, url: str
    ) -> None:
        with pytest.raises(ValueError, match="not name an object of this store"):
            await store.read(url.format(bucket=s3_bucket))


class TestStaleWrites:
    async def test_url_for_names_what_the_writer_commits(
        self, store: S3ObjectStore
    ) -> None:
        url = await write_in_chunks(store, "Sales/named.csv", b"a,b\n1,2\n")

        assert store.url_for("Sales/named.csv") == url

    async def test_upload_started_before_the_moment_is_aborted(
        self, store: S3ObjectStore, s3_admin: Any, s3_bucket: str
    ) -> None:
        s3_admin.create_multipart_upload(Bucket=s3_bucket, Key="uploads/Sales/a.csv")
        later = datetime.now(UTC) + timedelta(minutes=1)

        aborted = await store.abort_stale_writes(later)

        assert aborted == 1
        assert uploads_in_progress(s3_admin, s3_bucket) == []

    async def test_upload_started_after_the_moment_is_left_alone(
        self, store: S3ObjectStore, s3_admin: Any, s3_bucket: str
    ) -> None:
        s3_admin.create_multipart_upload(Bucket=s3_bucket, Key="uploads/Sales/a.csv")
        # moto reports every upload as initiated on 2010-11-10, whenever it began.
        before_any_upload = datetime(2010, 1, 1, tzinfo=UTC)

        aborted = await store.abort_stale_writes(before_any_upload)

        assert aborted == 0
        assert len(uploads_in_progress(s3_admin, s3_bucket)) == 1

    async def test_upload_outside_the_prefix_is_left_alone(
        self, store: S3ObjectStore, s3_admin: Any, s3_bucket: str
    ) -> None:
        s3_admin.create_multipart_upload(Bucket=s3_bucket, Key="elsewhere/a.csv")
        later = datetime.now(UTC) + timedelta(minutes=1)

        aborted = await store.abort_stale_writes(later)

        assert aborted == 0
        assert len(uploads_in_progress(s3_admin, s3_bucket)) == 1


class TestCheck:
    async def test_existing_bucket_answers(self, store: S3ObjectStore) -> None:
        await store.check()

    async def test_missing_bucket_is_unavailable(self, moto_server: MotoServer) -> None:
        store = await S3ObjectStore.open(s3_settings(moto_server.url, "no-such-bucket"))

        with pytest.raises(StorageUnavailable):
            await store.check()
        await store.close()


class TestOutage:
    @pytest.fixture
    async def dead_store(self, aws_credentials: None) -> AsyncIterator[S3ObjectStore]:
        dead_endpoint = f"http://127.0.0.1:{free_port()}"
        store = await S3ObjectStore.open(s3_settings(dead_endpoint, "bucket"))
        yield store
        await store.close()

    async def test_check_fails_quickly(self, dead_store: S3ObjectStore) -> None:
        with pytest.raises(StorageUnavailable):
            async with asyncio.timeout(OUTAGE_BOUND_SECONDS):
                await dead_store.check()

    async def test_upload_fails_quickly(self, dead_store: S3ObjectStore) -> None:
        writer = dead_store.writer("Sales/a.csv", "text/csv")
        await writer.write(b"a,b\n1,2\n")

        with pytest.raises(StorageUnavailable):
            async with asyncio.timeout(OUTAGE_BOUND_SECONDS):
                await writer.commit()
        await writer.abort()
