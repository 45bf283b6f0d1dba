"""The watcher: one Kubernetes watch over every Job the service made; records completions, starts next steps.

    python -m tasks.watcher

One process is active at a time (a Redis lease, renewed; standbys wait for
it).  Redis unreachable (restarting) ends nothing: the leader keeps leading
until its lease would have expired, then stands down and waits for the lease
again like a standby; a Job event it could not record is not dropped — the
watch starts over from a fresh list once Redis answers.  On every (re-)list —
at start, after a 410 or a dropped stream — it
reconciles every unfinished task against the Jobs that exist, so a completion
missed while no watcher ran is recorded, once.  Recording is idempotent: a
step already recorded is never recorded again, whatever the watch replays.
Completion of a step hands the task to a worker (`brq.advance`) for the next.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import time

import redis
from kubernetes_asyncio import client

from . import logs, topology
from .kube import objects
from .kube.watching import follow
from .retries import RETRIES, backoff
from .runtime import Runtime, get_runtime
from .state import keys, stats
from .state.records import FAILURE, SUCCESS, TaskRecord

log = logging.getLogger("brq.watcher")

SELECTOR = ",".join(f"{k}={v}" for k, v in topology.MANAGED_BY.items())
LEASE_SECONDS = 10
# an unfinished task not written for this long, and not waiting on a Job, is re-sent (looked for every SWEEP_SECONDS);
# BRQ_WATCHER_STALE_SECONDS / BRQ_WATCHER_SWEEP_SECONDS change them (conf/README.md: the fault tests use short ones)
STALE_SECONDS = float(os.environ.get("BRQ_WATCHER_STALE_SECONDS") or 15)
SWEEP_SECONDS = float(os.environ.get("BRQ_WATCHER_SWEEP_SECONDS") or 5)
RESEND_MEMORY = 3600    # seconds the watcher remembers how often it re-sent a task


def resend_hold(resent: int, stale: float | None = None) -> float:
    """Seconds added to the staleness wait after the `resent`-th re-send (1, 2, …): 0, 1, 3, 7 … 63 × STALE, so
    re-send n comes 2^(n-1) × STALE after the one before."""
    stale = STALE_SECONDS if stale is None else stale
    return stale * (2 ** min(max(resent, 1) - 1, 6) - 1)


def job_outcome(job: dict) -> str | None:
    """'Complete', 'Failed' or None (still running) from a Job's conditions (1.31+ and older forms)."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("status") == "True" and cond["type"] in ("Complete", "Failed"):
            return cond["type"]
    return None


def failure_reason(job: dict) -> tuple[str, str]:
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond["type"] in ("Failed", "FailureTarget") and cond.get("status") == "True":
            return cond.get("reason", ""), cond.get("message", "")
    return "", ""


class Lease:
    """A Redis lease: SET NX PX to take it, renewed while held; lost means stop being active."""

    def __init__(self, rt: Runtime, key: str, ttl: float = LEASE_SECONDS):
        self.r = rt.redis
        self.key = key
        self.ttl = ttl
        self.me = f"{socket.gethostname()}:{os.getpid()}"

    async def acquire(self, stop: asyncio.Event) -> bool:
        while not stop.is_set():
            try:
                if await asyncio.to_thread(self.r.set, self.key, self.me, nx=True, px=int(self.ttl * 1000)):
                    return True
            except redis.RedisError as exc:  # Redis unreachable (restarting): keep trying, never crash
                log.warning("cannot take the lease (%s: %s); trying again", type(exc).__name__, exc)
            try:
                await asyncio.wait_for(stop.wait(), self.ttl / 3)
            except asyncio.TimeoutError:
                pass
        return False

    def renew(self) -> bool:
        script = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
                  "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end")
        return bool(self.r.eval(script, 1, self.key, self.me, int(self.ttl * 1000)))

    def release(self) -> None:
        script = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
        try:
            self.r.eval(script, 1, self.key, self.me)
        except Exception:  # noqa: BLE001 - Redis down at exit: the lease expires by itself
            pass


