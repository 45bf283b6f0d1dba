"""A restore through the service next to `pgbackrest restore` run directly on the same backup, in the same run, on
the real stack (issue 4: overhead ≤ 10 % for a 1 GB database).

    .venv/bin/python bench/restore_bench.py                  # scale 70 (~1 GB), local then s3, 3 reps: ~3 min
    .venv/bin/python bench/restore_bench.py --quick          # scale 5 (~75 MB): ~1 min
    .venv/bin/python bench/restore_bench.py --storage s3 --reps 5 -v     # -vv: the new primary's log too
    .venv/bin/python bench/restore_bench.py --what-if poll=0.1,no-ready-gate   # product changes, tried (see below)

One cluster (`--storage`: local, s3 or local,s3 — the default, each in turn) is created through the REST API,
filled with `pgbench -i -s SCALE`, and backed up once per repo with a full backup through the API.  Then, `--reps`
times, alternating which goes first, per repo:

  (a) service: `POST …/clusters/{name}/restores {"storage_type": …, "set": <the full's label>,
      "target": {"type": "immediate"}}`, timed from the request to the task's SUCCESS (the Redis done signal the
      API's own waits use, see bench/_common.py).  That number holds everything the service does: preflight
      (`pgbackrest info` + `repo-ls` exec'd in the repo host), schedules paused, autofail off, a new PVC, the old
      primary Deployment deleted and its PostgreSQL stopped, the restore Job (`pgbackrest restore` in a pod holding
      the primary's certificate, pulling through the repo host over TLS), a new primary Deployment on the restored
      PVC, PostgreSQL recovering to the backup's consistency point and promoting, and the task's bookkeeping.
  (b) direct: the same `pgbackrest restore` argv (the one the task records for its Job), in a throwaway pod built
      from the restore Job's own pod template (tasks/topology.py `restore_job`: same image, same script, same
      config text `restore_conf`, same certificate, an empty PVC of its own), created by the bench and timed from
      the create call to the container's exit.  It does none of the rest: no preflight, no primary stopped or
      started, no recovery, no promotion.

The Job's own duration is given twice: from the Job's `startTime`/`completionTime` (Kubernetes timestamps have
whole-second resolution, so ±1 s), and as the bench's watch saw it (Pod and Job events of the namespace stamped
with this process's clock as they arrive — milliseconds).  The direct pod's likewise.  The overheads use the
watched figures:

    overhead           = service total / direct − 1
    around the restore = (service total − the Job's restore) / direct

and the breakdown of the service total comes from the task's recorded step times (each step's `finished`),
interleaved with the watched events (Job created, its pod running/exited, Job Complete, old primary gone,
new primary running/Ready) and the new primary's own log (millisecond timestamps: recovery, promotion, "ready to
accept connections"), so the reader sees where the time beyond the restore goes.

`--what-if` tries product changes without editing the product: a sitecustomize on the stack's PYTHONPATH patches
tasks/restore.py as the workers import it — `poll=S` sets POLL (the re-enqueue countdown of delete-primary and
wait-ready), `no-ready-gate` lets wait-ready run its psql check as soon as the new primary's pod runs instead of
after its Ready condition.  The summary says which what-if, if any, was on.

Measured here at scale 70 (1069 MiB restored; 2 cores shared with other work, load 2–4): the service spends
3.4–3.7 s around a 3–6 s restore (+61 % local, +88 % s3): ~0.8 s of delete-primary's 1 s poll after the old
primary is already gone, 0.5–0.9 s of wait-ready's poll after PostgreSQL is up, 1.2–1.8 s of PostgreSQL recovering
and promoting (each WAL segment and timeline history file is an `archive-get` through the repo host, 70–200 ms
apiece, and every earlier restore of the cluster adds a timeline to probe), 0.1–0.3 s of preflight, 0.2 s for the
old PostgreSQL to stop.  With `poll=0.1,no-ready-gate` that is 1.4–1.8 s (+48 %/+51 %): what remains is mostly
PostgreSQL's own start, which a direct restore does not include.

Every run starts after `sync` with the previous runs' volumes deleted (the service keeps the old PVC by design;
the bench deletes it once the restore is done, so the disk holds one restored copy at a time).  A restore writes
and fsyncs the whole database, so its time follows the disk: on this VM 2.5–8.5 s for the same 1 GB restore —
medians and minimums of `--reps` ≥ 3 are what to read.  Timings are printed, never asserted.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._common import create_cluster, find_pod, machine, median, submit, wait_done  # noqa: E402
from bench.backup_bench import Bench as BackupBench  # noqa: E402  (sql, wait_archived: reused as they are)
from tasks import restore as restore_mod  # noqa: E402
from tasks import steps, topology  # noqa: E402
from tasks.pgbackrest import commands  # noqa: E402
from tasks.pgbackrest import config as pbconfig  # noqa: E402
from tasks.pgbackrest.targets import restore_target  # noqa: E402
from tests.support.stack import Stack  # noqa: E402

NS = "demo"
CLUSTER = "rb"
DIRECT = f"{CLUSTER}-bench-direct"          # the direct runs' ConfigMap, and the prefix of their pods and PVCs
TARGET = 0.10                                # issue 4: overhead ≤ 10 %


# -- what the bench's own watch saw -------------------------------------------------------------------------

@dataclasses.dataclass
class Ev:
    t: float            # time.time() when the event reached this process
    kind: str           # Pod | Job
    type: str           # SYNC | ADDED | MODIFIED | DELETED
    name: str
    labels: dict
    running: bool = False     # Pod: every container running
    exited: bool = False      # Pod: a container terminated
    exit_code: int | None = None
    ready: bool = False       # Pod: condition Ready True
    complete: bool = False    # Job: condition Complete True
    failed: bool = False      # Job: condition Failed True


def summarize(kind: str, typ: str, obj: dict, now: float) -> Ev:
    md = obj.get("metadata") or {}
    st = obj.get("status") or {}
    ev = Ev(now, kind, typ, md.get("name", ""), md.get("labels") or {})
    if kind == "Pod":
        states = [cs.get("state") or {} for cs in st.get("containerStatuses") or []]
        ev.running = bool(states) and all("running" in s for s in states)
        term = [s["terminated"] for s in states if "terminated" in s]
        ev.exited = bool(term)
        ev.exit_code = term[0].get("exitCode") if term else None
        ev.ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or [])
    else:
        conds = {c.get("type"): c.get("status") for c in st.get("conditions") or []}
        ev.complete, ev.failed = conds.get("Complete") == "True", conds.get("Failed") == "True"
    return ev


class Watch:
    """Every Pod and Job event of the namespace, stamped with this process's clock (tasks.kube.watching.follow)."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.events: list[Ev] = []
        self.stop = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        from kubernetes_asyncio import client

        from tasks.kube import watching
        # `follow` lists Jobs and Deployments; the bench (only this process) also follows Pods with it
        watching.LISTERS.setdefault("Pod", (client.CoreV1Api, "list_pod_for_all_namespaces", "list_namespaced_pod"))
        synced = {"Pod": asyncio.Event(), "Job": asyncio.Event()}

        async def one(api, kind: str) -> None:
            async for typ, obj in watching.follow(api, kind=kind, labels=None, namespace=NS, stop=self.stop):
                now = time.time()
                if typ == "SYNC":
                    self.events.extend(summarize(kind, "SYNC", o, now) for o in obj)
                    synced[kind].set()
                else:
                    self.events.append(summarize(kind, typ, obj, now))

        async def run() -> None:
            async with client.ApiClient(self.cfg) as api:
                await asyncio.gather(one(api, "Pod"), one(api, "Job"))

        self.task = asyncio.create_task(run())
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in synced.values())), 30)

    async def close(self) -> None:
        self.stop.set()
        if self.task:
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - closing
                pass

    def first(self, after: float, pred) -> float | None:
        return next((e.t for e in self.events if e.t >= after and e.type != "SYNC" and pred(e)), None)

    def last(self, pred) -> Ev | None:
        found = [e for e in self.events if pred(e)]
        return found[-1] if found else None

    async def wait(self, after: float, pred, timeout: float = 1800) -> float:
        deadline = time.monotonic() + timeout
        while True:
            t = self.first(after, pred)
            if t is not None:
                return t
            if time.monotonic() > deadline:
                raise TimeoutError("the watch did not see what the bench waits for")
            await asyncio.sleep(0.02)


