"""Restore and point-in-time recovery, step by step, safe by construction (issue #4, PGO v4's workflow).

A restore task walks `PHASES` in order.  Each step is idempotent and recorded
in the task's `steps` as it passes, so a worker killed anywhere resumes at the
recorded step, and a second restore request after a failure finishes the job
(the primary's deletion is skipped when it is already gone).  Nothing is
touched before `preflight` has checked the request against the repository's
catalogue: the set exists, the target lies in the recovery window.  The old
PGDATA volume is kept and named in the result.
"""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from typing import Any

from kubernetes_asyncio import client

from . import failpoints, topology
from .kube import errors as kerrors
from .kube import execing, objects
from .pgbackrest import commands, config as pbconfig, info as pbinfo
from .runtime import Runtime
from .state.records import (FAILURE, PENDING, RESTORE_DESTRUCTIVE, RESTORE_PHASES, RUNNING, SUCCESS, TaskRecord,
                            new_id)

PHASES = RESTORE_PHASES
DESTRUCTIVE_FROM = RESTORE_DESTRUCTIVE
AUTOFAIL = "brq.io/autofail"
READY_TIMEOUT = 900.0
POLL = 1.0           # a longer wait re-enqueues the step with this countdown …
INLINE_WAIT = 3.0    # … after waiting this long inside the step,
INLINE_POLL = 0.1    # looking again this often (a restore bench found 1 s polls were half its overhead)
WAIT, STOP = "wait", "stop"


def restore_job_name(task_id: str) -> str:
    return f"restore-{task_id}"


def new_pvc_name(cluster: str, task_id: str) -> str:
    return f"{cluster}-pgdata-{task_id[:8]}"


def _step(rec: TaskRecord, name: str) -> dict | None:
    return next((s for s in rec.steps if s.get("step") == name), None)


def _passed(rt: Runtime, task_id: str, name: str, nxt: str, **detail: Any) -> TaskRecord:
    def change(r: TaskRecord) -> None:
        entry = _step(r, name)
        if entry is None:
            entry = {"step": name}
            r.steps.append(entry)
        entry.update(state=SUCCESS, finished=time.time(), **detail)
        r.phase = nxt
        r.state = RUNNING
    return rt.tasks.update(task_id, change)


def _fail(rt: Runtime, rec: TaskRecord, error: dict) -> None:
    def change(r: TaskRecord) -> None:
        r.state = FAILURE
        r.error = error
    rt.tasks.update(rec.id, change)
    if PHASES.index(rec.phase) >= PHASES.index(DESTRUCTIVE_FROM):
        return  # the cluster stays marked as restoring: a second restore request finishes the job
    rt.clusters.update(rec.namespace, rec.cluster, lambda c: setattr(c, "restoring", None)
                       if c.restoring == rec.id else None)


def _ctx(rt: Runtime, rec: TaskRecord):
    from .steps import cluster_spec, pgbackrest_config

    cluster = rt.clusters.get(rec.namespace, rec.cluster)
    spec = cluster_spec(rt, rec.namespace, rec.cluster, cluster.storage_type)
    return cluster, spec, pgbackrest_config(rt, rec.namespace, rec.cluster, cluster.storage_type)


# -- the preflight (also the preview) ---------------------------------------------------------------

async def preview(rt: Runtime, rec: TaskRecord, api: client.ApiClient) -> dict:
    """Run `info` and `repo-ls` in the repo host and decide, without touching anything."""
    from .pgbackrest import preflight
    from .steps import exec_in_repo_host

    repo = commands.STORAGE_REPOS[rec.params["storage_type"]]
    info = await exec_in_repo_host(rt, api, rec, commands.info(repo, output="json"))
    if info.exit_code != 0:
        raise kerrors.Unavailable(f"pgbackrest info failed ({info.exit_code}): "
                                  f"{info.stderr.decode('utf-8', 'replace')[-300:]}")
    catalogue = pbinfo.parse_info(info.text)
    wal_time = None
    listing = await exec_in_repo_host(rt, api, rec, preflight.repo_ls_argv(repo))
    if listing.exit_code == 0:
        try:
            wal_time = preflight.newest_wal_time(listing.text, catalogue, repo)
        except ValueError:
            wal_time = None  # the window's upper side stays unknown: the preview warns about it
    target = rec.params.get("target") or {"type": "latest"}
    action = rec.params.get("target_action")
    latest = target.get("type", "latest") == "latest"
    result = preflight.check(catalogue, repo, target_type=target.get("type", "latest"), target_value=target.get("value"),
                             set=rec.params.get("set"),
                             target_action=None if latest and action in (None, "promote") else action,
                             options=rec.params.get("options") or [], wal_max_time=wal_time,
                             now=datetime.now(timezone.utc))
    return result.to_json()


