import uuid
from datetime import datetime
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from aetherflow_gateway.auth.models import Role
from aetherflow_gateway.auth.password_policy import weakness

# OWASP's current advice for single-factor accounts: long passwords, no
# composition rules, and a generous but bounded maximum.
MIN_PASSWORD_LENGTH = 15
MAX_PASSWORD_LENGTH = 256
# Our opaque values are far shorter, but any token up to this size (an access JWT
# sent by mistake, say) is refused as a credential (401), not as a shape (422).
MAX_OPAQUE_TOKEN_LENGTH = 8192


class RegisterRequest(BaseModel):
    """A registration; with `invite_code`, the invite decides department and role."""

    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(max_length=320)
    password: str = Field(
        min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH
    )
    invite_code: str | None = Field(
        default=None, min_length=1, max_length=MAX_OPAQUE_TOKEN_LENGTH
    )
    department: str | None = Field(
        default=None, min_length=1, max_length=64, validate_default=True
    )

    @field_validator("password")
    @classmethod
    def _not_guessable(cls, value: str, info: ValidationInfo) -> str:
        reason = weakness(value, info.data.get("email"))
        if reason is not None:
            raise ValueError(f"choose another password: {reason}")
        return value

    @field_validator("department")
    @classmethod
    def _named_unless_invited(
        cls, value: str | None, info: ValidationInfo
    ) -> str | None:
        if value is None and info.data.get("invite_code") is None:
            raise PydanticCustomError("missing", "Field required")
        return value


class LoginRequest(BaseModel):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=MAX_OPAQUE_TOKEN_LENGTH)


class LogoutRequest(BaseModel):
    """Without `refresh_token`, every session of the caller ends."""

    model_config = ConfigDict(extra="forbid")

    refresh_token: str | None = Field(
        default=None, min_length=1, max_length=MAX_OPAQUE_TOKEN_LENGTH
    )


class InviteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role = "member"
    ttl_hours: int | None = Field(default=None, ge=1, le=720)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    department: str
    created_at: datetime


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a scheme name
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


class InviteOut(BaseModel):
    code: str
    department: str
    role: Role
    expires_at: datetime


class JwksOut(BaseModel):
    keys: list[dict[str, str]]
