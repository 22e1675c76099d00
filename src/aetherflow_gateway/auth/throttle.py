"""Login throttling per account and per client address.

Only failed attempts are counted, in a moving window (the `limits` library). An
account over its limit is refused before its password is checked, so a correct
password during a lockout gets the same 429 as a wrong one. A success clears the
account's count. Counters live in this process; replicas each keep their own.

Attempts on one account take turns, so a burst of parallel guesses cannot all pass
the check before the first failure is counted. The address counter has no such
guard: a parallel burst spread over many accounts can overshoot its allowance.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from weakref import WeakValueDictionary

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

# An address may fail more often than an account: several people can share one.
ADDRESS_ALLOWANCE_FACTOR = 5


class LoginThrottle:
    def __init__(self, attempts: int, window_seconds: int) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._per_account = RateLimitItemPerSecond(attempts, window_seconds)
        self._per_address = RateLimitItemPerSecond(
            attempts * ADDRESS_ALLOWANCE_FACTOR, window_seconds
        )
        # Weak values: an account's lock lives only while someone holds or awaits it.
        self._turns: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()

    @asynccontextmanager
    async def turn(self, account: str) -> AsyncIterator[None]:
        """Hold the account's turn from the check until the outcome is recorded."""
        lock = self._turns.setdefault(account, asyncio.Lock())
        async with lock:
            yield

    async def retry_after(self, account: str, address: str) -> int | None:
        """Seconds to wait when either counter is exhausted, else None."""
        waits = [
            await self._wait(self._per_account, "account", account),
            await self._wait(self._per_address, "address", address),
        ]
        blocked = [wait for wait in waits if wait is not None]
        return max(blocked) if blocked else None

    async def record_failure(self, account: str, address: str) -> None:
        await self._limiter.hit(self._per_account, "account", account)
        await self._limiter.hit(self._per_address, "address", address)

    async def record_success(self, account: str) -> None:
        await self._limiter.clear(self._per_account, "account", account)

    async def _wait(self, item: RateLimitItem, kind: str, key: str) -> int | None:
        if await self._limiter.test(item, kind, key):
            return None
        stats = await self._limiter.get_window_stats(item, kind, key)
        return max(1, int(stats.reset_time - time.time()) + 1)
