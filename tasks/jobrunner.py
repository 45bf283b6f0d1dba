"""`job-runner`: the command our backup Jobs run inside the cluster.

    python -m tasks.jobrunner exec --namespace NS --selector LABELS --container C
        [--progress-argv JSON] -- ARGV...

Finds the Running, Ready pod the selector names (the cluster's repo host),
execs ARGV in it (`pgbackrest backup …`, as the pod's PostgreSQL user),
streams its output to this pod's log, and exits with its exit code — so the
Job's pod carries pgBackRest's exit code and the watcher can read it.  With
`--progress-argv` (an `info --output=text` command) it samples progress every
few seconds and writes it on its own Job as the `brq.io/progress` annotation.
When the command succeeded it writes `brq.io/outcome` on its Job before it
exits: `{"exit_code": 0, "label": "<new backup label>" | null, "retries": {…}}`,
so the watcher records the step from the Job's own Complete event, without
listing the pod and reading its log (two API calls per completion, which
queue behind each other when many Jobs end together: bench/load_bench.py).

Exit codes of its own, beside pgBackRest's: 120 no ready pod, 121 the exec
stream was lost (outcome unknown), 122 the Kubernetes API failed (or no usable
configuration: `--kubeconfig`, $KUBECONFIG, the in-cluster service account).
A stream lost after pgBackRest logged its own end ("backup command end:
completed successfully" / "aborted with exception [N]", console level info)
is not unknown: that outcome (0 or N) is the exit code.

It talks to the API through tasks/kube/lite.py (the standard library's asyncio
streams), never through kubernetes_asyncio or aiohttp: importing those costs
~0.7 s and ~0.3 s, paid by every backup Job.  Keep it so
(tests/unit/test_jobrunner_imports.py imports this module in a fresh
interpreter and checks).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import sys

from . import topology
from .kube import errors, lite
from .pgbackrest.info import BACKUP_LABEL
from .retries import RETRIES, summary

NO_POD, STREAM_LOST, API_FAILED = 120, 121, 122
PROGRESS_ANNOTATION = topology.A_PROGRESS
OUTCOME_ANNOTATION = topology.A_OUTCOME
COMMAND_END = re.compile(rb"P\d+ +INFO: ([a-z-]+) command end: (?:completed successfully|aborted with exception \[(\d+)\])")
TAIL_BYTES = 64 * 1024  # of the command's output kept to read its end from


COMMAND_BEGIN = re.compile(rb"P\d+ +INFO: [a-z-]+ command begin")


def logged_outcome(output: bytes, argv: list[str]) -> int | None:
    """The exit code pgBackRest's own log in `output` gives: that of its last "<command> command end" line (a
    backup runs `expire` after itself, in the same process), provided the command run (a word of `argv`) logged
    its end and nothing began after the last end; None otherwise (the end was not seen: the outcome is unknown)."""
    ends = list(COMMAND_END.finditer(output))
    if not any(m.group(1).decode() in argv for m in ends):
        return None
    last = ends[-1]
    if any(b.start() > last.start() for b in COMMAND_BEGIN.finditer(output)):
        return None
    return int(last.group(2)) if last.group(2) else 0


def _ready(pod: dict) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and not pod["metadata"].get("deletionTimestamp") and any(
        c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or [])


async def find_pod(kube: lite.Client, namespace: str, selector: str) -> str | None:
    pods = (await kube.list_pods(namespace, selector)).get("items") or []
    ready = sorted(p["metadata"]["name"] for p in pods if _ready(p))
    return ready[0] if ready else None


async def _write(channel: int, data: bytes) -> None:
    stream = sys.stdout.buffer if channel == lite.STDOUT else sys.stderr.buffer
    stream.write(data)
    stream.flush()


async def _progress_loop(kube: lite.Client, args: argparse.Namespace, pod: str, stop: asyncio.Event) -> None:
    from .pgbackrest import info as pbinfo

    job = os.environ.get("BRQ_JOB_NAME")
    argv = json.loads(args.progress_argv)
    last = None
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), args.progress_every)
            return
        except asyncio.TimeoutError:
            pass
        try:
            res = await kube.exec_(namespace=args.namespace, pod=pod, container=args.container, command=argv,
                                   timeout=30)
            percent = pbinfo.parse_text_progress(res.text) if res.exit_code == 0 else None
            progress = {"percent": percent} if percent is not None else None
        except (errors.KubeError, ValueError):
            continue
        if progress and progress != last and job:
            last = progress
            try:
                await kube.patch_job_annotations(args.namespace, job, {
                    PROGRESS_ANNOTATION: json.dumps(progress, sort_keys=True)})
            except errors.KubeError:
                pass


async def run_exec(args: argparse.Namespace) -> int:
    try:
        cfg = lite.load(args.kubeconfig)
    except lite.ConfigError as exc:
        print(f"job-runner: {exc}", file=sys.stderr)
        return API_FAILED
    async with lite.Client(cfg) as kube:
        try:
            pod = await find_pod(kube, args.namespace, args.selector)
        except errors.KubeError as exc:
            print(f"job-runner: cannot list pods: {exc}", file=sys.stderr)
            return API_FAILED
        if pod is None:
            print(f"job-runner: no ready pod matches {args.selector} in {args.namespace}", file=sys.stderr)
            return NO_POD
        print(f"job-runner: exec in {args.namespace}/{pod} ({args.container}): {' '.join(args.argv)}",
              file=sys.stderr, flush=True)
        stop = asyncio.Event()
        sampler = None
        if args.progress_argv:
            sampler = asyncio.create_task(_progress_loop(kube, args, pod, stop))
        seen = bytearray()
        labels = LabelScanner()

        async def write(channel: int, data: bytes) -> None:
            seen.extend(data)
            del seen[:-TAIL_BYTES]
            labels.feed(data)
            await _write(channel, data)

        try:
            result = await kube.exec_(namespace=args.namespace, pod=pod, container=args.container,
                                      command=args.argv, timeout=args.timeout, on_output=write)
        except errors.ExecFailed as exc:
            code = logged_outcome(bytes(seen), args.argv)
            if code is not None:
                print(f"job-runner: {exc}, after the command logged its end: exit code {code}", file=sys.stderr)
                if code == 0:
                    await annotate_outcome(kube, args.namespace, labels.label)
                return code
            print(f"job-runner: {exc}", file=sys.stderr)
            return STREAM_LOST
        except errors.KubeError as exc:
            print(f"job-runner: exec failed: {exc}", file=sys.stderr)
            return API_FAILED
        finally:
            stop.set()
            if sampler is not None:
                await sampler
        print(f"job-runner: exit code {result.exit_code}", file=sys.stderr)
        if result.exit_code == 0:
            await annotate_outcome(kube, args.namespace, labels.label)
        return result.exit_code


class LabelScanner:
    """The last `new backup label = …` in a stream of output chunks (a line may be split across chunks)."""

    def __init__(self) -> None:
        self.label: str | None = None
        self._carry = ""

    def feed(self, data: bytes) -> None:
        text = self._carry + data.decode("utf-8", "replace")
        found = BACKUP_LABEL.findall(text)
        if found:
            self.label = found[-1]
        self._carry = text[-256:]


async def annotate_outcome(kube: lite.Client, namespace: str, label: str | None) -> None:
    """`brq.io/outcome` on this pod's Job (named by $BRQ_JOB_NAME): best effort — without it the watcher reads
    this pod's log instead (and the retries summary line ends that log either way)."""
    job = os.environ.get("BRQ_JOB_NAME")
    if not job:
        return
    outcome = {"exit_code": 0, "label": label, "retries": dict(sorted(RETRIES.items()))}
    try:
        await kube.patch_job_annotations(namespace, job, {OUTCOME_ANNOTATION: json.dumps(outcome, sort_keys=True)})
    except errors.KubeError as exc:
        print(f"job-runner: could not note the outcome on job {job}: {exc}", file=sys.stderr)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="job-runner", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("exec", help="exec a command in the pod a selector names; exit with its code")
    e.add_argument("--namespace", required=True)
    e.add_argument("--selector", required=True)
    e.add_argument("--container", required=True)
    e.add_argument("--timeout", type=float, default=24 * 3600)
    e.add_argument("--kubeconfig", default=None, help="default: in-cluster service account")
    e.add_argument("--progress-argv", default=None, help="JSON argv of an `info --output=text` to sample")
    e.add_argument("--progress-every", type=float, default=2.0)
    e.add_argument("argv", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    if args.argv and args.argv[0] == "--":
        args.argv = args.argv[1:]
    if not args.argv:
        p.error("a command to run is required after --")
    return args


TERMINATED = 143  # 128 + SIGTERM, as a shell reports it


async def _run_until_terminated(args: argparse.Namespace) -> int:
    """`run_exec`, ended early by SIGTERM/SIGINT: as PID 1 of a container nothing else would make it stop, and a
    cancelled backup's pod would wait out its whole grace period.  Closing the exec stream ends the command."""
    loop = asyncio.get_running_loop()
    work = asyncio.ensure_future(run_exec(args))
    signalled: list[int] = []

    def terminate(signum: int) -> None:
        signalled.append(signum)
        work.cancel()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, terminate, signum)
    try:
        return await work
    except asyncio.CancelledError:
        if not signalled:
            raise
        print(f"job-runner: stopped by {signal.Signals(signalled[0]).name}", file=sys.stderr, flush=True)
        return TERMINATED


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    code = asyncio.run(_run_until_terminated(args))
    if RETRIES:  # the last line of the log: the watcher counts them for /metrics
        print(f"job-runner: {summary()}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
