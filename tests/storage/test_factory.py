from pathlib import Path

import pytest
from pydantic import SecretStr

from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.storage.factory import open_object_store
from aetherflow_gateway.storage.local import LocalObjectStore
from aetherflow_gateway.storage.s3 import S3ObjectStore


async def test_file_url_gives_a_local_store(tmp_path: Path) -> None:
    settings = Settings(storage_url=(tmp_path / "objects").as_uri())

    store = await open_object_store(settings)

    assert isinstance(store, LocalObjectStore)
    assert store.root == tmp_path / "objects"


@pytest.mark.aws
async def test_s3_url_gives_an_s3_store(aws_credentials: None) -> None:
    settings = Settings(
        storage_url="s3://bucket/prefix",
        jwt_secret=SecretStr("a-test-secret-that-is-long-enough-for-hs256"),
    )

    store = await open_object_store(settings)
    await store.close()

    assert isinstance(store, S3ObjectStore)
