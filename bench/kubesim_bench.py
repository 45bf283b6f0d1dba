"""kubesim's speed, next to the floor: the same command as a bare local subprocess, in the same run.

    .venv/bin/python bench/kubesim_bench.py [--n 200]

Prints, for N operations each, median and p95 of
  - a Job create → Complete → delete cycle (a `true` container), seen through one watch, as a client sees it;
  - an exec round trip (`true` in a running pod) through kubernetes_asyncio's websocket client;
  - the floor: `true` as a local subprocess (asyncio).
Targets (issue #2): exec round trip ≤ 3× the bare subprocess; Job cycle ≤ 50 ms median.

And, to read the exec figure by: what the same client pays for a plain request on a new HTTPS connection
(kubernetes_asyncio opens one per exec: a websocket upgrade cannot reuse a pooled connection) and on a kept-alive
one, and the CPU each exec costs the client, kubesim and the exec'd process.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kubernetes_asyncio import client, config, watch  # noqa: E402
from kubernetes_asyncio.stream import WsApiClient  # noqa: E402

from kubesim.process import KubesimProcess  # noqa: E402

NS = "bench"


def summary(name: str, samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    med = statistics.median(ordered) * 1000
    p95 = ordered[max(int(len(ordered) * 0.95) - 1, 0)] * 1000
    print(f"  {name:<44} median {med:8.2f} ms   p95 {p95:8.2f} ms   (n={len(samples)})")
    return med, p95


async def bare_subprocess(n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        proc = await asyncio.create_subprocess_exec("true")
        await proc.wait()
        out.append(time.perf_counter() - t)
    return out


async def job_cycles(api: client.ApiClient, n: int) -> list[float]:
    batch = client.BatchV1Api(api)
    done: dict[str, asyncio.Future] = {}
    gone: dict[str, asyncio.Future] = {}
    ready = asyncio.Event()

    async def follow() -> None:
        w = watch.Watch()
        async for event in w.stream(batch.list_namespaced_job, NS, allow_watch_bookmarks=False):
            ready.set()
            obj = event["raw_object"]
            name = obj["metadata"]["name"]
            conds = (obj.get("status") or {}).get("conditions") or []
            if any(c["type"] == "Complete" and c["status"] == "True" for c in conds):
                fut = done.get(name)
                if fut and not fut.done():
                    fut.set_result(None)
            if event["type"] == "DELETED":
                fut = gone.get(name)
                if fut and not fut.done():
                    fut.set_result(None)

    follower = asyncio.create_task(follow())
    await batch.create_namespaced_job(NS, _job("warm"))
    await asyncio.wait_for(ready.wait(), 10)
    loop = asyncio.get_running_loop()
    samples = []
    for i in range(n):
        name = f"c{i}"
        done[name], gone[name] = loop.create_future(), loop.create_future()
        t = time.perf_counter()
        await batch.create_namespaced_job(NS, _job(name))
        await asyncio.wait_for(done[name], 30)
        await batch.delete_namespaced_job(name, NS, propagation_policy="Background")
        await asyncio.wait_for(gone[name], 30)
        samples.append(time.perf_counter() - t)
    follower.cancel()
    return samples


def _job(name: str) -> dict:
    return {"metadata": {"name": name}, "spec": {"backoffLimit": 0, "template": {"spec": {
        "restartPolicy": "Never", "automountServiceAccountToken": False,
        "containers": [{"name": "main", "image": "busybox", "command": ["true"]}]}}}}


async def exec_round_trips(cfg: client.Configuration, n: int, server_pid: int) -> tuple[list[float], dict]:
    samples = []
    cpu0 = _cpu(server_pid)
    async with WsApiClient(cfg) as ws_api:
        core = client.CoreV1Api(ws_api)
        for _ in range(n):
            t = time.perf_counter()
            ws = await core.connect_get_namespaced_pod_exec("target", NS, command=["true"], stdout=True,
                                                            stderr=True, _preload_content=False)
            async with ws as conn:
                async for _msg in conn:
                    pass
            samples.append(time.perf_counter() - t)
    cpu1 = _cpu(server_pid)
    return samples, {k: (cpu1[k] - cpu0[k]) / n * 1000 for k in cpu0}


def _cpu(server_pid: int) -> dict[str, float]:
    """CPU seconds so far: this process; kubesim; the processes kubesim started and reaped (the execs)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    with open(f"/proc/{server_pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(x) / os.sysconf("SC_CLK_TCK") for x in fields[11:15])
    return {"client": me.ru_utime + me.ru_stime, "kubesim": utime + stime, "children": cutime + cstime}


async def breakdown(api: client.ApiClient, cfg: client.Configuration, n: int) -> dict[str, list[float]]:
    """Interleaved, so that all three see the same machine: GET /version through kubernetes_asyncio on a new
    HTTPS connection (a client of its own whose requests say `Connection: close`: each pays a TCP connect and a
    TLS handshake, as every exec does), the same on `api`'s kept-alive connection, and an exec."""
    out: dict[str, list[float]] = {"new": [], "kept": [], "exec": []}
    async with WsApiClient(cfg) as ws_api, client.ApiClient(cfg) as closing_api:
        core = client.CoreV1Api(ws_api)
        kept, closing = client.VersionApi(api), client.VersionApi(closing_api)
        for i in range(n + 1):
            for kind in ("new", "kept", "exec"):
                t = time.perf_counter()
                if kind == "exec":
                    ws = await core.connect_get_namespaced_pod_exec("target", NS, command=["true"], stdout=True,
                                                                    stderr=True, _preload_content=False)
                    async with ws as conn:
                        async for _msg in conn:
                            pass
                elif kind == "new":
                    await closing.get_code(_headers={"Connection": "close"})
                else:
                    await kept.get_code()
                if i:
                    out[kind].append(time.perf_counter() - t)
    return out


async def run(n: int) -> None:
    with tempfile.TemporaryDirectory(prefix="kubesim-bench-") as state:
        proc = KubesimProcess(state).start()
        try:
            cfg = client.Configuration()
            await config.load_kube_config(config_file=proc.kubeconfig, client_configuration=cfg)
            async with client.ApiClient(cfg) as api:
                core = client.CoreV1Api(api)
                await core.create_namespace({"metadata": {"name": NS}})
                await core.create_namespaced_pod(NS, {"metadata": {"name": "target"}, "spec": {"containers": [
                    {"name": "main", "image": "busybox", "command": ["sleep", "3600"]}]}})
                for _ in range(200):
                    if (await core.read_namespaced_pod("target", NS)).status.phase == "Running":
                        break
                    await asyncio.sleep(0.05)
                print(f"kubesim bench: {n} operations each, {os.cpu_count()} cores")
                floor_med, _ = summary("floor: `true` as a local subprocess", await bare_subprocess(n))
                exec_samples, cpu = await exec_round_trips(cfg, n, proc.popen.pid)
                exec_med, _ = summary("exec round trip (websocket, kubernetes_asyncio)", exec_samples)
                job_med, _ = summary("Job create → Complete → delete", await job_cycles(api, n))
                print(f"  exec / floor ratio: {exec_med / floor_med:.2f}x (target ≤ 3x)")
                print(f"  Job cycle median: {job_med:.1f} ms (target ≤ 50 ms)")
                print("exec, broken down (not judged; interleaved runs):")
                parts = await breakdown(api, cfg, n)
                summary("GET /version on a new HTTPS connection", parts["new"])
                summary("GET /version on a kept-alive connection", parts["kept"])
                summary("exec round trip, interleaved with those", parts["exec"])
                beyond = statistics.median(e - c for e, c in zip(parts["exec"], parts["new"])) * 1000
                print(f"  exec beyond a new-connection request: {beyond:.2f} ms median "
                      f"(pod spawn, websocket upgrade and frames)")
                print(f"  CPU per exec: client {cpu['client']:.2f} ms, kubesim {cpu['kubesim']:.2f} ms, "
                      f"exec'd processes {cpu['children']:.2f} ms")
        finally:
            proc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200)
    asyncio.run(run(parser.parse_args().n))


if __name__ == "__main__":
    main()
