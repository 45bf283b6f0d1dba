"""What every view needs: the process's runtime, the 202 answer, namespace checks, enqueueing."""
from __future__ import annotations

import json

from flask import Response, current_app

from tasks.runtime import Runtime
from tasks.state.records import FAILURE, ClusterBusy, TaskRecord

from . import present
from .errors import ApiError


def runtime() -> Runtime:
    return current_app.config["BRQ_RUNTIME"]


def managed_namespace(ns: str) -> None:
    if ns not in runtime().settings.kubernetes.namespaces:
        raise ApiError(404, f"namespace {ns!r} is not managed by this service")


def enqueue(rec: TaskRecord) -> None:
    """Send the task's first step; if the broker is down, the task fails at once (and frees its cluster)."""
    rt = runtime()
    try:
        rt.send("brq.advance", rec.id)
    except Exception as exc:  # noqa: BLE001 - any broker failure means the task cannot run
        error = {"code": None, "name": "BrokerUnavailable", "action": "retry when Redis is back",
                 "message": f"the task queue is unreachable: {type(exc).__name__}"}
        rt.tasks.update(rec.id, lambda r: (setattr(r, "state", FAILURE), setattr(r, "error", error)))
        raise ApiError(503, "the task queue is unreachable; nothing was started") from None


def accepted(rec: TaskRecord) -> Response:
    """Enqueue and answer 202 from the record in hand (enqueue fails the request with 503 if it cannot send)."""
    enqueue(rec)
    return pending(rec)


def pending(rec: TaskRecord) -> Response:
    """202 with the task (`schemas.TaskRef`) and its Location, as a finished Response: a view whose 200 has
    another schema must not have this answer dumped through that one (it would lose `task`)."""
    body = json.dumps({"task_id": rec.id, "task": present.task(rec)}, separators=(",", ":"))
    return Response(body, status=202, mimetype="application/json", headers={"Location": present.location(rec.id)})


def create_locked(rec: TaskRecord) -> TaskRecord:
    """Record a task that takes its cluster's lock; 409 naming the running task when the cluster is busy."""
    try:
        return runtime().tasks.create(rec)
    except ClusterBusy as exc:
        raise ApiError(409, f"cluster {rec.cluster!r} is busy with task {exc.holder}", details={"task_id": exc.holder},
                       headers={"Location": present.location(exc.holder)}) from None
