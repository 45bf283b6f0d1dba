"""Polling helpers: wait until a condition holds, and fail with the last value seen when it does not."""
from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable


async def eventually(probe: Callable[[], Awaitable[Any]], until: Callable[[Any], bool], *,
                     timeout: float = 30.0, interval: float = 0.05, what: str = "condition") -> Any:
    """Call `probe` until `until(value)` is true; return that value. AssertionError with the last value otherwise."""
    deadline = time.monotonic() + timeout
    value = None
    while True:
        value = await probe()
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s; last value: {value!r}")
        await asyncio.sleep(interval)


def condition(obj: Any, type_: str) -> Any:
    """The condition of that type on a kubernetes_asyncio model's status, or None."""
    for c in (obj.status.conditions or []):
        if c.type == type_:
            return c
    return None
