"""`Idempotency-Key` on POST: the same key and body replay the first answer and create nothing; another body is
422; a refused request is replayed as refused; keys are per token."""
from __future__ import annotations

import pytest

from tasks.state.clusters import READY, ClusterRecord

BACKUPS = "/api/v1/namespaces/demo/clusters/c1/backups"


@pytest.fixture
def c1(rt):
    rt.clusters.create(ClusterRecord(name="c1", namespace="demo", storage_types=["local"], status=READY))


def queued(redis_client) -> int:
    return redis_client.llen("brq")


def test_the_same_key_and_body_replay_the_first_answer_and_create_nothing(as_, rt, c1, redis_client):
    headers = {"Idempotency-Key": "retry-1"}
    first = as_("operator").post(BACKUPS, json={"type": "full"}, headers=headers)
    assert first.status_code == 202, first.get_json()
    again = as_("operator").post(BACKUPS, json={"type": "full"}, headers=headers)  # not a 409: the same request
    assert again.status_code == 202 and again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"] and again.headers["Idempotent-Replayed"] == "true"
    assert [t.id for t in rt.tasks.list("demo")] == [first.get_json()["task_id"]]
    assert queued(redis_client) == 1
    # key order and spacing do not make another body
    same = as_("operator").post(BACKUPS, data='{ "type" : "full" }', content_type="application/json",
                                headers=headers)
    assert same.status_code == 202 and same.get_json()["task_id"] == first.get_json()["task_id"]


def test_the_same_key_with_another_body_is_422_naming_the_header(as_, rt, c1):
    headers = {"Idempotency-Key": "retry-2"}
    assert as_("operator").post(BACKUPS, json={"type": "full"}, headers=headers).status_code == 202
    other = as_("operator").post(BACKUPS, json={"type": "incr"}, headers=headers)
    assert other.status_code == 422 and other.get_json()["error"]["field"] == "Idempotency-Key"
    assert len(rt.tasks.list("demo")) == 1


def test_a_refused_request_is_replayed_as_refused_and_a_bad_key_is_400(as_, rt, c1):
    headers = {"Idempotency-Key": "retry-3"}
    bad = as_("operator").post(BACKUPS, json={"type": "weekly"}, headers=headers)
    assert bad.status_code == 422
    again = as_("operator").post(BACKUPS, json={"type": "weekly"}, headers=headers)
    assert again.status_code == 422 and again.get_json() == bad.get_json()
    assert rt.tasks.list("demo") == []
    for key in ("", "x" * 256, "has space"):
        resp = as_("operator").post(BACKUPS, json={"type": "full"}, headers={"Idempotency-Key": key})
        assert resp.status_code == 400 and resp.get_json()["error"]["field"] == "Idempotency-Key", key
    assert rt.tasks.list("demo") == []


def test_keys_are_per_token_and_requests_without_one_are_not_deduplicated(as_, rt, c1):
    first = as_("operator").post(BACKUPS, json={"type": "full"}, headers={"Idempotency-Key": "k"})
    assert first.status_code == 202
    # another token with the same key is another request: this one finds the cluster busy
    other = as_("admin").post(BACKUPS, json={"type": "full"}, headers={"Idempotency-Key": "k"})
    assert other.status_code == 409 and "Idempotent-Replayed" not in other.headers
    plain = as_("operator").post(BACKUPS, json={"type": "full"})
    assert plain.status_code == 409
