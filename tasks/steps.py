"""The Celery tasks: each advances one task by one step and ends. Thin, like views.

`brq.advance(task_id)` reads the record and does the next thing its kind
needs; every step is idempotent (deterministic object names, create-or-get,
steps recorded in the record), so a redelivered message (a worker killed
mid-step) does the step again harmlessly or finds it done.  Waiting is never
done by sleeping in a task: a step that must wait re-enqueues itself with a
countdown, and Job completions arrive through the watcher.  While a step runs its
worker marks the task alive (`keys.task_alive`), so the watcher re-sends only a task
whose message was really lost (a worker killed: the message stays unacknowledged
until the broker's visibility timeout), never one a worker still holds.  Failpoints
(tasks/failpoints.py) let tests kill the worker between any two effects of a step.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from typing import Any

from kubernetes_asyncio import client

from . import certs, failpoints, logs, topology
from .celery_app import app
from .kube import errors as kerrors
from .kube import execing, objects
from .pgbackrest import commands, config as pbconfig, errors as pberrors, info as pbinfo
from .pgbackrest.commands import storage_type_of
from .runtime import Runtime, get_runtime
from .state import keys
from .state.clusters import FAILED, READY
from .state.records import FAILURE, PENDING, REVOKED, RUNNING, SUCCESS, TaskRecord

log = logging.getLogger("brq.steps")

READY_TIMEOUT = 300.0       # seconds a new cluster may take to become ready
POLL = 1.0                  # seconds between looks at something not ready yet
RUNNER = ["python", "-m", "tasks.jobrunner"]


# -- shared helpers ---------------------------------------------------------------------------------

def cluster_spec(rt: Runtime, namespace: str, name: str, storage_type: str) -> topology.ClusterSpec:
    s = rt.settings
    return topology.ClusterSpec(
        name=name, namespace=namespace, storage_types=commands.storage_types(storage_type),
        pg_image=s.images.postgresql, pgbackrest_image=s.images.pgbackrest, pg_uid=s.pods.postgres_uid,
        pg_gid=s.pods.postgres_gid, data_size=s.storage.primary.size, repo_size=s.storage.repo.size,
        s3_secret=f"{name}-pgbackrest-s3" if "s3" in storage_type else None)


def pgbackrest_config(rt: Runtime, namespace: str, name: str, storage_type: str,
                      retention: dict | None = None) -> pbconfig.ClusterConfig:
    s3 = None
    if "s3" in storage_type:
        st = rt.settings.s3
        s3 = pbconfig.S3Repo(bucket=st.bucket, endpoint=st.endpoint, region=st.region, port=st.port,
                             uri_style=st.uri_style, verify_tls=st.verify_tls,
                             ca_file=f"{topology.CERT_DIR}/s3-ca.crt" if st.ca_pem else None)
    return pbconfig.ClusterConfig(name=name, namespace=namespace, storage_type=storage_type, s3=s3,
                                  pg_path=f"{topology.PGDATA_MOUNT}/{name}", pg_socket_path=topology.SOCKET_DIR,
                                  repo1_path=topology.REPO_MOUNT, tls_dir=topology.CERT_DIR,
                                  retention=pbconfig.retention_by_repo(retention))


def repo_host_selector(name: str) -> str:
    return f"{topology.L_CLUSTER}={name},{topology.L_ROLE}=repo-host"


async def ready_pod(api: client.ApiClient, namespace: str, selector: str) -> str | None:
    pods = (await objects.list_(api, kind="Pod", namespace=namespace, labels=selector))["items"]
    ready = sorted(p["metadata"]["name"] for p in pods if _pod_ready(p))
    return ready[0] if ready else None


def _pod_ready(pod: dict) -> bool:
    st = pod.get("status") or {}
    return st.get("phase") == "Running" and not pod["metadata"].get("deletionTimestamp") and any(
        c["type"] == "Ready" and c["status"] == "True" for c in st.get("conditions") or [])


async def exec_in_repo_host(rt: Runtime, api: client.ApiClient, rec: TaskRecord, argv: list[str],
                            timeout: float = 120.0) -> execing.ExecResult:
    pod = await ready_pod(api, rec.namespace, repo_host_selector(rec.cluster))
    if pod is None:
        raise kerrors.Unavailable(f"no ready repo host for cluster {rec.namespace}/{rec.cluster}")
    return await execing.exec_in_pod(await rt.kube_configuration(), namespace=rec.namespace, pod=pod,
                                     container="pgbackrest", command=argv, timeout=timeout)


def _set(**fields: Any):
    def change(r: TaskRecord) -> None:
        for key, value in fields.items():
            setattr(r, key, value)
    return change


# -- create cluster ---------------------------------------------------------------------------------

async def advance_create_cluster(rt: Runtime, rec: TaskRecord, api: client.ApiClient) -> None:
    storage_type = rec.params["storage_type"]
    spec = cluster_spec(rt, rec.namespace, rec.cluster, storage_type)
    if rec.phase in ("queued", "applying"):
        rt.tasks.update(rec.id, _set(state=RUNNING, phase="applying"))
        existing = await objects.find(api, kind="Secret", namespace=rec.namespace, name=spec.certs_secret)
        if existing is None:
            pems = certs.cluster_pems(spec.name, spec.namespace, spec.repo_host)
            if "s3" in spec.storage_types and rt.settings.s3.ca_pem:
                pems["s3-ca.crt"] = rt.settings.s3.ca_pem
        else:
            pems = {}
        cfg = pgbackrest_config(rt, rec.namespace, rec.cluster, storage_type, rec.params.get("retention"))
        confs = {"primary.conf": pbconfig.primary_conf(cfg), "repo.conf": pbconfig.repo_host_conf(cfg),
                 **{f"restore-{repo}.conf": pbconfig.restore_conf(cfg, repo) for repo in cfg.repos}}
        s3 = rt.settings.s3
        creds = (s3.key.reveal(), s3.key_secret.reveal()) if "s3" in spec.storage_types else None
        for manifest in topology.cluster_objects(spec, confs=confs, pems=pems, s3_credentials=creds):
            if manifest["kind"] == "Secret" and manifest["metadata"]["name"] == spec.certs_secret and not pems:
                continue
            await objects.create_or_get(api, manifest=manifest)
        rec = rt.tasks.update(rec.id, _set(phase="waiting for pods"))
    if rec.phase == "waiting for pods":
        ready = True
        for name in (spec.name, spec.repo_host):
            dep = await objects.find(api, kind="Deployment", namespace=rec.namespace, name=name)
            if not dep or (dep.get("status") or {}).get("readyReplicas", 0) < 1:
                ready = False
        if not ready:
            if time.time() - rec.created > READY_TIMEOUT:
                return finish_cluster(rt, rec, FAILURE, error={
                    "code": None, "name": "ClusterNotReady", "action": "look at the cluster's pods and events",
                    "message": f"the cluster's pods were not ready within {READY_TIMEOUT:g}s"})
            rt.send("brq.advance", rec.id, countdown=POLL)
            return
        rec = rt.tasks.update(rec.id, _set(phase="stanza-create"))
    if rec.phase == "stanza-create":
        result = await exec_in_repo_host(rt, api, rec, commands.stanza_create())
        if result.exit_code != 0:
            err = pberrors.error_for(result.exit_code, result.stderr.decode("utf-8", "replace") + result.text)
            if isinstance(err, pberrors.RetryLater) and time.time() - rec.created < READY_TIMEOUT:
                rt.send("brq.advance", rec.id, countdown=POLL)
                return
            return finish_cluster(rt, rec, FAILURE, error=err.to_json() if err else None)
        finish_cluster(rt, rec, SUCCESS, result={"storage_type": storage_type, "stanza": commands.STANZA})


def finish_cluster(rt: Runtime, rec: TaskRecord, state: str, *, result: dict | None = None,
                   error: dict | None = None) -> None:
    status = READY if state == SUCCESS else FAILED
    rt.clusters.update(rec.namespace, rec.cluster, lambda c: (setattr(c, "status", status), setattr(
        c, "message", (error or {}).get("message"))))
    rt.tasks.update(rec.id, _set(state=state, phase="done" if state == SUCCESS else "failed", result=result,
                                 error=error))


# -- backup -----------------------------------------------------------------------------------------

def backup_job_name(task_id: str, repo: str) -> str:
    return f"backup-{task_id}-{repo}"


async def advance_backup(rt: Runtime, rec: TaskRecord, api: client.ApiClient) -> None:
    if not rec.steps:
        steps = [{"repo": repo, "job": backup_job_name(rec.id, repo), "state": PENDING} for repo in rec.params["repos"]]
        rec = rt.tasks.update(rec.id, _set(steps=steps))
        failpoints.hit("backup.steps-planned")
    if rec.cancel_requested:
        return await cancel_jobs(rt, rec, api)
    current = next((s for s in rec.steps if s["state"] in (PENDING, RUNNING)), None)
    if current is None:
        failpoints.hit("backup.finishing")
        return finish_backup(rt, rec)
    spec = cluster_spec(rt, rec.namespace, rec.cluster, rec.params["cluster_storage_type"])
    repo = commands.STORAGE_REPOS[current["repo"]]
    argv = commands.backup(repo, rec.params["type"], rec.params.get("options") or ())
    job = topology.backup_job(
        spec, name=current["job"], task_id=rec.id, repo=repo, argv=argv, image=rt.settings.images.job_runner,
        deadline_seconds=rt.settings.jobs.active_deadline_seconds, runner_command=RUNNER,
        progress_argv=commands.info(repo, output="text"))
    await objects.create_or_get(api, manifest=job)
    failpoints.hit("backup.job-created")

    def started(r: TaskRecord) -> None:
        r.state = RUNNING
        r.phase = f"backup to {current['repo']}"
        if current["job"] not in r.jobs:
            r.jobs.append(current["job"])
        for s in r.steps:
            if s["job"] == current["job"] and s["state"] == PENDING:
                s.update(state=RUNNING, started=time.time())
        r.progress = None
    rt.tasks.update(rec.id, started)
    failpoints.hit("backup.job-noted")


def finish_backup(rt: Runtime, rec: TaskRecord) -> None:
    failed = [s for s in rec.steps if s["state"] != SUCCESS]
    done = [s for s in rec.steps if s["state"] == SUCCESS]
    if rec.cancel_requested:
        state, error = REVOKED, None
    elif failed:
        first = failed[0]
        state, error = FAILURE, {**(first.get("error") or {}), "repo": first["repo"]}
    else:
        state, error = SUCCESS, None
    result = {"type": rec.params["type"], "repos": {s["repo"]: {"state": s["state"], "label": s.get("label"),
                                                                 "exit_code": s.get("exit_code"),
                                                                 "error": s.get("error")} for s in rec.steps}}
    if done:
        def note(c) -> None:
            for s in done:
                c.last_backup[s["repo"]] = {"label": s.get("label"), "type": rec.params["type"],
                                            "finished": s.get("finished"), "task": rec.id}
        try:
            rt.clusters.update(rec.namespace, rec.cluster, note)
        except Exception:  # noqa: BLE001 - the cluster may have been deleted meanwhile
            log.warning("could not note the backup on cluster %s/%s", rec.namespace, rec.cluster)
    rt.tasks.update(rec.id, _set(state=state, phase="done", result=result, error=error, progress=None))


# -- info (catalogue) -------------------------------------------------------------------------------

async def run_info(rt: Runtime, rec: TaskRecord, api: client.ApiClient) -> None:
    rt.tasks.update(rec.id, _set(state=RUNNING, phase="info"))
    fmt = rec.params.get("format", "json")
    repos = [commands.STORAGE_REPOS[r] for r in rec.params["repos"]]
    repo_arg = repos[0] if len(repos) == 1 else None
    result = await exec_in_repo_host(rt, api, rec, commands.info(repo_arg, output=fmt))
    if result.exit_code != 0:
        err = pberrors.error_for(result.exit_code, result.stderr.decode("utf-8", "replace"))
        rt.tasks.update(rec.id, _set(state=FAILURE, phase="done", error=err.to_json() if err else None))
        return
    if fmt == "text":
        body = {"format": "text", "text": result.text}
    else:
        catalogue = pbinfo.parse_info(result.text)
        by_repo = {r.repo: r for r in catalogue.repos}
        body = {"format": "json", "stanza": catalogue.stanza,
                "status": {"code": catalogue.status_code, "message": catalogue.status_message},
                "backup_lock": catalogue.lock.to_json(),
                "repos": {storage_type_of(n): (by_repo[n].to_json() if n in by_repo else None) for n in repos}}
    rt.tasks.update(rec.id, _set(state=SUCCESS, phase="done", result=body))


# -- cancel -----------------------------------------------------------------------------------------

async def cancel_jobs(rt: Runtime, rec: TaskRecord, api: client.ApiClient) -> None:
    """Delete the task's Jobs (Foreground: their pods die first); REVOKED once none is left."""
    left = []
    for name in rec.jobs:
        job = await objects.find(api, kind="Job", namespace=rec.namespace, name=name)
        if job is None:
            continue
        left.append(name)
        if not job["metadata"].get("deletionTimestamp"):
            await objects.delete(api, kind="Job", namespace=rec.namespace, name=name, propagation="Foreground")
    if left:
        rt.send("brq.advance", rec.id, countdown=0.5)
        return
    rt.tasks.update(rec.id, _set(state=REVOKED, phase="cancelled", progress=None))


