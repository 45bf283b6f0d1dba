"""`/api/v1/namespaces/{ns}/clusters/{name}/backups`: submit a backup (202), read the catalogue."""
from __future__ import annotations

from flask.views import MethodView

from tasks.pgbackrest import commands
from tasks.pgbackrest.options import OptionError, normalize
from tasks.pgbackrest.targets import effective_backup_type
from tasks.state.clusters import READY
from tasks.state.records import SUCCESS, TaskRecord, new_id

from . import schemas
from .apidoc import Blueprint
from .auth import audit, require
from .clusters import find_cluster
from .common import accepted, create_locked, enqueue, managed_namespace, pending, runtime
from .errors import ApiError

blp = Blueprint("backups", __name__, url_prefix="/api/v1/namespaces/<string:ns>/clusters/<string:name>/backups",
                description="pgBackRest backups and the backup catalogue (`info`)")


def _repos(requested: str | None, cluster_types: list[str], field: str) -> list[str]:
    wanted = sorted((requested or ",".join(cluster_types)).split(","))
    missing = [t for t in wanted if t not in cluster_types]
    if missing:
        raise ApiError(422, f"storage type {','.join(missing)} is not one of the cluster's "
                            f"({','.join(cluster_types)})", field=field)
    return wanted


def checked_backup_argv(repo: str, type_: str, options: list[str]) -> list[str]:
    """The backup argv, or 422 naming the first refused option (each alone first, then together)."""
    for index, option in enumerate(options):
        try:
            normalize("backup", [option])
        except OptionError as exc:
            raise ApiError(422, str(exc), field=f"options[{index}]") from None
    try:
        return commands.backup(commands.STORAGE_REPOS[repo], type_, options)
    except OptionError as exc:
        raise ApiError(422, str(exc), field="options") from None


@blp.route("")
class Backups(MethodView):
    @blp.arguments(schemas.BackupCreate())
    @blp.response(202, schemas.TaskRef)
    @blp.alt_response(409, schema=schemas.Problem, description="a backup or restore of the cluster is running, or "
                                                                "the cluster is not ready")
    @blp.alt_response(422, schema=schemas.Problem, description="an option, type or storage type is not allowed")
    def post(self, body: dict, ns: str, name: str):
        """Back up to one repo or both (`local,s3`: one backup in each, one after the other)."""
        require("CreateBackup", ns)
        managed_namespace(ns)
        cluster = find_cluster(ns, name)
        repos = _repos(body["storage_type"], cluster.storage_types, "storage_type")
        if cluster.status != READY:
            raise ApiError(409, f"cluster {name!r} is {cluster.status}, not ready for backups")
        argv = checked_backup_argv(repos[0], body["type"], body["options"])
        user_options = [a for a in argv if a.startswith("--") and not a.startswith(("--config=", "--stanza=",
                                                                                    "--repo="))]
        backup_type = effective_backup_type(body["options"], body["type"])
        rec = TaskRecord(id=new_id(), kind="backup", namespace=ns, cluster=name,
                         params={"type": backup_type, "repos": repos, "options": list(body["options"]),
                                 "effective_options": user_options, "cluster_storage_type": cluster.storage_type})
        create_locked(rec)
        audit("backup", namespace=ns, cluster=name, task_id=rec.id, type=backup_type, repos=repos)
        return accepted(rec)

    @blp.arguments(schemas.BackupQuery(), **schemas.QUERY)
    @blp.response(200, schemas.Catalogue)
    @blp.alt_response(202, schema=schemas.TaskRef, description="the catalogue is not ready yet: poll the task")
    @blp.alt_response(409, schema=schemas.Problem, description="the cluster is not ready")
    @blp.alt_response(502, schema=schemas.Problem, description="`pgbackrest info` failed (the task's error)")
    def get(self, query: dict, ns: str, name: str):
        """The backup catalogue (`pgbackrest info`), per repo; `format=text` for pgBackRest's own text."""
        require("ShowBackup", ns)
        managed_namespace(ns)
        cluster = find_cluster(ns, name)
        repos = _repos(query["storage_type"], cluster.storage_types, "storage_type")
        if cluster.status != READY:
            raise ApiError(409, f"cluster {name!r} is {cluster.status}, its repositories are not ready")
        rt = runtime()
        rec = rt.tasks.create(TaskRecord(id=new_id(), kind="info", namespace=ns, cluster=name,
                                         params={"repos": repos, "format": query["format"]}))
        enqueue(rec)
        rec = rt.tasks.wait_finished(rec.id, query["wait"])
        if rec.state == SUCCESS:
            return {"cluster": name, "namespace": ns, "task_id": rec.id, **(rec.result or {})}
        if rec.is_terminal:
            raise ApiError(502, f"pgbackrest info failed: {(rec.error or {}).get('message', 'see the task')}",
                           details={"task_id": rec.id, "error": rec.error})
        return pending(rec)