class Watcher:
    def __init__(self, rt: Runtime, stop: asyncio.Event):
        self.rt = rt
        self.stop = stop

    async def run(self) -> None:
        lease = Lease(self.rt, keys.watcher_lock())
        log.info("watcher %s waiting for the lease", lease.me)
        if not await lease.acquire(self.stop):
            return
        log.info("watcher %s active", lease.me)
        lost = asyncio.Event()

        async def keep_lease() -> None:
            renewed = time.monotonic()
            while not self.stop.is_set():
                await asyncio.sleep(lease.ttl / 3)
                try:
                    ok = await asyncio.to_thread(lease.renew)
                except Exception as exc:  # noqa: BLE001 - Redis unreachable: we lead until the lease would expire
                    ok = time.monotonic() - renewed + lease.ttl / 3 < lease.ttl
                    log.warning("cannot renew the lease (%s: %s)%s", type(exc).__name__, exc,
                                "; still leading until it expires" if ok else "")
                    if ok:
                        continue
                else:
                    renewed = time.monotonic()
                if not ok:
                    log.error("watcher lost its lease: standing down")
                    lost.set()
                    self.stop.set()
                    return

        renewer = asyncio.create_task(keep_lease())

        async def keep_sweeping() -> None:
            while not self.stop.is_set():
                await asyncio.sleep(SWEEP_SECONDS)
                try:
                    await self.sweep()
                except Exception:  # noqa: BLE001 - Redis hiccup: try again next time
                    log.exception("sweep failed")

        sweeper = asyncio.create_task(keep_sweeping())
        try:
            cfg = await self.rt.kube_configuration()
            async with client.ApiClient(cfg) as api:
                failures = 0
                while not self.stop.is_set():
                    try:
                        async with contextlib.aclosing(follow(api, kind="Job", labels=SELECTOR, stop=self.stop)) as jobs:
                            async for kind, obj in jobs:
                                try:
                                    if kind == "SYNC":
                                        await self.reconcile(api, obj)
                                    else:
                                        await self.on_job(api, kind, obj)
                                    failures = 0
                                except redis.RedisError:
                                    raise
                                except Exception:  # noqa: BLE001 - one bad event must not stop the watch
                                    log.exception("handling a %s event failed", kind)
                    except redis.RedisError as exc:
                        # the event is not lost: a fresh list (SYNC) reconciles every unfinished task once Redis is back
                        failures += 1
                        delay = backoff(failures, base=0.5, cap=5.0)
                        log.warning("Redis unreachable while handling a Job event (%s: %s); re-listing in %.2fs",
                                    type(exc).__name__, exc, delay)
                        try:
                            await asyncio.wait_for(self.stop.wait(), delay)
                        except asyncio.TimeoutError:
                            pass
        finally:
            renewer.cancel()
            sweeper.cancel()
            if not lost.is_set():
                lease.release()

    async def reconcile(self, api: client.ApiClient, jobs: list[dict]) -> None:
        by_name = {(j["metadata"]["namespace"], j["metadata"]["name"]): j for j in jobs}
        active = await asyncio.to_thread(self.rt.tasks.active)
        log.info("reconciling %d unfinished task(s) against %d job(s)", len(active), len(jobs))
        for rec in active:
            # a step names its Job before creating it: one created by a worker killed before noting it is found too
            planned = [s["job"] for s in rec.steps if s.get("job") and s["job"] not in rec.jobs]
            for job_name in [*rec.jobs, *planned]:
                job = by_name.get((rec.namespace, job_name))
                if job is not None:
                    await self.on_job(api, "SYNC", job)
                elif job_name in rec.jobs and not _step_done(rec, job_name):
                    await self.record_step(rec.id, job_name, FAILURE, exit_code=None,
                                           error={"name": "JobLost", "message": f"Job {job_name} no longer exists",
                                                  "action": "submit the operation again"})
        await self.sweep(active)

    async def sweep(self, active: list[TaskRecord] | None = None) -> None:
        """Re-send unfinished tasks that stopped moving and wait on no Job: their message was lost (a worker
        killed mid-step keeps it unacknowledged until the broker's visibility timeout; a Redis without
        persistence restarted). Steps are idempotent, so a second delivery only repeats a finished step.
        "Moving" is a write of the record or a worker's alive mark (tasks/steps.py: refreshed while a step
        runs, so a long step or a task polling with countdowns is not re-sent beside its live message)."""
        if active is None:
            active = await asyncio.to_thread(self.rt.tasks.active)
        if not active:
            return
        alive = await asyncio.to_thread(self.rt.redis.mget, [keys.task_alive(rec.id) for rec in active])
        now = time.time()
        for rec, seen in zip(active, alive):
            last = max(rec.updated or rec.created, float(seen) if seen else 0.0)  # written, or worked on (steps.py)
            if now - last > STALE_SECONDS and not _waiting_on_job(rec):
                log.info("task %s (%s, %s) has not moved for %.0fs: re-sending it", rec.id, rec.kind, rec.phase,
                         now - last)
                self.rt.send("brq.advance", rec.id)
                await asyncio.to_thread(self._hold_after_resend, rec.id, now)

    def _hold_after_resend(self, task_id: str, now: float) -> None:
        """A re-send counts as activity, and each one waits twice as long as the one before (STALE_SECONDS, then
        2×, 4× … 64×): a message that was lost is re-sent at once, but a task whose message only waits behind a
        long queue (not lost at all) gets a few extra messages in all, not one per period."""
        with self.rt.redis.pipeline(transaction=False) as pipe:
            pipe.incr(keys.task_resent(task_id))
            pipe.expire(keys.task_resent(task_id), RESEND_MEMORY)
            resent, _ = pipe.execute()
        hold = resend_hold(int(resent))
        self.rt.redis.set(keys.task_alive(task_id), repr(now + hold), ex=RESEND_MEMORY)

    async def on_job(self, api: client.ApiClient, kind: str, job: dict) -> None:
        labels = job["metadata"].get("labels") or {}
        task_id = labels.get(topology.L_TASK)
        if not task_id:
            return
        with logs.bound(task_id=task_id, cluster=labels.get(topology.L_CLUSTER),
                        namespace=job["metadata"].get("namespace")):
            await self._on_job(api, kind, job, task_id)

    async def _on_job(self, api: client.ApiClient, kind: str, job: dict, task_id: str) -> None:
        rec = await asyncio.to_thread(self.rt.tasks.find, task_id)
        if rec is None or rec.is_terminal:
            return
        name = job["metadata"]["name"]
        progress = (job["metadata"].get("annotations") or {}).get(topology.A_PROGRESS)
        if progress and not _step_done(rec, name):
            try:
                value = json.loads(progress)
            except ValueError:
                value = None
            if value and value != rec.progress:
                await asyncio.to_thread(self.rt.tasks.update, task_id, lambda r: setattr(r, "progress", value))
        outcome = job_outcome(job)
        if kind == "DELETED" and outcome is None and not _step_done(rec, name):
            await self.record_step(task_id, name, FAILURE, exit_code=None,
                                   error={"name": "JobDeleted", "message": f"Job {name} was deleted before it ended",
                                          "action": "submit the operation again"})
            return
        if outcome is None or _step_done(rec, name):
            return
        if outcome == "Complete":
            noted = annotated_outcome(job)
            if noted is not None:  # the job-runner noted its outcome on the Job: no pod list, no log read
                await self.record_step(task_id, name, SUCCESS, exit_code=0, details=noted["details"],
                                       retries=noted["retries"])
            else:
                await self.record_step(task_id, name, SUCCESS, exit_code=0, log_text=await self._log(api, job))
            return
        reason, message = failure_reason(job)
        exit_code, log_text, pod_said = await self._exit_code(api, job)
        error = self.rt.describe_failure(exit_code, log_text, reason=reason, message=message, pod=pod_said)
        await self.record_step(task_id, name, FAILURE, exit_code=exit_code, error=error, log_text=log_text)

    async def _pod_of(self, api: client.ApiClient, job: dict) -> dict | None:
        md = job["metadata"]
        pods = (await objects.list_(api, kind="Pod", namespace=md["namespace"],
                                    labels=f"job-name={md['name']}"))["items"]
        pods.sort(key=lambda p: p["metadata"]["creationTimestamp"])
        return pods[-1] if pods else None

    async def _log(self, api: client.ApiClient, job: dict) -> str:
        """The log of the Job's last pod ("" when there is none)."""
        return (await self._exit_code(api, job))[1]

    async def _exit_code(self, api: client.ApiClient, job: dict) -> tuple[int | None, str, str]:
        """The exit code of the Job's last pod, its log, and what the pod's status says of its end."""
        pod = await self._pod_of(api, job)
        if pod is None:
            return None, "", ""
        code = None
        said = f"pod {pod['metadata']['name']} {(pod.get('status') or {}).get('phase') or 'ended'}"
        for cs in (pod.get("status") or {}).get("containerStatuses") or []:
            term = (cs.get("state") or {}).get("terminated")
            if term is not None:
                code = term.get("exitCode")
                said += f": container {cs.get('name')} terminated ({term.get('reason') or 'no reason'}, exit code {code})"
        text = await objects.pod_log(api, namespace=job["metadata"]["namespace"], name=pod["metadata"]["name"])
        return code, text, said

    async def record_step(self, task_id: str, job_name: str, state: str, *, exit_code: int | None,
                          error: dict | None = None, log_text: str = "", details: dict | None = None,
                          retries: dict | None = None) -> None:
        """Record the Job's end in its step (once); `details` (the label) and `retries` default to what
        `log_text`, the pod's log, says."""
        recorded = []
        if details is None:
            details = self.rt.step_details(log_text)

        def change(r: TaskRecord) -> None:
            for step in r.steps:
                if step.get("job") == job_name:
                    if step.get("state") in (SUCCESS, FAILURE):
                        return
                    step.update(state=state, exit_code=exit_code, error=error, finished=time.time(), **details)
                    if job_name not in r.jobs:  # a worker killed between creating the Job and noting it
                        r.jobs.append(job_name)
                    recorded.append(step)
                    return
        await asyncio.to_thread(self.rt.tasks.update, task_id, change)
        if recorded:
            log.info("task %s: job %s ended %s (exit %s)", task_id, job_name, state, exit_code)
            if retries is not None:  # the job-runner's
                await asyncio.to_thread(stats.count_retries, self.rt.redis, retries)
            else:
                await asyncio.to_thread(stats.count_logged_retries, self.rt.redis, log_text)
            self.rt.send("brq.advance", task_id)