# -- the Celery tasks -------------------------------------------------------------------------------

def _advancers() -> dict:
    from .deletion import advance_delete_cluster
    from .reconfigure import advance_update_cluster
    from .restore import advance_restore, resume_replay, run_preview

    return {"create-cluster": advance_create_cluster, "backup": advance_backup, "info": run_info,
            "restore": advance_restore, "restore-preview": run_preview, "resume": resume_replay,
            "update-cluster": advance_update_cluster, "delete-cluster": advance_delete_cluster}


async def _advance(rt: Runtime, task_id: str) -> None:
    rec = rt.tasks.find(task_id)
    if rec is None or rec.is_terminal:
        return
    with logs.bound(cluster=rec.cluster, namespace=rec.namespace, kind=rec.kind), _alive(rt, task_id):
        await _advance_record(rt, rec)


ALIVE_EVERY = 1.0           # seconds between the marks of a running step (tasks/watcher.py: STALE_SECONDS ≫ this)
ALIVE_TTL = 3600


def mark_alive(rt: Runtime, task_id: str, at: float | None = None) -> None:
    """Note that a worker works on the task (or, with `at` in the future, will again by then: a retry's countdown)."""
    try:
        rt.redis.set(keys.task_alive(task_id), repr(at or time.time()), ex=ALIVE_TTL)
    except Exception:  # noqa: BLE001 - Redis hiccup: the watcher may re-send the task, which is harmless
        log.warning("could not mark task %s alive", task_id)


