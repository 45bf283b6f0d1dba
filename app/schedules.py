"""`/api/v1/namespaces/{ns}/schedules`: cron schedules of backups, changed at run time (beat sees it next tick).

POST 201 (409 a name taken, 404 an unknown cluster, 422 a bad cron, zone, type, storage type or option —
each naming its field; nothing is written then), GET list (`?cluster=`), GET one (next run, last run, last
task and its state, the last runs with task ids and skips with reasons), PATCH (schedule, timezone,
backup_type, storage_type, options, paused: a new cron or a resume counts from now; anything else keeps
the next run), DELETE 204.  Roles: CreateSchedule (POST, PATCH), ShowSchedule, DeleteSchedule.
"""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields, validate, validates

from tasks.pgbackrest.options import OptionError
from tasks.pgbackrest.targets import effective_backup_type
from tasks.schedules.cron import CronError, parse, zone
from tasks.schedules.store import Schedule, ScheduleExists, ScheduleStore, UnknownSchedule
from tasks.state import keys
from tasks.state.records import TaskRecord

from . import schemas
from .apidoc import Blueprint
from .auth import audit, require
from .backups import checked_backup_argv
from .common import managed_namespace, runtime
from .errors import ApiError
from .present import iso

blp = Blueprint("schedules", __name__, url_prefix="/api/v1/namespaces/<string:ns>/schedules",
                description="Backup schedules (cron, 5 fields or 6 with seconds), fired by Celery beat (RedBeat)")

BACKUP_TYPES = ("full", "diff", "incr")
MAX_NAME = 63
LAST_TASK_WITHIN = 20  # slots looked through for the last task started


def _cron(value: str) -> None:
    try:
        parse(value)
    except CronError as exc:
        raise ValidationError(str(exc)) from None


def _zone(value: str) -> None:
    try:
        zone(value)
    except CronError as exc:
        raise ValidationError(str(exc)) from None


def _options_field() -> fields.List:
    return fields.List(fields.String(validate=validate.Length(max=256)), validate=validate.Length(
        max=schemas.MAX_OPTIONS), metadata={"description": "pgBackRest backup options from the allowlist"})


class ScheduleCreate(schemas.Strict):
    name = fields.String(required=True, metadata={"description": "DNS label, at most 63 characters"})
    cluster = fields.String(required=True)
    schedule = fields.String(required=True, validate=_cron, metadata={
        "description": "cron: 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first"})
    timezone = fields.String(load_default="UTC", validate=_zone, metadata={"description": "IANA time zone"})
    backup_type = fields.String(required=True, validate=validate.OneOf(BACKUP_TYPES))
    storage_type = fields.String(load_default="local", metadata={"description": "local, s3 or local,s3"})
    options = _options_field()
    paused = schemas.JsonBoolean(load_default=False)

    @validates("name")
    def _name(self, value: str, **_) -> None:
        if len(value) > MAX_NAME or not schemas.DNS_LABEL.match(value):
            raise ValidationError(f"must be a DNS label of at most {MAX_NAME} characters: lower-case letters, "
                                  "digits and '-', starting with a letter")

    @validates("storage_type")
    def _storage(self, value: str, **_) -> None:
        schemas._storage_type(value)


class ScheduleUpdate(schemas.Strict):
    schedule = fields.String(validate=_cron)
    timezone = fields.String(validate=_zone)
    backup_type = fields.String(validate=validate.OneOf(BACKUP_TYPES))
    storage_type = fields.String()
    options = _options_field()
    paused = schemas.JsonBoolean()

    @validates("storage_type")
    def _storage(self, value: str, **_) -> None:
        schemas._storage_type(value)


class ScheduleQuery(schemas.Query):
    cluster = fields.String(load_default=None)


class ScheduleShowQuery(schemas.Query):
    runs = fields.Integer(load_default=20, validate=validate.Range(min=0, max=200),
                          metadata={"description": "how many of the last recorded slots to show"})


class ScheduleOut(Schema):
    name = fields.String()
    namespace = fields.String()
    cluster = fields.String()
    schedule = fields.String()
    timezone = fields.String()
    backup_type = fields.String()
    storage_type = fields.String()
    options = fields.List(fields.String())
    paused = fields.Boolean()
    created = fields.String()
    updated = fields.String(allow_none=True)
    next_run = fields.String(allow_none=True)
    last_run = fields.Dict(allow_none=True, metadata={"description": "the newest slot recorded: run or skipped"})
    last_task = fields.Dict(allow_none=True, metadata={"description": "the newest backup it started, and its state"})
    counts = fields.Dict(metadata={"description": "runs, skipped, and skipped per reason"})
    runs = fields.List(fields.Dict(), metadata={"description": "the last slots, newest first (GET one only)"})


