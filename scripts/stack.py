"""The local stack behind `make up`, `make demo` and `make down`.

State lives in `.local/`: each server's pid file and log, kubesim's state dir,
and `.local/env` (source it: `KUBECONFIG`, …) for the shell you use next.

Today the stack is kubesim, the local Kubernetes; the service's own processes
(Redis, API, worker, beat, watcher) join it as their issues land.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOCAL = os.path.join(ROOT, ".local")
sys.path.insert(0, ROOT)

from kubesim.process import KubesimProcess  # noqa: E402

KUBESIM_STATE = os.path.join(LOCAL, "kubesim")
DEMO_MANIFEST = os.path.join(ROOT, "kubesim", "examples", "postgres.yaml")


def _pidfile(name: str) -> str:
    return os.path.join(LOCAL, f"{name}.pid")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _running(name: str) -> int | None:
    try:
        with open(_pidfile(name), encoding="ascii") as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def kubesim() -> KubesimProcess:
    return KubesimProcess(KUBESIM_STATE)


def up() -> KubesimProcess:
    os.makedirs(LOCAL, exist_ok=True)
    ks = kubesim()
    pid = _running("kubesim")
    if pid is None:
        ks.start()
        with open(_pidfile("kubesim"), "w", encoding="ascii") as f:
            f.write(str(ks.popen.pid))
        ks.popen = None  # it outlives this script; `down` stops it by its pid file
        print(f"kubesim: started, API {ks.server}")
    else:
        print(f"kubesim: already running (pid {pid}), API {ks.server}")
    with open(os.path.join(LOCAL, "env"), "w", encoding="utf-8") as f:
        f.write(f"export KUBECONFIG={ks.kubeconfig}\n")
    print(f"environment: source {os.path.relpath(os.path.join(LOCAL, 'env'), os.getcwd())}  "
          f"(KUBECONFIG={ks.kubeconfig})")
    return ks


def down() -> None:
    for name in ("kubesim",):
        pid = _running(name)
        if pid is None:
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        print(f"{name}: stopped (pid {pid})")
        os.unlink(_pidfile(name))


def demo() -> None:
    ks = up()

    def kubectl(*args: str, **kw) -> str:
        out = ks.kubectl(*args, check=True, **kw).stdout
        return out

    print("\n$ kubectl apply -f kubesim/examples/postgres.yaml")
    print(kubectl("apply", "-f", DEMO_MANIFEST), end="")
    print("$ kubectl -n demo wait --for=condition=available deploy/db")
    print(kubectl("-n", "demo", "wait", "--for=condition=available", "deploy/db", "--timeout=120s"), end="")
    print("$ kubectl -n demo wait --for=condition=complete job/query")
    print(kubectl("-n", "demo", "wait", "--for=condition=complete", "job/query", "--timeout=120s"), end="")
    print("$ kubectl -n demo get all,pvc")
    print(kubectl("-n", "demo", "get", "all,pvc"))
    print("$ kubectl -n demo logs job/query")
    print(kubectl("-n", "demo", "logs", "job/query"))
    print("$ kubectl -n demo exec deploy/db -- sh -c 'psql -h \"$POD_IP\" -U postgres -Atc \"select version()\"'")
    print(kubectl("-n", "demo", "exec", "deploy/db", "--", "sh", "-c",
                  'psql -h "$POD_IP" -U postgres -Atc "select version()"'))
    print("The stack keeps running. Try: source .local/env && kubectl get pods -A;  stop it with: make down")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "demo"])
    args = parser.parse_args()
    try:
        {"up": up, "down": down, "demo": demo}[args.command]()
    except (RuntimeError, AssertionError, subprocess.CalledProcessError) as exc:
        print(f"stack: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
