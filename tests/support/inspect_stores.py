"""Read what an upload left in each store, bypassing the gateway's own API."""

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
from sqlalchemy import func, select

from aetherflow_gateway.core.file_urls import path_from_file_url
from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.db.database import Database
from aetherflow_gateway.db.models import Dataset, Job, OutboxMessage
from aetherflow_gateway.db.scoping import SYSTEM
from aetherflow_gateway.queue.local import LocalQueue


@dataclass(frozen=True)
class QueuedMessage:
    body: dict[str, Any]
    attributes: dict[str, str]


def stored_objects(settings: Settings) -> list[str]:
    """Every object key (or relative path) the store holds, in-progress ones too."""
    if settings.storage_url.startswith("file:"):
        root = path_from_file_url(settings.storage_url)
        if not root.exists():
            return []
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

    s3 = boto3.client("s3", endpoint_url=settings.s3_endpoint_url)
    bucket = urlsplit(settings.storage_url).netloc
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    return sorted(keys + [f"(in progress) {u['Key']}" for u in uploads])


def read_object(settings: Settings, url: str) -> bytes:
    if url.startswith("file:"):
        return path_from_file_url(url).read_bytes()
    parts = urlsplit(url)
    s3 = boto3.client("s3", endpoint_url=settings.s3_endpoint_url)
    return bytes(
        s3.get_object(Bucket=parts.netloc, Key=parts.path.lstrip("/"))["Body"].read()
    )


async def queued_messages(settings: Settings, queue_url: str) -> list[QueuedMessage]:
    """Receive (and so consume) every message waiting on a queue."""
    if queue_url.startswith("file:"):
        local = LocalQueue.from_url(queue_url)
        received = await local.receive(max_messages=100)
        return [QueuedMessage(json.loads(m.body), m.attributes) for m in received]

    sqs = boto3.client("sqs", endpoint_url=settings.sqs_endpoint_url)
    messages: list[QueuedMessage] = []
    while batch := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", []):
        for message in batch:
            attributes = {
                name: value["StringValue"]
                for name, value in message.get("MessageAttributes", {}).items()
            }
            messages.append(QueuedMessage(json.loads(message["Body"]), attributes))
    return messages


async def row_counts(database: Database) -> dict[str, int]:
    counts = {}
    async with database.transaction(SYSTEM) as session:
        for model in (Dataset, Job, OutboxMessage):
            count = await session.scalar(select(func.count()).select_from(model))
            counts[model.__tablename__] = count or 0
    return counts


def leave_unfinished_write(settings: Settings, key: str) -> None:
    """What a process killed mid-upload leaves in the store's own terms."""
    if settings.storage_url.startswith("file:"):
        target = path_from_file_url(settings.storage_url) / key
        target.parent.mkdir(parents=True, exist_ok=True)
        (target.parent / f".{target.name}.0123abcd.tmp").write_bytes(b"region,amount\n")
        return

    parts = urlsplit(settings.storage_url)
    s3 = boto3.client("s3", endpoint_url=settings.s3_endpoint_url)
    s3.create_multipart_upload(
        Bucket=parts.netloc, Key=f"{parts.path.strip('/')}/{key}"
    )