class ScheduleList(Schema):
    items = fields.List(fields.Nested(ScheduleOut))


def store() -> ScheduleStore:
    return ScheduleStore(runtime().redis)


def _find(ns: str, name: str) -> Schedule:
    s = store().find(ns, name)
    if s is None:
        raise ApiError(404, f"schedule {name!r} not found in namespace {ns!r}")
    return s


def _check_against_cluster(ns: str, cluster_name: str, storage_type: str, backup_type: str, options: list[str],
                           *, must_exist: bool) -> str:
    """The storage type normalized; 404 for an unknown cluster, 422 naming the field otherwise."""
    cluster = runtime().clusters.find(ns, cluster_name)
    if cluster is None:
        if must_exist:
            raise ApiError(404, f"cluster {cluster_name!r} not found in namespace {ns!r}", field="cluster")
        repos = sorted(storage_type.split(","))
    else:
        if must_exist and cluster.status == "deleting":
            raise ApiError(409, f"cluster {cluster_name!r} is being deleted", field="cluster")
        repos = sorted(storage_type.split(","))
        missing = [r for r in repos if r not in cluster.storage_types]
        if missing:
            raise ApiError(422, f"storage type {','.join(missing)} is not one of the cluster's "
                                f"({cluster.storage_type})", field="storage_type")
    checked_backup_argv(repos[0], backup_type, options)
    try:
        effective_backup_type(options, backup_type)
    except OptionError as exc:
        raise ApiError(422, str(exc), field="options") from None
    return ",".join(repos)


def _tasks(task_ids: list[str]) -> dict[str, TaskRecord]:
    ids = [t for t in dict.fromkeys(task_ids) if t]
    if not ids:
        return {}
    raws = runtime().redis.mget([keys.task(t) for t in ids])
    return {t: TaskRecord.from_json(raw) for t, raw in zip(ids, raws) if raw is not None}


def _slot(entry: dict, recs: dict[str, TaskRecord]) -> dict:
    rec = recs.get(entry.get("task_id") or "")
    return {"slot": iso(entry["slot"]), "outcome": entry["outcome"], "task_id": entry.get("task_id"),
            "state": rec.state if rec else None, "reason": entry.get("reason"), "message": entry.get("message"),
            "recorded": iso(entry.get("recorded"))}


def present(schedules: list[Schedule], *, runs: int | None = None) -> list[dict]:
    """Schedules as the API shows them; `runs`: also that many of the last slots (GET one)."""
    st = store()
    lasts, counts = st.last_runs(schedules), st.counts(schedules)
    histories = [st.history(s, max(runs or 0, LAST_TASK_WITHIN)) for s in schedules]
    recs = _tasks([e.get("task_id") for h in histories for e in h])
    out = []
    for s, last, count, history in zip(schedules, lasts, counts, histories):
        nxt = st.next_run(s, last) if last else None
        task = recs.get(next((e["task_id"] for e in history if e.get("task_id")), None) or "")
        body = {"name": s.name, "namespace": s.namespace, "cluster": s.cluster, "schedule": s.cron,
                "timezone": s.timezone, "backup_type": s.backup_type, "storage_type": s.storage_type,
                "options": list(s.options), "paused": s.paused, "created": iso(s.created), "updated": iso(s.updated),
                "next_run": iso(nxt.timestamp()) if nxt else None,
                "last_run": _slot(history[0], recs) if history else None,
                "last_task": {"id": task.id, "state": task.state, "phase": task.phase, "created": iso(task.created),
                              "finished": iso(task.finished), "error": task.error} if task else None,
                "counts": {"runs": count.get("runs", 0), "skipped": count.get("skipped", 0),
                           "skipped_by_reason": {k.split(":", 1)[1]: v for k, v in sorted(count.items())
                                                 if k.startswith("skipped:")}}}
        if runs is not None:
            body["runs"] = [_slot(e, recs) for e in history[:runs]]
        out.append(body)
    return out