def k8s_time(value: str | None) -> float | None:
    from datetime import datetime
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


# -- the segments of a service restore ----------------------------------------------------------------------

SEGMENTS = [  # (key, what it holds) — consecutive, they add up to the service's total
    ("preflight", "request → preflight ✓ (API, queue, worker; pgbackrest info + repo-ls exec'd in the repo host)"),
    ("prepare", "→ schedules paused, autofail off, new PVC"),
    ("old-gone", "→ old primary pod gone (Deployment deleted, PostgreSQL shut down; watched)"),
    ("old-noticed", "→ delete-primary ✓ (the step's next poll: POLL s after it deleted)"),
    ("job-create", "→ restore Job created (repo-host config; Job manifest)"),
    ("job-start", "Job created → its pod running (Job controller, kubelet)"),
    ("restore", "pgbackrest restore (Job pod running → exited)"),
    ("job-done", "→ Job Complete (Job controller)"),
    ("watcher", "→ watcher records the step (and re-enqueues the task)"),
    ("new-primary", "→ new primary Deployment created (worker picks the task up)"),
    ("pg-start", "→ new primary pod running (Deployment/ReplicaSet controllers, kubelet)"),
    ("pg-up", "→ PostgreSQL recovered, promoted, accepts connections (its log; WAL via archive-get)"),
    ("pg-ready", "→ pod Ready, where that comes later (readiness probe, periodSeconds 1)"),
    ("wait-ready", "→ wait-ready ✓ (the step's next poll, POLL s apart; psql exec)"),
    ("finish", "→ SUCCESS (autofail back, schedules resumed, result)"),
]

