"""Every bad request answers the right code in one error shape and creates nothing; good ones answer 202."""
from __future__ import annotations

import json

import pytest

from tasks.state import keys
from tasks.state.clusters import READY, ClusterRecord

BACKUPS = "/api/v1/namespaces/demo/clusters/c1/backups"


@pytest.fixture
def ready_cluster(rt):
    rt.clusters.create(ClusterRecord(name="c1", namespace="demo", storage_types=["local"], status=READY))
    rt.clusters.create(ClusterRecord(name="both", namespace="demo", storage_types=["local", "s3"], status=READY))


def nothing_created(rt) -> bool:
    return rt.tasks.list("demo") == [] and rt.redis.llen("brq") == 0


def err(resp) -> dict:
    body = resp.get_json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == resp.status_code
    return body["error"]


def test_a_backup_request_answers_202_with_the_task_and_its_location(as_, rt, ready_cluster):
    resp = as_("operator").post(BACKUPS, json={"type": "full", "options": ["--start-fast"]})
    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()
    assert resp.headers["Location"] == f"/api/v1/tasks/{body['task_id']}"
    task = body["task"]
    assert (task["kind"], task["state"], task["cluster"], task["params"]["repos"]) == ("backup", "PENDING", "c1",
                                                                                        ["local"])
    assert rt.redis.llen("brq") == 1  # one Celery message waits for a worker
    assert rt.tasks.lock_holder("demo", "c1") == body["task_id"]


def test_a_second_backup_while_one_runs_is_409_naming_the_running_task(as_, rt, ready_cluster):
    first = as_("operator").post(BACKUPS, json={}).get_json()["task_id"]
    resp = as_("operator").post(BACKUPS, json={"type": "incr"})
    assert resp.status_code == 409
    assert err(resp)["details"] == {"task_id": first} and first in err(resp)["message"]
    assert [t.id for t in rt.tasks.list("demo")] == [first]


@pytest.mark.parametrize("body, field, text", [
    ({"type": "weekly"}, "type", "Must be one of: full, diff, incr."),
    ({"storage_type": "gcs"}, "storage_type", "must be one of: local, s3, local,s3"),
    ({"storage_type": "s3"}, "storage_type", "storage type s3 is not one of the cluster's (local)"),
    ({"options": ["--type=full; rm -rf /"]}, "options[0]", "--type"),
    ({"options": ["--start-fast", "--repo1-path=/x"]}, "options[1]", "owned by the service"),
    ({"options": ["--config=/etc/passwd"]}, "options[0]", "owned by the service"),
    ({"options": ["--frobnicate"]}, "options[0]", "unknown"),
    ({"options": "--start-fast"}, "options", "Not a valid list."),
    ({"type": "full", "extra": 1}, "extra", "Unknown field."),
])
def test_bad_backup_requests_are_422_naming_the_field_and_create_nothing(as_, rt, ready_cluster, body, field,
                                                                         text):
    resp = as_("operator").post(BACKUPS, json=body)
    assert resp.status_code == 422, resp.get_json()
    e = err(resp)
    assert e["field"] == field and text in e["message"], e
    assert nothing_created(rt)


def test_restore_only_types_are_refused_for_backups(as_, rt, ready_cluster):
    resp = as_("operator").post(BACKUPS, json={"options": ["--type=time"]})
    assert resp.status_code == 422 and err(resp)["field"] == "options[0]"
    assert nothing_created(rt)


def test_a_cluster_name_that_is_not_a_dns_label_is_422(as_, rt):
    for name in ("Bad_Name", "-x", "a" * 43, "9start"):
        resp = as_("operator").post("/api/v1/namespaces/demo/clusters", json={"name": name})
        assert resp.status_code == 422 and err(resp)["field"] == "name", (name, resp.get_json())
    assert rt.clusters.list("demo") == [] and nothing_created(rt)


def test_creating_a_cluster_answers_202_and_records_it_creating(as_, rt):
    resp = as_("operator").post("/api/v1/namespaces/demo/clusters",
                                json={"name": "pg1", "pgbackrest_storage_type": "s3,local"})
    assert resp.status_code == 202
    cluster = as_("viewer").get("/api/v1/namespaces/demo/clusters/pg1").get_json()
    assert (cluster["storage_type"], cluster["status"]) == ("local,s3", "creating")
    again = as_("operator").post("/api/v1/namespaces/demo/clusters", json={"name": "pg1"})
    assert again.status_code == 409 and err(again)["field"] == "name"