@contextlib.contextmanager
def _alive(rt: Runtime, task_id: str):
    """Mark the task alive while this step runs, from a thread (steps block their event loop on Redis calls): a
    long step (an exec, a wait) is then never taken for a lost one and re-sent while it still runs. A killed
    worker stops marking; the watcher re-sends the task once the mark is STALE_SECONDS old."""
    done = threading.Event()

    def beat() -> None:
        while not done.wait(ALIVE_EVERY):
            mark_alive(rt, task_id)
    mark_alive(rt, task_id)
    thread = threading.Thread(target=beat, name=f"alive-{task_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=2)
        mark_alive(rt, task_id)


async def _advance_record(rt: Runtime, rec: TaskRecord) -> None:
    log.info("%s task: %s, phase %s", rec.kind, rec.state, rec.phase)
    async with client.ApiClient(await rt.kube_configuration()) as api:
        if rec.cancel_requested and rec.kind not in ("backup", "restore"):
            return await cancel_jobs(rt, rec, api)
        await _advancers()[rec.kind](rt, rec, api)


@app.task(name="brq.advance", bind=True, max_retries=20)
def advance(self, task_id: str) -> None:
    """Do the next step of a task. Transient failures retry with back-off; others fail the task."""
    rt = get_runtime()
    with logs.bound(task_id=task_id):
        _run_step(self, rt, task_id)


def _run_step(self, rt: Runtime, task_id: str) -> None:
    try:
        asyncio.run(_advance(rt, task_id))
    except (kerrors.Unavailable, kerrors.Conflict, kerrors.ExecFailed) as exc:
        if self.request.retries < self.max_retries:
            from .retries import backoff
            countdown = 0.5 + backoff(self.request.retries + 1, base=0.5, cap=10)
            mark_alive(rt, task_id, time.time() + countdown)  # the retry is due then: not lost before
            raise self.retry(exc=exc, countdown=countdown)
        _fail(rt, task_id, {"code": None, "name": type(exc).__name__, "message": str(exc),
                            "action": "retry later; check the Kubernetes API and the cluster's pods"})
    except (kerrors.KubeError, ValueError) as exc:
        _fail(rt, task_id, {"code": None, "name": type(exc).__name__, "message": str(exc),
                            "action": "read the message; the request or the cluster needs fixing"})
    except Exception as exc:  # noqa: BLE001 - a bug must end the task, not leave it running forever
        log.exception("task %s: unexpected error", task_id)
        _fail(rt, task_id, {"code": None, "name": "InternalError", "message": f"{type(exc).__name__}: {exc}",
                            "action": "report it with the worker's log"})


def _fail(rt: Runtime, task_id: str, error: dict) -> None:
    rec = rt.tasks.find(task_id)
    if rec is None or rec.is_terminal:
        return
    log.error("task %s failed: %s", task_id, error["message"])
    if rec.kind == "create-cluster":
        finish_cluster(rt, rec, FAILURE, error=error)
    else:
        rt.tasks.update(task_id, _set(state=FAILURE, phase="failed", error=error))