PG_LOG = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) (UTC|GMT) \[\d+\] \w+:  (.*)$")


def pg_log_times(text: str) -> dict[str, float]:
    """Epoch times of the PostgreSQL log lines that mark its start, consistency, promotion and readiness."""
    from datetime import datetime, timezone
    marks = {"start": "starting PostgreSQL", "consistent": "consistent recovery state reached",
             "promoted": "archive recovery complete", "up": "database system is ready to accept connections"}
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = PG_LOG.match(line.strip())
        if not m:
            continue
        for key, needle in marks.items():
            if key not in out and needle in m.group(3):
                out[key] = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(
                    tzinfo=timezone.utc).timestamp()
    return out


def segments(rec, t0: float, t_end: float, w: Watch, job: str, old_pods: set[str],
             pg: dict[str, float]) -> dict[str, float]:
    fin = {s["step"]: s.get("finished") for s in rec.steps}
    is_job = (lambda e: e.kind == "Job" and e.name == job)
    is_jpod = (lambda e: e.kind == "Pod" and e.labels.get("job-name") == job)
    is_new_primary = (lambda e: e.kind == "Pod" and e.labels.get(topology.L_CLUSTER) == CLUSTER
                      and e.labels.get(topology.L_ROLE) == "primary" and e.name not in old_pods)
    gone = [w.first(t0, lambda e, n=n: e.kind == "Pod" and e.name == n and e.type == "DELETED") for n in old_pods]
    old_gone = max(gone) if gone and None not in gone else None
    job_added = w.first(t0, is_job)
    jpod_running = w.first(t0, lambda e: is_jpod(e) and e.running)
    jpod_exited = w.first(t0, lambda e: is_jpod(e) and e.exited)
    job_complete = w.first(t0, lambda e: is_job(e) and e.complete)
    np_running = w.first(t0, lambda e: is_new_primary(e) and e.running)
    np_ready = w.first(t0, lambda e: is_new_primary(e) and e.ready)
    marks = [("preflight", fin.get("preflight")), ("prepare", fin.get("new-pvc")), ("old-gone", old_gone),
             ("old-noticed", fin.get("delete-primary")), ("job-create", job_added), ("job-start", jpod_running),
             ("restore", jpod_exited), ("job-done", job_complete), ("watcher", fin.get("restore-job")),
             ("new-primary", fin.get("new-primary")), ("pg-start", np_running), ("pg-up", pg.get("up")),
             ("pg-ready", min(max(np_ready, pg["up"]), fin.get("wait-ready") or t_end)
              if np_ready and pg.get("up") else np_ready),
             ("wait-ready", fin.get("wait-ready")), ("finish", t_end)]
    out, prev = {}, t0
    for key, t in marks:
        if t is None:
            out[key] = float("nan")
            continue
        out[key] = t - prev
        prev = t
    out["_job_watched"] = (job_complete or float("nan")) - (job_added or float("nan"))
    out["_pgbackrest"] = (jpod_exited or float("nan")) - (jpod_running or float("nan"))
    out["_after_job"] = t_end - (job_complete or float("nan"))
    if pg.get("start") and np_running:
        out["_pg_recovery"] = pg.get("up", float("nan")) - pg["start"]
    return out


