"""Keyset pagination over (created_at, id), newest first.

A cursor is the last row's sort key, base64url-encoded JSON: opaque to clients,
stable while rows are inserted, and cheap for the database (an index range scan
instead of an OFFSET).
"""

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Protocol, TypeVar, TypeVarTuple

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from aetherflow_gateway.core.errors import Unprocessable

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

Row = TypeVarTuple("Row")


class Keyed(Protocol):
    @property
    def created_at(self) -> datetime: ...

    @property
    def id(self) -> uuid.UUID: ...


Item = TypeVar("Item", bound=Keyed)


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, row_id = json.loads(raw)
        after_at, after_id = datetime.fromisoformat(created_at), uuid.UUID(row_id)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise Unprocessable("The cursor is not one this API issued.") from exc

    if after_at.tzinfo is None:
        raise Unprocessable("The cursor is not one this API issued.")
    return after_at, after_id


def newest_first(
    statement: Select[*Row],
    created_at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[uuid.UUID],
    cursor: str | None,
    limit: int,
) -> Select[*Row]:
    """Order newest first, resume after `cursor`, and fetch one extra row."""
    if cursor is not None:
        after_at, after_id = decode_cursor(cursor)
        statement = statement.where(
            or_(created_at < after_at, and_(created_at == after_at, row_id < after_id))
        )
    return statement.order_by(created_at.desc(), row_id.desc()).limit(limit + 1)


def page_of(rows: list[Item], limit: int) -> tuple[list[Item], str | None]:
    """The first `limit` rows of a `newest_first` query, and the next page's cursor."""
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor(last.created_at, last.id)
