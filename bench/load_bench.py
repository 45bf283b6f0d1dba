"""Load: many backups in flight across many clusters, ONE watcher — how soon a Job's completion reaches its task
record, what the watcher and Redis hold, and what the API answers meanwhile.

    .venv/bin/python bench/load_bench.py                  # 1,000 backups across 200 clusters (about 2-3 minutes)
    .venv/bin/python bench/load_bench.py --quick          # 100 backups across 20 clusters (under a minute)
    .venv/bin/python bench/load_bench.py --backups 1000 --clusters 1000 --sleep 90   # 1,000 Jobs at once
    make bench-load                                       # the default run

The whole stack as real processes (tests/support/stack.py: Redis, kubesim, the API under gunicorn — 2 workers —,
the watcher, a Celery worker; no beat).  Two things are made cheap, nothing else:

- Clusters: ready cluster records are written straight into Redis (tasks.state.clusters.ClusterStore, what
  create-cluster leaves; the API reads nothing else to accept a backup), with the `brq-job-runner`
  ServiceAccount create-cluster makes.  No PostgreSQL, no repo host.
- Jobs: the worker is the production worker started through tests/support/cheap_jobs.py, which sets one value —
  the job-runner command of backup Jobs (`tasks.steps.RUNNER`) — to `sh -c 'exec sleep S'`.  The Job is built
  by tasks/topology.py `backup_job` and created by the worker's `advance_backup` as always; its pod is a real
  process in kubesim.  What follows is all production code: kubesim's Job controller writes `Complete` → the
  watcher's watch event → `record_step` (the step's `finished`, in the task record) → `brq.advance` → the
  worker's `finish_backup` (the record SUCCESS, the cluster lock released).

A cluster takes one backup at a time (its lock: a second POST is 409), so at most `--clusters` backups are in
flight: each cluster's backups run one after another, the next POSTed as soon as the previous is terminal
(a closed loop of `--clusters` users).  `--backups 1000 --clusters 1000` puts 1,000 Jobs in flight at once.

Printed (house style: figures, ratios against a baseline of the same run, no assertions on time):

- Completion latency: from the moment a Job's `Complete` condition is seen on a watch (a separate process of
  this bench, watching like the watcher does: kubesim's condition times have 1 s resolution) to (a) the step's
  completion in the task record (the watcher's write; target p95 ≤ 1 s) and (b) the record SUCCESS (the worker's
  `finish_backup` after it).  p50 / p95 / max, and the same for a baseline run first: `--baseline-reps`
  backups one at a time on an idle stack — the ratio says what the load costs.
- The watcher's RSS (before the load, peak = VmHWM, after) and its CPU per completion; CPU of the other processes.
- Redis memory per task record: `INFO memory` used_memory after the load minus before, over the records
  written (everything a backup leaves: record, indexes, done signal, stats; Celery's messages are consumed);
  and the mean `MEMORY USAGE` of the record keys alone.
- The API: POST …/backups through the real API over HTTP from `--connections` concurrent clients — p50 / p99
  latency of every POST of the run, and req/s of the first wave (every cluster's first backup at once: the
  submission burst) and over the run (paced by completions, not by the API).
- kubesim: Jobs in flight at most, processes under kubesim at most (pods are processes).

The machine has 2 cores and is shared (other engineers' tests): figures are noisy; the load average is printed.

`--profile-watcher` runs the same watcher with its stages timed (bench/_watcher_probe.py) and prints where its
time went; `--watcher-variant concurrent|nolog` measures two possible changes to tasks/watcher.py (see there).

Measured (2 cores, load average 1.5-3 from other engineers' tests; 2026-11-27; ranges: two runs):

  1,000 backups / 200 clusters, Jobs sleep 20 s    production           concurrent (16)    nolog
    Complete → step recorded p50 / p95 / max (ms)  17-173 / 2,014-2,379  36 / 817 / 1,212   2 / 128 / 158
                                                   / 2,726-3,410
    Complete → task SUCCESS p50 / p95 (ms)         24-220 / 2,088-2,391  50 / 1,981         26 / 943
    watcher CPU per completion; RSS peak           6.4-8.1 ms; 100 MiB   7.3 ms; 106 MiB    4.3 ms; 100 MiB
  1,000 backups / 1,000 clusters, Jobs sleep 90 s (1,000 Jobs and 2,001 processes under kubesim at once):
    Complete → step recorded p50 / p95 (ms)        6,105-7,433 /         2,993 / 8,792      687 / 1,114
                                                   9,356-10,857
    Complete → task SUCCESS p50 / p95 (ms)         6,115-7,437 /         3,570 / 9,300      2,602 / 4,010
                                                   9,377-10,866
  Watcher RSS 96-98 MiB before the load, peak 100-117 MiB.  Redis ~1,850-2,500 bytes per backup's records (the
  record key alone 1,000).  POST p50 5-8 ms, p99 130-220 ms (200 clusters; first wave 119-200 req/s); p50
  48-72 ms, p99 107-181 ms for the 1,000-POST burst (207-299 req/s).  Baseline, one backup at a time: Complete →
  step recorded p50 3-7 ms, → SUCCESS 9-17 ms.

  Where the time goes (production): every Complete is handled in the watch loop, one after the other, and costs
  two Kubernetes API calls before the record is written — list the Job's pod, read its log (for the backup
  label: `Watcher._log`): 84-90 % of the watcher's time per completion (_log p50 6-31 ms, p95 49-122 ms, single
  calls up to 3.5 s when kubesim, busy with 1,000 pods, stalls).  A wave's Jobs end together, so completions
  queue behind each other's log reads: the slowest 5 % waited behind 33-40 earlier Completes (90 at 1,000 Jobs,
  ~120 ms each in the burst).  Handling them 16 at a time (`concurrent`) helps at 200 but not at 1,000, where
  kubesim answers the parallel calls in 140 ms p50: kubesim is the limit there.  Without the log read
  (`nolog`) a Complete costs the watcher 1-2 ms; what is left at 1,000 Jobs is the burst itself (the slowest
  waited behind ~860 Completes handled in 1.1 s) and the single worker's queue of `finish_backup` steps.
"""
from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import multiprocessing
import os
import queue
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench._common import finish, machine, percentile, redis_client  # noqa: E402
from tasks.state import keys  # noqa: E402
from tasks.state.records import TaskRecord  # noqa: E402
from tests.support import cheap_jobs  # noqa: E402
from tests.support.stack import Stack  # noqa: E402

