"""Task records on a real Redis: creation with the cluster lock, monotonic states, listing, waiting."""
from __future__ import annotations

import threading
import time

import pytest

from tasks.state import keys
from tasks.state.records import (FAILURE, PENDING, REVOKED, RUNNING, SUCCESS, ClusterBusy, TaskRecord, TaskStore,
                                 UnknownTask, new_id)


@pytest.fixture
def store(redis_client):
    return TaskStore(redis_client, history_seconds=60)


def backup(cluster: str = "c1", ns: str = "ns1") -> TaskRecord:
    return TaskRecord(id=new_id(), kind="backup", namespace=ns, cluster=cluster, params={"type": "full"})


def test_a_backup_record_takes_its_clusters_lock(store):
    rec = store.create(backup())
    assert store.lock_holder("ns1", "c1") == rec.id
    assert store.get(rec.id) == rec


def test_a_second_backup_of_a_busy_cluster_is_refused_and_nothing_is_written(store, redis_client):
    first = store.create(backup())
    second = backup()
    with pytest.raises(ClusterBusy) as err:
        store.create(second)
    assert err.value.holder == first.id
    assert store.find(second.id) is None
    assert [r.id for r in store.list("ns1")] == [first.id]


def test_another_cluster_and_info_tasks_do_not_need_the_lock(store):
    store.create(backup("c1"))
    other = store.create(backup("c2"))
    info = store.create(TaskRecord(id=new_id(), kind="info", namespace="ns1", cluster="c1"))
    assert store.lock_holder("ns1", "c2") == other.id and store.get(info.id).state == PENDING


def test_finishing_releases_the_lock_in_the_same_write(store):
    rec = store.create(backup())
    store.update(rec.id, lambda r: setattr(r, "state", RUNNING))
    done = store.update(rec.id, lambda r: (setattr(r, "state", SUCCESS), setattr(r, "result", {"ok": True})))
    assert (done.state, done.result, store.lock_holder("ns1", "c1")) == (SUCCESS, {"ok": True}, None)
    assert done.started is not None and done.finished is not None and done.started <= done.finished
    store.create(backup())  # the cluster is free again


def test_a_terminal_record_never_changes_again(store):
    rec = store.create(backup())
    store.update(rec.id, lambda r: setattr(r, "state", FAILURE))
    for change in (lambda r: setattr(r, "state", RUNNING), lambda r: setattr(r, "state", SUCCESS),
                   lambda r: setattr(r, "phase", "sneaky")):
        assert store.update(rec.id, change).state == FAILURE
    assert store.get(rec.id).phase == "queued"


def test_states_never_move_backwards(store):
    rec = store.create(backup())
    store.update(rec.id, lambda r: setattr(r, "state", RUNNING))
    assert store.update(rec.id, lambda r: setattr(r, "state", PENDING)).state == RUNNING


def test_a_finished_task_does_not_release_a_lock_another_task_holds(store, redis_client):
    rec = store.create(TaskRecord(id=new_id(), kind="info", namespace="ns1", cluster="c1"))
    holder = store.create(backup())
    store.update(rec.id, lambda r: setattr(r, "state", SUCCESS))
    assert store.lock_holder("ns1", "c1") == holder.id


def test_unknown_ids_are_unknown(store):
    with pytest.raises(UnknownTask):
        store.get("nope")
    with pytest.raises(UnknownTask):
        store.update("nope", lambda r: None)


def test_listing_filters_by_cluster_state_and_kind_newest_first(store):
    a = store.create(backup("c1"))
    time.sleep(0.01)
    b = store.create(TaskRecord(id=new_id(), kind="info", namespace="ns1", cluster="c2"))
    time.sleep(0.01)
    c = store.create(TaskRecord(id=new_id(), kind="info", namespace="ns1", cluster="c1"))
    store.update(c.id, lambda r: setattr(r, "state", SUCCESS))
    assert [r.id for r in store.list("ns1")] == [c.id, b.id, a.id]
    assert [r.id for r in store.list("ns1", cluster="c1")] == [c.id, a.id]
    assert [r.id for r in store.list("ns1", state=SUCCESS)] == [c.id]
    assert [r.id for r in store.list("ns1", kind="backup")] == [a.id]
    assert store.list("other") == []


def test_expired_records_drop_out_of_the_listing(store, redis_client):
    a = store.create(backup())
    redis_client.delete(keys.task(a.id))
    assert store.list("ns1") == [] and redis_client.zcard(keys.namespace_tasks("ns1")) == 0


def test_active_lists_only_unfinished_tasks(store):
    a, b = store.create(backup("c1")), store.create(backup("c2"))
    store.update(a.id, lambda r: setattr(r, "state", REVOKED))
    assert [r.id for r in store.active()] == [b.id]


def test_concurrent_updates_lose_nothing(store):
    rec = store.create(backup())

    def add_jobs(prefix: str) -> None:
        for i in range(25):
            store.update(rec.id, lambda r, i=i: r.jobs.append(f"{prefix}{i}"))

    threads = [threading.Thread(target=add_jobs, args=(p,)) for p in "abcd"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.get(rec.id).jobs) == 100


def test_waiting_returns_when_the_task_finishes(store):
    rec = store.create(backup())
    threading.Timer(0.2, lambda: store.update(rec.id, lambda r: setattr(r, "state", SUCCESS))).start()
    start = time.monotonic()
    assert store.wait_finished(rec.id, timeout=5).state == SUCCESS
    assert time.monotonic() - start < 2
    pending = store.create(backup("c9"))
    assert store.wait_finished(pending.id, timeout=0.2).state == PENDING
