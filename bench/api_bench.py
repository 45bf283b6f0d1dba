"""The REST API's speed next to its floor, and the orchestration overhead of one backup, in the same run.

    .venv/bin/python bench/api_bench.py                      # about 2-3 minutes on 2 cores
    .venv/bin/python bench/api_bench.py --duration 30 --rounds 3 --reps 10 --storage s3
    .venv/bin/python bench/api_bench.py --skip-overhead      # only the submission throughput

Starts the whole stack as real processes (tests/support/stack.py: Redis, kubesim, S3 over TLS, the API under
gunicorn, the watcher; the Celery worker only for part 2) and prints:

1. Submissions: `POST …/clusters/{name}/backups` per second and p50/p99 latency through gunicorn as the stack
   runs it, next to the floor — bench/floor_app.py, a bare Flask endpoint that calls Celery `send_task`, served
   by the same gunicorn command line (same worker count) against the same Redis — in alternating rounds.
   A cluster takes one backup at a time (409), so each request names another cluster: ready cluster records
   are written straight into Redis (tasks.state.clusters.ClusterStore), which is all the API reads.  No worker
   runs in this part: the queue and the records are flushed after each round, so the API alone is measured.
   Load: `wrk` (Debian package `wrk`) when installed, else a thread pool of http.client connections; also the
   latency of one client sending requests one after the other (no queueing).  Target: ≥ 70 % of the floor.
2. Orchestration overhead of one full backup of an empty cluster: REST request → task SUCCESS (the Celery
   worker, a Job in kubesim whose job-runner execs `pgbackrest backup` in the repo host, the watcher, the
   worker again), minus the very same `pgbackrest backup` argv exec'd in the repo host directly (the
   job-runner's own exec call, tasks.kube.execing), alternating, several repetitions; medians.  Target ≤ 1 s.
   Also where the time goes, from the records' timestamps and a watch on the Job and its pod.

Timings are printed, never asserted (house style: bench/kubesim_bench.py).
"""
from __future__ import annotations

import argparse
import asyncio
import http.client
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._common import (Api, create_cluster, exec_in, find_pod, finish, machine, median, percentile,  # noqa: E402
                           redis_client, repo_host_selector, wait_done)
from tasks.celery_app import QUEUE  # noqa: E402
from tasks.pgbackrest import commands  # noqa: E402
from tasks.state import keys  # noqa: E402
from tasks.state.clusters import READY, ClusterRecord  # noqa: E402
from tests.support.servers import free_port  # noqa: E402
from tests.support.stack import Stack  # noqa: E402

LOAD_NS = "load"      # namespace of the cluster records the load part writes (managed, never touched by kubesim)
OVH_NS = "demo"       # namespace of the real cluster of part 2
BODY = '{"type":"full","storage_type":"local"}'
PATH = "/api/v1/namespaces/%s/clusters/%s/backups"


# -- part 1: submissions ----------------------------------------------------------------------------------

def write_cluster_records(r, ns: str, count: int, prefix: str = "c") -> None:
    """`count` ready clusters with storage `local`, as the create-cluster task leaves them."""
    now = time.time()
    for start in range(0, count, 5000):
        with r.pipeline(transaction=False) as pipe:
            for i in range(start, min(count, start + 5000)):
                rec = ClusterRecord(name=f"{prefix}{i}", namespace=ns, storage_types=["local"], status=READY,
                                    created=now)
                pipe.set(keys.cluster(ns, rec.name), rec.to_json())
                pipe.zadd(keys.namespace_clusters(ns), {rec.name: now})
            pipe.execute()


