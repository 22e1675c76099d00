"""The upload pipeline: stream to the object store, record, then enqueue.

1. The caller is authenticated before a byte of the body is read, and a declared
   `Content-Length` over the limit is refused at once.
2. The file part streams through `UploadSink`: each chunk is counted (the limit
   holds whatever the headers claimed), hashed, checked as CSV and written to the
   object store. Nothing is kept in memory or on local disk beyond one part.
3. Only a complete, valid file is committed to the store. Any failure before that
   aborts the write, so a refused or broken upload leaves nothing behind.
4. The dataset, its ETL job and the job's queue message are written in one
   transaction. If that fails, the stored object is deleted again.
5. After the commit the message is published at once; if the queue is down, the
   outbox relay keeps trying. The client gets 202 either way: the job is safe.
"""

import hashlib
import re
import unicodedata
import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy import Delete, delete
from starlette.requests import ClientDisconnect, Request

from aetherflow_gateway.auth.dependencies import require_own_department
from aetherflow_gateway.auth.tokens import Caller
from aetherflow_gateway.core import metrics
from aetherflow_gateway.core.errors import (
    ClientDisconnected,
    DependencyUnavailable,
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
)
from aetherflow_gateway.core.request_context import current_request_id
from aetherflow_gateway.core.services import Services
from aetherflow_gateway.datasets import idempotency
from aetherflow_gateway.datasets.csv_inspection import CsvInspector, CsvSummary
from aetherflow_gateway.datasets.form_stream import (
    FileData,
    FileEnd,
    FileStart,
    FormField,
    stream_form,
)
from aetherflow_gateway.datasets.models import Dataset, PendingObject
from aetherflow_gateway.datasets.schemas import DatasetOut, UploadAccepted
from aetherflow_gateway.db.base import new_id, utcnow
from aetherflow_gateway.db.scoping import SYSTEM, department_scope
from aetherflow_gateway.jobs.models import Job, JobStatus, JobType
from aetherflow_gateway.jobs.schemas import JobOut
from aetherflow_gateway.outbox.messages import message_for_job
from aetherflow_gateway.outbox.relay import publish_now
from aetherflow_gateway.storage.base import ObjectWriter, StorageUnavailable

logger = structlog.get_logger(__name__)

CSV_CONTENT_TYPE = "text/csv"
# Browsers and command-line clients label CSV files in many ways; the content
# itself is inspected, so these labels only rule out what is plainly not CSV.
ACCEPTED_PART_TYPES = {
    "",
    "text/csv",
    "application/csv",
    "text/x-csv",
    "text/plain",
    "application/vnd.ms-excel",
    "application/octet-stream",
}
MULTIPART_OVERHEAD_BYTES = 64 * 1024
MAX_FILENAME_LENGTH = 255


@dataclass(frozen=True)
class StoredFile:
    dataset_id: uuid.UUID
    object_url: str
    filename: str
    size_bytes: int
    sha256: str
    summary: CsvSummary


class UploadSink:
    """Counts, hashes, inspects and stores one file's chunks as they arrive."""

    def __init__(
        self, writer: ObjectWriter, max_bytes: int, filename: str, object_url: str
    ) -> None:
        self.writer = writer
        self.max_bytes = max_bytes
        self.filename = filename
        self.object_url = object_url
        self.size_bytes = 0
        self.hash = hashlib.sha256()
        self.inspector = CsvInspector()

    async def write(self, chunk: bytes) -> None:
        self.size_bytes += len(chunk)
        if self.size_bytes > self.max_bytes:
            raise PayloadTooLarge(f"The file is larger than {self.max_bytes} bytes.")

        self.inspector.feed(chunk)
        self.hash.update(chunk)
        await self.writer.write(chunk)


