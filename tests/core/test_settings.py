from pathlib import Path

import pytest

from aetherflow_gateway.core.settings import ConfigurationError, Settings, load_settings

SECRET = "s" * 32


pytestmark = pytest.mark.usefixtures("clean_environment")


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
        ("AETHERFLOW_TRUSTED_PROXIES", "10.0.0.1,proxy.internal"),
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


class TestSigningKeys:
    KEY_A = "a" * 32
    KEY_B = "b" * 40

    def test_a_key_set_is_read_as_json_and_the_last_key_signs(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        keys = f'{{"2026-01": "{self.KEY_A}", "2026-06": "{self.KEY_B}"}}'
        monkeypatch.setenv("AETHERFLOW_JWT_KEYS", keys)
        monkeypatch.setenv("AETHERFLOW_STORAGE_URL", "s3://datasets/raw")

        settings = load_settings()

        assert settings.hmac_keys == {"2026-01": self.KEY_A, "2026-06": self.KEY_B}
        assert list(settings.hmac_keys)[-1] == "2026-06"

    def test_a_json_list_of_keys_gets_derived_kids(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AETHERFLOW_JWT_KEYS", f'["{self.KEY_A}", "{self.KEY_B}"]')

        kids = list(load_settings().hmac_keys)

        assert len(kids) == 2
        assert all(kid.startswith("k-") for kid in kids)
        assert self.KEY_A not in kids[0]

    def test_the_single_secret_stays_valid_as_the_oldest_key(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AETHERFLOW_JWT_SECRET", SECRET)
        monkeypatch.setenv("AETHERFLOW_JWT_KEYS", f'{{"new": "{self.KEY_B}"}}')

        keys = load_settings().hmac_keys

        assert list(keys.values()) == [SECRET, self.KEY_B]

    @pytest.mark.parametrize(
        ("variable", "value", "message"),
        [
            ("AETHERFLOW_JWT_KEYS", '{"k1": "too-short"}', "at least 32 bytes"),
            ("AETHERFLOW_JWT_KEYS", '["too-short"]', "at least 32 bytes"),
            ("AETHERFLOW_JWT_KEYS", '{"../k1": "' + "x" * 32 + '"}', "key ids"),
            ("AETHERFLOW_JWT_KEYS", "{not json", "AETHERFLOW_JWT_KEYS"),
            ("AETHERFLOW_JWT_SIGNING_KID", "nope", "not a configured key id"),
            ("AETHERFLOW_JWT_ALGORITHM", "HS512", "AETHERFLOW_JWT_ALGORITHM"),
            ("AETHERFLOW_JWT_ALGORITHM", "EdDSA", "AETHERFLOW_JWT_PRIVATE_KEY_FILE"),
            ("AETHERFLOW_REDIS_URL", "http://cache:6379", "AETHERFLOW_REDIS_URL"),
            ("AETHERFLOW_REGISTRATION", "sometimes", "AETHERFLOW_REGISTRATION"),
        ],
    )
    def test_an_unusable_key_setting_stops_start_up_in_one_line(
        self, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
    ) -> None:
        monkeypatch.setenv("AETHERFLOW_JWT_SECRET", SECRET)
        monkeypatch.setenv(variable, value)

        with pytest.raises(ConfigurationError, match=message) as raised:
            load_settings()

        assert "\n" not in str(raised.value)
        assert "too-short" not in str(raised.value)


class TestAccountSettings:
    def test_access_tokens_live_fifteen_minutes_by_default(self) -> None:
        assert load_settings().access_token_ttl_seconds == 900

    def test_registration_is_open_on_one_machine(self) -> None:
        assert load_settings().registration_mode == "open"

    def test_registration_is_by_invite_in_production_unless_configured(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AETHERFLOW_JWT_SECRET", SECRET)
        monkeypatch.setenv("AETHERFLOW_DATABASE_URL", "postgresql://db.internal/gw")
        by_default = load_settings().registration_mode
        monkeypatch.setenv("AETHERFLOW_REGISTRATION", "open")

        configured = load_settings().registration_mode

        assert by_default == "invite"
        assert configured == "open"

    def test_redis_counts_as_a_production_backend(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AETHERFLOW_REDIS_URL", "redis://127.0.0.1:6379/0")

        with pytest.raises(ConfigurationError, match="AETHERFLOW_JWT_SECRET"):
            load_settings()
