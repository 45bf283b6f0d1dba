"""The production watcher with its stages timed, for `bench/load_bench.py --profile-watcher`.

    python -m bench._watcher_probe OUT.tsv

Runs `tasks.watcher.main()` unchanged but for timing wrappers around `Watcher.on_job` (one watch event,
handled in turn: the watch is read by one loop), `Watcher._log` (the Job's pod listed and its log read from the
Kubernetes API), `Watcher.record_step` (the record's transaction and the `brq.advance` message) and the task
lookup (`TaskStore.find`); plus the event loop's lag (a 10 ms timer's overshoot).  One TSV line per call:
`what  kind  job  start  seconds`.

With `BRQ_PROBE_CONCURRENT=N` (an experiment, `load_bench.py --watcher-variant concurrent`), events of a Job that
has ended (Complete/Failed: the ones that read the pod's log and write the record) are handled in tasks of
their own, at most N at a time, instead of one after the other in the watch loop; other events stay in line.
That is the change this experiment measures for tasks/watcher.py, not what it does today.

With `BRQ_PROBE_NOLOG=1` (`--watcher-variant nolog`), `Watcher._log` answers "" without calling the Kubernetes
API: what a Complete costs the watcher when the backup label comes on the Job itself (an annotation the
job-runner would write, as it writes `brq.io/progress`) instead of from the pod's log.  The sleeping Jobs of
the bench print no label, so nothing recorded changes; a failed Job's log is still read (`_exit_code`).
"""
from __future__ import annotations

import asyncio
import functools
import os
import sys
import time

from tasks import watcher
from tasks.state import records


def main(path: str) -> int:
    out = open(path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process

    def note(what: str, kind: str, name: str, start: float) -> None:
        out.write(f"{what}\t{kind}\t{name}\t{start:.6f}\t{time.time() - start:.6f}\n")

    def timed(what: str, method):
        @functools.wraps(method)
        async def wrapper(self, *args, **kwargs):
            start = time.time()
            try:
                return await method(self, *args, **kwargs)
            finally:
                job = args[2] if what == "on_job" else args[1]
                kind = f"{args[1]}/{watcher.job_outcome(job) or '-'}" if what == "on_job" else ""
                name = job["metadata"]["name"] if isinstance(job, dict) else str(job)
                note(what, kind, name, start)
        return wrapper

    watcher.Watcher.on_job = timed("on_job", watcher.Watcher.on_job)
    watcher.Watcher._log = timed("_log", watcher.Watcher._log)
    watcher.Watcher.record_step = timed("record_step", watcher.Watcher.record_step)

    concurrent = int(os.environ.get("BRQ_PROBE_CONCURRENT") or 0)
    if concurrent:
        inline = watcher.Watcher.on_job
        running: set = set()
        gate: list = []

        async def on_job(self, api, kind, job):
            if kind == "SYNC" or watcher.job_outcome(job) is None:
                return await inline(self, api, kind, job)
            if not gate:
                gate.append(asyncio.Semaphore(concurrent))

            async def handle() -> None:
                async with gate[0]:
                    try:
                        await inline(self, api, kind, job)
                    except Exception:  # noqa: BLE001 - as the watch loop does
                        watcher.log.exception("handling a %s event failed", kind)
            task = asyncio.create_task(handle())
            running.add(task)
            task.add_done_callback(running.discard)
        watcher.Watcher.on_job = on_job

    if os.environ.get("BRQ_PROBE_NOLOG"):
        async def no_log(self, api, job):
            return ""
        watcher.Watcher._log = no_log

    find = records.TaskStore.find

    def timed_find(self, task_id):
        start = time.time()
        try:
            return find(self, task_id)
        finally:
            note("find", "", task_id, start)
    records.TaskStore.find = timed_find

    run = watcher.Watcher.run

    async def run_with_lag(self):
        async def lag() -> None:
            while True:
                start = time.time()
                await asyncio.sleep(0.01)
                over = time.time() - start - 0.01
                if over > 0.05:
                    out.write(f"lag\t\t\t{start:.6f}\t{over:.6f}\n")
        probe = asyncio.create_task(lag())
        try:
            await run(self)
        finally:
            probe.cancel()
    watcher.Watcher.run = run_with_lag
    return watcher.main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