async def accept_upload(
    services: Services, caller: Caller, request: Request
) -> UploadAccepted:
    max_bytes = services.settings.max_upload_bytes
    _refuse_declared_oversize(request, max_bytes)
    key = idempotency.key_from(request)
    if key is None:
        return await _accept_new(services, caller, request, key)

    completed = await idempotency.claim(services.database, caller, key)
    if completed is not None:
        logger.info("upload.replayed", idempotency_key=key)
        metrics.UPLOADS.labels("replayed").inc()
        response = await idempotency.replay(request, completed, max_bytes)
        return UploadAccepted.model_validate(response)
    try:
        return await _accept_new(services, caller, request, key)
    except BaseException:
        await idempotency.release(services.database, caller, key)
        raise


async def _accept_new(
    services: Services, caller: Caller, request: Request, key: str | None
) -> UploadAccepted:
    stored = await _receive_file(services, caller, request)
    try:
        accepted = await _record(services, caller, stored, key)
    except BaseException:
        await services.cleanups.run(_delete_quietly(services, stored.object_url))
        raise

    await _publish_quietly(services, accepted.job.id)
    metrics.UPLOADS.labels("accepted").inc()
    metrics.UPLOAD_BYTES.inc(stored.size_bytes)
    logger.info(
        "upload.accepted",
        dataset_id=str(stored.dataset_id),
        job_id=str(accepted.job.id),
        size_bytes=stored.size_bytes,
    )
    return accepted


def _refuse_declared_oversize(request: Request, max_bytes: int) -> None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes + MULTIPART_OVERHEAD_BYTES:
        raise PayloadTooLarge(f"The upload is larger than {max_bytes} bytes.")


async def _receive_file(
    services: Services, caller: Caller, request: Request
) -> StoredFile:
    dataset_id = new_id()
    key = _object_key(caller.department, dataset_id)
    receiving = _Receiving()
    try:
        sink = await _stream_into_store(services, caller, request, key, receiving)
        summary = sink.inspector.finish()
        object_url = await sink.writer.commit()
    except ClientDisconnect as exc:
        await _abort_quietly(services, receiving.sink)
        logger.info("upload.client_disconnected", dataset_id=str(dataset_id))
        raise ClientDisconnected(
            "The client closed the connection mid-upload."
        ) from exc
    except StorageUnavailable as exc:
        await _abort_quietly(services, receiving.sink)
        logger.warning("upload.storage_unavailable", error=str(exc))
        raise DependencyUnavailable("The object store is unavailable.") from exc
    except BaseException:
        await _abort_quietly(services, receiving.sink)
        raise

    return StoredFile(
        dataset_id=dataset_id,
        object_url=object_url,
        filename=sink.filename,
        size_bytes=sink.size_bytes,
        sha256=sink.hash.hexdigest(),
        summary=summary,
    )


@dataclass
class _Receiving:
    """The sink once the file part has begun, for the caller to abort on failure."""

    sink: UploadSink | None = None


async def _stream_into_store(
    services: Services,
    caller: Caller,
    request: Request,
    key: str,
    receiving: _Receiving,
) -> UploadSink:
    """Read the form, sending the file part's chunks to the store as they come."""
    async for event in stream_form(request):
        match event:
            case FormField(name="department", value=value):
                require_own_department(caller, value, services.settings)
            case FileStart(name="file") if receiving.sink is None:
                filename = _accept_file_part(event)
                receiving.sink = await _open_sink(services, caller, key, filename)
            case FileStart():
                raise Unprocessable("Send exactly one file, in the field 'file'.")
            case FileData(data=data) if receiving.sink is not None:
                await receiving.sink.write(data)
            case FileEnd() | FormField() | FileData():
                pass

    if receiving.sink is None:
        raise Unprocessable("The form has no file in the field 'file'.")
    return receiving.sink


async def _open_sink(
    services: Services, caller: Caller, key: str, filename: str
) -> UploadSink:
    # Recorded before the first byte, so that the sweep can find the object if
    # this process dies before the dataset is written.
    object_url = services.store.url_for(key)
    async with services.database.transaction(SYSTEM) as session:
        session.add(PendingObject(object_url=object_url, department=caller.department))

    writer = services.store.writer(key, CSV_CONTENT_TYPE)
    return UploadSink(writer, services.settings.max_upload_bytes, filename, object_url)


