"""What the stack benchmarks share: a REST client, task completion through Redis, exec in a repo host, figures.

The benches start the real stack (`tests.support.stack.Stack`) and talk to it as a client would; nothing
here changes the product.  Task completion is taken from the same Redis signal the API's own waits use
(`brq:task-done:<id>`, pushed in the transaction that makes a record terminal), so a bench measures the
service and not a polling interval.
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import statistics
import sys
from dataclasses import dataclass
from urllib.parse import urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import redis  # noqa: E402

from tasks.state import keys  # noqa: E402
from tasks.state.records import TaskRecord  # noqa: E402

TERMINAL = ("SUCCESS", "FAILURE", "REVOKED")


@dataclass
class Api:
    """A small JSON client of the REST API (one connection per call; gunicorn's sync workers close them)."""

    url: str
    token: str

    def call(self, method: str, path: str, body: dict | None = None, timeout: float = 60) -> tuple[int, dict]:
        parts = urlsplit(self.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            headers = {"Authorization": f"Bearer {self.token}"}
            if data is not None:
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            return resp.status, (json.loads(raw) if raw else None)
        finally:
            conn.close()


def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=600)


def task_record(r: redis.Redis, task_id: str) -> TaskRecord:
    raw = r.get(keys.task(task_id))
    if raw is None:
        raise KeyError(task_id)
    return TaskRecord.from_json(raw)


def wait_done(r: redis.Redis, task_id: str, timeout: float = 600) -> TaskRecord:
    """Block until the task's record is terminal (BLPOP on its done signal); the record."""
    rec = task_record(r, task_id)
    if rec.state in TERMINAL:
        return rec
    got = r.blpop([keys.task_done(task_id)], timeout=timeout)
    if got is not None:
        r.rpush(keys.task_done(task_id), got[1])  # leave it for other waiters, as the API does
    rec = task_record(r, task_id)
    if rec.state not in TERMINAL:
        raise TimeoutError(f"task {task_id} still {rec.state} ({rec.phase}) after {timeout:g}s")
    return rec


def submit(api: Api, ns: str, path: str, body: dict) -> str:
    status, answer = api.call("POST", f"/api/v1/namespaces/{ns}/{path}", body)
    if status != 202:
        raise RuntimeError(f"POST {path}: {status} {answer}")
    return answer["task_id"]


def create_cluster(api: Api, r: redis.Redis, ns: str, name: str, storage_type: str, timeout: float = 300) -> None:
    rec = wait_done(r, submit(api, ns, "clusters", {"name": name, "pgbackrest_storage_type": storage_type}),
                    timeout)
    if rec.state != "SUCCESS":
        raise RuntimeError(f"cluster {ns}/{name} was not created: {rec.error}")


def repo_host_selector(cluster: str) -> str:
    from tasks import steps
    return steps.repo_host_selector(cluster)


async def find_pod(cfg, ns: str, selector: str) -> str:
    from kubernetes_asyncio import client

    from tasks import steps
    async with client.ApiClient(cfg) as api:
        pod = await steps.ready_pod(api, ns, selector)
    if pod is None:
        raise RuntimeError(f"no ready pod for {selector} in {ns}")
    return pod


async def exec_in(cfg, ns: str, pod: str, container: str, argv: list[str], timeout: float = 3600,
                  check: bool = True):
    """Run argv in the pod through the exec websocket (tasks.kube.execing: the job-runner's own call)."""
    from tasks.kube import execing
    result = await execing.exec_in_pod(cfg, namespace=ns, pod=pod, container=container, command=argv,
                                       timeout=timeout)
    if check and result.exit_code != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {result.exit_code}:\n"
                           f"{result.stderr.decode('utf-8', 'replace')[-2000:]}\n{result.text[-2000:]}")
    return result


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(round(q / 100 * len(ordered) + 0.5))))
    return ordered[rank - 1]


def fmt_s(values: list[float]) -> str:
    """`median (min–max, n)` in seconds."""
    if not values:
        return "n/a"
    return f"{median(values):7.2f} s  (min {min(values):.2f}, max {max(values):.2f}, n={len(values)})"


def machine() -> str:
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    return f"{os.cpu_count()} cores, load {load:.2f} at start"


def finish(stack, directory: str, keep: bool) -> None:
    """Stop the bench's stack, print the load it ended under, and remove its directory unless asked to keep it."""
    stack.stop()
    print(f"  load average at the end: {os.getloadavg()[0]:.2f}")
    if not keep:
        shutil.rmtree(directory, ignore_errors=True)
    else:
        print(f"  kept {directory}")
