"""Login throttling per account and per client address.

Counts live in a moving window (the `limits` library): in this process by default,
and in Redis when `AETHERFLOW_REDIS_URL` is set, so that every replica sees the
failures recorded by the others.

Each attempt first reserves a slot in its account's window, atomically (a Lua
script in Redis, a lock in memory), before the password is checked. A burst of
parallel guesses, on one replica or spread over several, therefore cannot get
more attempts than the allowance, and a correct password during a lockout gets
the same 429 as a wrong one. A failure leaves its slot taken; a success clears
the account's window. The address counter holds failures only and is checked,
not reserved: a parallel burst spread over many accounts can overshoot it.

Counters are keyed by a hash of the account and address, so Redis holds no
email addresses. When Redis cannot be reached, logins answer 503 rather than go
unthrottled.
"""

import hashlib
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager

import structlog
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import Redis

from aetherflow_gateway.core.errors import DependencyUnavailable
from aetherflow_gateway.core.settings import Settings

logger = structlog.get_logger(__name__)

# An address may fail more often than an account: several people can share one.
ADDRESS_ALLOWANCE_FACTOR = 5


class LoginThrottle:
    def __init__(
        self, attempts: int, window_seconds: int, storage: Storage | None = None
    ) -> None:
        self._limiter = MovingWindowRateLimiter(storage or MemoryStorage())
        self._per_account = RateLimitItemPerSecond(attempts, window_seconds)
        self._per_address = RateLimitItemPerSecond(
            attempts * ADDRESS_ALLOWANCE_FACTOR, window_seconds
        )

    async def admit(self, account: str, address: str) -> int | None:
        """None when the attempt may go ahead (its account slot taken), else a wait."""
        account_key, address_key = _key(account), _key(address)
        with _storage_down_is_unavailable():
            if not await self._limiter.test(self._per_address, "address", address_key):
                return await self._wait(self._per_address, "address", address_key)
            if not await self._limiter.hit(self._per_account, "account", account_key):
                return await self._wait(self._per_account, "account", account_key)
        return None

    async def record_failure(self, address: str) -> None:
        with _storage_down_is_unavailable():
            await self._limiter.hit(self._per_address, "address", _key(address))

    async def record_success(self, account: str) -> None:
        with _storage_down_is_unavailable():
            await self._limiter.clear(self._per_account, "account", _key(account))

    async def _wait(self, item: RateLimitItem, kind: str, key: str) -> int:
        stats = await self._limiter.get_window_stats(item, kind, key)
        return max(1, int(stats.reset_time - time.time()) + 1)


async def open_login_throttle(
    settings: Settings, stack: AsyncExitStack
) -> LoginThrottle:
    """The throttle, on Redis when configured; `stack` closes its connections."""
    storage: Storage | None = None
    if settings.redis_url is not None:
        client = Redis.from_url(
            settings.redis_url,
            socket_timeout=settings.dependency_timeout_seconds,
            socket_connect_timeout=settings.dependency_timeout_seconds,
        )
        stack.push_async_callback(client.aclose)
        # Our own pool, so that the lifespan closes it; `limits` passes it on to
        # redis-py but annotates its options more narrowly.
        storage = RedisStorage(
            "async+" + settings.redis_url,
            implementation="redispy",
            key_prefix=f"{settings.redis_key_prefix}:login",
            connection_pool=client.connection_pool,  # type: ignore[arg-type]
            wrap_exceptions=True,
        )

    return LoginThrottle(
        settings.login_attempts_per_window, settings.login_window_seconds, storage
    )


def _key(identifier: str) -> str:
    return hashlib.sha256(identifier.encode()).hexdigest()[:32]


@contextmanager
def _storage_down_is_unavailable() -> Iterator[None]:
    try:
        yield
    except StorageError as exc:
        logger.warning("throttle.unavailable", error=type(exc.storage_error).__name__)
        raise DependencyUnavailable("Login is unavailable; try again shortly.") from exc