NS = "load"
BODY = json.dumps({"type": "full", "storage_type": "local"}).encode()
PATH = "/api/v1/namespaces/%s/clusters/%s/backups"
TARGET_P95 = 1.0


# -- a watch on the backup Jobs, in its own process (its clock is not held up by this process's threads) --------

def _watch_jobs(kubeconfig: str, ns: str, path: str, ready) -> None:
    from tasks.kube import config as kconfig
    from tasks.kube.watching import follow
    from tasks.watcher import job_outcome

    async def amain() -> None:
        from kubernetes_asyncio import client
        cfg = await kconfig.load(kubeconfig)
        seen: set[tuple[str, str]] = set()
        stop = asyncio.Event()
        with open(path, "a", buffering=1) as out:
            async with client.ApiClient(cfg) as api:
                async for kind, obj in follow(api, kind="Job", labels="brq.io/kind=backup", namespace=ns, stop=stop):
                    now = time.time()
                    if kind == "SYNC":
                        ready.set()
                        continue
                    name = obj["metadata"]["name"]
                    marks = ["seen"]
                    outcome = job_outcome(obj)
                    if outcome:
                        marks.append(outcome)
                    if kind == "DELETED":
                        marks.append("deleted")
                    for mark in marks:
                        if (name, mark) not in seen:
                            seen.add((name, mark))
                            out.write(f"{now:.6f}\t{mark}\t{name}\n")

    asyncio.run(amain())


def read_marks(path: str) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    with open(path) as f:
        for line in f:
            t, mark, name = line.rstrip("\n").split("\t")
            out.setdefault((name, mark), float(t))
    return out


# -- processes: RSS, CPU ----------------------------------------------------------------------------------

def proc_status(pid: int) -> dict[str, int]:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line.split(":")[0]] = int(line.split()[1]) * 1024
    except OSError:
        pass
    return out


