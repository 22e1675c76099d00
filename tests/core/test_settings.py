import os
from pathlib import Path

import pytest

from aetherflow_gateway.core.settings import ConfigurationError, Settings, load_settings

SECRET = "s" * 32


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AETHERFLOW_* variable or .env file of the developer's leaks in."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("AETHERFLOW_"):
            monkeypatch.delenv(name)


def test_embedded_default_needs_no_setting() -> None:
    settings = load_settings()

    assert settings.is_embedded
    assert settings.resolved_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.departments == ("Sales", "Supply", "Finance")
    assert settings.max_upload_bytes == 1 << 30


def test_embedded_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = Settings(var_dir=tmp_path / "var").signing_secret
    second = Settings(var_dir=tmp_path / "var").signing_secret

    assert first == second
    assert len(first) >= 32
    assert (tmp_path / "var" / "jwt_secret").stat().st_mode & 0o077 == 0


def test_departments_are_read_from_a_comma_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AETHERFLOW_DEPARTMENTS", "Sales, Marketing ,Ops")

    settings = load_settings()

    assert settings.departments == ("Sales", "Marketing", "Ops")
    assert settings.canonical_department("marketing") == "Marketing"
    assert settings.canonical_department("Finance") is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AETHERFLOW_DATABASE_URL", "postgresql+asyncpg://db.internal/gateway"),
        ("AETHERFLOW_STORAGE_URL", "s3://datasets/raw"),
        ("AETHERFLOW_ETL_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/1/etl"),
    ],
)
def test_production_backend_without_a_secret_stops_start_up(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(ConfigurationError, match="AETHERFLOW_JWT_SECRET"):
        load_settings()


def test_short_secret_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AETHERFLOW_STORAGE_URL", "s3://datasets/raw")
    monkeypatch.setenv("AETHERFLOW_JWT_SECRET", "too-short")

    with pytest.raises(
        ConfigurationError, match="AETHERFLOW_JWT_SECRET: must be at least"
    ):
        load_settings()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AETHERFLOW_DATABASE_URL", "mysql://db/gateway"),
        ("AETHERFLOW_DATABASE_URL", "not a url"),
        ("AETHERFLOW_STORAGE_URL", "ftp://files/raw"),
        ("AETHERFLOW_STORAGE_URL", "s3://"),
        ("AETHERFLOW_ETL_QUEUE_URL", "sqs://queue"),
        ("AETHERFLOW_S3_ENDPOINT_URL", "localhost:9000"),
        ("AETHERFLOW_MAX_UPLOAD_BYTES", "-1"),
        ("AETHERFLOW_DEPARTMENTS", "Sales,sales"),
    ],
)
def test_malformed_setting_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv("AETHERFLOW_JWT_SECRET", SECRET)
    monkeypatch.setenv(variable, value)

    with pytest.raises(ConfigurationError) as raised:
        load_settings()

    assert variable in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///var/x.db", "sqlite+aiosqlite:///var/x.db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_plain_database_urls_get_the_async_driver(
    monkeypatch: pytest.MonkeyPatch, given: str, expected: str
) -> None:
    monkeypatch.setenv("AETHERFLOW_JWT_SECRET", SECRET)
    monkeypatch.setenv("AETHERFLOW_DATABASE_URL", given)

    assert load_settings().resolved_database_url == expected


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("AETHERFLOW_MAX_UPLOAD_BYTES=1234\n")

    assert load_settings().max_upload_bytes == 1234
