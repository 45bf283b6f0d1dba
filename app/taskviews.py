"""`/api/v1/tasks/{id}` (show, cancel) and `/api/v1/namespaces/{ns}/tasks` (list, filtered)."""
from __future__ import annotations

from flask.views import MethodView

from tasks.state.records import RESTORE_DESTRUCTIVE, RESTORE_PHASES

from . import present, schemas
from .apidoc import Blueprint
from .auth import audit, require, sees
from .common import managed_namespace, runtime
from .errors import ApiError

blp = Blueprint("tasks", __name__, url_prefix="/api/v1", description="Task status, listing and cancellation")


def _visible(task_id: str, role: str):
    """The record, or 404 — also when it lies outside the token's namespaces (its existence is not told)."""
    rec = runtime().tasks.find(task_id)
    if rec is None or not sees(role, rec.namespace):
        raise ApiError(404, f"task {task_id!r} not found")
    return rec


@blp.route("/tasks/<string:task_id>")
class TaskView(MethodView):
    @blp.response(200, schemas.Task)
    @blp.alt_response(404, schema=schemas.Problem, description="unknown task")
    def get(self, task_id: str):
        """A task: state, phase, progress, times, result or error, the Jobs it made."""
        return present.task(_visible(task_id, "ShowTask"))

    @blp.response(202, schemas.TaskRef)
    @blp.alt_response(409, schema=schemas.Problem, description="the task already finished")
    def delete(self, task_id: str):
        """Cancel: the task's Jobs are deleted (their pods first) and it ends REVOKED."""
        rec = _visible(task_id, "CancelTask")
        require("CancelTask", rec.namespace)
        if rec.is_terminal:
            raise ApiError(409, f"task {task_id!r} already finished ({rec.state})")
        if rec.kind == "restore" and rec.phase in RESTORE_PHASES and \
                RESTORE_PHASES.index(rec.phase) >= RESTORE_PHASES.index(RESTORE_DESTRUCTIVE):
            raise ApiError(409, f"restore {task_id!r} is past its last safe step ({rec.phase}): it cannot be "
                                "cancelled; let it finish, or restore again")
        rt = runtime()
        rec = rt.tasks.update(task_id, lambda r: setattr(r, "cancel_requested", True))
        audit("cancel", namespace=rec.namespace, cluster=rec.cluster, task_id=task_id)
        rt.send("brq.advance", task_id)
        return {"task_id": task_id, "task": present.task(rec)}, 202, {"Location": present.location(task_id)}


@blp.route("/namespaces/<string:ns>/tasks")
class TaskList(MethodView):
    @blp.arguments(schemas.TaskQuery(), **schemas.QUERY)
    @blp.response(200, schemas.TaskList)
    def get(self, query: dict, ns: str):
        """Tasks of a namespace, newest first, by cluster, state and kind."""
        require("ShowTask", ns)
        managed_namespace(ns)
        recs = runtime().tasks.list(ns, cluster=query["cluster"], state=query["state"], kind=query["kind"],
                                    limit=query["limit"])
        return {"items": [present.task(r) for r in recs]}