async def run_preview(rt: Runtime, rec: TaskRecord, api: client.ApiClient) -> None:
    rt.tasks.update(rec.id, lambda r: (setattr(r, "state", RUNNING), setattr(r, "phase", "preflight")))
    body = await preview(rt, rec, api)
    rt.tasks.update(rec.id, lambda r: (setattr(r, "state", SUCCESS), setattr(r, "phase", "done"),
                                       setattr(r, "result", body)))


# -- the steps --------------------------------------------------------------------------------------

async def step_preflight(rt, rec, api):
    body = await preview(rt, rec, api)
    if not body["ok"]:
        first = body["reasons"][0]
        return _fail(rt, rec, {"code": None, "name": "PreflightFailed", "field": first.get("field"),
                               "message": first["message"], "reasons": body["reasons"],
                               "action": "fix the request; nothing was changed"})
    _passed(rt, rec.id, "preflight", "pause-schedules", backup_set=body.get("backup_set"),
            window=body.get("window"), argv_options=body.get("argv_options"))


async def step_pause_schedules(rt, rec, api):
    rt.clusters.update(rec.namespace, rec.cluster, lambda c: setattr(c, "restoring", rec.id))
    _passed(rt, rec.id, "pause-schedules", "autofail-off")


async def step_autofail_off(rt, rec, api):
    dep = await objects.find(api, kind="Deployment", namespace=rec.namespace, name=rec.cluster)
    was = (_step(rec, "autofail-off") or {}).get("was")
    if dep is not None:
        current = (dep["metadata"].get("annotations") or {}).get(AUTOFAIL, "true")
        was = was or current
        if current != "false":
            await objects.patch(api, kind="Deployment", namespace=rec.namespace, name=rec.cluster,
                                body={"metadata": {"annotations": {AUTOFAIL: "false"}}})
    _passed(rt, rec.id, "autofail-off", "new-pvc", was=was or "true")


async def step_new_pvc(rt, rec, api):
    cluster, spec, _ = _ctx(rt, rec)
    name = new_pvc_name(rec.cluster, rec.id)
    await objects.create_or_get(api, manifest=topology.pvc(spec, name, rt.settings.storage.primary.size))
    failpoints.hit("restore.pvc-created")
    _passed(rt, rec.id, "new-pvc", "delete-primary", pvc=name, old_pvc=cluster.data_pvc or rec.cluster)


async def step_delete_primary(rt, rec, api):
    dep = await objects.find(api, kind="Deployment", namespace=rec.namespace, name=rec.cluster)
    entry = _step(rec, "delete-primary") or {}
    if dep is not None:
        if "node_selector" not in entry:
            selector = dep["spec"]["template"]["spec"].get("nodeSelector") or {}
            rt.tasks.update(rec.id, lambda r: None if _step(r, "delete-primary") else r.steps.append(
                {"step": "delete-primary", "state": RUNNING, "node_selector": selector}))
        if not dep["metadata"].get("deletionTimestamp"):
            await objects.delete(api, kind="Deployment", namespace=rec.namespace, name=rec.cluster,
                                 propagation="Foreground")
            failpoints.hit("restore.primary-deleting")
        return WAIT
    pods = (await objects.list_(api, kind="Pod", namespace=rec.namespace,
                                labels=f"{topology.L_CLUSTER}={rec.cluster},{topology.L_ROLE}=primary"))["items"]
    if pods:
        return WAIT  # PostgreSQL must be stopped before anything restores
    _passed(rt, rec.id, "delete-primary", "repo-host-config", skipped=entry.get("node_selector") is None)


