"""`python -m kubesim --state-dir DIR --kubeconfig FILE [--port N] [--node-label k=v ...]`

Runs in the foreground until SIGTERM/SIGINT; writes FILE once the API answers;
on exit kills every pod process it started.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys

from .cluster import Cluster, ClusterConfig
from .faults import from_env


def _label(value: str) -> tuple[str, str]:
    key, sep, val = value.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"node label must be key=value, got {value!r}")
    return key, val


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m kubesim", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--state-dir", required=True, help="where objects' volumes, pod files, PKI and logs live")
    p.add_argument("--kubeconfig", required=True, help="written once the API answers (server URL + token)")
    p.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port to serve on (default: a free one)")
    p.add_argument("--node-label", type=_label, action="append", default=[], metavar="KEY=VALUE",
                   help="label on the node (repeatable); pods' nodeSelector/affinity are matched against them")
    p.add_argument("--node-name", default="kubesim")
    p.add_argument("--expose", action="append", default=[], metavar="PATH",
                   help="host path pods must see at the same path (repeatable); this Python and the project are "
                        "always exposed")
    p.add_argument("--job-backoff-seconds", type=float, default=float(os.environ.get("KUBESIM_JOB_BACKOFF", 10)),
                   help="first delay before a failed Job pod is replaced, doubling (Kubernetes: 10)")
    p.add_argument("--crash-backoff-seconds", type=float,
                   default=float(os.environ.get("KUBESIM_CRASH_BACKOFF", 10)),
                   help="first delay before a crashed container restarts, doubling (Kubernetes: 10)")
    p.add_argument("--bookmark-seconds", type=float, default=float(os.environ.get("KUBESIM_BOOKMARK_SECONDS", 60)),
                   help="interval of BOOKMARK events on watches that allow them")
    p.add_argument("--history-size", type=int, default=50_000,
                   help="watch events kept for resuming; older resourceVersions get 410 Gone")
    p.add_argument("--log-level", default=os.environ.get("KUBESIM_LOG_LEVEL", "INFO"))
    return p.parse_args(argv)


async def amain(args: argparse.Namespace) -> int:
    try:
        faults = from_env(os.environ.get("KUBESIM_FAULTS"))
    except (ValueError, json.JSONDecodeError) as exc:
        print(f"kubesim: bad KUBESIM_FAULTS: {exc}", file=sys.stderr)
        return 2
    config = ClusterConfig(state_dir=args.state_dir, kubeconfig=args.kubeconfig, host=args.host, port=args.port,
                           node_name=args.node_name, node_labels=dict(args.node_label),
                           job_backoff=args.job_backoff_seconds, crash_backoff=args.crash_backoff_seconds,
                           bookmark_interval=args.bookmark_seconds, history_size=args.history_size, faults=faults, expose=tuple(args.expose))
    cluster = Cluster(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await cluster.start()
    except OSError as exc:
        print(f"kubesim: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        await cluster.stop()
        return 1
    print(f"kubesim: serving {cluster.url}; kubeconfig {os.path.abspath(args.kubeconfig)}", file=sys.stderr,
          flush=True)
    try:
        await stop.wait()
    finally:
        await cluster.stop()
    print("kubesim: stopped; every pod process killed", file=sys.stderr, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
