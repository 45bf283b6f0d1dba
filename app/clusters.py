"""`/api/v1/namespaces/{ns}/clusters`: create a cluster (202, a task), list them, show one."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from tasks.state.clusters import ClusterExists, ClusterRecord
from tasks.state.records import TaskRecord, new_id

from . import present, schemas
from .auth import audit, require
from .common import accepted, managed_namespace, runtime
from .errors import ApiError

blp = Blueprint("clusters", __name__, url_prefix="/api/v1/namespaces/<string:ns>/clusters",
                description="PostgreSQL clusters with their pgBackRest repositories")


@blp.route("")
class Clusters(MethodView):
    @blp.response(200, schemas.ClusterList)
    def get(self, ns: str):
        """List the clusters of a namespace."""
        require("ShowBackup", ns)
        managed_namespace(ns)
        return {"items": [present.cluster(c) for c in runtime().clusters.list(ns)]}

    @blp.arguments(schemas.ClusterCreate)
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
        task_id = new_id()
        try:
            rt.clusters.create(ClusterRecord(name=body["name"], namespace=ns, storage_types=parts, task_id=task_id))
        except ClusterExists:
            raise ApiError(409, f"cluster {body['name']!r} already exists in namespace {ns!r}", field="name",
                           reason="AlreadyExists") from None
        rec = rt.tasks.create(TaskRecord(id=task_id, kind="create-cluster", namespace=ns, cluster=body["name"],
                                         params={"storage_type": ",".join(parts)}))
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


def find_cluster(ns: str, name: str) -> ClusterRecord:
    rec = runtime().clusters.find(ns, name)
    if rec is None:
        raise ApiError(404, f"cluster {name!r} not found in namespace {ns!r}")
    return rec

