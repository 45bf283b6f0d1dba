"""The local stack behind `make up`, `make demo` and `make down`.

`up` starts Redis (AOF on), kubesim, the S3 server (moto behind TLS with our
own CA), the API (gunicorn), a Celery worker, the watcher and beat, all on loopback,
in `.local/stack/`, and writes `.local/env` (`BRQ_URL`, `BRQ_TOKEN`,
`KUBECONFIG`, `BRQ_NAMESPACE`) for the next shell.  `demo` also creates cluster
`demo` (storage `local,s3`) in namespace `demo`, writes rows, backs up to both
repos, prints the catalogue, then writes more rows and restores to a point in
time before them, then schedules an incremental backup every 15 s, waits for
one to succeed and pauses the schedule — with the `brq` CLI, as a user would.  `down`
stops every process and discards the stack's state (kubesim keeps no objects
across restarts, so a half-kept stack would only mislead).
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOCAL = os.path.join(ROOT, ".local")
STATE = os.path.join(LOCAL, "stack")
PIDS = os.path.join(LOCAL, "pids.json")
ENV = os.path.join(LOCAL, "env")
sys.path.insert(0, ROOT)

from tests.support.stack import Stack, stop_pids  # noqa: E402


def _running() -> dict[str, int] | None:
    try:
        with open(PIDS, encoding="utf-8") as f:
            pids = json.load(f)
    except (OSError, ValueError):
        return None
    alive = {}
    for name, pid in pids.items():
        try:
            os.kill(pid, 0)
            alive[name] = pid
        except ProcessLookupError:
            pass
    return alive or None


def _env() -> dict[str, str]:
    out = {}
    with open(ENV, encoding="utf-8") as f:
        for line in f:
            if line.startswith("export "):
                key, _, value = line[7:].strip().partition("=")
                out[key] = shlex.split(value)[0] if value else ""
    return out


def up() -> dict[str, str]:
    if _running():
        print("stack: already running; environment in .local/env")
        return _env()
    down(quiet=True)
    stack = Stack(STATE, namespaces=("demo",)).start()
    with open(PIDS, "w", encoding="utf-8") as f:
        json.dump(stack.detach(), f)
    env = {"BRQ_URL": stack.api_url, "BRQ_TOKEN": stack.tokens["admin"], "KUBECONFIG": stack.kubesim.kubeconfig,
           "BRQ_NAMESPACE": "demo"}
    fd = os.open(ENV, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("# the local stack (make up); source it: . .local/env\n")
        f.write("".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items()))
        f.write(f'export PATH={shlex.quote(os.path.dirname(sys.executable))}:"$PATH"  # brq, kubesim\n')
    print(f"stack: up. API {stack.api_url}  (Swagger UI at {stack.api_url}/docs)\n"
          f"  kubesim {stack.kubesim.server}, S3 https://localhost:{stack.s3.port}, Redis {stack.redis.url}\n"
          f"  logs in .local/stack/*.log; environment: . .local/env  (BRQ_URL, BRQ_TOKEN, KUBECONFIG)")
    return env


def down(quiet: bool = False) -> None:
    pids = _running()
    if pids:
        stopped = stop_pids(pids)
        print(f"stack: stopped {', '.join(stopped)}")
    elif not quiet:
        print("stack: nothing running")
    for path in (PIDS,):
        if os.path.exists(path):
            os.unlink(path)
    shutil.rmtree(STATE, ignore_errors=True)


def _run(env: dict[str, str], *argv: str, check: bool = True) -> int:
    print("\n$ " + " ".join(shlex.quote(a) for a in argv), flush=True)
    bin_dir = os.path.dirname(sys.executable)
    full = {**os.environ, **env, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    code = subprocess.call(list(argv), env=full)
    if check and code != 0:
        raise SystemExit(f"demo: `{' '.join(argv)}` exited {code}")
    return code


def _psql(env: dict[str, str], sql: str) -> str:
    full = {**os.environ, **env}
    return subprocess.check_output(["kubectl", "-n", "demo", "exec", "deploy/demo", "-c", "database", "--", "psql",
                                    "-Atc", sql], env=full, text=True).strip()


def _wait_for_scheduled_backup(env: dict[str, str], name: str, timeout: float = 120.0) -> None:
    """Until the schedule's last run's backup succeeded (through the CLI's JSON output, as a script would)."""
    full = {**os.environ, **env, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = json.loads(subprocess.check_output(["brq", "show", "schedule", name, "-o", "json"], env=full))
        runs = [r for r in shown.get("runs") or [] if r.get("state") == "SUCCESS"]
        if runs:
            print(f"scheduled backup {runs[0].get('task_id')} succeeded", flush=True)
            return
        time.sleep(1)
    raise SystemExit(f"demo: schedule {name} made no successful backup in {timeout:.0f} s")


def demo() -> None:
    env = up()
    sql = "create table if not exists orders(id serial primary key, item text, at timestamptz default now()); " \
          "insert into orders(item) select 'item ' || g from generate_series(1, 1000) g; select count(*) from orders"
    _run(env, "brq", "create", "cluster", "demo", "--pgbackrest-storage-type=local,s3", "-n", "demo", "--wait")
    _run(env, "kubectl", "-n", "demo", "get", "pods,pvc,svc")
    _run(env, "kubectl", "-n", "demo", "exec", "deploy/demo", "-c", "database", "--", "psql", "-Atc", sql)
    _run(env, "brq", "backup", "demo", "--pgbackrest-storage-type=local,s3", "--backup-opts=--type=full", "--wait")
    _run(env, "brq", "show", "backup", "demo")

    print("\n# point-in-time recovery: note the time, write 500 more rows, then restore to that time", flush=True)
    time.sleep(1.1)  # the target must lie in a later second than the backup's end
    target = _psql(env, "select to_char(clock_timestamp() at time zone 'utc', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
    print(f"target time: {target}")
    time.sleep(1.1)
    print("rows now:", _psql(env, "insert into orders(item) select 'late ' || g from generate_series(1, 500) g; "
                                  "select count(*) from orders"))
    segment = _psql(env, "select pg_walfile_name(pg_switch_wal())")
    for _ in range(300):
        if _psql(env, "select coalesce(last_archived_wal, '') from pg_stat_archiver") >= segment:
            break
        time.sleep(0.2)
    _run(env, "brq", "restore", "demo", "--pgbackrest-storage-type=local", f"--pitr-target={target}",
         "--backup-opts=--type=time", "--no-prompt", "--wait")
    print("\nrows after the restore:", _psql(env, "select count(*) from orders"), "(1000: the late rows are gone)")

    print("\n# a schedule: an incremental backup every 15 seconds (6 fields, seconds first); wait for a run, "
          "then pause it", flush=True)
    _run(env, "brq", "create", "schedule", "demo", "--schedule=*/15 * * * * *", "--schedule-type=pgbackrest",
         "--pgbackrest-backup-type=incr", "--pgbackrest-storage-type=local")
    _wait_for_scheduled_backup(env, "demo-pgbackrest-incr")
    _run(env, "brq", "show", "schedule", "demo-pgbackrest-incr")
    _run(env, "brq", "pause", "schedule", "demo-pgbackrest-incr")
    print("\nThe stack keeps running: `. .local/env`, then `brq show backup demo`, `brq show tasks`, "
          "`kubectl get pods -A`; stop it with `make down`.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "demo"])
    args = parser.parse_args()
    try:
        {"up": up, "down": down, "demo": demo}[args.command]()
    except RuntimeError as exc:
        print(f"stack: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
