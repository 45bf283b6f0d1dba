"""The whole retry policy, on one pure back-off function (as dramatiq's middleware/retries.py).

`backoff(attempt)` is the delay before retry number `attempt` (1-based):
exponential from `base`, capped, with full jitter so that many workers that
failed together do not retry together.  `retry_async` runs a coroutine
function until it succeeds, an error says not to retry, or attempts run out;
every retry is counted by reason, for `/metrics`.
"""
from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from typing import Awaitable, Callable, TypeVar

T = TypeVar("T")

RETRIES: Counter[str] = Counter()  # reason → retries made in this process (read by the metrics exporter)
SUMMARY = "retried Kubernetes calls: "  # a process without Redis (the job-runner) logs its RETRIES after this


def summary(counter: Counter[str] | None = None) -> str:
    """`RETRIES` as one log line's text (empty when there were none): the job-runner ends its log with it and the
    watcher, reading that log, counts them for /metrics (tasks/state/stats.py `count_logged_retries`)."""
    counter = RETRIES if counter is None else counter
    return SUMMARY + json.dumps(dict(sorted(counter.items())), separators=(",", ":")) if counter else ""


def parse_summary(text: str) -> dict[str, int]:
    """The retries the last `summary` line in `text` names ({} when none does, or it is garbled)."""
    at = text.rfind(SUMMARY)
    if at < 0:
        return {}
    try:
        found = json.loads(text[at + len(SUMMARY):].split("\n", 1)[0])
    except ValueError:
        return {}
    if not isinstance(found, dict):
        return {}
    return {str(k): v for k, v in found.items() if isinstance(v, int) and not isinstance(v, bool) and v > 0}


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