def test_an_unknown_cluster_is_404(as_, rt):
    resp = as_("operator").post("/api/v1/namespaces/demo/clusters/nope/backups", json={})
    assert resp.status_code == 404 and "nope" in err(resp)["message"]
    assert nothing_created(rt)


def test_requests_without_or_with_a_bad_token_are_401(client, rt, ready_cluster):
    assert client.post(BACKUPS, json={}).status_code == 401
    resp = client.post(BACKUPS, json={}, headers={"Authorization": "Bearer brq_nope"})
    assert resp.status_code == 401 and err(resp)["reason"] == "Unauthorized"
    assert nothing_created(rt)


def test_another_namespace_or_a_missing_role_is_403(as_, rt, ready_cluster):
    resp = as_("other").post(BACKUPS, json={})
    assert resp.status_code == 403 and "namespace 'demo'" in err(resp)["message"]
    resp = as_("viewer").post(BACKUPS, json={})
    assert resp.status_code == 403 and "CreateBackup" in err(resp)["message"]
    assert nothing_created(rt)


def test_a_body_that_is_not_json_is_415_and_an_oversized_one_413(as_, rt, ready_cluster):
    resp = as_("operator").post(BACKUPS, data="type=full", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 415
    resp = as_("operator").post(BACKUPS, data=json.dumps({"options": ["--start-fast"] * 20000}),
                                headers={"Content-Type": "application/json"})
    assert resp.status_code == 413
    assert nothing_created(rt)


def test_an_unmanaged_namespace_is_404(as_, rt):
    resp = as_("admin").get("/api/v1/namespaces/elsewhere/clusters")
    assert resp.status_code == 404


def test_unknown_tasks_are_404_and_other_namespaces_tasks_are_invisible(as_, rt, ready_cluster):
    assert as_("admin").get("/api/v1/tasks/not-a-task").status_code == 404
    task_id = as_("operator").post(BACKUPS, json={}).get_json()["task_id"]
    assert as_("viewer").get(f"/api/v1/tasks/{task_id}").status_code == 200
    assert as_("other").get(f"/api/v1/tasks/{task_id}").status_code == 404


def test_healthz_needs_no_token_and_the_openapi_document_does(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 401


def test_the_config_shows_no_secret(as_, settings):
    text = as_("viewer").get("/api/v1/config").get_data(as_text=True)
    assert settings.s3.key.reveal() not in text and settings.s3.key_secret.reveal() not in text
    assert "b-test" in text


def test_the_openapi_document_lists_the_routes(as_):
    doc = as_("viewer").get("/api/v1/openapi.json").get_json()
    assert {"/api/v1/namespaces/{ns}/clusters", "/api/v1/namespaces/{ns}/clusters/{name}/backups",
            "/api/v1/tasks/{task_id}", "/api/v1/namespaces/{ns}/tasks"} <= set(doc["paths"])


def test_listing_tasks_filters_by_cluster_and_kind(as_, rt, ready_cluster):
    task_id = as_("operator").post(BACKUPS, json={}).get_json()["task_id"]
    items = as_("viewer").get("/api/v1/namespaces/demo/tasks?cluster=c1&kind=backup").get_json()["items"]
    assert [t["id"] for t in items] == [task_id]
    assert as_("viewer").get("/api/v1/namespaces/demo/tasks?state=BOGUS").status_code == 422
    assert rt.redis.exists(keys.task(task_id))


def test_reads_outside_the_tokens_namespaces_are_the_404_of_an_unmanaged_namespace(as_, rt, ready_cluster):
    """A token for `other` cannot tell that demo is managed, nor that its cluster c1 exists."""
    for path in ("/api/v1/namespaces/demo/clusters", "/api/v1/namespaces/demo/clusters/c1",
                 "/api/v1/namespaces/demo/clusters/nope", "/api/v1/namespaces/demo/tasks",
                 "/api/v1/namespaces/demo/schedules"):
        outside = as_("other").get(path)
        unmanaged = as_("admin").get(path.replace("/demo/", "/unmanaged/"))
        assert outside.status_code == unmanaged.status_code == 404, path
        assert err(outside)["message"] == err(unmanaged)["message"].replace("unmanaged", "demo"), path
