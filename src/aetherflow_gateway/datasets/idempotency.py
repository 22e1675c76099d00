"""Idempotent uploads: the `Idempotency-Key` header.

A key belongs to one user. The first request with a key claims it in a short
transaction of its own, before the body is read, so a twin that races it finds the
claim and answers 409. The claim is completed with the response inside the
upload's own transaction, so a key is answered for exactly when its dataset, job
and message exist. A failed upload releases its claim, letting the client retry.

A retry whose key is completed gets the first response again, once the gateway has
checked (by hashing the new body, which it does not store) that the file is the
same; a different file answers 422. A claim left by a crashed process is taken
over once it is older than `CLAIM_TIMEOUT`. Keys are kept at least
`idempotency_key_ttl_seconds` (24 hours by default) and then swept.
"""

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from aetherflow_gateway.auth.tokens import Caller
from aetherflow_gateway.core.errors import Conflict, InvalidRequest, Unprocessable
from aetherflow_gateway.datasets.form_stream import FileData, FileStart, stream_form
from aetherflow_gateway.datasets.models import UploadKey
from aetherflow_gateway.db.base import utcnow
from aetherflow_gateway.db.database import Database
from aetherflow_gateway.db.scoping import department_scope

HEADER = "Idempotency-Key"
# Visible ASCII only: keys travel in headers and logs.
_VALID_KEY = re.compile(r"[\x21-\x7e]{1,255}")
CLAIM_TIMEOUT = timedelta(hours=1)


@dataclass(frozen=True)
class Completed:
    """A key whose upload succeeded, with what it answered."""

    sha256: str
    size_bytes: int
    response: dict[str, Any]


def key_from(request: Request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not _VALID_KEY.fullmatch(key):
        raise InvalidRequest(f"{HEADER} must be 1 to 255 visible ASCII characters.")
    return key


async def claim(database: Database, caller: Caller, key: str) -> Completed | None:
    """Claim `key` for a new upload, or return the upload that completed it.

    Raises `Conflict` while another request holds the claim.
    """
    if await _insert_claim(database, caller, key):
        return None

    row = await _load(database, caller, key)
    if row is not None and row.sha256 is not None:
        assert row.size_bytes is not None
        assert row.response is not None
        return Completed(row.sha256, row.size_bytes, row.response)
    if await _take_over_abandoned(database, caller, key):
        return None
    raise Conflict(f"An upload with this {HEADER} is still in progress.")


async def complete(
    session: AsyncSession,
    caller: Caller,
    key: str,
    sha256: str,
    size: int,
    response: dict[str, Any],
) -> None:
    """Record the answer, inside the upload's own transaction."""
    await session.execute(
        update(UploadKey)
        .where(UploadKey.user_id == caller.user_id, UploadKey.key == key)
        .values(sha256=sha256, size_bytes=size, response=response)
    )


async def release(database: Database, caller: Caller, key: str) -> None:
    async with database.transaction(department_scope(caller.department)) as session:
        await session.execute(
            delete(UploadKey).where(
                UploadKey.user_id == caller.user_id,
                UploadKey.key == key,
                UploadKey.sha256.is_(None),
            )
        )


async def replay(
    request: Request, completed: Completed, max_bytes: int
) -> dict[str, Any]:
    """The first response, if this request carries the same file as the first."""
    sha256, size = await _digest_of_file(request, max_bytes)
    if (sha256, size) != (completed.sha256, completed.size_bytes):
        raise Unprocessable(f"This {HEADER} was used for a different file.")
    return completed.response


async def _insert_claim(database: Database, caller: Caller, key: str) -> bool:
    claim_row = UploadKey(
        user_id=caller.user_id,
        key=key,
        department=caller.department,
        created_at=utcnow(),
    )
    try:
        async with database.transaction(department_scope(caller.department)) as session:
            session.add(claim_row)
    except IntegrityError:
        return False
    return True


async def _load(database: Database, caller: Caller, key: str) -> UploadKey | None:
    statement = select(UploadKey).where(
        UploadKey.user_id == caller.user_id, UploadKey.key == key
    )
    async with database.transaction(department_scope(caller.department)) as session:
        return (await session.execute(statement)).scalar_one_or_none()


async def _take_over_abandoned(database: Database, caller: Caller, key: str) -> bool:
    statement = (
        update(UploadKey)
        .where(
            UploadKey.user_id == caller.user_id,
            UploadKey.key == key,
            UploadKey.sha256.is_(None),
            UploadKey.created_at < utcnow() - CLAIM_TIMEOUT,
        )
        .values(created_at=utcnow())
    )
    async with database.transaction(department_scope(caller.department)) as session:
        result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def _digest_of_file(request: Request, max_bytes: int) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    in_file = False
    async for event in stream_form(request):
        if isinstance(event, FileStart):
            in_file = event.name == "file"
        elif isinstance(event, FileData) and in_file:
            size += len(event.data)
            if size > max_bytes:
                raise Unprocessable(f"This {HEADER} was used for a different file.")
            digest.update(event.data)
    return digest.hexdigest(), size