def flush_submissions(r, ns: str) -> tuple[int, int]:
    """Drop what a round left: the queued messages, task records, indexes and cluster locks; (records, queued)."""
    ids = r.zrange(keys.namespace_tasks(ns), 0, -1)
    queued = r.llen(QUEUE)
    for start in range(0, len(ids), 5000):
        chunk = [i.decode() for i in ids[start:start + 5000]]
        with r.pipeline(transaction=False) as pipe:
            pipe.delete(*[keys.task(i) for i in chunk])
            pipe.srem(keys.active_tasks(), *chunk)
            pipe.execute()
    for pattern in (f"brq:lock:{ns}/*", f"brq:tasks:{ns}/*"):
        batch = []
        for key in r.scan_iter(match=pattern, count=5000):
            batch.append(key)
            if len(batch) >= 5000:
                r.delete(*batch)
                batch = []
        if batch:
            r.delete(*batch)
    r.delete(keys.namespace_tasks(ns), QUEUE)
    return len(ids), queued


WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
local body = '%(body)s'
local made = 0
function setup(thread)
  thread:set("tid", made)
  made = made + 1
end
function init(args)
  i = tid
end
function request()
  local path = string.format("%(path)s", "c" .. (i %% %(count)d))
  i = i + %(threads)d
  return wrk.format(nil, path, nil, body)
end
"""


def _wrk_duration(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def run_wrk(url: str, token: str, *, duration: float, connections: int, count: int, workdir: str) -> dict:
    script = os.path.join(workdir, "submit.lua")
    with open(script, "w") as f:
        f.write(WRK_SCRIPT % {"token": token, "body": BODY, "threads": 1, "count": count,
                              "path": PATH % (LOAD_NS, "%s")})
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--timeout", "10s", "--latency",
                          "-s", script, url], capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "total": total,
            "p50": _wrk_duration(lat["50"]), "p99": _wrk_duration(lat["99"]),
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "errors": errors.group(1) if errors else ""}


def run_pool(url: str, token: str, *, connections: int, duration: float | None = None, requests: int | None = None,
             first: int = 0, count: int = 1) -> dict:
    """A thread pool of http.client connections (reconnecting when gunicorn closes them); cluster i, i+1, …"""
    host, port = url.split("//")[1].split(":")
    names = itertools.count(first)
    lat: list[float] = []
    statuses: dict[int, int] = {}
    errors = [0]
    lock = threading.Lock()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    body = BODY.encode()
    deadline = time.perf_counter() + duration if duration else None

    def client() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        mine, codes = [], {}
        while True:
            n = next(names)
            if (requests is not None and n - first >= requests) or (deadline and time.perf_counter() > deadline):
                break
            t = time.perf_counter()
            try:
                conn.request("POST", PATH % (LOAD_NS, f"c{n % count}"), body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                with lock:
                    errors[0] += 1
                continue
            mine.append(time.perf_counter() - t)
            codes[resp.status] = codes.get(resp.status, 0) + 1
        conn.close()
        with lock:
            lat.extend(mine)
            for k, v in codes.items():
                statuses[k] = statuses.get(k, 0) + v

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return {"rps": len(lat) / elapsed, "total": len(lat), "p50": percentile(lat, 50), "p99": percentile(lat, 99),
            "non2xx": sum(v for k, v in statuses.items() if not 200 <= k < 400), "errors": str(errors[0] or "")}


def _cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except OSError:
            pass
    return total


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except OSError:
                pass
    return out


def serve_floor(stack: Stack) -> str:
    """The floor app under the API's own gunicorn command line (worker count and all), on another port."""
    argv = list(stack.procs["api"].args)
    port = free_port()
    argv[argv.index("-b") + 1] = f"127.0.0.1:{port}"
    argv[-1] = "bench.floor_app:create_app()"
    stack._spawn("floor", argv)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return url
        except OSError:
            if stack.procs["floor"].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the floor app did not start:\n{stack.tail('floor')}") from None
            time.sleep(0.1)