def _stat_table() -> dict[int, tuple[int, float]]:
    """pid → (ppid, cpu seconds) for every process."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                out[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
            except (OSError, IndexError, ValueError):
                pass
    return out


def descendants(table: dict[int, tuple[int, float]], root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


class Sampler(threading.Thread):
    """Every `every` seconds: the watcher's RSS, the number of processes under kubesim."""

    def __init__(self, watcher_pid: int, kubesim_pid: int, every: float = 2.0):
        super().__init__(daemon=True)
        self.watcher_pid, self.kubesim_pid, self.every = watcher_pid, kubesim_pid, every
        self.rss: list[int] = []
        self.kubesim_procs: list[int] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            self.rss.append(proc_status(self.watcher_pid).get("VmRSS", 0))
            self.kubesim_procs.append(len(descendants(_stat_table(), self.kubesim_pid)) - 1)
            self.halt.wait(self.every)


def cpu_of(stack: Stack) -> dict[str, float]:
    table = _stat_table()
    out = {}
    for name, proc in stack.procs.items():
        out[name] = sum(table.get(p, (0, 0.0))[1] for p in descendants(table, proc.pid))
    out["kubesim (server)"] = table.get(stack.kubesim.popen.pid, (0, 0.0))[1]
    out["redis"] = table.get(stack.redis.popen.pid, (0, 0.0))[1]
    return out


# -- submitting: concurrent HTTP clients of the real API --------------------------------------------------

class Load:
    """`per_cluster` backups on each cluster, one after another; `connections` clients POST them."""

    def __init__(self, api_url: str, token: str, r, clusters: list[str], per_cluster: int, connections: int):
        host, port = api_url.split("//")[1].split(":")
        self.host, self.port, self.token = host, int(port), token
        self.r = r
        self.left = {c: per_cluster for c in clusters}
        self.todo: queue.Queue = queue.Queue()
        self.connections = connections
        self.posts: list[tuple[float, float, int, str]] = []   # (start, seconds, status, cluster)
        self.tasks: dict[str, str] = {}                         # task id → cluster
        self.pending: dict[str, str] = {}                       # task id → cluster, not yet terminal
        self.lock = threading.Lock()
        self.total = len(clusters) * per_cluster
        self.done = threading.Event()
        self.errors: list[str] = []
        for c in clusters:
            self.todo.put(c)

    def _post(self, conn: http.client.HTTPConnection | None, cluster: str):
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"}
        for attempt in range(3):
            if conn is None:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            t0 = time.time()
            p0 = time.perf_counter()
            try:
                conn.request("POST", PATH % (NS, cluster), body=BODY, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = None
                continue
            took = time.perf_counter() - p0
            if resp.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
            return conn, t0, took, resp.status, raw
        raise RuntimeError(f"POST for {cluster} failed 3 times (connection errors)")

    def submitter(self) -> None:
        conn = None
        while not self.done.is_set():
            try:
                cluster = self.todo.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                conn, t0, took, status, raw = self._post(conn, cluster)
            except RuntimeError as exc:
                self.errors.append(str(exc))
                self.done.set()
                return
            with self.lock:
                self.posts.append((t0, took, status, cluster))
            if status == 202:
                task_id = json.loads(raw)["task_id"]
                with self.lock:
                    self.tasks[task_id] = cluster
                    self.pending[task_id] = cluster
                    self.left[cluster] -= 1
            else:
                self.errors.append(f"POST {cluster}: {status} {raw[:300]!r}")
                if status == 409:   # the previous backup is not terminal yet (cannot happen in a closed loop)
                    self.todo.put(cluster)
                else:
                    self.done.set()

    def follower(self) -> None:
        """Hands a cluster its next backup as soon as its previous one is terminal (the record's done signal)."""
        finished = 0
        while not self.done.is_set():
            with self.lock:
                waiting = list(self.pending)
            if not waiting:
                time.sleep(0.01)
                continue
            got = self.r.blpop([keys.task_done(t) for t in waiting[:2000]], timeout=0.5)
            if got is None:
                continue
            key, state = got
            task_id = key.decode().rsplit(":", 1)[1]
            self.r.rpush(key, state)   # leave it, as the API's waiters do (it expires after 300 s)
            with self.lock:
                cluster = self.pending.pop(task_id)
                again = self.left[cluster] > 0
            finished += 1
            if again:
                self.todo.put(cluster)
            if finished == self.total:
                self.done.set()

    def run(self, timeout: float) -> float:
        threads = [threading.Thread(target=self.submitter, daemon=True) for _ in range(self.connections)]
        threads.append(threading.Thread(target=self.follower, daemon=True))
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        if not self.done.wait(timeout):
            self.errors.append(f"not finished after {timeout:g} s: {len(self.pending)} pending, "
                               f"{sum(self.left.values())} not submitted")
            self.done.set()
        elapsed = time.perf_counter() - t0
        for t in threads:
            t.join(5)
        return elapsed


# -- figures ----------------------------------------------------------------------------------------------

def records(r, ids: list[str]) -> list[TaskRecord]:
    out = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        out += [TaskRecord.from_json(raw) for raw in r.mget([keys.task(i) for i in chunk]) if raw is not None]
    return out


def latencies(recs: list[TaskRecord], marks: dict) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"recorded": [], "terminal": [], "missing": []}
    for rec in recs:
        for step in rec.steps:
            seen = marks.get((step["job"], "Complete"))
            if seen is None or step.get("finished") is None:
                out["missing"].append(step["job"])
                continue
            out["recorded"].append(step["finished"] - seen)
            if rec.finished is not None:
                out["terminal"].append(rec.finished - seen)
    return out


