"""The Kubernetes objects of one PostgreSQL cluster (DESIGN.md "Per-cluster topology"), as pure data.

Functions here build manifests and do no I/O; the same input gives the same
output.  Network: every process listens on its pod IP (env `POD_IP` from the
downward API), never on 0.0.0.0 — valid on a real cluster, and required on
kubesim, where pods share the host's network stack.  The PostgreSQL socket
lives in an emptyDir shared by the `database` and `pgbackrest` containers.
"""
from __future__ import annotations

import base64
import json
import shlex
from dataclasses import dataclass, field

MANAGED_BY = {"app.kubernetes.io/managed-by": "backrest-queue"}
L_CLUSTER = "brq.io/cluster"
L_ROLE = "brq.io/role"
L_TASK = "brq.io/task"
L_REPO = "brq.io/repo"
L_KIND = "brq.io/kind"
A_STORAGE = "brq.io/storage-type"
A_PROGRESS = "brq.io/progress"   # on a backup Job: {"percent": …}, written by its job-runner
A_OUTCOME = "brq.io/outcome"     # on a backup Job that succeeded: {"exit_code": 0, "label", "retries"} (job-runner)

PGDATA_MOUNT = "/pgdata"
SOCKET_DIR = "/pgsock"
REPO_MOUNT = "/pgbackrest/repo1"
CONF_DIR = "/etc/pgbackrest"
CERT_DIR = "/pgbackrest/certs"  # not under CONF_DIR: a mount inside a read-only volume fails on real nodes
PGBACKREST_PORT = 8432
JOB_RUNNER_SA = "brq-job-runner"


@dataclass(frozen=True)
class ClusterSpec:
    """Everything the manifests of one cluster depend on."""

    name: str
    namespace: str
    storage_types: tuple[str, ...]            # ("local",), ("s3",) or ("local", "s3")
    pg_image: str = "postgres:15"
    pgbackrest_image: str = "pgbackrest:2.45"
    pg_uid: int = 26
    pg_gid: int = 26
    data_size: str = "1Gi"
    repo_size: str = "5Gi"
    s3_secret: str | None = None              # name of the Secret with the S3 key (when s3 is a storage type)
    node_selector: dict[str, str] = field(default_factory=dict)

    @property
    def repo_host(self) -> str:
        return f"{self.name}-backrest-shared-repo"

    @property
    def pgdata(self) -> str:
        return f"{PGDATA_MOUNT}/{self.name}"

    @property
    def labels(self) -> dict[str, str]:
        return {**MANAGED_BY, L_CLUSTER: self.name}

    @property
    def certs_secret(self) -> str:
        return f"{self.name}-pgbackrest-certs"

    @property
    def config_map(self) -> str:
        return f"{self.name}-pgbackrest-config"


def _meta(spec: ClusterSpec, name: str, role: str | None = None, **extra) -> dict:
    labels = dict(spec.labels)
    if role:
        labels[L_ROLE] = role
    md = {"name": name, "namespace": spec.namespace, "labels": labels,
          "annotations": {A_STORAGE: ",".join(spec.storage_types)}}
    md.update(extra)
    return md


def _env_pod_ip() -> list[dict]:
    return [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "PGBACKREST_TLS_SERVER_ADDRESS", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]


def _s3_env(spec: ClusterSpec) -> list[dict]:
    if "s3" not in spec.storage_types or not spec.s3_secret:
        return []
    return [{"name": "PGBACKREST_REPO2_S3_KEY", "valueFrom": {"secretKeyRef": {"name": spec.s3_secret,
                                                                                "key": "key"}}},
            {"name": "PGBACKREST_REPO2_S3_KEY_SECRET", "valueFrom": {"secretKeyRef": {"name": spec.s3_secret,
                                                                                       "key": "key-secret"}}}]


def _security(spec: ClusterSpec) -> dict:
    return {"runAsUser": spec.pg_uid, "runAsGroup": spec.pg_gid, "fsGroup": spec.pg_gid}


def _config_volumes(spec: ClusterSpec, conf_key: str, cert_items: list[tuple[str, str]]) -> list[dict]:
    return [
        {"name": "pgbackrest-config", "configMap": {"name": spec.config_map, "items": [
            {"key": conf_key, "path": "pgbackrest.conf"}]}},
        {"name": "pgbackrest-certs", "secret": {"secretName": spec.certs_secret, "defaultMode": 0o600,
                                                "items": [{"key": k, "path": p} for k, p in cert_items]}},
    ]


def _config_mounts() -> list[dict]:
    return [{"name": "pgbackrest-config", "mountPath": CONF_DIR, "readOnly": True},
            {"name": "pgbackrest-certs", "mountPath": CERT_DIR, "readOnly": True}]


def certs_secret(spec: ClusterSpec, pems: dict[str, str]) -> dict:
    """The per-cluster TLS material (CA, primary and repo-host certificates and keys)."""
    return {"apiVersion": "v1", "kind": "Secret", "metadata": _meta(spec, spec.certs_secret), "type": "Opaque",
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in sorted(pems.items())}}