# -- what-ifs: product changes tried without editing the product --------------------------------------------

# A sitecustomize put on the stack's PYTHONPATH: in every process that imports tasks.restore (the workers; the API
# imports it for previews) it patches the module right after it loads.  Nothing else changes; off by default.
WHATIF_SITE = r'''
import importlib.abc, importlib.util, os, sys

_WHATIF = [w for w in os.environ.get("BRQ_BENCH_WHATIF", "").split(",") if w]


def _apply(mod):
    for item in _WHATIF:
        key, _, value = item.partition("=")
        if key == "poll":  # the restore steps' re-enqueue countdown (delete-primary, wait-ready)
            mod.POLL = float(value)
        elif key == "no-ready-gate":  # wait-ready asks PostgreSQL itself as soon as the pod runs, not after Ready
            original = mod.step_wait_ready

            async def step_wait_ready(rt, rec, api, _original=original):
                from tasks import steps
                from tasks.kube import objects

                async def running_pod(api, namespace, selector):
                    pods = (await objects.list_(api, kind="Pod", namespace=namespace, labels=selector))["items"]
                    up = sorted(p["metadata"]["name"] for p in pods if (p.get("status") or {}).get("phase")
                                == "Running" and not p["metadata"].get("deletionTimestamp"))
                    return up[0] if up else None
                ready_pod, steps.ready_pod = steps.ready_pod, running_pod  # one task at a time per process
                try:
                    return await _original(rt, rec, api)
                finally:
                    steps.ready_pod = ready_pod
            mod.step_wait_ready = mod.STEPS["wait-ready"] = step_wait_ready
    sys.stderr.write(f"restore bench what-if applied to {mod.__name__}: {_WHATIF}\n")


class _Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "tasks.restore":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None:
            load = spec.loader.exec_module

            def exec_module(module, _load=load):
                _load(module)
                _apply(module)
            spec.loader.exec_module = exec_module
        return spec


if _WHATIF:
    sys.meta_path.insert(0, _Hook())
'''
WHATIFS = ("poll=SECONDS", "no-ready-gate")


def install_whatif(directory: str, spec: str) -> None:
    """Make the stack's processes (started after this, with this environment) load the what-if patches."""
    for item in spec.split(","):
        if item.partition("=")[0] not in ("poll", "no-ready-gate"):
            raise SystemExit(f"--what-if {item!r}: one of {', '.join(WHATIFS)}")
    site = os.path.join(directory, "whatif")
    os.makedirs(site, exist_ok=True)
    with open(os.path.join(site, "sitecustomize.py"), "w") as f:
        f.write(WHATIF_SITE)
    os.environ["PYTHONPATH"] = os.pathsep.join(x for x in (site, os.environ.get("PYTHONPATH")) if x)
    os.environ["BRQ_BENCH_WHATIF"] = spec


# -- the bench ----------------------------------------------------------------------------------------------

