from pathlib import Path

import pytest

from aetherflow_gateway.core.file_urls import path_from_file_url
from aetherflow_gateway.storage.base import StorageUnavailable
from aetherflow_gateway.storage.local import LocalObjectStore

CHUNK = 64 << 10


def files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


async def write_in_chunks(store: LocalObjectStore, key: str, data: bytes) -> str:
    writer = store.writer(key, "text/csv")
    for start in range(0, len(data), CHUNK):
        await writer.write(data[start : start + CHUNK])
    return await writer.commit()


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore.from_url((tmp_path / "objects").as_uri())


class TestFileUrls:
    @pytest.mark.parametrize(
        ("url", "path"),
        [
            ("file:///srv/objects", "/srv/objects"),
            ("file://localhost/srv/objects", "/srv/objects"),
            ("file:///srv/my%20objects", "/srv/my objects"),
        ],
    )
    def test_absolute_url_names_that_path(self, url: str, path: str) -> None:
        assert path_from_file_url(url) == Path(path)

    @pytest.mark.parametrize("url", ["file://./var/objects", "file://var/objects"])
    def test_relative_url_starts_at_the_working_directory(
        self, url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)

        path = path_from_file_url(url)

        assert path == tmp_path / "var" / "objects"

    def test_other_scheme_is_refused(self) -> None:
        with pytest.raises(ValueError, match="file://"):
            path_from_file_url("s3://bucket/prefix")


class TestWriter:
    async def test_committed_object_reads_back_under_its_key(
        self, store: LocalObjectStore
    ) -> None:
        data = bytes(range(256)) * (12 << 10)

        url = await write_in_chunks(store, "Sales/2024/01/02/a.csv", data)

        assert url == (store.root / "Sales/2024/01/02/a.csv").as_uri()
        assert await store.read(url) == data
        assert files_under(store.root) == [store.root / "Sales/2024/01/02/a.csv"]

    async def test_empty_object_is_stored(self, store: LocalObjectStore) -> None:
        writer = store.writer("empty.csv", "text/csv")

        url = await writer.commit()

        assert await store.read(url) == b""

    async def test_nothing_is_visible_before_commit(
        self, store: LocalObjectStore
    ) -> None:
        writer = store.writer("Sales/b.csv", "text/csv")

        await writer.write(bytes(3 << 20))

        assert not (store.root / "Sales/b.csv").exists()
        await writer.abort()

    async def test_abort_leaves_no_file_even_when_called_twice(
        self, store: LocalObjectStore
    ) -> None:
        writer = store.writer("Sales/c.csv", "text/csv")
        await writer.write(bytes(3 << 20))

        await writer.abort()
        await writer.abort()

        assert files_under(store.root) == []

    async def test_writer_cannot_be_used_after_commit(
        self, store: LocalObjectStore
    ) -> None:
        writer = store.writer("d.csv", "text/csv")
        await writer.commit()

        with pytest.raises(RuntimeError, match="already committed"):
            await writer.write(b"late")

    async def test_disk_failure_is_unavailable_and_abort_still_cleans_up(
        self, store: LocalObjectStore
    ) -> None:
        store.root.mkdir()
        (store.root / "Sales").write_text("a file where a folder should be")
        writer = store.writer("Sales/e.csv", "text/csv")

        with pytest.raises(StorageUnavailable):
            await writer.write(bytes(2 << 20))
        await writer.abort()

        assert files_under(store.root) == [store.root / "Sales"]


class TestKeys:
    @pytest.mark.parametrize(
        "key",
        ["../escape.csv", "Sales/../../escape.csv", "/etc/passwd", "", "a//b", "./a"],
    )
    def test_key_that_could_leave_the_folder_is_refused(
        self, store: LocalObjectStore, key: str
    ) -> None:
        with pytest.raises(ValueError, match="key"):
            store.writer(key, "text/csv")

    async def test_url_outside_the_store_is_refused(
        self, store: LocalObjectStore, tmp_path: Path
    ) -> None:
        outside = tmp_path / "secret.txt"
        outside.write_text("not yours")

        with pytest.raises(ValueError, match="not name an object of this store"):
            await store.read(outside.as_uri())


class TestDelete:
    async def test_deleted_object_is_gone_and_deleting_again_is_harmless(
        self, store: LocalObjectStore
    ) -> None:
        url = await write_in_chunks(store, "Sales/f.csv", b"a,b\n1,2\n")

        await store.delete(url)
        await store.delete(url)

        assert files_under(store.root) == []


class TestCheck:
    async def test_check_creates_the_folder(self, store: LocalObjectStore) -> None:
        await store.check()

        assert store.root.is_dir()

    async def test_folder_that_is_a_file_is_unavailable(
        self, store: LocalObjectStore
    ) -> None:
        store.root.write_text("not a folder")

        with pytest.raises(StorageUnavailable):
            await store.check()
