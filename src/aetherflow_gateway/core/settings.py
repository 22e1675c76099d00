"""The gateway's configuration, read once from `AETHERFLOW_*` variables and `.env`.

Two modes share one class. The *embedded* mode (SQLite, a local object folder and
local queues) needs no setting at all so that `make run` works on a fresh laptop;
it generates a JWT secret once and keeps it under `var_dir`. As soon as any
production backend is configured (a non-SQLite database, S3 or SQS), every setting
must be explicit and sound, and a bad one stops start-up naming its variable.
"""

import hashlib
import ipaddress
import json
import re
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal, Self
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
ASYMMETRIC_ALGORITHMS = ("EdDSA", "RS256")
# A key id is only ever looked up in the configured set; the shape keeps it readable.
SAFE_KID = re.compile(r"[A-Za-z0-9._-]{1,64}")


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
    jwt_keys: Annotated[dict[str, SecretStr], NoDecode] = Field(default_factory=dict)
    jwt_signing_kid: str | None = None
    jwt_algorithm: Literal["HS256", "EdDSA", "RS256"] = "HS256"
    jwt_private_key_file: Path | None = None
    jwt_public_key_files: Annotated[tuple[Path, ...], NoDecode] = ()
    jwt_issuer: str = "aetherflow-gateway"
    jwt_audience: str = "aetherflow"
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=86400)
    refresh_token_ttl_seconds: int = Field(default=14 * 86400, ge=300, le=90 * 86400)

    registration: Literal["open", "invite", "closed"] | None = None
    invite_ttl_hours: int = Field(default=72, ge=1, le=720)

    departments: Annotated[tuple[str, ...], NoDecode] = ("Sales", "Supply", "Finance")
    max_upload_bytes: int = Field(default=1 << 30, ge=1)
    s3_part_size_bytes: int = Field(default=8 << 20, ge=5 << 20)
    s3_upload_concurrency: int = Field(default=4, ge=1, le=16)

    login_attempts_per_window: int = Field(default=10, ge=1)
    login_window_seconds: int = Field(default=300, ge=1)
    redis_url: str | None = None
    redis_key_prefix: str = Field(default="aetherflow", min_length=1, max_length=128)

    dependency_timeout_seconds: float = Field(default=5.0, gt=0)
    relay_interval_seconds: float = Field(default=2.0, gt=0)
    relay_in_serve: bool = True
    sweep_interval_seconds: float = Field(default=600.0, gt=0)
    sweep_grace_seconds: int = Field(default=6 * 3600, ge=60)
    idempotency_key_ttl_seconds: int = Field(default=24 * 3600, ge=24 * 3600)
    outbox_stuck_attempts: int = Field(default=10, ge=1)
    shutdown_grace_seconds: int = Field(default=30, ge=0)
    log_level: str = "INFO"

    docs_enabled: bool = True
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    cors_allow_credentials: bool = False
    max_json_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Proxies (addresses or networks) whose X-Forwarded-For names the client.
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()

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

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_cors_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(
                origin.strip() for origin in value.split(",") if origin.strip()
            )
        return value

    @field_validator("cors_origins")
    @classmethod
    def _cors_origins_are_origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            parts = urlsplit(origin)
            is_origin = parts.scheme in {"http", "https"} and parts.netloc
            if origin != "*" and not (is_origin and parts.path in {"", "/"}):
                raise ValueError("expected origins like https://app.example.com or *")
        return tuple(origin.rstrip("/") for origin in value)

    @model_validator(mode="after")
    def _no_wildcard_origin_with_credentials(self) -> Self:
        # Browsers refuse `*` with credentials; reflecting any origin instead would
        # hand every site the user's credentials, so the pair is refused outright.
        if self.cors_allow_credentials and "*" in self.cors_origins:
            raise ValueError(
                "AETHERFLOW_CORS_ORIGINS: '*' is not allowed with "
                "AETHERFLOW_CORS_ALLOW_CREDENTIALS"
            )
        return self

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_trusted_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
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

    @field_validator("jwt_keys", mode="before")
    @classmethod
    def _parse_jwt_keys(cls, value: object) -> object:
        """A JSON object {kid: secret}, or a JSON list of secrets with derived kids."""
        if isinstance(value, str):
            value = json.loads(value) if value.strip() else {}
        if isinstance(value, list):
            return {derived_kid(str(secret)): secret for secret in value}
        return value

    @field_validator("jwt_keys")
    @classmethod
    def _jwt_keys_are_sound(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for kid, secret in value.items():
            if not SAFE_KID.fullmatch(kid):
                raise ValueError("key ids are 1-64 letters, digits, '.', '_' or '-'")
            if len(secret.get_secret_value().encode()) < MIN_SECRET_BYTES:
                raise ValueError(f"every key must be at least {MIN_SECRET_BYTES} bytes")
        return value

    @field_validator("jwt_public_key_files", mode="before")
    @classmethod
    def _split_key_files(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(
                Path(part.strip()) for part in value.split(",") if part.strip()
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"redis", "rediss"} or not parts.netloc:
            raise ValueError("expected a redis:// or rediss:// URL")
        return value

    @model_validator(mode="after")
    def _production_needs_a_real_secret(self) -> Self:
        if self.jwt_algorithm in ASYMMETRIC_ALGORITHMS:
            if self.jwt_private_key_file is None:
                raise ValueError(
                    "AETHERFLOW_JWT_PRIVATE_KEY_FILE: required with EdDSA or RS256"
                )
            return self

        secret = self.jwt_secret
        if secret is not None and len(secret.get_secret_value()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"AETHERFLOW_JWT_SECRET: must be at least {MIN_SECRET_BYTES} bytes"
            )
        if self.jwt_signing_kid is not None and self.jwt_signing_kid not in (
            self.hmac_keys if self.has_configured_hmac_keys else {}
        ):
            raise ValueError("AETHERFLOW_JWT_SIGNING_KID: not a configured key id")
        if self.is_embedded or self.has_configured_hmac_keys:
            return self
        raise ValueError("AETHERFLOW_JWT_SECRET: required outside the embedded default")

    @property
    def has_configured_hmac_keys(self) -> bool:
        return self.jwt_secret is not None or bool(self.jwt_keys)

    @property
    def hmac_keys(self) -> dict[str, str]:
        """Every HS256 key by kid, oldest first: the single secret, then the set."""
        if not self.has_configured_hmac_keys:
            return {derived_kid(self.signing_secret): self.signing_secret}
        keys = {kid: key.get_secret_value() for kid, key in self.jwt_keys.items()}
        if self.jwt_secret is None:
            return keys
        single = self.jwt_secret.get_secret_value()
        return {derived_kid(single): single, **keys}

    @property
    def registration_mode(self) -> Literal["open", "invite", "closed"]:
        """As configured; unset, open on one machine and by invite anywhere else."""
        if self.registration is not None:
            return self.registration
        return "open" if self.is_embedded else "invite"

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
            and self.redis_url is None
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


def derived_kid(secret: str) -> str:
    """A stable key id for a secret configured without one; reveals nothing of it."""
    digest = hashlib.sha256(b"aetherflow-gateway kid\0" + secret.encode())
    return "k-" + digest.hexdigest()[:16]


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