def submissions(stack: Stack, r, args: argparse.Namespace, workdir: str) -> None:
    token = stack.tokens["admin"]
    floor_url = serve_floor(stack)
    servers = {"floor (Flask + send_task)": (floor_url, stack.procs["floor"].pid),
               "API POST …/backups": (stack.api_url, stack.procs["api"].pid)}
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
    count = args.clusters or max(10000, int(args.duration * 3000))
    t = time.perf_counter()
    write_cluster_records(r, LOAD_NS, count)
    print(f"  {count} ready cluster records written to Redis in {time.perf_counter() - t:.1f} s; "
          f"load: {'wrk -t1 -c%d' % args.connections if use_wrk else 'python, %d threads' % args.connections}, "
          f"{args.duration:g} s a round, {args.rounds} round(s) each, alternating; no Celery worker running")

    def one(url: str, duration: float) -> dict:
        if use_wrk:
            return run_wrk(url, token, duration=duration, connections=args.connections, count=count, workdir=workdir)
        return run_pool(url, token, connections=args.connections, duration=duration, count=count)

    for name, (url, _) in servers.items():  # warm-up: workers import lazily, Redis pools fill
        one(url, 2)
        flush_submissions(r, LOAD_NS)
    results: dict[str, list[dict]] = {name: [] for name in servers}
    for rnd in range(args.rounds):
        for name, (url, master) in servers.items():
            pids = [master, *_children(master)]
            cpu0, redis0 = _cpu_seconds(pids), _cpu_seconds([stack.redis.popen.pid])
            res = one(url, args.duration)
            res["cpu_ms"] = (_cpu_seconds(pids) - cpu0) / max(res["total"], 1) * 1000
            res["redis_ms"] = (_cpu_seconds([stack.redis.popen.pid]) - redis0) / max(res["total"], 1) * 1000
            records, queued = flush_submissions(r, LOAD_NS)
            res["records"], res["queued"] = records, queued
            results[name].append(res)
            bad = f"   non-2xx {res['non2xx']}" if res["non2xx"] else ""
            bad += f"   socket errors {res['errors']}" if res["errors"] else ""
            print(f"  round {rnd + 1} {name:<28} {res['rps']:8.1f} req/s   p50 {res['p50'] * 1000:6.2f} ms   "
                  f"p99 {res['p99'] * 1000:6.2f} ms   CPU/request: server {res['cpu_ms']:.2f} ms, "
                  f"redis {res['redis_ms']:.2f} ms   (queued {queued}"
                  f"{', records %d' % records if 'API' in name else ''}){bad}", flush=True)

    seq = {}
    for name, (url, _) in servers.items():
        res = run_pool(url, token, connections=1, requests=args.sequential, count=count)
        flush_submissions(r, LOAD_NS)
        seq[name] = res
    print(f"  one client, {args.sequential} requests one after the other (no queueing):")
    for name, res in seq.items():
        print(f"    {name:<28} p50 {res['p50'] * 1000:6.2f} ms   p99 {res['p99'] * 1000:6.2f} ms   "
              f"({res['rps']:.0f} req/s)")

    floor_name, api_name = list(servers)
    floor, api = results[floor_name], results[api_name]
    floor_rps, api_rps = median([x["rps"] for x in floor]), median([x["rps"] for x in api])
    paired = median([a["rps"] / f["rps"] for a, f in zip(api, floor)])
    cpu = median([f["cpu_ms"] for f in floor]) / median([a["cpu_ms"] for a in api])
    print(f"  => submissions: API {api_rps:.0f} req/s (p50 {median([x['p50'] for x in api]) * 1000:.1f} ms, "
          f"p99 {median([x['p99'] for x in api]) * 1000:.1f} ms) vs floor {floor_rps:.0f} req/s "
          f"(p50 {median([x['p50'] for x in floor]) * 1000:.1f} ms, p99 {median([x['p99'] for x in floor]) * 1000:.1f}"
          f" ms): {paired * 100:.0f} % of the floor's throughput (median of the rounds' API/floor ratios; "
          f"target ≥ 70 %); the API's server CPU per request is {1 / cpu:.2f}× the floor's")
    stack.stop_process("floor")
    r.delete(keys.namespace_clusters(LOAD_NS))
    for start in range(0, count, 5000):
        r.delete(*[keys.cluster(LOAD_NS, f"c{i}") for i in range(start, min(count, start + 5000))])


