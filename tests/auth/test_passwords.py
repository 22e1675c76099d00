import threading

import pytest
from argon2 import PasswordHasher, Type

from aetherflow_gateway.auth import passwords
from aetherflow_gateway.auth.passwords import hash_password, verify_password

SECRET = "a long enough passphrase for tests"
DUMMY_PASSWORD = "aetherflow-dummy-password-for-unknown-emails"


class ThreadRecordingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__()
        self.threads: list[threading.Thread] = []

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.threads.append(threading.current_thread())
        return super().hash(password, salt=salt)


class TestHashing:
    async def test_a_hash_is_argon2id_and_does_not_contain_the_password(self) -> None:
        stored = await hash_password(SECRET)

        assert stored.startswith("$argon2id$")
        assert SECRET not in stored

    async def test_the_same_password_hashes_differently_each_time(self) -> None:
        first = await hash_password(SECRET)
        second = await hash_password(SECRET)

        assert first != second

    async def test_hashing_runs_off_the_event_loop_thread(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        hasher = ThreadRecordingHasher()
        monkeypatch.setattr(passwords, "_hasher", hasher)

        await hash_password(SECRET)

        assert hasher.threads
        assert threading.current_thread() not in hasher.threads


class TestVerification:
    async def test_the_right_password_verifies(self) -> None:
        stored = await hash_password(SECRET)

        assert await verify_password(stored, SECRET) is True

    async def test_a_wrong_password_does_not_verify(self) -> None:
        stored = await hash_password(SECRET)

        assert await verify_password(stored, SECRET.upper()) is False

    async def test_a_corrupt_stored_hash_does_not_verify(self) -> None:
        assert await verify_password("not-an-argon2-hash", SECRET) is False


class TestUnknownAccounts:
    async def test_an_unknown_account_never_verifies_even_with_the_dummy_password(
        self,
    ) -> None:
        assert await verify_password(None, DUMMY_PASSWORD) is False
        assert await verify_password(None, SECRET) is False

    async def test_an_unknown_account_costs_a_full_verification(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        checked: list[str] = []
        real_matches = passwords._matches

        def recording_matches(stored_hash: str, password: str) -> bool:
            checked.append(stored_hash)
            return real_matches(stored_hash, password)

        monkeypatch.setattr(passwords, "_matches", recording_matches)

        await verify_password(None, SECRET)

        assert len(checked) == 1
        assert checked[0].startswith("$argon2id$")
        # Same parameters as a real hash, so the dummy check takes as long.
        assert not passwords._hasher.check_needs_rehash(checked[0])


def test_production_parameters_meet_owasp_minimums() -> None:
    parameters = passwords.PARAMETERS

    assert parameters.type is Type.ID
    assert parameters.memory_cost >= 19 * 1024
    assert parameters.time_cost >= 2
