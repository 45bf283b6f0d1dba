"""One whole stack per session: Redis, kubesim, S3 over TLS, API (gunicorn), a Celery worker, the watcher."""
from __future__ import annotations

import pytest

from tests.support.stack import Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    s = Stack(str(tmp_path_factory.mktemp("stack")), namespaces=("demo", "other")).start()
    yield s
    s.stop()


def create_cluster(stack: Stack, name: str, storage_type: str, ns: str = "demo") -> dict:
    status, body = stack.call("POST", f"/api/v1/namespaces/{ns}/clusters",
                              {"name": name, "pgbackrest_storage_type": storage_type})
    assert status == 202, body
    task = stack.wait_task(body["task_id"], timeout=120)
    assert task["state"] == "SUCCESS", task
    return task


def backup(stack: Stack, name: str, storage_type: str, type_: str = "full", ns: str = "demo",
           options: list[str] | None = None) -> dict:
    status, body = stack.call("POST", f"/api/v1/namespaces/{ns}/clusters/{name}/backups",
                              {"type": type_, "storage_type": storage_type, "options": options or []})
    assert status == 202, body
    return stack.wait_task(body["task_id"], timeout=180)