class Bench(BackupBench):
    def __init__(self, stack: Stack, args: argparse.Namespace):
        super().__init__(stack, args)
        self.watch: Watch | None = None
        self.labels: dict[str, str] = {}
        self.spec = None
        self.cfgs = None
        self.checked_conf = False

    @property
    def storages(self) -> list[str]:
        return list(commands.storage_types(self.args.storage))

    async def setup(self) -> None:
        from kubernetes_asyncio import client

        from tasks.kube import config as kconfig
        from tasks.kube import objects as kobjects

        storage_type = ",".join(self.storages)
        t = time.perf_counter()
        await asyncio.to_thread(create_cluster, self.api, self.r, NS, CLUSTER, storage_type)
        print(f"  cluster {NS}/{CLUSTER} ({storage_type}) created through the API in {time.perf_counter() - t:.1f} s")
        self.cfg = await kconfig.load(self.stack.kubesim.kubeconfig)
        self.primary = await find_pod(self.cfg, NS, f"{topology.L_CLUSTER}={CLUSTER},{topology.L_ROLE}=primary")
        t = time.perf_counter()
        await self.sql_exec(["pgbench", "-i", "-q", "-s", str(self.args.scale), "-h", topology.SOCKET_DIR,
                             "-U", "postgres", "postgres"])
        size = await self.sql("select pg_size_pretty(pg_database_size('postgres'))")
        print(f"  pgbench -i -s {self.args.scale}: {size} in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        await self.wait_archived()
        print(f"  WAL archive caught up in {time.perf_counter() - t:.1f} s more")
        for storage in self.storages:
            t = time.perf_counter()
            task_id = await asyncio.to_thread(submit, self.api, NS, f"clusters/{CLUSTER}/backups",
                                              {"type": "full", "storage_type": storage})
            rec = await asyncio.to_thread(wait_done, self.r, task_id, 7200)
            if rec.state != "SUCCESS":
                raise RuntimeError(f"full backup to {storage} ended {rec.state}: {rec.error}")
            self.labels[storage] = rec.result["repos"][storage]["label"]
            print(f"  full backup to {storage} through the API: {self.labels[storage]} in "
                  f"{time.perf_counter() - t:.1f} s")
        # the direct runs' config: the very text the restore step writes into the cluster's ConfigMap
        self.spec = steps.cluster_spec(self.rt, NS, CLUSTER, storage_type)
        self.cfgs = steps.pgbackrest_config(self.rt, NS, CLUSTER, storage_type)
        cm = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": DIRECT, "namespace": NS, "labels": self.bench_labels()},
              "data": {f"restore-{repo}.conf": pbconfig.restore_conf(self.cfgs, repo) for repo in self.cfgs.repos}}
        async with client.ApiClient(self.cfg) as api:
            await kobjects.create_or_get(api, manifest=cm)
        self.watch = Watch(self.cfg)
        await self.watch.start()

    @staticmethod
    def bench_labels() -> dict[str, str]:
        return {**topology.MANAGED_BY, topology.L_CLUSTER: CLUSTER, topology.L_ROLE: "bench-restore"}

    def argv(self, storage: str) -> list[str]:
        """What tasks/restore.py `step_restore_job` builds for this request."""
        return commands.restore(commands.STORAGE_REPOS[storage], restore_target(None, "immediate", None),
                                self.labels[storage], "promote", [])

    # -- kube helpers -------------------------------------------------------------------------------------

    async def pvc_path(self, api, pvc: str) -> str | None:
        from kubernetes_asyncio import client

        from tasks.kube import objects as kobjects
        obj = await kobjects.find(api, kind="PersistentVolumeClaim", namespace=NS, name=pvc)
        volume = ((obj or {}).get("spec") or {}).get("volumeName")
        if not volume:
            return None
        pv = await client.CoreV1Api(api).read_persistent_volume(volume)
        return pv.spec.host_path.path if pv.spec.host_path else None

    @staticmethod
    def tree_bytes(path: str | None) -> int | None:
        if not path:
            return None
        total = 0
        try:
            for root, _, files in os.walk(path):
                for f in files:
                    try:
                        total += os.lstat(os.path.join(root, f)).st_size
                    except OSError:
                        pass
        except OSError:
            return None
        return total

    async def drop_pvc(self, api, pvc: str) -> None:
        """Delete a PVC and wait until its volume's directory is gone (kubesim removes it), so no later run pays
        for the deletion."""
        from tasks.kube import objects as kobjects
        path = await self.pvc_path(api, pvc)
        await kobjects.delete(api, kind="PersistentVolumeClaim", namespace=NS, name=pvc)
        deadline = time.monotonic() + 300
        while (await kobjects.find(api, kind="PersistentVolumeClaim", namespace=NS, name=pvc) is not None
               or (path and os.path.exists(path))):
            if time.monotonic() > deadline:
                raise TimeoutError(f"PVC {pvc} still there after 300 s")
            await asyncio.sleep(0.2)

    def primaries(self) -> set[str]:
        alive: dict[str, bool] = {}
        for e in self.watch.events:
            if e.kind == "Pod" and e.labels.get(topology.L_CLUSTER) == CLUSTER and \
                    e.labels.get(topology.L_ROLE) == "primary":
                alive[e.name] = e.type != "DELETED"
        return {name for name, up in alive.items() if up}

    # -- (a) through the service --------------------------------------------------------------------------

    async def service(self, storage: str, rep: int) -> dict:
        from kubernetes_asyncio import client

        from tasks.kube import objects as kobjects
        old_pods = self.primaries()
        body = {"storage_type": storage, "set": self.labels[storage], "target": {"type": "immediate"}}
        os.sync()
        t0 = time.time()
        p0 = time.perf_counter()
        task_id = await asyncio.to_thread(submit, self.api, NS, f"clusters/{CLUSTER}/restores", body)
        rec = await asyncio.to_thread(wait_done, self.r, task_id, 7200)
        total = time.perf_counter() - p0
        t_end = t0 + total
        if rec.state != "SUCCESS":
            raise RuntimeError(f"restore from {storage} through the API ended {rec.state}: {rec.error}")
        job = restore_mod.restore_job_name(task_id)
        async with client.ApiClient(self.cfg) as api:
            obj = await kobjects.get(api, kind="Job", namespace=NS, name=job)
            st = obj.get("status") or {}
            job_k8s = k8s_time(st.get("completionTime")) - k8s_time(st.get("startTime"))
            await asyncio.sleep(0.5)  # the watch has the last events
            new_pod = next((e.name for e in self.watch.events if e.t >= t0 and e.kind == "Pod"
                            and e.labels.get(topology.L_ROLE) == "primary" and e.name not in old_pods), None)
            log = await kobjects.pod_log(api, namespace=NS, name=new_pod, container="database",
                                         tail_lines=1000) if new_pod else ""
            pg = pg_log_times(log)
            seg = segments(rec, t0, t_end, self.watch, job, old_pods, pg)
            await self.drop_pvc(api, rec.result["old_pvc"])
        recorded = next((s.get("argv") for s in rec.steps if s.get("step") == "restore-job"), None)
        if recorded != self.argv(storage):
            print(f"  ! the task's restore argv differs from the direct runs': {recorded}")
        if not self.checked_conf:
            async with client.ApiClient(self.cfg) as api:
                ours = (await kobjects.get(api, kind="ConfigMap", namespace=NS, name=DIRECT))["data"]
                theirs = (await kobjects.get(api, kind="ConfigMap", namespace=NS, name=self.spec.config_map))["data"]
            key = f"restore-{commands.STORAGE_REPOS[storage]}.conf"
            if ours.get(key) != theirs.get(key):
                print(f"  ! the cluster's {key} differs from the direct runs' copy")
            self.checked_conf = True
        return {"storage": storage, "rep": rep, "what": "service", "seconds": total, "job_k8s": job_k8s,
                "job": seg["_job_watched"], "pgbackrest": seg["_pgbackrest"], "after_job": seg["_after_job"],
                "segments": seg, "task": task_id, "steps": rec.steps, "t0": t0, "pg": pg,
                "pg_log": log if self.args.verbose else ""}

    # -- (b) directly -------------------------------------------------------------------------------------

    async def direct(self, storage: str, rep: int) -> dict:
        from kubernetes_asyncio import client

        from tasks.kube import objects as kobjects
        repo = commands.STORAGE_REPOS[storage]
        name = f"{DIRECT}-{storage}-{rep + 1}"
        argv = self.argv(storage)
        job = topology.restore_job(self.spec, name=name, task_id="bench", claim=name, repo=repo, argv=argv,
                                   deadline_seconds=self.rt.settings.jobs.active_deadline_seconds)
        pod_spec = job["spec"]["template"]["spec"]
        for vol in pod_spec["volumes"]:
            if "configMap" in vol:
                vol["configMap"]["name"] = DIRECT  # same key, same text as the cluster's ConfigMap would hold
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": NS, "labels": self.bench_labels()}, "spec": pod_spec}
        pvc = topology.pvc(self.spec, name, self.rt.settings.storage.primary.size)
        pvc["metadata"]["labels"] = self.bench_labels()
        async with client.ApiClient(self.cfg) as api:
            await kobjects.create_or_get(api, manifest=pvc)
            deadline = time.monotonic() + 60
            while ((await kobjects.get(api, kind="PersistentVolumeClaim", namespace=NS, name=name)).get("status")
                   or {}).get("phase") != "Bound":
                if time.monotonic() > deadline:
                    raise TimeoutError(f"PVC {name} not bound")
                await asyncio.sleep(0.1)
            os.sync()
            t0 = time.time()
            await kobjects.create(api, manifest=pod)
            is_pod = (lambda e: e.kind == "Pod" and e.name == name)
            exited = await self.watch.wait(t0, lambda e: is_pod(e) and e.exited)
            running = self.watch.first(t0, lambda e: is_pod(e) and e.running)
            ev = self.watch.last(lambda e: is_pod(e) and e.exited)
            obj = await kobjects.get(api, kind="Pod", namespace=NS, name=name)
            if ev.exit_code != 0:
                log = await kobjects.pod_log(api, namespace=NS, name=name)
                raise RuntimeError(f"direct restore exited {ev.exit_code}:\n{log[-2000:]}")
            term = next(cs["state"]["terminated"] for cs in obj["status"]["containerStatuses"]
                        if "terminated" in cs["state"])
            pod_k8s = k8s_time(term["finishedAt"]) - k8s_time(obj["metadata"]["creationTimestamp"])
            restored = self.tree_bytes(await self.pvc_path(api, name))
            await kobjects.delete(api, kind="Pod", namespace=NS, name=name)
            await self.drop_pvc(api, name)
        return {"storage": storage, "rep": rep, "what": "direct", "seconds": exited - t0, "job_k8s": pod_k8s,
                "pgbackrest": exited - (running or float("nan")), "bytes": restored, "argv": argv}

    # -- printing ------------------------------------------------------------------------------------------

    def add(self, run: dict) -> None:
        self.runs.append(run)
        size = f"{run['bytes'] / 2**20:.0f} MiB restored" if run.get("bytes") else "size n/a"
        if run["what"] == "service":
            print(f"  rep {run['rep'] + 1} {run['storage']:<5} service  {run['seconds']:6.2f} s request→SUCCESS | "
                  f"Job {run['job']:5.2f} s watched ({run['job_k8s']:.0f} s by its start/completionTime), "
                  f"pgbackrest {run['pgbackrest']:5.2f} s | Job Complete→SUCCESS {run['after_job']:5.2f} s   "
                  f"[load {os.getloadavg()[0]:.1f}]", flush=True)
            if self.args.verbose:
                t0 = run["t0"]
                print("      steps (finished, s after the request): " + ", ".join(
                    f"{s['step']} {s['finished'] - t0:.2f}" for s in run["steps"] if s.get("finished")))
                print("      PostgreSQL's log (s after the request): " + ", ".join(
                    f"{k} {v - t0:.2f}" for k, v in run["pg"].items()))
                print("      segments: " + ", ".join(f"{k} {v:.2f}" for k, v in run["segments"].items()))
                if self.args.verbose > 1:
                    print("      the new primary's log:\n" + "\n".join(f"        {line}" for line in
                                                                       run["pg_log"].splitlines()[-60:]))
        else:
            print(f"  rep {run['rep'] + 1} {run['storage']:<5} direct   {run['seconds']:6.2f} s pod created→exited "
                  f"({run['job_k8s']:.0f} s by its timestamps), pgbackrest {run['pgbackrest']:5.2f} s   ({size}) "
                  f"[load {os.getloadavg()[0]:.1f}]", flush=True)
            if self.args.verbose:
                print(f"      {' '.join(run['argv'])}")

    def report(self) -> None:
        from tasks import restore as r
        print(f"summary (seconds: median [min–max] of {self.args.reps}; overheads from the medians, "
              f"and from the minimums in parentheses; target ≤ {TARGET:.0%}):")
        for storage in self.storages:
            svc = [x for x in self.runs if x["storage"] == storage and x["what"] == "service"]
            dir_ = [x for x in self.runs if x["storage"] == storage and x["what"] == "direct"]

            def v(runs: list[dict], key: str) -> list[float]:
                return [x[key] for x in runs]

            def show(values: list[float]) -> str:
                return f"{median(values):6.2f} [{min(values):.2f}–{max(values):.2f}]"

            total, job, direct = v(svc, "seconds"), v(svc, "job"), v(dir_, "seconds")
            print(f"  {storage}:")
            print(f"    service, request → SUCCESS              {show(total)}")
            print(f"      its restore Job (watched)             {show(job)}   by start/completionTime "
                  f"{show(v(svc, 'job_k8s'))}")
            print(f"      its pgbackrest (pod running → exit)   {show(v(svc, 'pgbackrest'))}")
            print(f"      Job Complete → SUCCESS                {show(v(svc, 'after_job'))}   "
                  "(watcher, new primary started, recovered, promoted)")
            print(f"    direct, pod created → exited            {show(direct)}   by its timestamps "
                  f"{show(v(dir_, 'job_k8s'))}")
            print(f"      its pgbackrest (pod running → exit)   {show(v(dir_, 'pgbackrest'))}")
            over = median(total) / median(direct) - 1
            over_min = min(total) / min(direct) - 1
            around = (median(total) - median(job)) / median(direct)
            around_min = (min(total) - min(job)) / min(direct)
            job_vs = median(job) / median(direct) - 1
            print(f"    overhead, service total vs direct:             {over:+7.0%} ({over_min:+.0%})   "
                  f"{'within' if over <= TARGET else 'ABOVE'} the {TARGET:.0%} target")
            secs = [x["seconds"] - x["job"] for x in svc]
            print(f"    service total − its Job's restore, vs direct:  {around:7.0%} ({around_min:.0%})   "
                  f"what the service does around the restore: {show(secs)} s")
            print(f"    the Job alone vs direct:                       {job_vs:+7.0%}          "
                  "(same pod template and argv: what differs is the moment — the disk's speed varies)")
            print("    where the service's time goes (median per segment; consecutive, they add up to the total):")
            for key, text in SEGMENTS:
                values = [x["segments"][key] for x in svc]
                print(f"      {median(values):6.2f} s  {text}")
        print(f"  (tasks/restore.py POLL = {r.POLL:g} s; readiness probe periodSeconds = 1 s; the watcher follows "
              f"Jobs with a watch; what-if: {self.args.what_if or 'none, the product as it is'})")


