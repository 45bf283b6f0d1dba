"""`/api/v1/namespaces/{ns}/clusters/{name}/restores`: restore (202, after a preflight that changes nothing),
preview (the same checks, nothing done), and resume of a restore paused at its target."""
from __future__ import annotations

import time

from flask.views import MethodView
from marshmallow import ValidationError, fields, validate, validates_schema

from tasks.pgbackrest.options import OptionError, normalize
from tasks.pgbackrest.targets import restore_options, restore_target
from tasks.state.clusters import READY
from tasks.state.records import FAILURE, TaskRecord, new_id

from . import present, schemas
from .apidoc import Blueprint
from .auth import audit, require
from .clusters import find_cluster
from .common import create_locked, enqueue, managed_namespace, pending, runtime
from .errors import ApiError

blp = Blueprint("restores", __name__, url_prefix="/api/v1/namespaces/<string:ns>/clusters/<string:name>/restores",
                description="Restore and point-in-time recovery")

TARGET_TYPES = ("latest", "time", "name", "xid", "lsn", "immediate")


class Target(schemas.Strict):
    type = fields.String(load_default="latest", validate=validate.OneOf(TARGET_TYPES))
    value = fields.String(load_default=None, validate=validate.Length(min=1, max=256))


class RestoreCreate(schemas.Strict):
    storage_type = fields.String(load_default="local", metadata={"description": "local or s3: one repo"})
    target = fields.Nested(Target, load_default=lambda: {"type": "latest", "value": None})
    set = fields.String(load_default=None, metadata={"description": "a backup label from the catalogue"})
    target_action = fields.String(load_default="promote", validate=validate.OneOf(["promote", "pause", "shutdown"]))
    node_label = fields.String(load_default=None, validate=validate.Regexp(
        r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?=([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?\Z",
        error="must be key=value (a Kubernetes label)"))
    options = fields.List(fields.String(validate=validate.Length(max=256)), load_default=list,
                          validate=validate.Length(max=schemas.MAX_OPTIONS))
    backup_after = schemas.JsonBoolean(load_default=False)
    wait = schemas.JsonNumber(load_default=10.0, validate=validate.Range(min=0, max=60),
                              metadata={"description": "seconds to wait for the preflight before answering 202"})

    @validates_schema
    def _target_value(self, data, **_):
        target = data.get("target") or {}
        if target.get("type") in ("time", "name", "xid", "lsn") and not target.get("value"):
            raise ValidationError("a value is required for this target type", field_name="target.value")


class PreviewQuery(schemas.Query):
    storage_type = fields.String(load_default="local")
    target_type = fields.String(load_default="latest", validate=validate.OneOf(TARGET_TYPES))
    target = fields.String(load_default=None)
    set = fields.String(load_default=None)
    target_action = fields.String(load_default="promote", validate=validate.OneOf(["promote", "pause", "shutdown"]))
    wait = fields.Float(load_default=10.0, validate=validate.Range(min=0, max=60))


def _repo(storage_type: str, cluster) -> str:
    if storage_type == "local,s3" or "," in storage_type:
        raise ApiError(400, "a restore reads one repository: storage_type must be local or s3",
                       field="storage_type")
    if storage_type not in ("local", "s3"):
        raise ApiError(422, "storage_type must be local or s3", field="storage_type")
    if storage_type not in cluster.storage_types:
        raise ApiError(422, f"storage type {storage_type} is not one of the cluster's ({cluster.storage_type})",
                       field="storage_type")
    return storage_type


def _check_target(target: dict, set_: str | None, action: str, options: list[str]) -> None:
    """The request's target, set and options, checked as pgBackRest would take them (422 naming the field)."""
    if action == "shutdown":
        raise ApiError(422, "target_action shutdown is not supported: use pause, then resume or restore again",
                       field="target_action")
    for index, option in enumerate(options):
        try:
            normalize("restore", [option])  # each alone: the allowlist and the value's type
        except OptionError as exc:
            raise ApiError(422, str(exc), field=f"options[{index}]") from None
    try:
        rt = None if target["type"] == "latest" else restore_target(None, target["type"], target.get("value"))
        # with latest, recovery ends at the end of the WAL and PostgreSQL promotes: there is no action to give
        restore_options(options, rt, set_, None if rt is None and action == "promote" else action)
    except OptionError as exc:
        field = {"--target": "target.value", "--type": "target.type", "--set": "set",
                 "--target-action": "target_action"}.get(exc.option.split("=")[0], "options")
        raise ApiError(422, str(exc), field=field) from None


def _wait_past_preflight(task_id: str, seconds: float) -> TaskRecord:
    tasks = runtime().tasks
    deadline = time.monotonic() + seconds
    while True:
        rec = tasks.get(task_id)
        if rec.is_terminal or rec.phase not in ("queued", "preflight") or time.monotonic() >= deadline:
            return rec
        time.sleep(0.1)


@blp.route("")
class Restores(MethodView):
    @blp.arguments(RestoreCreate())
    @blp.response(202, schemas.TaskRef)
    @blp.alt_response(400, schema=schemas.Problem, description="local,s3: a restore reads one repo")
    @blp.alt_response(409, schema=schemas.Problem, description="a backup or restore of the cluster is running, or "
                                                                "the cluster is not ready")
    @blp.alt_response(422, schema=schemas.Problem, description="the request or its target fails the preflight")
    def post(self, body: dict, ns: str, name: str):
        """Restore (PITR): checked against the catalogue first; then the steps, each recorded in the task."""
        require("Restore", ns)
        managed_namespace(ns)
        cluster = find_cluster(ns, name)
        repo = _repo(body["storage_type"], cluster)
        if cluster.status != READY:
            raise ApiError(409, f"cluster {name!r} is {cluster.status}, not restorable")
        _check_target(body["target"], body["set"], body["target_action"], body["options"])
        rec = TaskRecord(id=new_id(), kind="restore", namespace=ns, cluster=name, phase="preflight", params={
            "storage_type": repo, "target": body["target"], "set": body["set"],
            "target_action": body["target_action"], "node_label": body["node_label"],
            "options": list(body["options"]), "backup_after": body["backup_after"]})
        create_locked(rec)
        enqueue(rec)
        audit("restore", namespace=ns, cluster=name, task_id=rec.id, storage_type=repo, target=body["target"])
        rec = _wait_past_preflight(rec.id, body["wait"])
        if rec.state == FAILURE and (rec.error or {}).get("name") == "PreflightFailed":
            reasons = rec.error.get("reasons") or []
            code = 409 if reasons and reasons[0].get("code") == "backup-running" else 422
            raise ApiError(code, rec.error["message"], field=rec.error.get("field"),
                           details={"task_id": rec.id, "reasons": reasons})
        return {"task_id": rec.id, "task": present.task(rec)}, 202, {"Location": present.location(rec.id)}


@blp.route("/preview")
class Preview(MethodView):
    @blp.arguments(PreviewQuery(), **schemas.QUERY)
    @blp.response(200)
    @blp.alt_response(202, schema=schemas.TaskRef, description="not decided yet: poll the task")
    @blp.alt_response(400, schema=schemas.Problem, description="local,s3: a restore reads one repo")
    @blp.alt_response(502, schema=schemas.Problem, description="the preview failed (the task's error)")
    def get(self, query: dict, ns: str, name: str):
        """What a restore would use (backup set, recovery window) and why not, where not; nothing is done."""
        require("ShowBackup", ns)
        managed_namespace(ns)
        cluster = find_cluster(ns, name)
        repo = _repo(query["storage_type"], cluster)
        target = {"type": query["target_type"], "value": query["target"]}
        rt = runtime()
        rec = rt.tasks.create(TaskRecord(id=new_id(), kind="restore-preview", namespace=ns, cluster=name, params={
            "storage_type": repo, "target": target, "set": query["set"], "target_action": query["target_action"],
            "options": []}))
        enqueue(rec)
        rec = rt.tasks.wait_finished(rec.id, query["wait"])
        if rec.state == "SUCCESS":
            return {"cluster": name, "namespace": ns, "task_id": rec.id, **(rec.result or {})}
        if rec.is_terminal:
            raise ApiError(502, f"the preview failed: {(rec.error or {}).get('message', 'see the task')}",
                           details={"task_id": rec.id, "error": rec.error})
        return pending(rec)


@blp.route("/<string:task_id>/resume")
class Resume(MethodView):
    @blp.response(202, schemas.TaskRef)
    @blp.alt_response(409, schema=schemas.Problem, description="the restore did not leave the primary paused")
    def post(self, ns: str, name: str, task_id: str):
        """Resume WAL replay on a primary a restore left paused at its target (`pg_wal_replay_resume()`)."""
        require("Restore", ns)
        managed_namespace(ns)
        rt = runtime()
        restore = rt.tasks.find(task_id)
        if restore is None or restore.kind != "restore" or restore.namespace != ns or restore.cluster != name:
            raise ApiError(404, f"restore {task_id!r} of cluster {name!r} not found")
        if not (restore.result or {}).get("paused"):
            raise ApiError(409, f"restore {task_id!r} did not leave the primary paused")
        rec = rt.tasks.create(TaskRecord(id=new_id(), kind="resume", namespace=ns, cluster=name,
                                         params={"restore": task_id}))
        enqueue(rec)
        audit("resume", namespace=ns, cluster=name, task_id=rec.id, restore=task_id)
        return {"task_id": rec.id, "task": present.task(rec)}, 202, {"Location": present.location(rec.id)}
