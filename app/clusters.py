"""`/api/v1/namespaces/{ns}/clusters`: create a cluster (202, a task), list them, show one."""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields

from tasks.schedules.store import ScheduleStore
from tasks.state.clusters import DELETING, ClusterExists, ClusterRecord
from tasks.state.records import TaskRecord, new_id

from . import present, retention, schemas
from .apidoc import Blueprint
from .auth import audit, require
from .common import accepted, create_locked, managed_namespace, runtime
from .errors import ApiError

blp = Blueprint("clusters", __name__, url_prefix="/api/v1/namespaces/<string:ns>/clusters",
                description="PostgreSQL clusters with their pgBackRest repositories")

RETENTION_DOC = {"description": "per storage type (local, s3): full, full_type (count|time), diff, archive, "
                                "archive_type (full|diff|incr) — pgBackRest's repo-retention-*"}


class ClusterCreate(schemas.ClusterCreate):
    retention = fields.Dict(load_default=None, metadata=RETENTION_DOC)


class ClusterDeleteQuery(schemas.Query):
    keep_data = fields.Boolean(load_default=False, metadata={
        "description": "keep the PGDATA volumes (the current one and those earlier restores kept)"})
    keep_backups = fields.Boolean(load_default=True, metadata={
        "description": "keep the local repository volume (S3 backups are always kept)"})


class ClusterUpdate(schemas.Strict):
    retention = fields.Dict(required=True, metadata={**RETENTION_DOC, "description": RETENTION_DOC["description"] +
                                                     "; a repo given replaces its settings, null resets it"})


@blp.route("")
class Clusters(MethodView):
    @blp.response(200, schemas.ClusterList)
    def get(self, ns: str):
        """List the clusters of a namespace."""
        require("ShowBackup", ns)
        managed_namespace(ns)
        return {"items": [present.cluster(c) for c in runtime().clusters.list(ns)]}

    @blp.arguments(ClusterCreate())
    @blp.response(202, schemas.TaskRef)
    @blp.alt_response(409, schema=schemas.Problem, description="a cluster of that name exists")
    @blp.alt_response(422, schema=schemas.Problem, description="invalid name or storage type")
    def post(self, body: dict, ns: str):
        """Create a cluster: PVCs, the primary, its repo host, Services, TLS, then `stanza-create`."""
        require("CreateCluster", ns)
        managed_namespace(ns)
        rt = runtime()
        storage_type = body["pgbackrest_storage_type"] or rt.settings.storage.default_type
        parts = sorted(storage_type.split(","))
        if "s3" in parts and not rt.settings.s3.configured:
            raise ApiError(422, "S3 is not configured for this service (Cluster.BackrestS3Bucket in pgo.yaml)",
                           field="pgbackrest_storage_type")
        kept = retention.checked(body["retention"], parts) if body["retention"] is not None else {}
        task_id = new_id()
        try:
            rt.clusters.create(ClusterRecord(name=body["name"], namespace=ns, storage_types=parts, task_id=task_id,
                                             retention=kept))
        except ClusterExists:
            raise ApiError(409, f"cluster {body['name']!r} already exists in namespace {ns!r}", field="name",
                           reason="AlreadyExists") from None
        rec = rt.tasks.create(TaskRecord(id=task_id, kind="create-cluster", namespace=ns, cluster=body["name"],
                                         params={"storage_type": ",".join(parts),
                                                 **({"retention": kept} if kept else {})}))
        audit("create-cluster", namespace=ns, cluster=body["name"], task_id=task_id, storage_type=",".join(parts))
        return accepted(rec)


@blp.route("/<string:name>")
class ClusterView(MethodView):
    @blp.response(200, schemas.Cluster)
    @blp.alt_response(404, schema=schemas.Problem, description="no such cluster")
    def get(self, ns: str, name: str):
        """One cluster: storage type, status, the last backup per repo."""
        require("ShowBackup", ns)
        managed_namespace(ns)
        return present.cluster(find_cluster(ns, name))

    @blp.arguments(ClusterUpdate())
    @blp.response(202, schemas.TaskRef)
    @blp.alt_response(404, schema=schemas.Problem, description="no such cluster")
    @blp.alt_response(409, schema=schemas.Problem, description="the cluster is not ready, or busy")
    @blp.alt_response(422, schema=schemas.Problem, description="a retention setting pgBackRest would refuse")
    def patch(self, body: dict, ns: str, name: str):
        """Change retention: a task rewrites the repo host's pgbackrest.conf and restarts it (expire after each
        backup then follows the new settings); 409 while a backup or restore holds the cluster."""
        require("CreateCluster", ns)
        managed_namespace(ns)
        cluster = find_cluster(ns, name)
        kept = retention.checked(body["retention"], cluster.storage_types, base=cluster.retention)
        if cluster.status != "ready":
            raise ApiError(409, f"cluster {name!r} is {cluster.status}, its configuration cannot change now")
        rt = runtime()
        rec = create_locked(TaskRecord(id=new_id(), kind="update-cluster", namespace=ns, cluster=name,
                                       params={"retention": kept}))
        rt.clusters.update(ns, name, lambda c: (setattr(c, "retention", kept), setattr(c, "retention_task", rec.id)))
        audit("update-cluster", namespace=ns, cluster=name, task_id=rec.id, retention=kept)
        return accepted(rec)

    @blp.arguments(ClusterDeleteQuery(), **schemas.QUERY)
    @blp.response(202, schemas.TaskRef)
    @blp.alt_response(404, schema=schemas.Problem, description="no such cluster")
    @blp.alt_response(409, schema=schemas.Problem, description="a backup, restore or change of the cluster runs")
    def delete(self, query: dict, ns: str, name: str):
        """Delete the cluster (PGO v4's `pgo delete cluster`): its schedules at once, then, in a task, its
        Kubernetes objects and volumes — keeping the local repository unless `keep_backups=false` and the
        PGDATA volumes if `keep_data=true`; S3 backups are never deleted.  409 while a backup or restore runs."""
        require("DeleteCluster", ns)
        managed_namespace(ns)
        find_cluster(ns, name)
        rt = runtime()
        rec = create_locked(TaskRecord(id=new_id(), kind="delete-cluster", namespace=ns, cluster=name,
                                       params={"keep_data": query["keep_data"],
                                               "keep_backups": query["keep_backups"]}))
        rt.clusters.update(ns, name, lambda c: setattr(c, "status", DELETING))
        schedules = ScheduleStore(rt.redis).delete_for_cluster(ns, name)
        audit("delete-cluster", namespace=ns, cluster=name, task_id=rec.id, schedules=schedules, **query)
        return accepted(rec)


def find_cluster(ns: str, name: str) -> ClusterRecord:
    rec = runtime().clusters.find(ns, name)
    if rec is None:
        raise ApiError(404, f"cluster {name!r} not found in namespace {ns!r}")
    return rec