def s3_secret(spec: ClusterSpec, name: str, key: str, key_secret: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": _meta(spec, name), "type": "Opaque",
            "data": {"key": base64.b64encode(key.encode()).decode(),
                     "key-secret": base64.b64encode(key_secret.encode()).decode()}}


def config_map(spec: ClusterSpec, confs: dict[str, str]) -> dict:
    """`primary.conf`, `repo.conf`, … : the pgbackrest.conf of each pod kind."""
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(spec, spec.config_map),
            "data": dict(sorted(confs.items()))}


def pvc(spec: ClusterSpec, name: str, size: str) -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": _meta(spec, name),
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}}


def services(spec: ClusterSpec) -> list[dict]:
    return [
        {"apiVersion": "v1", "kind": "Service", "metadata": _meta(spec, spec.name, "primary"),
         "spec": {"selector": {L_CLUSTER: spec.name, L_ROLE: "primary"},
                  "ports": [{"name": "postgres", "port": 5432}, {"name": "pgbackrest", "port": PGBACKREST_PORT}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": _meta(spec, spec.repo_host, "repo-host"),
         "spec": {"selector": {L_CLUSTER: spec.name, L_ROLE: "repo-host"},
                  "ports": [{"name": "pgbackrest", "port": PGBACKREST_PORT}]}},
    ]


def primary_deployment(spec: ClusterSpec, *, pgdata_claim: str | None = None,
                       annotations: dict[str, str] | None = None) -> dict:
    """PostgreSQL with archive-push to the repo host, and a `pgbackrest server` beside it for backups."""
    claim = pgdata_claim or spec.name
    start = (
        "set -e\n"
        f'if [ ! -s "{spec.pgdata}/PG_VERSION" ]; then\n'
        f'  initdb -D "{spec.pgdata}" -U postgres --auth-local=trust --auth-host=scram-sha-256 '
        "--locale=C.UTF-8 --encoding=UTF8 >/dev/null\n"
        "fi\n"
        f'exec postgres -D "{spec.pgdata}" -c listen_addresses="$POD_IP" -c unix_socket_directories={SOCKET_DIR} '
        "-c wal_level=replica -c archive_mode=on -c archive_timeout=60 "
        f"-c archive_command='pgbackrest --config={CONF_DIR}/pgbackrest.conf --stanza=db archive-push %p' "
        "-c max_wal_senders=4"
    )
    volumes = [{"name": "pgdata", "persistentVolumeClaim": {"claimName": claim}},
               {"name": "sockets", "emptyDir": {}}] + \
        _config_volumes(spec, "primary.conf", [("ca.crt", "ca.crt"), ("primary.crt", "server.crt"),
                                                ("primary.key", "server.key")])
    mounts = [{"name": "pgdata", "mountPath": PGDATA_MOUNT}, {"name": "sockets", "mountPath": SOCKET_DIR}] + \
        _config_mounts()
    pod_labels = {**spec.labels, L_ROLE: "primary"}
    meta = _meta(spec, spec.name, "primary")
    meta["annotations"].update(annotations or {})
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
        "spec": {
            "replicas": 1, "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": {L_CLUSTER: spec.name, L_ROLE: "primary"}},
            "template": {"metadata": {"labels": pod_labels}, "spec": {
                "securityContext": _security(spec),
                **({"nodeSelector": dict(spec.node_selector)} if spec.node_selector else {}),
                "containers": [
                    {"name": "database", "image": spec.pg_image, "command": ["sh", "-c", start],
                     "env": _env_pod_ip()[:1] + [{"name": "PGHOST", "value": SOCKET_DIR},
                                                  {"name": "PGUSER", "value": "postgres"}],
                     "ports": [{"name": "postgres", "containerPort": 5432}],
                     "readinessProbe": {"exec": {"command": ["pg_isready", "-h", SOCKET_DIR, "-U", "postgres"]},
                                        "periodSeconds": 1, "failureThreshold": 3},
                     "volumeMounts": mounts},
                    {"name": "pgbackrest", "image": spec.pgbackrest_image,
                     "command": ["pgbackrest", f"--config={CONF_DIR}/pgbackrest.conf", "server"],
                     "env": _env_pod_ip() + _s3_env(spec),
                     "ports": [{"name": "pgbackrest", "containerPort": PGBACKREST_PORT}],
                     "readinessProbe": {"tcpSocket": {"port": PGBACKREST_PORT}, "periodSeconds": 1},
                     "volumeMounts": mounts},
                ],
                "volumes": volumes}},
        },
    }


