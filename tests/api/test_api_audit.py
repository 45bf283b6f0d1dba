"""An audit log line (who, what, which namespace and cluster, which task) for every change, and none for a refused
request: every POST, PATCH and DELETE of the OpenAPI document is called once as it should be and once refused."""
from __future__ import annotations

import json
import logging

import pytest

from app import openapi_document

from .test_api_fuzz import PAUSED_RESTORE, RUNNING_BACKUP, keyspace, seed_state

NS = "/api/v1/namespaces/demo"

# (method, path in the document) → (concrete path, body, action, cluster) of a request that changes something
CHANGES = {
    ("post", "/api/v1/namespaces/{ns}/clusters"):
        (f"{NS}/clusters", {"name": "new-1"}, "create-cluster", "new-1"),
    ("patch", "/api/v1/namespaces/{ns}/clusters/{name}"):
        (f"{NS}/clusters/c1", {"retention": {"local": {"full": 2}}}, "update-cluster", "c1"),
    ("delete", "/api/v1/namespaces/{ns}/clusters/{name}"):
        (f"{NS}/clusters/c1", None, "delete-cluster", "c1"),
    ("post", "/api/v1/namespaces/{ns}/clusters/{name}/backups"):
        (f"{NS}/clusters/c1/backups", {"type": "full"}, "backup", "c1"),
    ("post", "/api/v1/namespaces/{ns}/clusters/{name}/restores"):
        (f"{NS}/clusters/c1/restores", {"storage_type": "local", "wait": 0}, "restore", "c1"),
    ("post", "/api/v1/namespaces/{ns}/clusters/{name}/restores/{task_id}/resume"):
        (f"{NS}/clusters/both/restores/{PAUSED_RESTORE}/resume", None, "resume", "both"),
    ("post", "/api/v1/namespaces/{ns}/schedules"):
        (f"{NS}/schedules", {"name": "n-1", "cluster": "c1", "schedule": "0 1 * * *", "backup_type": "full"},
         "create-schedule", "c1"),
    ("patch", "/api/v1/namespaces/{ns}/schedules/{name}"):
        (f"{NS}/schedules/nightly", {"paused": True}, "update-schedule", "c1"),
    ("delete", "/api/v1/namespaces/{ns}/schedules/{name}"):
        (f"{NS}/schedules/nightly", None, "delete-schedule", "c1"),
    ("delete", "/api/v1/tasks/{task_id}"):
        (f"/api/v1/tasks/{RUNNING_BACKUP}", None, "cancel", "x"),
}


def test_every_change_the_document_lists_is_covered_here():
    doc = openapi_document()
    changing = {(m, p) for p, ops in doc["paths"].items() for m in ops if m in ("post", "put", "patch", "delete")}
    assert changing == set(CHANGES)


def audit_lines(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "brq.audit"]


@pytest.mark.parametrize("route", sorted(CHANGES), ids=lambda r: f"{r[0]} {r[1]}")
def test_a_change_writes_one_audit_line_naming_who_what_cluster_and_task(as_, rt, caplog, route):
    seed_state(rt)
    path, body, action, cluster = CHANGES[route]
    caplog.set_level(logging.INFO, logger="brq.audit")
    resp = getattr(as_("admin"), route[0])(path, **({"json": body} if body is not None else {}))
    assert 200 <= resp.status_code < 300, resp.get_json()
    (line,) = audit_lines(caplog)
    assert line["who"] == "admin" and line["action"] == action and line["cluster"] == cluster, line
    assert line["namespace"] == ("other" if action == "cancel" else "demo")
    answer = resp.get_json(silent=True) or {}  # 204 for a deleted schedule
    if "task_id" in answer:  # a change that runs as a task names it
        assert line["task"] == answer["task_id"]
    elif action == "cancel":
        assert line["task"] == RUNNING_BACKUP


@pytest.mark.parametrize("route", sorted(CHANGES), ids=lambda r: f"{r[0]} {r[1]}")
def test_a_refused_change_writes_no_audit_line_and_changes_nothing(as_, rt, caplog, route):
    seed_state(rt)
    path, body, _, _ = CHANGES[route]
    before = keyspace(rt.redis)
    caplog.set_level(logging.INFO, logger="brq.audit")
    # the viewer token may read but not change: refused before anything happens
    resp = getattr(as_("viewer"), route[0])(path, **({"json": body} if body is not None else {}))
    assert resp.status_code in (403, 404), resp.get_json()
    assert audit_lines(caplog) == []
    assert keyspace(rt.redis) == before
