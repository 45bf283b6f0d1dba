"""A Celery worker whose backup Jobs sleep instead of running the job-runner: for load benches and concurrency
tests that need hundreds of backups without hundreds of PostgreSQL clusters.

    python -m tests.support.cheap_jobs SECONDS -- celery-argv...     (Stack.start_worker's argv after `celery`)

Everything is the production worker (`celery -A tasks.worker worker …`, tasks/steps.py) but one value: the
job-runner command of backup Jobs (`tasks.steps.RUNNER`, `python -m tasks.jobrunner`) becomes
`sh -c 'sleep SECONDS'`.  The Job is still built by `tasks.topology.backup_job` with the same name, labels,
deadline and argv (they land in `$0 $1 …` of the shell and are ignored), created by the worker's
`advance_backup`, watched by the real watcher, recorded in the real task record, finished by the real worker.
What is left out is only what the job-runner does inside its pod (find the repo host, exec pgBackRest), which
bench/api_bench.py measures on real clusters.  The pod needs the `brq-job-runner` ServiceAccount that
create-cluster makes: `ensure_job_runner_account` makes it for clusters whose records were written directly.
"""
from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # `tests` is not installed


def runner(seconds: float) -> list[str]:
    """Sleep, then end as the job-runner ends a backup that succeeded: pgBackRest's label line in the log and the
    `brq.io/outcome` annotation on the Job (tasks/jobrunner.py `annotate_outcome`, through the pod's service
    account), which the watcher records the step from."""
    return ["sh", "-c", f"sleep {seconds:g}; echo \"new backup label = cheap-$BRQ_JOB_NAME\"; "
            f"PYTHONPATH={ROOT} exec python -m tests.support.cheap_jobs --note-outcome", "job-runner"]


def note_outcome() -> int:
    """In a cheap Job's pod: the job-runner's own last step, `annotate_outcome`."""
    import asyncio
    import os

    from tasks import jobrunner
    from tasks.kube import lite

    namespace = open("/var/run/secrets/kubernetes.io/serviceaccount/namespace").read().strip()

    async def note() -> None:
        async with lite.Client(lite.load(None)) as kube:
            await jobrunner.annotate_outcome(kube, namespace, f"cheap-{os.environ.get('BRQ_JOB_NAME')}")
    asyncio.run(note())
    return 0


def worker_argv(python: str, seconds: float, name: str, concurrency: int = 2) -> list[str]:
    """The argv of `Stack.start_worker`, through this launcher."""
    return [python, "-m", "tests.support.cheap_jobs", f"{seconds:g}", "--", "-A", "tasks.worker", "worker", "-Q", "brq",
            "-c", str(concurrency), "--pool=prefork", "-n", f"{name}@%h", "--without-gossip", "--without-mingle",
            "--without-heartbeat", "-l", "INFO"]


def start_worker(stack, name: str, seconds: float, concurrency: int = 2):
    """Start a cheap-Job worker as one of `stack`'s processes (stopped with the stack)."""
    return stack._spawn(name, worker_argv(sys.executable, seconds, name, concurrency))


def ensure_job_runner_account(stack, namespace: str) -> None:
    """The ServiceAccount backup Jobs run as (tasks/topology.py job_runner_account), as create-cluster makes it."""
    from tasks import topology

    stack.kubesim.kubectl("apply", "-f", "-", check=True, input=(
        f"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {topology.JOB_RUNNER_SA}\n"
        f"  namespace: {namespace}\n  labels:\n"
        + "".join(f"    {k}: {v}\n" for k, v in topology.MANAGED_BY.items())))


def write_ready_clusters(r, namespace: str, names: list[str], storage_types: tuple[str, ...] = ("local",)) -> None:
    """Ready cluster records, as create-cluster leaves them (tasks/state/clusters.py ClusterStore.create)."""
    import time

    from tasks.state.clusters import READY, ClusterRecord, ClusterStore

    store = ClusterStore(r)
    for name in names:
        store.create(ClusterRecord(name=name, namespace=namespace, storage_types=list(storage_types), status=READY,
                                   created=time.time()))


def main(argv: list[str]) -> None:
    if argv[:1] == ["--note-outcome"]:
        sys.exit(note_outcome())
    seconds = float(argv[0])
    rest = argv[1:]
    if rest and rest[0] == "--":
        rest = rest[1:]
    from tasks import steps
    steps.RUNNER = runner(seconds)
    from celery.__main__ import main as celery_main
    sys.argv = ["celery", *rest]
    celery_main()


if __name__ == "__main__":
    main(sys.argv[1:])
