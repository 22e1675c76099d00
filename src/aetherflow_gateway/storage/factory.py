"""Pick the object store that `AETHERFLOW_STORAGE_URL` names."""

from urllib.parse import urlsplit

from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.storage.base import ObjectStore
from aetherflow_gateway.storage.local import LocalObjectStore
from aetherflow_gateway.storage.s3 import S3ObjectStore


async def open_object_store(settings: Settings) -> ObjectStore:
    scheme = urlsplit(settings.storage_url).scheme
    if scheme == "s3":
        return await S3ObjectStore.open(settings)
    if scheme == "file":
        return LocalObjectStore.from_url(settings.storage_url)
    raise ValueError("AETHERFLOW_STORAGE_URL: expected s3:// or file://")