# -- part 2: orchestration overhead -----------------------------------------------------------------------

class Seen:
    """First time (wall clock) the bench's own watch saw each backup Job and pod reach each state."""

    def __init__(self) -> None:
        self.at: dict[tuple[str, str], float] = {}

    def mark(self, name: str, what: str) -> None:
        self.at.setdefault((name, what), time.time())


async def watch_backups(cfg, ns: str, seen: Seen) -> None:
    from kubernetes_asyncio import client, watch

    async with client.ApiClient(cfg) as api:
        core, batch = client.CoreV1Api(api), client.BatchV1Api(api)

        async def pods() -> None:
            w = watch.Watch()
            async for ev in w.stream(core.list_namespaced_pod, ns, label_selector="brq.io/kind=backup"):
                obj = ev["raw_object"]
                job = (obj["metadata"].get("labels") or {}).get("job-name")
                if not job:
                    continue
                seen.mark(job, "pod")
                phase = (obj.get("status") or {}).get("phase")
                if phase in ("Running", "Succeeded", "Failed"):
                    seen.mark(job, "pod Running")
                if phase in ("Succeeded", "Failed"):
                    seen.mark(job, "pod ended")

        async def jobs() -> None:
            w = watch.Watch()
            async for ev in w.stream(batch.list_namespaced_job, ns, label_selector="brq.io/kind=backup"):
                obj = ev["raw_object"]
                name = obj["metadata"]["name"]
                seen.mark(name, "job")
                for c in (obj.get("status") or {}).get("conditions") or []:
                    if c["type"] in ("Complete", "Failed") and c["status"] == "True":
                        seen.mark(name, "job ended")

        await asyncio.gather(pods(), jobs())


