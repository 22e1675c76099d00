"""The queue message for a job, exactly as CONTRACT.md ("Queue messages") fixes it."""

import json
from typing import Any

from aetherflow_gateway.datasets.models import Dataset
from aetherflow_gateway.jobs.models import Job
from aetherflow_gateway.outbox.models import OutboxMessage

MESSAGE_VERSION = 1


def message_for_job(job: Job, dataset: Dataset) -> OutboxMessage:
    body: dict[str, Any] = {
        "version": MESSAGE_VERSION,
        "job_id": str(job.id),
        "type": job.type,
        "dataset_id": str(dataset.id),
        "department": job.department,
        "object": dataset.object_url,
        "sha256": dataset.sha256,
        "size_bytes": dataset.size_bytes,
        "submitted_by": str(job.created_by),
        "submitted_at": job.created_at.isoformat().replace("+00:00", "Z"),
        "request_id": job.request_id,
    }
    attributes = {
        "request_id": job.request_id,
        "department": job.department,
        "job_type": job.type,
    }
    return OutboxMessage(
        job_id=job.id,
        department=job.department,
        queue=job.type,
        body=body,
        attributes=attributes,
    )


def encode_body(message: OutboxMessage) -> str:
    return json.dumps(message.body, separators=(",", ":"), sort_keys=True)