async def amain(stack: Stack, args: argparse.Namespace) -> None:
    bench = Bench(stack, args)
    try:
        await bench.setup()
        for rep in range(args.reps):
            for storage in bench.storages:
                order = [bench.service, bench.direct] if rep % 2 == 0 else [bench.direct, bench.service]
                for fn in order:
                    bench.add(await fn(storage, rep))
        bench.report()
    finally:
        if bench.watch:
            await bench.watch.close()


def run(args: argparse.Namespace) -> None:
    directory = tempfile.mkdtemp(prefix="restore-bench-")
    print(f"restore bench: pgbench scale {args.scale}, storage {args.storage}, {args.reps} rep(s); {machine()}; "
          f"stack in {directory}")
    if args.what_if:
        install_whatif(directory, args.what_if)
        print(f"  WHAT-IF (not the product as it is): {args.what_if} patched into the stack's workers")
    t = time.perf_counter()
    stack = Stack(directory, namespaces=(NS,)).start()
    print(f"  stack started in {time.perf_counter() - t:.1f} s")
    try:
        asyncio.run(amain(stack, args))
    finally:
        stack.stop()
        if args.keep:
            print(f"  kept {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)
    print(f"  load average at the end: {os.getloadavg()[0]:.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=int, default=70, help="pgbench scale (70 ≈ 1 GB; default 70)")
    p.add_argument("--quick", action="store_true", help="scale 5 (~75 MB): a fast check that everything runs")
    p.add_argument("--storage", default="local,s3", help="local, s3 or local,s3 (default: each in turn)")
    p.add_argument("--reps", type=int, default=3, help="service/direct pairs per repo, alternating (default 3)")
    p.add_argument("--keep", action="store_true", help="keep the stack's directory (logs, volumes) afterwards")
    p.add_argument("--verbose", "-v", action="count", default=0,
                   help="print each run's step times and the restore argv; twice: the new primary's log too")
    p.add_argument("--what-if", default="", metavar="CHANGES",
                   help="try product changes without editing the product (monkeypatched into the stack's workers): "
                        "poll=SECONDS (tasks/restore.py POLL), no-ready-gate (wait-ready does not wait for the pod's "
                        "Ready condition: it runs its psql check as soon as the pod runs); comma-separated")
    args = p.parse_args()
    if args.quick:
        args.scale = 5
    commands.storage_types(args.storage)
    run(args)


if __name__ == "__main__":
    main()