async def step_repo_host_config(rt, rec, api):
    """The data path stays `/pgdata/<cluster>` (the new volume mounts where the old one did), so the repo host's
    pg1-path needs no change; the ConfigMap gets the restore pod's configuration if it lacks it."""
    _, spec, cfg = _ctx(rt, rec)
    cm = await objects.get(api, kind="ConfigMap", namespace=rec.namespace, name=spec.config_map)
    missing = {f"restore-{repo}.conf": pbconfig.restore_conf(cfg, repo) for repo in cfg.repos
               if f"restore-{repo}.conf" not in (cm.get("data") or {})}
    if missing:
        await objects.patch(api, kind="ConfigMap", namespace=rec.namespace, name=spec.config_map,
                            body={"data": missing})
    _passed(rt, rec.id, "repo-host-config", "restore-job", pg_path=cfg.pg_path, added=sorted(missing))


async def step_restore_job(rt, rec, api):
    entry = _step(rec, "restore-job")
    if entry is not None and entry.get("state") == SUCCESS:
        return _passed(rt, rec.id, "restore-job", "new-primary")
    if entry is not None and entry.get("state") == FAILURE:
        err = dict(entry.get("error") or {})
        old = (_step(rec, "new-pvc") or {}).get("old_pvc")
        err["action"] = (f"{err.get('todo') or err.get('action') or 'read the Job log'}; then POST the restore again: "
                         f"it resumes where this one stopped. The old data is kept on PVC {old}")
        return _fail(rt, rec, err)
    _, spec, _ = _ctx(rt, rec)
    repo = commands.STORAGE_REPOS[rec.params["storage_type"]]
    target = rec.params.get("target") or {"type": "latest"}
    from .pgbackrest.targets import restore_target
    rt_target = None if target.get("type", "latest") == "latest" else restore_target(
        None, target["type"], target.get("value"))
    action = rec.params.get("target_action") or "promote"
    argv = commands.restore(repo, rt_target, rec.params.get("set"),
                            None if rt_target is None and action == "promote" else action,
                            rec.params.get("options") or [])
    selector = _node_selector(rec)
    name = restore_job_name(rec.id)
    job = topology.restore_job(spec, name=name, task_id=rec.id, claim=(_step(rec, "new-pvc") or {})["pvc"],
                               repo=repo, argv=argv, deadline_seconds=rt.settings.jobs.active_deadline_seconds,
                               node_selector=selector)
    if entry is None:  # named before it exists: the watcher can record its end whenever it comes (a worker killed
        # between the Job's creation and `started` below would otherwise leave an end nobody can record)
        rt.tasks.update(rec.id, lambda r: None if _step(r, "restore-job") else r.steps.append(
            {"step": "restore-job", "job": name, "state": PENDING, "argv": argv}))
    await objects.create_or_get(api, manifest=job)
    failpoints.hit("restore.job-created")

    def started(r: TaskRecord) -> None:
        if name not in r.jobs:
            r.jobs.append(name)
        step = _step(r, "restore-job")
        if step is not None and step.get("state") == PENDING:
            step.update(state=RUNNING, started=time.time())
    rt.tasks.update(rec.id, started)
    failpoints.hit("restore.job-noted")
    return STOP  # the watcher records the Job's end and hands the task back


def _node_selector(rec: TaskRecord) -> dict[str, str]:
    label = rec.params.get("node_label")
    if label:
        key, _, value = label.partition("=")
        return {key: value}
    return (_step(rec, "delete-primary") or {}).get("node_selector") or {}