async def overhead(stack: Stack, r, args: argparse.Namespace) -> None:
    from tasks.kube import config as kconfig

    api = Api(stack.api_url, stack.tokens["admin"])
    name = "ovh"
    t = time.perf_counter()
    await asyncio.to_thread(create_cluster, api, r, OVH_NS, name, args.storage)
    print(f"  cluster {OVH_NS}/{name} ({args.storage}) created through the API in {time.perf_counter() - t:.1f} s")
    cfg = await kconfig.load(stack.kubesim.kubeconfig)
    pod = await find_pod(cfg, OVH_NS, repo_host_selector(name))
    repo = commands.STORAGE_REPOS[args.storage]
    argv = commands.backup(repo, "full", [])
    print(f"  direct: exec in {pod} (pgbackrest): {' '.join(argv)}")

    seen = Seen()
    watcher = asyncio.create_task(watch_backups(cfg, OVH_NS, seen))
    await asyncio.sleep(0.5)  # the watch is up before the warm-up backup below

    async def via_api() -> dict:
        t0w, t0 = time.time(), time.perf_counter()
        task_id = await asyncio.to_thread(_submit, api, name, args.storage)
        t202 = time.perf_counter()
        rec = await asyncio.to_thread(wait_done, r, task_id)
        t1 = time.perf_counter()
        if rec.state != "SUCCESS":
            raise RuntimeError(f"backup {task_id} ended {rec.state}: {rec.error}")
        step = rec.steps[0]
        job = step["job"]
        marks = {"POST sent": t0w, "record created (API)": rec.created, "Job created (worker)": step["started"],
                 "Job seen": seen.at.get((job, "job")), "pod Running": seen.at.get((job, "pod Running")),
                 "pod ended": seen.at.get((job, "pod ended")), "Job Complete seen": seen.at.get((job, "job ended")),
                 "step recorded (watcher)": step["finished"], "task SUCCESS (worker)": rec.finished,
                 "client saw SUCCESS": t0w + (t1 - t0)}
        return {"total": t1 - t0, "marks": marks, "post": t202 - t0}

    async def direct() -> float:
        t0 = time.perf_counter()
        await exec_in(cfg, OVH_NS, pod, "pgbackrest", argv)
        return time.perf_counter() - t0

    await via_api()   # warm-up: first Job, first exec, caches
    await direct()
    api_runs, direct_runs = [], []
    for rep in range(args.reps):
        order = (via_api, direct) if rep % 2 == 0 else (direct, via_api)
        for fn in order:
            res = await fn()
            if fn is via_api:
                api_runs.append(res)
            else:
                direct_runs.append(res)
        print(f"  rep {rep + 1}: REST → SUCCESS {api_runs[-1]['total']:6.2f} s   direct exec {direct_runs[-1]:6.2f} s",
              flush=True)
    probes = await runner_probes(stack, cfg, name, args.storage, pod, seen)
    watcher.cancel()

    totals = [x["total"] for x in api_runs]
    print(f"  REST request → SUCCESS  median {median(totals):.2f} s (min {min(totals):.2f}, max {max(totals):.2f})")
    print(f"  direct exec              median {median(direct_runs):.2f} s (min {min(direct_runs):.2f}, "
          f"max {max(direct_runs):.2f})")
    print("  where the time goes (median over the reps; wall clock of the processes' own records and the bench's "
          "watch):")
    print(f"    {'POST → 202 answer':>24}   {median([x['post'] for x in api_runs]) * 1000:8.0f} ms")
    labels = list(api_runs[0]["marks"])
    for a, b in zip(labels, labels[1:]):
        gaps = [x["marks"][b] - x["marks"][a] for x in api_runs if x["marks"][a] and x["marks"][b]]
        print(f"    {a:>24} → {b:<24} {median(gaps) * 1000:8.0f} ms")
    job_part = [x["marks"]["pod ended"] - x["marks"]["pod Running"] for x in api_runs
                if x["marks"]["pod ended"] and x["marks"]["pod Running"]]
    print(f"    (the job-runner pod ran {median(job_part):.2f} s; the same exec alone took "
          f"{median(direct_runs):.2f} s)")
    print(f"    (a backup Job's fixed cost, pgBackRest's timing left out: a Job of the same shape whose job-runner "
          f"execs `true` in the repo host took {median(probes['job']):.2f} s create → Complete, a direct exec of "
          f"`true` {median(probes['direct']) * 1000:.0f} ms, a Job running `true` itself "
          f"{median(probes['bare']) * 1000:.0f} ms)")
    imports = [_import_seconds("tasks.jobrunner") for _ in range(3)]
    print(f"    (starting the job-runner: `import tasks.jobrunner` alone takes {median([i[0] for i in imports]):.2f} s "
          f"wall, of which kubernetes_asyncio {median([i[1] for i in imports]):.2f} s by -X importtime)")
    over = median(totals) - median(direct_runs)
    pairs = median([a["total"] - d for a, d in zip(api_runs, direct_runs)])
    print(f"  => orchestration overhead: {over:.2f} s (median REST → SUCCESS minus median direct exec; median of the "
          f"reps' differences {pairs:.2f} s; target ≤ 1 s)")