def repo_host_deployment(spec: ClusterSpec) -> dict:
    """`pgbackrest server` holding repo1 (posix, on its PVC) and/or reaching repo2 (S3)."""
    cert_items = [("ca.crt", "ca.crt"), ("repo.crt", "server.crt"), ("repo.key", "server.key")]
    if "s3" in spec.storage_types:
        cert_items.append(("s3-ca.crt", "s3-ca.crt"))
    volumes = _config_volumes(spec, "repo.conf", cert_items)
    mounts = _config_mounts()
    if "local" in spec.storage_types:
        volumes.append({"name": "repo1", "persistentVolumeClaim": {"claimName": f"{spec.name}-pgbr-repo"}})
        mounts.append({"name": "repo1", "mountPath": REPO_MOUNT})
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(spec, spec.repo_host, "repo-host"),
        "spec": {
            "replicas": 1, "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": {L_CLUSTER: spec.name, L_ROLE: "repo-host"}},
            "template": {"metadata": {"labels": {**spec.labels, L_ROLE: "repo-host"}}, "spec": {
                "securityContext": _security(spec),
                **({"nodeSelector": dict(spec.node_selector)} if spec.node_selector else {}),
                "containers": [{
                    "name": "pgbackrest", "image": spec.pgbackrest_image,
                    "command": ["pgbackrest", f"--config={CONF_DIR}/pgbackrest.conf", "server"],
                    "env": _env_pod_ip() + _s3_env(spec),
                    "ports": [{"name": "pgbackrest", "containerPort": PGBACKREST_PORT}],
                    "readinessProbe": {"tcpSocket": {"port": PGBACKREST_PORT}, "periodSeconds": 1},
                    "volumeMounts": mounts}],
                "volumes": volumes}},
        },
    }


def job_runner_account(spec: ClusterSpec) -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": JOB_RUNNER_SA, "namespace": spec.namespace, "labels": dict(MANAGED_BY)}}


def cluster_objects(spec: ClusterSpec, *, confs: dict[str, str], pems: dict[str, str],
                    s3_credentials: tuple[str, str] | None) -> list[dict]:
    """Every object of the cluster, in creation order (what pods need exists before the pods)."""
    objs = [job_runner_account(spec), certs_secret(spec, pems), config_map(spec, confs)]
    if s3_credentials is not None and spec.s3_secret:
        objs.append(s3_secret(spec, spec.s3_secret, *s3_credentials))
    objs.append(pvc(spec, spec.name, spec.data_size))
    if "local" in spec.storage_types:
        objs.append(pvc(spec, f"{spec.name}-pgbr-repo", spec.repo_size))
    objs += services(spec)
    objs.append(repo_host_deployment(spec))
    objs.append(primary_deployment(spec))
    return objs


def backup_job(spec: ClusterSpec, *, name: str, task_id: str, repo: int, argv: list[str], image: str,
               deadline_seconds: int, runner_command: list[str], progress_argv: list[str] | None = None) -> dict:
    """The Job that runs one backup to one repo: the job-runner execs `argv` in the repo host."""
    labels = {**spec.labels, L_TASK: task_id, L_REPO: str(repo), L_KIND: "backup"}
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": spec.namespace, "labels": labels,
                     "annotations": {A_STORAGE: ",".join(spec.storage_types)}},
        "spec": {
            "backoffLimit": 0, "activeDeadlineSeconds": deadline_seconds, "ttlSecondsAfterFinished": 86400,
            "template": {"metadata": {"labels": labels}, "spec": {
                "restartPolicy": "Never", "serviceAccountName": JOB_RUNNER_SA,
                "containers": [{
                    "name": "job-runner", "image": image,
                    "command": [*runner_command, "exec", "--namespace", spec.namespace,
                                "--selector", f"{L_CLUSTER}={spec.name},{L_ROLE}=repo-host",
                                "--container", "pgbackrest",
                                *(["--progress-argv", json.dumps(progress_argv)] if progress_argv else []),
                                "--", *argv],
                    "env": [{"name": "BRQ_JOB_NAME", "value": name}],
                }]}},
        },
    }


def restore_job(spec: ClusterSpec, *, name: str, task_id: str, claim: str, repo: int, argv: list[str],
                deadline_seconds: int, node_selector: dict[str, str] | None = None) -> dict:
    """The Job that runs `pgbackrest restore` into the new PGDATA volume, holding the primary's certificate."""
    labels = {**spec.labels, L_TASK: task_id, L_REPO: str(repo), L_KIND: "restore"}
    script = f'mkdir -p -m 0700 "{spec.pgdata}" && exec ' + shlex.join(argv)
    volumes = [{"name": "pgdata", "persistentVolumeClaim": {"claimName": claim}}] + _config_volumes(
        spec, f"restore-{repo}.conf", [("ca.crt", "ca.crt"), ("primary.crt", "server.crt"), ("primary.key", "server.key")])
    pod_spec = {
        "restartPolicy": "Never", "securityContext": _security(spec),
        "containers": [{"name": "restore", "image": spec.pgbackrest_image, "command": ["sh", "-c", script],
                        "volumeMounts": [{"name": "pgdata", "mountPath": PGDATA_MOUNT}] + _config_mounts()}],
        "volumes": volumes}
    if node_selector:
        pod_spec["nodeSelector"] = dict(node_selector)
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": spec.namespace, "labels": labels,
                         "annotations": {A_STORAGE: ",".join(spec.storage_types)}},
            "spec": {"backoffLimit": 0, "activeDeadlineSeconds": deadline_seconds, "ttlSecondsAfterFinished": 86400,
                     "template": {"metadata": {"labels": labels}, "spec": pod_spec}}}