async def step_new_primary(rt, rec, api):
    _, spec, _ = _ctx(rt, rec)
    claim = (_step(rec, "new-pvc") or {})["pvc"]
    manifest = topology.primary_deployment(spec, pgdata_claim=claim, annotations={AUTOFAIL: "false"})
    selector = _node_selector(rec)
    if selector:
        manifest["spec"]["template"]["spec"]["nodeSelector"] = selector
    dep, _ = await objects.create_or_get(api, manifest=manifest)
    failpoints.hit("restore.primary-created")
    vols = dep["spec"]["template"]["spec"].get("volumes") or []
    if not any((v.get("persistentVolumeClaim") or {}).get("claimName") == claim for v in vols):
        await objects.delete(api, kind="Deployment", namespace=rec.namespace, name=rec.cluster)
        return WAIT
    _passed(rt, rec.id, "new-primary", "wait-ready")


async def step_wait_ready(rt, rec, api):
    started = (_step(rec, "new-primary") or {}).get("finished") or time.time()
    if time.time() - started > READY_TIMEOUT:
        return _fail(rt, rec, {"code": None, "name": "NotReady", "message": "the restored primary did not become "
                               f"ready within {READY_TIMEOUT:g}s", "action": "look at the primary's log"})
    # any running primary pod will do: its psql answer, not the readiness probe, says whether recovery is over
    pods = (await objects.list_(api, kind="Pod", namespace=rec.namespace,
                                labels=f"{topology.L_CLUSTER}={rec.cluster},{topology.L_ROLE}=primary"))["items"]
    running = sorted(p["metadata"]["name"] for p in pods if (p.get("status") or {}).get("phase") == "Running"
                     and not p["metadata"].get("deletionTimestamp"))
    if not running:
        return WAIT
    pod = running[0]
    sql = "select pg_is_in_recovery(), case when pg_is_in_recovery() then pg_get_wal_replay_pause_state() end"
    try:
        res = await execing.exec_in_pod(await rt.kube_configuration(), namespace=rec.namespace, pod=pod,
                                        container="database", command=["psql", "-Atc", sql], timeout=30)
    except kerrors.KubeError:
        return WAIT  # the container is not running yet
    if res.exit_code != 0:
        return WAIT
    in_recovery, _, pause_state = res.text.strip().partition("|")
    action = rec.params.get("target_action") or "promote"
    if action == "pause":
        if in_recovery == "t" and pause_state == "paused":
            return _passed(rt, rec.id, "wait-ready", "autofail-restore", paused=True)
        return WAIT
    if in_recovery == "f":
        return _passed(rt, rec.id, "wait-ready", "autofail-restore", paused=False)
    return WAIT


async def step_autofail_restore(rt, rec, api):
    was = (_step(rec, "autofail-off") or {}).get("was", "true")
    await objects.patch(api, kind="Deployment", namespace=rec.namespace, name=rec.cluster,
                        body={"metadata": {"annotations": {AUTOFAIL: was}}})
    _passed(rt, rec.id, "autofail-restore", "resume-schedules", autofail=was)


async def step_resume_schedules(rt, rec, api):
    new = (_step(rec, "new-pvc") or {})
    entry = {"task": rec.id, "finished": time.time(), "old_pvc": new.get("old_pvc"), "new_pvc": new.get("pvc"),
             "storage_type": rec.params["storage_type"]}

    def change(c) -> None:
        c.restoring = None if c.restoring == rec.id else c.restoring
        c.data_pvc = new.get("pvc")
        if not any(r.get("task") == rec.id for r in c.restores):
            c.restores.append(entry)
    rt.clusters.update(rec.namespace, rec.cluster, change)
    _passed(rt, rec.id, "resume-schedules", "done")