def lat_by_job(recs: list[TaskRecord], marks: dict) -> dict[str, float]:
    return {s["job"]: s["finished"] - marks[(s["job"], "Complete")] for rec in recs for s in rec.steps
            if (s["job"], "Complete") in marks and s.get("finished") is not None}


def profile(path: str, marks: dict, lat: dict[str, float]) -> None:
    """Where the watcher's time went (bench/_watcher_probe.py's lines), over the whole load and over the slowest
    5 % of completions' wait: the watch events it handled in turn ahead of each slow completion."""
    rows = []
    with open(path) as f:
        for line in f:
            what, kind, name, start, secs = line.rstrip("\n").split("\t")
            rows.append((what, kind, name, float(start), float(secs)))
    print("  watcher profile (--profile-watcher: the production watcher with its stages timed):")
    events = [r for r in rows if r[0] == "on_job"]
    by_kind: dict[str, list[float]] = {}
    for _, kind, _, _, secs in events:
        by_kind.setdefault(kind, []).append(secs)
    for kind, secs in sorted(by_kind.items(), key=lambda kv: -sum(kv[1])):
        print(f"    watch events {kind:<22} {len(secs):6d} handled, {sum(secs):7.2f} s in all, "
              f"p50 {percentile(secs, 50) * 1000:6.1f} ms, max {max(secs) * 1000:7.1f} ms")
    for what in ("_log", "record_step", "find"):
        secs = [r[4] for r in rows if r[0] == what]
        if secs:
            print(f"    {what + ' calls':<35} {len(secs):6d}, {sum(secs):7.2f} s in all, p50 "
                  f"{percentile(secs, 50) * 1000:6.1f} ms, p95 {percentile(secs, 95) * 1000:6.1f} ms, "
                  f"max {max(secs) * 1000:7.1f} ms")
    lags = [r[4] for r in rows if r[0] == "lag"]
    print(f"    event-loop stalls over 50 ms: {len(lags)}" + (f", longest {max(lags) * 1000:.0f} ms, "
                                                            f"{sum(lags):.2f} s in all" if lags else ""))
    if not lat:
        return
    cut = percentile(list(lat.values()), 95)
    slow = [j for j, v in lat.items() if v >= cut]
    ahead: dict[str, list[float]] = {}
    for job in slow:
        seen = marks[(job, "Complete")]
        handled = next((r for r in events if r[2] == job and r[1].endswith("/Complete")), None)
        if handled is None:
            continue
        for what, kind, name, start, secs in events:
            if seen <= start < handled[3]:
                ahead.setdefault(kind, []).append(secs)
    n = max(1, len(slow))
    print(f"    the slowest 5 % ({len(slow)} completions, ≥ {cut * 1000:.0f} ms): what the watcher handled between "
          f"their Complete and its turn, per slow completion:")
    for kind, secs in sorted(ahead.items(), key=lambda kv: -sum(kv[1])):
        print(f"      {kind:<22} {len(secs) / n:6.1f} events, {sum(secs) / n * 1000:7.0f} ms")


