"""The gateway's configuration, read once from `AETHERFLOW_*` variables and `.env`.

Two modes share one class. The *embedded* mode (SQLite, a local object folder and
local queues) needs no setting at all so that `make run` works on a fresh laptop;
it generates a JWT secret once and keeps it under `var_dir`. As soon as any
production backend is configured (a non-SQLite database, S3 or SQS), every setting
must be explicit and sound, and a bad one stops start-up naming its variable.
"""

import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Self
from urllib.parse import urlsplit

import structlog
from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

logger = structlog.get_logger(__name__)

MIN_SECRET_BYTES = 32


class ConfigurationError(Exception):
    """A setting that cannot work; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AETHERFLOW_", env_file=".env", extra="ignore"
    )

    var_dir: Path = Path("var")
    database_url: str = ""
    storage_url: str = "file://./var/objects"
    s3_endpoint_url: str | None = None
    etl_queue_url: str = "file://./var/queue/etl"
    ml_queue_url: str = "file://./var/queue/ml"
    sqs_endpoint_url: str | None = None

    jwt_secret: SecretStr | None = None
    jwt_algorithm: str = "HS256"
    jwt_issuer: str = "aetherflow-gateway"
    jwt_audience: str = "aetherflow"
    access_token_ttl_seconds: int = Field(default=3600, ge=60, le=86400)

    departments: Annotated[tuple[str, ...], NoDecode] = ("Sales", "Supply", "Finance")
    max_upload_bytes: int = Field(default=1 << 30, ge=1)
    s3_part_size_bytes: int = Field(default=8 << 20, ge=5 << 20)

    login_attempts_per_window: int = Field(default=10, ge=1)
    login_window_seconds: int = Field(default=300, ge=1)

    dependency_timeout_seconds: float = Field(default=5.0, gt=0)
    relay_interval_seconds: float = Field(default=2.0, gt=0)
    relay_in_serve: bool = True
    log_level: str = "INFO"

    @field_validator("departments", mode="before")
    @classmethod
    def _split_departments(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(name.strip() for name in value.split(",") if name.strip())
        return value

    @field_validator("departments")
    @classmethod
    def _departments_are_distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one department")
        if len({name.casefold() for name in value}) != len(value):
            raise ValueError("department names must differ case-insensitively")
        return value

    @field_validator("storage_url")
    @classmethod
    def _storage_url_scheme(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme == "s3" and parts.netloc:
            return value
        if parts.scheme == "file" and (parts.netloc + parts.path):
            return value
        raise ValueError("expected s3://bucket/prefix or a file:// URL")

    @field_validator("etl_queue_url", "ml_queue_url")
    @classmethod
    def _queue_url_scheme(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme in {"http", "https"} and parts.netloc and parts.path:
            return value
        if parts.scheme == "file" and (parts.netloc + parts.path):
            return value
        raise ValueError("expected an SQS queue URL or a file:// URL")

    @field_validator("s3_endpoint_url", "sqs_endpoint_url")
    @classmethod
    def _endpoint_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("expected an http(s):// endpoint URL")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if value == "":
            return value
        return normalize_database_url(value)

    @model_validator(mode="after")
    def _production_needs_a_real_secret(self) -> Self:
        if self.jwt_algorithm != "HS256":
            raise ValueError("AETHERFLOW_JWT_ALGORITHM: only HS256 is supported")
        if self.is_embedded or self.jwt_secret is not None:
            secret = self.jwt_secret
            if secret is not None and len(secret.get_secret_value()) < MIN_SECRET_BYTES:
                raise ValueError(
                    f"AETHERFLOW_JWT_SECRET: must be at least {MIN_SECRET_BYTES} bytes"
                )
            return self
        raise ValueError("AETHERFLOW_JWT_SECRET: required outside the embedded default")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.var_dir / 'gateway.sqlite3'}"

    @property
    def is_embedded(self) -> bool:
        """True when nothing outside this machine is configured."""
        return (
            self.resolved_database_url.startswith("sqlite")
            and self.storage_url.startswith("file:")
            and self.etl_queue_url.startswith("file:")
            and self.ml_queue_url.startswith("file:")
        )

    @cached_property
    def signing_secret(self) -> str:
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        return _embedded_secret(self.var_dir)

    def canonical_department(self, name: str) -> str | None:
        """The configured spelling of `name`, matched case-insensitively."""
        wanted = name.strip().casefold()
        for department in self.departments:
            if department.casefold() == wanted:
                return department
        return None


def normalize_database_url(url: str) -> str:
    """Accept the plain SQLAlchemy forms and pick the async driver for them."""
    scheme, separator, rest = url.partition("://")
    if not separator or not rest:
        raise ValueError("expected a SQLAlchemy URL such as postgresql+asyncpg://…")
    drivers = {
        "sqlite": "sqlite+aiosqlite",
        "sqlite+aiosqlite": "sqlite+aiosqlite",
        "postgresql": "postgresql+asyncpg",
        "postgres": "postgresql+asyncpg",
        "postgresql+asyncpg": "postgresql+asyncpg",
    }
    if scheme not in drivers:
        raise ValueError("only sqlite and postgresql databases are supported")
    return f"{drivers[scheme]}://{rest}"


def _embedded_secret(var_dir: Path) -> str:
    # Generated once and kept so that tokens survive a restart of `make run`.
    path = var_dir / "jwt_secret"
    if path.exists():
        return path.read_text().strip()

    var_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(secret)
    logger.warning("settings.generated_jwt_secret", path=str(path))
    return secret


def load_settings() -> Settings:
    """Read the settings, turning a validation error into one readable line."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError(_describe(exc)) from exc


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if field:
            lines.append(f"AETHERFLOW_{field.upper()}: {message}")
        else:
            lines.append(message)
    return "; ".join(lines)