async def step_done(rt, rec, api):
    pre = _step(rec, "preflight") or {}
    new = _step(rec, "new-pvc") or {}
    result = {"storage_type": rec.params["storage_type"], "backup_set": pre.get("backup_set"),
              "target": rec.params.get("target") or {"type": "latest"},
              "target_action": rec.params.get("target_action") or "promote",
              "paused": bool((_step(rec, "wait-ready") or {}).get("paused")),
              "old_pvc": new.get("old_pvc"), "new_pvc": new.get("pvc"), "backup_task": None}

    def finish(r: TaskRecord) -> None:
        r.state, r.phase, r.result = SUCCESS, "done", result
    if rec.params.get("backup_after"):
        cluster = rt.clusters.get(rec.namespace, rec.cluster)
        follower = TaskRecord(id=new_id(), kind="backup", namespace=rec.namespace, cluster=rec.cluster,
                              origin=f"restore:{rec.id}",
                              params={"type": "full", "repos": list(cluster.storage_types), "options": [],
                                      "effective_options": ["--type=full"],
                                      "cluster_storage_type": cluster.storage_type})
        result["backup_task"] = follower.id
        rt.tasks.finish_and_chain(rec.id, finish, follower)
        failpoints.hit("restore.backup-chained")
        rt.send("brq.advance", follower.id)
    else:
        rt.tasks.update(rec.id, finish)


STEPS = {"preflight": step_preflight, "pause-schedules": step_pause_schedules, "autofail-off": step_autofail_off,
         "new-pvc": step_new_pvc, "delete-primary": step_delete_primary, "repo-host-config": step_repo_host_config,
         "restore-job": step_restore_job, "new-primary": step_new_primary, "wait-ready": step_wait_ready,
         "autofail-restore": step_autofail_restore, "resume-schedules": step_resume_schedules, "done": step_done}


async def advance_restore(rt: Runtime, rec: TaskRecord, api: client.ApiClient) -> None:
    """Run steps until one must wait (re-enqueued with a countdown) or the Job runs (the watcher wakes us)."""
    waited = 0.0
    for _ in range(len(PHASES) + int(INLINE_WAIT / INLINE_POLL) + 1):
        rec = rt.tasks.get(rec.id)
        if rec.is_terminal:
            return
        if rec.cancel_requested and PHASES.index(_phase(rec)) < PHASES.index(DESTRUCTIVE_FROM):
            rt.clusters.update(rec.namespace, rec.cluster, lambda c: setattr(c, "restoring", None)
                               if c.restoring == rec.id else None)
            rt.tasks.update(rec.id, lambda r: (setattr(r, "state", "REVOKED"), setattr(r, "phase", "cancelled")))
            return
        outcome = await STEPS[_phase(rec)](rt, rec, api)
        if outcome == WAIT:
            if waited < INLINE_WAIT:  # most waits (a pod going, PostgreSQL promoting) end within a second or two
                await asyncio.sleep(INLINE_POLL)
                waited += INLINE_POLL
                continue
            rt.send("brq.advance", rec.id, countdown=POLL)
            return
        if outcome == STOP:
            return


def _phase(rec: TaskRecord) -> str:
    return rec.phase if rec.phase in PHASES else "preflight"


async def resume_replay(rt: Runtime, rec: TaskRecord, api: client.ApiClient) -> None:
    """`pg_wal_replay_resume()` on a primary a restore left paused at its target."""
    from .steps import ready_pod

    rt.tasks.update(rec.id, lambda r: (setattr(r, "state", RUNNING), setattr(r, "phase", "resume")))
    pod = await ready_pod(api, rec.namespace, f"{topology.L_CLUSTER}={rec.cluster},{topology.L_ROLE}=primary")
    if pod is None:
        raise kerrors.Unavailable(f"no ready primary for cluster {rec.namespace}/{rec.cluster}")
    res = await execing.exec_in_pod(await rt.kube_configuration(), namespace=rec.namespace, pod=pod,
                                    container="database", command=["psql", "-Atc", "select pg_wal_replay_resume()"],
                                    timeout=30)
    if res.exit_code != 0:
        err = {"code": None, "name": "ResumeFailed", "message": res.stderr.decode("utf-8", "replace")[-500:],
               "action": "is the primary still paused? GET the restore task"}
        rt.tasks.update(rec.id, lambda r: (setattr(r, "state", FAILURE), setattr(r, "error", err)))
        return
    rt.tasks.update(rec.id, lambda r: (setattr(r, "state", SUCCESS), setattr(r, "phase", "done"),
                                       setattr(r, "result", {"resumed": True})))

