import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from aetherflow_gateway.db.base import (
    Base,
    DepartmentOwned,
    JSONDocument,
    new_id,
    utcnow,
)


class Dataset(DepartmentOwned, Base):
    __tablename__ = "datasets"
    __table_args__ = (
        Index("ix_datasets_department_created", "department", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    columns: Mapped[list[Any]] = mapped_column(JSONDocument)
    object_url: Mapped[str] = mapped_column(String(1024))
    uploaded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    request_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UploadKey(DepartmentOwned, Base):
    """An `Idempotency-Key` a user sent with an upload, and what it produced.

    The row is claimed (`response` empty) before the body is read, so a twin
    request racing it sees the claim; it is completed in the upload's own
    transaction, and removed again if the upload fails.
    """

    __tablename__ = "upload_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    sha256: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class PendingObject(Base):
    """An object an upload is writing, recorded before its first byte.

    The upload's transaction deletes the row together with writing the dataset,
    so a row older than any live upload marks an object a crash left behind (see
    `datasets.sweep`). Not `DepartmentOwned`: only the sweep reads it.
    """

    __tablename__ = "pending_objects"

    object_url: Mapped[str] = mapped_column(String(1024), primary_key=True)
    department: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
