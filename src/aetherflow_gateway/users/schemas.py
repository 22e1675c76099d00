import uuid
from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, model_validator

from aetherflow_gateway.auth.models import Role


class UserChange(BaseModel):
    """What an admin may change about an account; nothing else is accepted."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    is_active: bool | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if self.role is None and self.is_active is None:
            raise ValueError("name the role or is_active to change")
        return self


class AccountOut(BaseModel):
    """A user as the department's admins see it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    department: str
    role: Role
    is_active: bool
    created_at: datetime


class AccountPage(BaseModel):
    items: list[AccountOut]
    next_cursor: str | None