@blp.route("")
class Schedules(MethodView):
    @blp.arguments(ScheduleQuery(), **schemas.QUERY)
    @blp.response(200, ScheduleList)
    def get(self, query: dict, ns: str):
        """The namespace's schedules (`?cluster=` for one cluster's), by name."""
        require("ShowSchedule", ns)
        managed_namespace(ns)
        return {"items": present(store().list(ns, cluster=query["cluster"]))}

    @blp.arguments(ScheduleCreate())
    @blp.response(201, ScheduleOut)
    @blp.alt_response(404, schema=schemas.Problem, description="no such cluster")
    @blp.alt_response(409, schema=schemas.Problem, description="a schedule of that name exists, or the cluster "
                                                                "is being deleted")
    @blp.alt_response(422, schema=schemas.Problem, description="bad cron, time zone, type, storage type or option")
    def post(self, body: dict, ns: str):
        """Create a schedule; beat fires its first slot after now, without a restart."""
        require("CreateSchedule", ns)
        managed_namespace(ns)
        options = list(body.get("options") or [])
        storage_type = _check_against_cluster(ns, body["cluster"], body["storage_type"], body["backup_type"],
                                              options, must_exist=True)
        s = Schedule(name=body["name"], namespace=ns, cluster=body["cluster"], cron=parse(body["schedule"]).expression,
                     timezone=body["timezone"], backup_type=body["backup_type"], storage_type=storage_type,
                     options=options, paused=body["paused"])
        try:
            store().create(s)
        except ScheduleExists:
            raise ApiError(409, f"schedule {s.name!r} already exists in namespace {ns!r}", field="name",
                           reason="AlreadyExists") from None
        audit("create-schedule", namespace=ns, cluster=s.cluster, schedule=s.name, cron=s.cron,
              backup_type=s.backup_type, storage_type=s.storage_type)
        return present([s])[0], 201, {"Location": f"/api/v1/namespaces/{ns}/schedules/{s.name}"}


@blp.route("/<string:name>")
class ScheduleView(MethodView):
    @blp.arguments(ScheduleShowQuery(), **schemas.QUERY)
    @blp.response(200, ScheduleOut)
    @blp.alt_response(404, schema=schemas.Problem, description="no such schedule")
    def get(self, query: dict, ns: str, name: str):
        """One schedule: next run, last run, last task and its state, the last slots (runs and skips)."""
        require("ShowSchedule", ns)
        managed_namespace(ns)
        return present([_find(ns, name)], runs=query["runs"])[0]

    @blp.arguments(ScheduleUpdate())
    @blp.response(200, ScheduleOut)
    @blp.alt_response(404, schema=schemas.Problem, description="no such schedule")
    @blp.alt_response(422, schema=schemas.Problem, description="bad cron, time zone, type, storage type or option")
    def patch(self, body: dict, ns: str, name: str):
        """Change cron, zone, type, repos, options or pause; beat sees it on its next tick."""
        require("CreateSchedule", ns)
        managed_namespace(ns)
        current = _find(ns, name)
        merged = {"storage_type": current.storage_type, "backup_type": current.backup_type,
                  "options": list(current.options), **body}
        storage_type = _check_against_cluster(ns, current.cluster, merged["storage_type"], merged["backup_type"],
                                              list(merged["options"]), must_exist=False)

        def change(s: Schedule) -> None:
            if "schedule" in body:
                s.cron = parse(body["schedule"]).expression
            for key in ("timezone", "backup_type", "options", "paused"):
                if key in body:
                    setattr(s, key, list(body[key]) if key == "options" else body[key])
            s.storage_type = storage_type
        try:
            s = store().update(ns, name, change)
        except UnknownSchedule:
            raise ApiError(404, f"schedule {name!r} not found in namespace {ns!r}") from None
        audit("update-schedule", namespace=ns, cluster=s.cluster, schedule=name, changed=sorted(body))
        return present([s])[0]

    @blp.response(204)
    @blp.alt_response(404, schema=schemas.Problem, description="no such schedule")
    def delete(self, ns: str, name: str):
        """Delete a schedule and its history; a slot beat already sent is dropped by the worker."""
        require("DeleteSchedule", ns)
        managed_namespace(ns)
        s = _find(ns, name)
        if not store().delete(ns, name):
            raise ApiError(404, f"schedule {name!r} not found in namespace {ns!r}")
        audit("delete-schedule", namespace=ns, cluster=s.cluster, schedule=name)
        return None