async def runner_probes(stack: Stack, cfg, cluster: str, storage: str, pod: str, seen: Seen,
                        n: int = 3) -> dict[str, list[float]]:
    """The job-runner's own cost: Jobs built like a backup's (tasks/topology.py backup_job) that exec `true`."""
    from kubernetes_asyncio import client

    from tasks import steps, topology
    from tasks.kube import objects
    from tasks.runtime import Runtime
    from tasks.settings import load_settings_from_environ

    rt = Runtime.from_settings(load_settings_from_environ(stack.env))
    spec = steps.cluster_spec(rt, OVH_NS, cluster, storage)
    out: dict[str, list[float]] = {"job": [], "bare": [], "direct": []}
    async with client.ApiClient(cfg) as api:
        for i in range(n):
            for kind in ("job", "bare"):
                name = f"bench-probe-{kind}-{i}"
                job = topology.backup_job(spec, name=name, task_id=name, repo=1, argv=["true"],
                                          image=rt.settings.images.job_runner, deadline_seconds=600,
                                          runner_command=steps.RUNNER, progress_argv=None)
                job["metadata"]["labels"][topology.L_KIND] = "backup"
                if kind == "bare":
                    job["spec"]["template"]["spec"]["containers"][0]["command"] = ["true"]
                started = time.time()
                await objects.create(api, manifest=job)
                deadline = time.monotonic() + 120
                while (name, "job ended") not in seen.at and time.monotonic() < deadline:
                    await asyncio.sleep(0.005)
                out[kind].append(seen.at[(name, "job ended")] - started)
            t = time.perf_counter()
            await exec_in(cfg, OVH_NS, pod, "pgbackrest", ["true"])
            out["direct"].append(time.perf_counter() - t)
    return out


def _import_seconds(module: str) -> tuple[float, float]:
    """(wall seconds of a fresh interpreter importing `module`, cumulative import seconds of kubernetes_asyncio)."""
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], capture_output=True,
                         text=True, check=True, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    wall = time.perf_counter() - t
    kube = [int(line.split("|")[1]) for line in out.stderr.splitlines()
            if line.count("|") == 2 and line.split("|")[2].strip() == "kubernetes_asyncio"]
    return wall, (kube[0] / 1e6 if kube else 0.0)


def _submit(api: Api, cluster: str, storage: str) -> str:
    status, body = api.call("POST", f"/api/v1/namespaces/{OVH_NS}/clusters/{cluster}/backups",
                            {"type": "full", "storage_type": storage})
    if status != 202:
        raise RuntimeError(f"backup refused: {status} {body}")
    return body["task_id"]


# -- main -------------------------------------------------------------------------------------------------

def run(args: argparse.Namespace) -> None:
    directory = tempfile.mkdtemp(prefix="api-bench-")
    print(f"api bench: {machine()}; stack in {directory}")
    t = time.perf_counter()
    stack = Stack(directory, namespaces=(OVH_NS, LOAD_NS), workers=0).start()
    print(f"  stack started in {time.perf_counter() - t:.1f} s")
    try:
        r = redis_client(stack.redis.url)
        if not args.skip_submissions:
            print("submissions (no worker, no watcher: the API and its floor alone):")
            stack.stop_process("watcher")
            submissions(stack, r, args, directory)
            stack.start_watcher()
        if not args.skip_overhead:
            print(f"orchestration overhead: full backup of an empty cluster to {args.storage}, {args.reps} reps:")
            stack.start_worker("worker0")
            asyncio.run(overhead(stack, r, args))
    finally:
        finish(stack, directory, args.keep)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=3, help="seconds of load per round (default 3)")
    p.add_argument("--rounds", type=int, default=8,
                   help="rounds per server, alternating: short rounds pair each API figure with a floor figure "
                        "taken under the same background load (default 8)")
    p.add_argument("--connections", type=int, default=8, help="concurrent connections of the load (default 8)")
    p.add_argument("--client", choices=("auto", "wrk", "python"), default="auto",
                   help="load generator: wrk if installed (auto), or a python thread pool")
    p.add_argument("--clusters", type=int, default=0,
                   help="cluster records for the load, more than one round's requests (default: 3000 a second of a "
                        "round, at least 10000)")
    p.add_argument("--sequential", type=int, default=500, help="requests of the one-client latency run")
    p.add_argument("--reps", type=int, default=7, help="repetitions of the overhead measurement (default 7)")
    p.add_argument("--storage", choices=("local", "s3"), default="local", help="repo of the overhead backups")
    p.add_argument("--skip-submissions", action="store_true")
    p.add_argument("--skip-overhead", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep the stack's directory (logs) afterwards")
    run(p.parse_args())


if __name__ == "__main__":
    main()