def annotated_outcome(job: dict) -> dict | None:
    """What the job-runner noted on a Job that succeeded (`brq.io/outcome`, tasks/jobrunner.py): the step's details
    (the backup label) and its retries; None when it is missing or unreadable (then the pod's log says it)."""
    raw = (job["metadata"].get("annotations") or {}).get(topology.A_OUTCOME)
    if not raw:
        return None
    try:
        noted = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(noted, dict) or noted.get("exit_code") != 0:
        return None
    label, retries = noted.get("label"), noted.get("retries")
    return {"details": {"label": label} if isinstance(label, str) and label else {},
            "retries": retries if isinstance(retries, dict) else {}}


def _waiting_on_job(rec: TaskRecord) -> bool:
    """A step runs as a Job that has not ended: the watcher hears of its end, nothing needs re-sending."""
    return any(s.get("job") and s.get("state") not in (SUCCESS, FAILURE) and s.get("started") for s in rec.steps)


def _step_done(rec: TaskRecord, job_name: str) -> bool:
    return any(s.get("job") == job_name and s.get("state") in (SUCCESS, FAILURE) for s in rec.steps)


def main() -> int:
    logs.configure("watcher")
    rt = get_runtime()
    stats.RetryFlusher(RETRIES, "watcher").start(rt.redis)  # its watch retries, to Redis for /metrics

    async def amain() -> None:
        signalled = asyncio.Event()
        stop = asyncio.Event()

        def on_signal() -> None:
            signalled.set()
            stop.set()

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal)
        while not signalled.is_set():
            # a watcher that lost its lease (Redis down past it) stands by for it again: no restart needed
            stop = asyncio.Event()
            try:
                await Watcher(rt, stop).run()
            except Exception:  # noqa: BLE001 - e.g. Redis unreachable at the wrong moment: try again
                log.exception("the watcher stopped; starting over")
            try:
                await asyncio.wait_for(signalled.wait(), 1.0)
            except asyncio.TimeoutError:
                pass

    asyncio.run(amain())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