def pcts(values: list[float]) -> str:
    if not values:
        return "n/a"
    return (f"p50 {percentile(values, 50) * 1000:7.0f} ms   p95 {percentile(values, 95) * 1000:7.0f} ms   "
            f"max {max(values) * 1000:7.0f} ms   (min {min(values) * 1000:.0f} ms, n={len(values)})")


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b > 0 else "n/a"


def mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


def sequential_backups(stack: Stack, r, cluster: str, reps: int) -> list[str]:
    from bench._common import Api, submit, wait_done
    api = Api(stack.api_url, stack.tokens["admin"])
    ids = []
    for _ in range(reps):
        task_id = submit(api, NS, f"clusters/{cluster}/backups", {"type": "full", "storage_type": "local"})
        rec = wait_done(r, task_id, timeout=120)
        if rec.state != "SUCCESS":
            raise RuntimeError(f"baseline backup {task_id} ended {rec.state}: {rec.error}")
        ids.append(task_id)
    return ids


def run(args: argparse.Namespace) -> None:
    if args.backups % args.clusters:
        raise SystemExit("--backups must be a multiple of --clusters (each cluster takes the same number)")
    per_cluster = args.backups // args.clusters
    directory = tempfile.mkdtemp(prefix="load-bench-")
    print(f"load bench: {args.backups} backups across {args.clusters} clusters ({per_cluster} each, one after "
          f"another: at most {args.clusters} in flight), Jobs sleeping {args.sleep:g} s, one watcher, "
          f"{args.workers} worker(s) × {args.concurrency}, API 2 gunicorn workers, {args.connections} HTTP clients"
          + (f"; watcher: {args.watcher_variant}, stages timed" if args.profile_watcher else ""))
    print(f"  {machine()}; stack in {directory}")
    t = time.perf_counter()
    stack = Stack(directory, namespaces=(NS,), workers=0, beats=0).start()
    print(f"  stack started in {time.perf_counter() - t:.1f} s")
    watch_proc = None
    try:
        r = redis_client(stack.redis.url)
        cheap_jobs.ensure_job_runner_account(stack, NS)
        clusters = [f"c{i}" for i in range(args.clusters)]
        cheap_jobs.write_ready_clusters(r, NS, clusters + ["idle"])

        marks_path = os.path.join(directory, "job-marks.tsv")
        ctx = multiprocessing.get_context("spawn")
        ready = ctx.Event()
        watch_proc = ctx.Process(target=_watch_jobs, args=(stack.kubesim.kubeconfig, NS, marks_path, ready),
                                 daemon=True)
        watch_proc.start()
        if not ready.wait(60):
            raise RuntimeError("the bench's Job watch did not start")

        # -- baseline: one backup at a time, idle stack ---------------------------------------------------
        cheap_jobs.start_worker(stack, "worker-baseline", args.baseline_sleep, args.concurrency)
        sequential_backups(stack, r, "idle", 1)  # warm-up: first Job, first pod, caches
        base_ids = sequential_backups(stack, r, "idle", args.baseline_reps)
        stack.stop_process("worker-baseline")
        time.sleep(0.5)
        base = latencies(records(r, base_ids), read_marks(marks_path))
        print(f"baseline: {args.baseline_reps} backups one at a time on an idle stack (Jobs sleep "
              f"{args.baseline_sleep:g} s):")
        print(f"  Job Complete seen → step completion in the task record (watcher): {pcts(base['recorded'])}")
        print(f"  Job Complete seen → task SUCCESS in the record (worker):          {pcts(base['terminal'])}")

        # -- the load -----------------------------------------------------------------------------------
        probe_path = os.path.join(directory, "watcher-probe.tsv")
        if args.profile_watcher:   # the same watcher, its stages timed (bench/_watcher_probe.py)
            stack.stop_process("watcher")
            env = {"concurrent": {"BRQ_PROBE_CONCURRENT": "16"}, "nolog": {"BRQ_PROBE_NOLOG": "1"}}.get(
                args.watcher_variant, {})
            stack._spawn("watcher", [sys.executable, "-m", "bench._watcher_probe", probe_path], env=env)
            time.sleep(2.0)
        watcher_pid = stack.procs["watcher"].pid
        for i in range(args.workers):
            cheap_jobs.start_worker(stack, f"worker{i}", args.sleep, args.concurrency)
        time.sleep(2.0)  # the workers are up (their start is not the API's or the watcher's cost)
        w_before = proc_status(watcher_pid)
        mem_before = r.info("memory")["used_memory"]
        cpu_before = cpu_of(stack)
        sampler = Sampler(watcher_pid, stack.kubesim.popen.pid)
        sampler.start()
        load = Load(stack.api_url, stack.tokens["admin"], r, clusters, per_cluster, args.connections)
        print(f"load: {args.backups} backups …", flush=True)
        elapsed = load.run(args.timeout)
        cpu_after = cpu_of(stack)
        time.sleep(1.0)
        sampler.halt.set()
        sampler.join()
        mem_after = r.info("memory")["used_memory"]
        w_after = proc_status(watcher_pid)
        marks = read_marks(marks_path)
        recs = records(r, list(load.tasks))
        lat = latencies(recs, marks)

        # -- print --------------------------------------------------------------------------------------
        states: dict[str, int] = {}
        for rec in recs:
            states[rec.state] = states.get(rec.state, 0) + 1
        print(f"  finished in {elapsed:.1f} s: {len(recs)} task records, states {states}; "
              f"{len(recs) / elapsed:.1f} backups/s end to end")
        for err in load.errors[:10]:
            print(f"  ! {err}")
        if lat["missing"]:
            print(f"  ! {len(lat['missing'])} step(s) without a Complete seen or a recorded finish, e.g. "
                  f"{lat['missing'][:3]}")

        # Jobs in flight, from the bench's watch: created (seen) and not yet Complete/Failed
        events = []
        for (name, mark), t in marks.items():
            if mark == "seen":
                events.append((t, 1))
            elif mark in ("Complete", "Failed"):
                events.append((t, -1))
        in_flight = peak = 0
        for _, d in sorted(events):
            in_flight += d
            peak = max(peak, in_flight)
        print(f"  kubesim: at most {peak} backup Jobs in flight at once; at most "
              f"{max(sampler.kubesim_procs or [0])} processes under kubesim (pods are processes: holder + container)")

        p95 = percentile(lat["recorded"], 95)
        ok = "✓" if p95 <= TARGET_P95 else "✗"
        print("  completion latency under load (Job Complete seen on a watch → …):")
        print(f"    step completion in the task record (watcher): {pcts(lat['recorded'])}")
        print(f"      target p95 ≤ {TARGET_P95:g} s: {p95:.2f} s {ok}   "
              f"(vs baseline: p50 {ratio(percentile(lat['recorded'], 50), percentile(base['recorded'], 50))}, "
              f"p95 {ratio(p95, percentile(base['recorded'], 95))})")
        p95t = percentile(lat["terminal"], 95)
        print(f"    task SUCCESS in the record (worker after it): {pcts(lat['terminal'])}")
        print(f"      (p95 {p95t:.2f} s {'✓' if p95t <= TARGET_P95 else '✗'} against the same target; vs baseline: "
              f"p50 {ratio(percentile(lat['terminal'], 50), percentile(base['terminal'], 50))}, "
              f"p95 {ratio(p95t, percentile(base['terminal'], 95))})")

        done = max(1, len(lat["recorded"]))
        wcpu = cpu_after["watcher"] - cpu_before["watcher"]
        print(f"  watcher RSS: {mib(w_before.get('VmRSS', 0))} before the load, peak {mib(w_after.get('VmHWM', 0))} "
              f"(VmHWM; sampled max {mib(max(sampler.rss or [0]))}), {mib(w_after.get('VmRSS', 0))} after; "
              f"CPU {wcpu:.1f} s for {done} completions = {wcpu / done * 1000:.1f} ms each")
        print("  CPU seconds during the load: " + ", ".join(
            f"{name} {cpu_after[name] - cpu_before.get(name, 0):.1f}" for name in cpu_after
            if cpu_after[name] - cpu_before.get(name, 0) >= 0.05))

        sample = list(load.tasks)[:200]
        usage = [r.memory_usage(keys.task(t)) or 0 for t in sample]
        per = (mem_after - mem_before) / max(1, len(recs))
        print(f"  Redis: used_memory {mib(mem_before)} → {mib(mem_after)}: {per:,.0f} bytes per task record "
              f"(all a backup leaves: record, indexes, done signal, stats); MEMORY USAGE of a record key "
              f"{sum(usage) / max(1, len(usage)):,.0f} bytes (mean of {len(usage)})")

        lats = [p[1] for p in load.posts]
        codes: dict[int, int] = {}
        for p in load.posts:
            codes[p[2]] = codes.get(p[2], 0) + 1
        first = sorted(load.posts)[:args.clusters]
        burst = (max(p[0] + p[1] for p in first) - min(p[0] for p in first)) if first else float("nan")
        print(f"  API: {len(load.posts)} POST …/backups ({', '.join(f'{k}: {v}' for k, v in sorted(codes.items()))}) "
              f"from {args.connections} clients: latency p50 {percentile(lats, 50) * 1000:.1f} ms, "
              f"p99 {percentile(lats, 99) * 1000:.1f} ms, max {max(lats) * 1000:.1f} ms")
        print(f"    first wave (each cluster's first backup at once): {len(first)} in {burst:.2f} s = "
              f"{len(first) / burst:.0f} req/s (latency p50 {percentile([p[1] for p in first], 50) * 1000:.1f} ms, "
              f"p99 {percentile([p[1] for p in first], 99) * 1000:.1f} ms); over the whole run "
              f"{len(load.posts) / elapsed:.1f} req/s (paced by completions: the next backup of a cluster waits "
              f"for its previous one)")
        if args.profile_watcher:
            profile(probe_path, marks, lat_by_job(recs, marks))
    finally:
        if watch_proc is not None:
            watch_proc.terminate()
            watch_proc.join(5)
        finish(stack, directory, args.keep)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="100 backups across 20 clusters, Jobs sleeping 5 s")
    p.add_argument("--backups", type=int, default=None, help="backups in all (default 1000; quick 100)")
    p.add_argument("--clusters", type=int, default=None, help="clusters (default 200; quick 20)")
    p.add_argument("--sleep", type=float, default=None,
                   help="seconds each backup Job sleeps (default 20; quick 5): longer than a wave takes to start, "
                        "so a wave's Jobs are all in flight together")
    p.add_argument("--connections", type=int, default=16, help="concurrent HTTP clients (default 16)")
    p.add_argument("--workers", type=int, default=1, help="Celery worker processes (default 1)")
    p.add_argument("--concurrency", type=int, default=2, help="prefork children per worker (default 2)")
    p.add_argument("--baseline-reps", type=int, default=None, help="baseline backups, one at a time (default 10)")
    p.add_argument("--baseline-sleep", type=float, default=1.0, help="seconds a baseline Job sleeps (default 1)")
    p.add_argument("--timeout", type=float, default=1800, help="give up after this many seconds of load")
    p.add_argument("--profile-watcher", action="store_true",
                   help="run the watcher with its stages timed (bench/_watcher_probe.py) and print where its time "
                        "went")
    p.add_argument("--watcher-variant", choices=("production", "concurrent", "nolog"), default="production",
                   help="experiments for tasks/watcher.py (bench/_watcher_probe.py; implies --profile-watcher): "
                        "`concurrent` handles ended Jobs' events 16 at a time instead of in line; `nolog` reads no "
                        "pod log on Complete (the label would come on the Job)")
    p.add_argument("--keep", action="store_true", help="keep the stack's directory (logs) afterwards")
    args = p.parse_args()
    if args.watcher_variant != "production":
        args.profile_watcher = True
    quick = args.quick
    args.backups = args.backups or (100 if quick else 1000)
    args.clusters = args.clusters or (20 if quick else 200)
    args.sleep = args.sleep if args.sleep is not None else (5.0 if quick else 20.0)
    args.baseline_reps = args.baseline_reps or (5 if quick else 10)
    run(args)


if __name__ == "__main__":
    main()
