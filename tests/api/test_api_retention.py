"""Retention per repo: set at cluster creation or with PATCH …/clusters/{name} (a task), shown by GET."""
from __future__ import annotations

import pytest

from tasks.state.clusters import READY, ClusterRecord
from tasks.state.records import RUNNING, TaskRecord, new_id

CLUSTERS = "/api/v1/namespaces/demo/clusters"


def err(resp) -> dict:
    body = resp.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == resp.status_code, body
    return body["error"]


@pytest.fixture
def c1(rt):
    rt.clusters.create(ClusterRecord(name="c1", namespace="demo", storage_types=["local"], status=READY))


def test_a_cluster_created_with_retention_records_it_and_hands_it_to_its_task(as_, rt):
    resp = as_("operator").post(CLUSTERS, json={"name": "r1", "retention": {"local": {"full": 2, "diff": 1}}})
    assert resp.status_code == 202, resp.get_json()
    assert resp.get_json()["task"]["params"] == {"storage_type": "local", "retention": {"local": {"full": 2,
                                                                                                   "diff": 1}}}
    shown = as_("viewer").get(f"{CLUSTERS}/r1").get_json()
    assert shown["retention"] == {"local": {"full": 2, "diff": 1}} and shown["retention_task"] is None


@pytest.mark.parametrize("retention, field, words", [
    ({"local": {"full": 0}}, "retention.local.full", "repo-retention-full: 0 is not a whole number"),
    ({"local": {"full_type": "time"}}, "retention.local.full_type", "needs repo-retention-full"),
    ({"local": {"archive_type": "incr"}}, "retention.local.archive", "required with repo-retention-archive-type"),
    ({"local": {"keep": 3}}, "retention.local.keep", "is not a retention setting"),
    ({"local": 7}, "retention.local", "must be an object"),
    ({"s3": {"full": 1}}, "retention.s3", "the cluster has no s3 repository"),
    ({"gcs": {"full": 1}}, "retention.gcs", "'gcs' is not a storage type"),
    ([1], "retention", "Not a valid mapping type."),
])
def test_bad_retention_at_creation_is_422_naming_the_setting_and_creates_nothing(as_, rt, retention, field, words):
    resp = as_("operator").post(CLUSTERS, json={"name": "r1", "pgbackrest_storage_type": "local",
                                                "retention": retention})
    assert resp.status_code == 422, resp.get_json()
    assert err(resp)["field"] == field and words in err(resp)["message"], err(resp)
    assert rt.clusters.list("demo") == [] and rt.tasks.list("demo") == []


def test_patch_starts_an_update_task_holding_the_lock_and_get_shows_the_new_retention(as_, rt, c1):
    resp = as_("operator").patch(f"{CLUSTERS}/c1", json={"retention": {"local": {"full": 3, "full_type": "count"}}})
    assert resp.status_code == 202, resp.get_json()
    task = resp.get_json()["task"]
    assert (task["kind"], task["params"]) == ("update-cluster", {"retention": {"local": {"full": 3,
                                                                                           "full_type": "count"}}})
    assert rt.tasks.lock_holder("demo", "c1") == task["id"] and rt.redis.llen("brq") == 1
    shown = as_("viewer").get(f"{CLUSTERS}/c1").get_json()
    assert shown["retention"] == {"local": {"full": 3, "full_type": "count"}} and shown["retention_task"] == task["id"]
    busy = as_("operator").patch(f"{CLUSTERS}/c1", json={"retention": {"local": None}})
    assert busy.status_code == 409 and err(busy)["details"] == {"task_id": task["id"]}


def test_patch_with_null_resets_a_repo_to_keeping_everything(as_, rt, c1):
    rt.clusters.update("demo", "c1", lambda c: setattr(c, "retention", {"local": {"full": 1}}))
    resp = as_("operator").patch(f"{CLUSTERS}/c1", json={"retention": {"local": None}})
    assert resp.status_code == 202 and resp.get_json()["task"]["params"] == {"retention": {}}
    assert as_("viewer").get(f"{CLUSTERS}/c1").get_json()["retention"] == {"local": {}}


def test_patch_is_refused_while_a_backup_runs_or_the_cluster_is_not_ready(as_, rt, c1):
    running = rt.tasks.create(TaskRecord(id=new_id(), kind="backup", namespace="demo", cluster="c1", state=RUNNING))
    resp = as_("operator").patch(f"{CLUSTERS}/c1", json={"retention": {"local": {"full": 1}}})
    assert resp.status_code == 409 and running.id in err(resp)["message"]
    rt.clusters.create(ClusterRecord(name="new", namespace="demo", storage_types=["local"]))
    resp = as_("operator").patch(f"{CLUSTERS}/new", json={"retention": {"local": {"full": 1}}})
    assert resp.status_code == 409 and "creating" in err(resp)["message"]
    assert rt.clusters.get("demo", "c1").retention == {}


@pytest.mark.parametrize("body, code, field", [
    ({"retention": {"local": {"diff": -1}}}, 422, "retention.local.diff"),
    ({}, 422, "retention"),
    ({"retention": {}, "storage_type": "s3"}, 422, "storage_type"),
])
def test_bad_patches_are_refused_and_change_nothing(as_, rt, c1, body, code, field):
    resp = as_("operator").patch(f"{CLUSTERS}/c1", json=body)
    assert resp.status_code == code and err(resp)["field"] == field, resp.get_json()
    assert rt.tasks.list("demo") == [] and rt.clusters.get("demo", "c1").retention == {}


def test_patch_needs_the_create_cluster_role_and_an_existing_cluster(as_, c1):
    assert as_("viewer").patch(f"{CLUSTERS}/c1", json={"retention": {}}).status_code == 403
    assert as_("operator").patch(f"{CLUSTERS}/nope", json={"retention": {}}).status_code == 404
