"""Schedules on a real Redis (flushed around each test): stores, a fake `send`, a fixed clock."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tasks.schedules.store import Schedule, ScheduleStore
from tasks.state.clusters import READY, ClusterRecord, ClusterStore
from tasks.state.records import TaskStore

T0 = datetime(2030, 1, 1, 0, 0, 0, tzinfo=timezone.utc).timestamp()  # a Tuesday, midnight UTC


@pytest.fixture
def schedules(redis_client):
    return ScheduleStore(redis_client)


@pytest.fixture
def tasks(redis_client):
    return TaskStore(redis_client, history_seconds=600)


@pytest.fixture
def clusters(redis_client):
    store = ClusterStore(redis_client)
    store.create(ClusterRecord(name="c1", namespace="demo", storage_types=["local", "s3"], status=READY))
    return store


@pytest.fixture
def sent():
    return []


def make(name: str = "nightly", cron: str = "*/10 * * * * *", **kw) -> Schedule:
    return Schedule(name=name, namespace="demo", cluster=kw.pop("cluster", "c1"), cron=cron, created=T0, **kw)