def _accept_file_part(event: FileStart) -> str:
    media_type = event.content_type.split(";")[0].strip().lower()
    if media_type not in ACCEPTED_PART_TYPES:
        raise UnsupportedMediaType(f"Expected a CSV file, got {media_type}.")
    return clean_filename(event.filename)


def clean_filename(raw: str) -> str:
    """The file's own name, without any path, control characters or odd spacing."""
    name = re.split(r"[\\/]", raw)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = unicodedata.normalize("NFC", name).strip().lstrip(".")
    return name[:MAX_FILENAME_LENGTH] or "upload.csv"


def _object_key(department: str, dataset_id: uuid.UUID) -> str:
    # Keys never contain anything the client chose.
    day = utcnow().strftime("%Y/%m/%d")
    return f"{department.lower()}/{day}/{dataset_id}.csv"


async def _record(
    services: Services, caller: Caller, stored: StoredFile, key: str | None
) -> UploadAccepted:
    now = utcnow()
    request_id = current_request_id() or ""
    dataset = Dataset(
        id=stored.dataset_id,
        department=caller.department,
        filename=stored.filename,
        content_type=CSV_CONTENT_TYPE,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
        columns=stored.summary.columns,
        object_url=stored.object_url,
        uploaded_by=caller.user_id,
        request_id=request_id,
        created_at=now,
    )
    job = Job(
        id=new_id(),
        type=JobType.ETL.value,
        status=JobStatus.QUEUED.value,
        dataset_id=dataset.id,
        department=caller.department,
        attempts=0,
        request_id=request_id,
        created_by=caller.user_id,
        created_at=now,
        updated_at=now,
    )
    accepted = UploadAccepted(
        dataset=DatasetOut.model_validate(dataset), job=JobOut.model_validate(job)
    )
    scope = department_scope(caller.department)
    async with services.database.transaction(scope) as session:
        session.add(dataset)
        await session.flush()
        session.add(job)
        await session.flush()
        session.add(message_for_job(job, dataset))
        await session.execute(_pending(stored.object_url))
        if key is not None:
            response = accepted.model_dump(mode="json")
            await idempotency.complete(
                session, caller, key, stored.sha256, stored.size_bytes, response
            )
    return accepted


async def _publish_quietly(services: Services, job_id: uuid.UUID) -> None:
    # The message is already safe in the outbox; publishing now only saves the
    # relay's delay, so no failure here may fail the upload.
    try:
        await publish_now(services.database, services.publisher, job_id=job_id)
    except Exception as exc:
        logger.warning(
            "upload.publish_deferred", job_id=str(job_id), error=type(exc).__name__
        )


async def _abort_quietly(services: Services, sink: UploadSink | None) -> None:
    if sink is not None:
        await services.cleanups.run(_abort(services, sink))


async def _abort(services: Services, sink: UploadSink) -> None:
    try:
        await sink.writer.abort()
        await _forget_pending(services, sink.object_url)
    except Exception as exc:  # the sweep removes what is left
        logger.warning("upload.abort_failed", error=type(exc).__name__)


async def _forget_pending(services: Services, object_url: str) -> None:
    async with services.database.transaction(SYSTEM) as session:
        await session.execute(_pending(object_url))


def _pending(object_url: str) -> Delete:
    """Forget the object's pending record: it is now a dataset's, or gone."""
    return delete(PendingObject).where(PendingObject.object_url == object_url)


async def _delete_quietly(services: Services, object_url: str) -> None:
    try:
        await services.store.delete(object_url)
        await _forget_pending(services, object_url)
    except Exception as exc:  # the sweep removes what is left
        logger.warning(
            "upload.delete_failed", object_url=object_url, error=type(exc).__name__
        )
