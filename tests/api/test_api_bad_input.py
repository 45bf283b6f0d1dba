"""What the fuzz run (test_api_fuzz.py) found, pinned as plain tests: each bad input a 4xx naming the field, a
refused request changes nothing, and every answer is the one the OpenAPI document promises."""
from __future__ import annotations

import pytest

from app import openapi_document
from tasks.schedules.store import Schedule, ScheduleStore
from tasks.state.clusters import READY, ClusterRecord

from .test_api_fuzz import keyspace

NS = "/api/v1/namespaces/demo"


@pytest.fixture
def demo(rt):
    rt.clusters.create(ClusterRecord(name="c1", namespace="demo", storage_types=["local"], status=READY))
    rt.clusters.create(ClusterRecord(name="both", namespace="demo", storage_types=["local", "s3"], status=READY))
    ScheduleStore(rt.redis).create(Schedule(name="nightly", namespace="demo", cluster="c1", cron="0 1 * * *"))


def err(resp) -> dict:
    body = resp.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == resp.status_code, body
    return body["error"]


def test_creating_a_cluster_whose_name_is_taken_changes_nothing(as_, rt, demo):
    before = keyspace(rt.redis)  # the cluster index kept its score before: the list order moved
    resp = as_("admin").post(f"{NS}/clusters", json={"name": "c1"})
    assert resp.status_code == 409 and err(resp)["field"] == "name"
    assert keyspace(rt.redis) == before


@pytest.mark.parametrize("path, field", [
    (f"{NS}/clusters/c1/backups?storage=s3", "storage"),               # misspelt: was silently ignored
    (f"{NS}/clusters/c1/backups?format=json&format=text", "format"),    # twice: the first won
    (f"{NS}/tasks?limit=5&limit=6", "limit"),
    (f"{NS}/schedules?=x", ""),
])
def test_an_unknown_or_repeated_query_parameter_is_422_naming_it(as_, rt, demo, path, field):
    resp = as_("admin").get(path)
    assert resp.status_code == 422 and err(resp)["field"] == field, resp.get_json()
    assert rt.tasks.list("demo") == []


@pytest.mark.parametrize("method, path, body, field", [
    ("patch", f"{NS}/schedules/nightly", {"paused": 0}, "paused"),       # was taken as false
    ("patch", f"{NS}/schedules/nightly", {"paused": "yes"}, "paused"),   # was taken as true
    ("post", f"{NS}/clusters/c1/restores", {"backup_after": 1}, "backup_after"),
    ("post", f"{NS}/clusters/c1/restores", {"wait": "5"}, "wait"),       # a string holding a number
    ("post", f"{NS}/clusters/c1/restores", {"wait": True}, "wait"),
])
def test_json_booleans_and_numbers_are_json_booleans_and_numbers(as_, rt, demo, method, path, body, field):
    before = keyspace(rt.redis)
    resp = getattr(as_("admin"), method)(path, json=body)
    assert resp.status_code == 422 and err(resp)["field"] == field, resp.get_json()
    assert keyspace(rt.redis) == before


@pytest.mark.parametrize("path", [f"{NS}/clusters/c1/restores", f"{NS}/clusters/c1/backups", f"{NS}/clusters"])
def test_a_post_without_its_body_is_400_not_every_default(as_, rt, demo, path):
    resp = as_("admin").post(path)
    assert resp.status_code == 400 and "JSON body is required" in err(resp)["message"]
    assert rt.tasks.list("demo") == [] and rt.redis.llen("brq") == 0


def test_a_body_that_is_not_an_object_says_so(as_, rt, demo):
    resp = as_("admin").post(f"{NS}/clusters/c1/backups", json=["--start-fast"])
    assert resp.status_code == 422 and err(resp)["message"] == "the body must be a JSON object"


def test_the_catalogue_not_ready_yet_answers_the_whole_task(as_, rt, demo):
    resp = as_("admin").get(f"{NS}/clusters/c1/backups?wait=0")  # no worker runs: 202 at once
    assert resp.status_code == 202
    body = resp.get_json()
    assert body["task"]["id"] == body["task_id"] and resp.headers["Location"] == f"/api/v1/tasks/{body['task_id']}"
    preview = as_("admin").get(f"{NS}/clusters/c1/restores/preview?wait=0")
    assert preview.status_code == 202 and preview.get_json()["task"]["kind"] == "restore-preview"


def test_a_task_shows_its_last_change_as_a_time(as_, rt, demo):
    task_id = as_("admin").delete(f"{NS}/clusters/c1").get_json()["task_id"]
    rt.tasks.update(task_id, lambda r: setattr(r, "phase", "deleting"))
    updated = as_("admin").get(f"/api/v1/tasks/{task_id}").get_json()["updated"]
    assert updated.endswith("Z") and "T" in updated


def test_405_names_the_allowed_methods(as_):
    resp = as_("admin").put(f"{NS}/clusters")
    assert resp.status_code == 405 and set(resp.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_the_document_lists_every_answer_with_the_one_error_shape():
    doc = openapi_document()
    problem = {"$ref": "#/components/schemas/Problem"}
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            if method == "parameters":
                continue
            responses = op["responses"]
            assert "default" not in responses, (method, path)  # it would make every status "documented"
            assert {"401", "404", "503"} <= set(responses), (method, path)
            for code, response in responses.items():
                if int(code) >= 400:
                    if "$ref" in response:
                        response = doc["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
                    assert response["content"]["application/json"]["schema"] == problem, (method, path, code)
            if method == "post":
                assert any(p["name"] == "Idempotency-Key" for p in op["parameters"] if p["in"] == "header")
    detail = doc["components"]["schemas"]["ProblemDetail"]
    assert set(detail["required"]) == {"code", "reason", "message"} and detail["additionalProperties"] is False


def test_a_redis_that_is_down_is_503_with_the_reason(as_, demo, redis_server):
    redis_server.stop()
    try:
        resp = as_("admin").get(f"{NS}/clusters")
        assert resp.status_code == 503 and "Redis is unreachable" in err(resp)["message"]
    finally:
        redis_server.start()
