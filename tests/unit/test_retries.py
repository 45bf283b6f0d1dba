"""tasks/retries.py's back-off (bounded, jittered), `retry_async`, and how the retries a worker or the watcher makes
reach Redis for /metrics (tasks/state/stats.py `RetryFlusher`), on a real Redis."""
from __future__ import annotations

import asyncio
from collections import Counter

import pytest
import redis

from tasks import retries
from tasks.state import keys, stats
from tests.support.servers import RedisServer


def test_backoff_is_full_jitter_under_an_exponential_cap():
    assert [retries.backoff(n, base=0.1, cap=5.0, rand=lambda: 1.0) for n in (1, 2, 3, 6, 7, 30)] == [
        0.1, 0.2, 0.4, 3.2, 5.0, 5.0]
    assert retries.backoff(4, rand=lambda: 0.0) == 0.0
    with pytest.raises(ValueError):
        retries.backoff(0)


def test_retry_async_retries_only_what_the_predicate_allows_and_counts_each_retry(monkeypatch):
    monkeypatch.setattr(retries, "backoff", lambda attempt, **kw: 0)
    calls = []

    async def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("reset")
        return "ok"

    before = retries.RETRIES["test flaky"]
    assert asyncio.run(retries.retry_async(flaky, retryable=lambda e: isinstance(e, ConnectionError),
                                           reason="test flaky")) == "ok"
    assert len(calls) == 3 and retries.RETRIES["test flaky"] == before + 2

    async def wrong():
        raise ValueError("no")
    with pytest.raises(ValueError):
        asyncio.run(retries.retry_async(wrong, retryable=lambda e: isinstance(e, ConnectionError), reason="t"))

    async def always():
        raise ConnectionError("down")
    with pytest.raises(ConnectionError):
        asyncio.run(retries.retry_async(always, attempts=4, retryable=lambda e: True, reason="test down"))
    assert retries.RETRIES["test down"] == 3  # attempts - 1 retries, then the error


def test_a_flusher_adds_only_what_is_new_and_two_processes_add_up(redis_client):
    worker, watcher = Counter(), Counter()
    a, b = stats.RetryFlusher(worker, "worker"), stats.RetryFlusher(watcher, "watcher")
    assert a.flush(redis_client) == 0  # nothing yet: no write
    assert not redis_client.exists(keys.retry_stats())
    worker["kubernetes create"] += 2
    watcher["kubernetes watch"] += 1
    assert (a.flush(redis_client), b.flush(redis_client)) == (2, 1)
    assert a.flush(redis_client) == 0
    worker["kubernetes create"] += 1
    worker["kubernetes exec"] += 1
    a.flush(redis_client)
    # a second pool process of the same kind adds to the same counter
    other = Counter({"kubernetes create": 4})
    stats.RetryFlusher(other, "worker").flush(redis_client)
    assert stats.read_retries(redis_client) == {("worker", "kubernetes create"): 7, ("worker", "kubernetes exec"): 1,
                                                ("watcher", "kubernetes watch"): 1}


def test_a_flush_while_redis_is_down_is_kept_for_the_next_one(tmp_path):
    server = RedisServer(str(tmp_path / "redis")).start()
    client = redis.Redis.from_url(server.url, socket_connect_timeout=1)
    counter = Counter()
    flusher = stats.RetryFlusher(counter, "watcher")
    counter["kubernetes watch"] += 3
    flusher.flush(client)
    server.stop()
    try:
        counter["kubernetes watch"] += 2
        with pytest.raises(redis.ConnectionError):
            flusher.flush(client)
        flusher.flush_quietly(client)  # never raises: metrics do not fail the work
    finally:
        server.start()
    # a Redis without persistence restarted empty: only what was not yet flushed is added now
    assert flusher.flush(client) == 2
    assert stats.read_retries(client) == {("watcher", "kubernetes watch"): 2}
    server.stop()


def test_a_process_without_redis_logs_its_retries_and_the_watcher_counts_them_once(redis_client):
    line = retries.summary(Counter({"kubernetes list": 2, "kubernetes exec": 1}))
    assert line == 'retried Kubernetes calls: {"kubernetes exec":1,"kubernetes list":2}'
    assert retries.summary(Counter()) == ""
    log = f"P00   INFO: backup command end: completed successfully\njob-runner: exit code 0\njob-runner: {line}\n"
    assert retries.parse_summary(log) == {"kubernetes exec": 1, "kubernetes list": 2}
    assert retries.parse_summary("job-runner: exit code 0\n") == {}
    assert retries.parse_summary('retried Kubernetes calls: {"x": "many", "y": -1, "z": true}') == {}
    stats.count_logged_retries(redis_client, log)
    stats.count_logged_retries(redis_client, "no retries here")
    assert stats.read_retries(redis_client) == {("job-runner", "kubernetes exec"): 1,
                                                ("job-runner", "kubernetes list"): 2}
