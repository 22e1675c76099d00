"""Password hashing with argon2id, kept off the event loop.

Hashing is deliberately slow CPU work, so it runs in a worker thread. Login verifies
against a fixed dummy hash when the email is unknown, so an unknown email costs the
same time as a wrong password and the two cannot be told apart.
"""

from anyio import to_thread
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

# RFC 9106's second recommendation (64 MiB, 3 passes, 4 lanes), argon2-cffi's
# default; above OWASP's minimum of 19 MiB and 2 passes.
PARAMETERS = profiles.RFC_9106_LOW_MEMORY
_hasher = PasswordHasher.from_parameters(PARAMETERS)
_DUMMY_HASH = _hasher.hash("aetherflow-dummy-password-for-unknown-emails")


async def hash_password(password: str) -> str:
    return await to_thread.run_sync(_hasher.hash, password)


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """True only when `stored_hash` exists and matches; same cost either way."""
    candidate = stored_hash if stored_hash is not None else _DUMMY_HASH
    matches = await to_thread.run_sync(_matches, candidate, password)
    return matches and stored_hash is not None


def _matches(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False
