"""The whole retry policy, on one pure back-off function (as dramatiq's middleware/retries.py).

`backoff(attempt)` is the delay before retry number `attempt` (1-based):
exponential from `base`, capped, with full jitter so that many workers that
failed together do not retry together.  `retry_async` runs a coroutine
function until it succeeds, an error says not to retry, or attempts run out;
every retry is counted by reason, for `/metrics`.
"""
from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Awaitable, Callable, TypeVar

T = TypeVar("T")

RETRIES: Counter[str] = Counter()  # reason → retries made in this process (read by the metrics exporter)


def backoff(attempt: int, *, base: float = 0.1, cap: float = 5.0, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry `attempt` (1, 2, …): uniform in [0, min(cap, base·2^(attempt-1))]."""
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    return rand() * min(cap, base * (2 ** (attempt - 1)))


async def retry_async(fn: Callable[[], Awaitable[T]], *, attempts: int = 6, base: float = 0.1, cap: float = 5.0,
                      retryable: Callable[[BaseException], bool], reason: str = "kubernetes") -> T:
    """Call `fn` until it returns; re-raise at once if `retryable(exc)` is false, or after `attempts` tries."""
    for attempt in range(1, attempts + 1):
        try:
            return await fn()
        except Exception as exc:  # noqa: BLE001 - the predicate decides
            if attempt == attempts or not retryable(exc):
                raise
            RETRIES[reason] += 1
            await asyncio.sleep(backoff(attempt, base=base, cap=cap))
    raise AssertionError("unreachable")
