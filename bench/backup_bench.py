"""Full backup and restore of a pgbench database to each repo: the service's pgBackRest settings next to pgBackRest's
own defaults, in the same run, on the real stack.

    .venv/bin/python bench/backup_bench.py                 # scale 70 (~1 GB), both repos: about 5 minutes
    .venv/bin/python bench/backup_bench.py --quick         # scale 5 (~75 MB): about 2 minutes
    .venv/bin/python bench/backup_bench.py --scale 70 --reps 3 --repos s3

One cluster (`local,s3`) is created through the REST API and filled with `pgbench -i -s SCALE` (exec in the primary,
as the postgres user, socket /pgsock).  Then, per repo (local = repo1 posix, s3 = repo2 on the S3 server over TLS):

  backups (full)
  - service, REST: `POST …/backups {"type": "full"}` → task SUCCESS — the real path (worker, Job, job-runner exec
    into the repo host, watcher), with the settings the service writes (tasks/pgbackrest/config.py `Tuning`:
    compress-type=zst, process-max=2, repo2-bundle=y, start-fast=y);
  - pgBackRest defaults, exec: the same `pgbackrest backup` exec'd in the repo host with pgBackRest's defaults for
    what Tuning changes given on the command line — `--compress-type=gz --process-max=1`, and for S3
    `--no-repo2-bundle` — into a repo path of its own (`--repoN-path`, stanza-created there) so it never touches
    the service's repo;
  - service settings, exec: the same exec with the service's settings into a third path: like for like with the
    line above, so the settings' gain and the orchestration's cost show apart.
  Both exec runs take `--no-archive-check`: the primary archives WAL into the service's repo path only, so a
  backup elsewhere cannot wait for its WAL there.  That spares the exec runs the final WAL wait the REST run
  has, which only flatters pgBackRest's defaults.  start-fast=y stays for all (without it a backup waits for the
  next checkpoint, up to 5 minutes, which would measure PostgreSQL's checkpoint timer, not pgBackRest).

  restores (the whole backup into an empty directory)
  - in a throwaway restore pod, as the restore Job of issue 4 will run it: the primary's certificate, the service's
    restore config (tasks/pgbackrest/config.py `restore_conf`: the repo reached through the repo host over TLS),
    an empty PVC; `pgbackrest restore --set=<label> --pg1-path=<empty dir>`; the defaults' backup restored with
    `--process-max=1` and its repo path, the service's with the config as written.  The set label is given, so
    a restore that read the wrong path fails instead of timing the wrong backup.

Prints seconds (pgBackRest's own start→stop from `info` beside the client's clock for backups), repo size, and the
speedup of the service's settings over pgBackRest's defaults per repo.  Target (issue 3): ≥ 2.5× on S3.
Timings are printed, never asserted.  A restore writes and fsyncs the whole database, so its time follows the disk:
on a shared VM the same restore varied from 2.5 to 8.5 s here — use `--reps 3` or more (medians and minimums).
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._common import (Api, create_cluster, exec_in, find_pod, machine, median, redis_client,  # noqa: E402
                           repo_host_selector, submit, wait_done)
from tasks import steps, topology  # noqa: E402
from tasks.pgbackrest import commands  # noqa: E402
from tasks.pgbackrest import config as pbconfig  # noqa: E402
from tasks.runtime import Runtime  # noqa: E402
from tasks.settings import load_settings_from_environ  # noqa: E402
from tests.support.stack import Stack  # noqa: E402

NS = "demo"
CLUSTER = "bb"
BENCH_DIR = "bench"                      # under repo1's volume / at the bucket's root: never the service's paths
DEFAULTS, OURS = "pgbackrest-defaults", "service-settings"
RESTORE_POD = f"{CLUSTER}-bench-restore"
RESTORE_MOUNT = "/restore"


@dataclasses.dataclass
class Setting:
    """One way to run a backup: where it goes, and the command-line overrides it takes."""

    name: str
    repo: int
    path: str | None          # repoN-path override; None = the service's own repo
    backup_extra: list[str]
    restore_extra: list[str]


def settings_for(repo: int, tuning: pbconfig.Tuning) -> dict[str, Setting]:
    """pgBackRest's defaults for what the service's Tuning changes, and the service's own, each in its own path."""
    defaults = ["--compress-type=gz", "--process-max=1"]
    if tuning.compress_level is not None:
        defaults.append("--reset-compress-level")
    if repo == 2 and tuning.s3_bundle:
        defaults.append("--no-repo2-bundle")
    base = f"{topology.REPO_MOUNT}/{BENCH_DIR}" if repo == 1 else f"/{BENCH_DIR}"
    suffix = "" if repo == 1 else f"/{CLUSTER}"
    return {
        DEFAULTS: Setting(DEFAULTS, repo, f"{base}/{DEFAULTS}{suffix}", defaults + ["--no-archive-check"],
                          ["--process-max=1"]),
        OURS: Setting(OURS, repo, f"{base}/{OURS}{suffix}", ["--no-archive-check"], []),
    }


def with_options(argv: list[str], extra: list[str]) -> list[str]:
    """Insert options before the command word (the last item of a commands.* argv without parameters)."""
    return argv[:-1] + extra + argv[-1:]


def path_option(setting: Setting | None) -> list[str]:
    return [f"--repo{setting.repo}-path={setting.path}"] if setting and setting.path else []


class Bench:
    def __init__(self, stack: Stack, args: argparse.Namespace):
        self.stack = stack
        self.args = args
        self.api = Api(stack.api_url, stack.tokens["admin"])
        self.r = redis_client(stack.redis.url)
        self.rt = Runtime.from_settings(load_settings_from_environ(stack.env), kubeconfig=stack.kubesim.kubeconfig)
        self.cfg = None
        self.repo_host = self.primary = ""
        self.runs: list[dict] = []

    # -- set-up ---------------------------------------------------------------------------------------------

    async def setup(self) -> None:
        from tasks.kube import config as kconfig

        t = time.perf_counter()
        await asyncio.to_thread(create_cluster, self.api, self.r, NS, CLUSTER, "local,s3")
        print(f"  cluster {NS}/{CLUSTER} (local,s3) created through the API in {time.perf_counter() - t:.1f} s")
        self.cfg = await kconfig.load(self.stack.kubesim.kubeconfig)
        self.repo_host = await find_pod(self.cfg, NS, repo_host_selector(CLUSTER))
        self.primary = await find_pod(self.cfg, NS, f"{topology.L_CLUSTER}={CLUSTER},{topology.L_ROLE}=primary")
        t = time.perf_counter()
        await self.sql_exec(["pgbench", "-i", "-q", "-s", str(self.args.scale), "-h", topology.SOCKET_DIR,
                             "-U", "postgres", "postgres"])
        size = await self.sql("select pg_size_pretty(pg_database_size('postgres'))")
        print(f"  pgbench -i -s {self.args.scale}: {size} in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        await self.wait_archived()
        print(f"  WAL archive caught up in {time.perf_counter() - t:.1f} s more")
        for name in (DEFAULTS, OURS):  # stanza-create takes no --repo (2.45): every repo, each at its bench path
            paths = [opt for repo in (1, 2) for opt in path_option(settings_for(repo, pbconfig.Tuning())[name])]
            await self.pgbackrest(with_options(commands.stanza_create(), paths))
        await self.start_restore_pod()

    @property
    def repos(self) -> list[int]:
        return [commands.STORAGE_REPOS[x] for x in self.args.repos.split(",")]

    async def sql_exec(self, argv: list[str]) -> str:
        res = await exec_in(self.cfg, NS, self.primary, "database", argv, timeout=7200)
        return res.text.strip()

    async def sql(self, query: str) -> str:
        return await self.sql_exec(["psql", "-h", topology.SOCKET_DIR, "-U", "postgres", "-v", "ON_ERROR_STOP=1",
                                    "-Atc", query])

    async def wait_archived(self, timeout: float = 1800) -> None:
        """Until the segment current now has been archived: the backups must not race pgbench's WAL backlog."""
        await self.sql("checkpoint")
        segment = await self.sql("select pg_walfile_name(pg_switch_wal())")
        deadline = time.monotonic() + timeout
        while await self.sql(f"select coalesce(last_archived_wal, '') >= '{segment}' from pg_stat_archiver") != "t":
            if time.monotonic() > deadline:
                raise TimeoutError(f"WAL segment {segment} not archived after {timeout:g}s")
            await asyncio.sleep(0.5)

    async def pgbackrest(self, argv: list[str], pod: str | None = None, container: str = "pgbackrest"):
        return await exec_in(self.cfg, NS, pod or self.repo_host, container, argv, timeout=7200)

    async def start_restore_pod(self) -> None:
        """A pod like a restore Job's: the primary's certificate, the service's restore config per repo, a PVC."""
        settings = self.rt.settings
        cfg = steps.pgbackrest_config(self.rt, NS, CLUSTER, "local,s3")
        spec = steps.cluster_spec(self.rt, NS, CLUSTER, "local,s3")
        confs = {f"restore{repo}.conf": pbconfig.restore_conf(cfg, repo, f"{RESTORE_MOUNT}/unset")
                 for repo in cfg.repos}
        labels = {**topology.MANAGED_BY, topology.L_CLUSTER: CLUSTER, topology.L_ROLE: "bench-restore"}
        objects = [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": RESTORE_POD, "namespace": NS,
                                                                   "labels": labels}, "data": confs},
            {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": RESTORE_POD, "namespace": NS, "labels": labels},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}}}},
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": RESTORE_POD, "namespace": NS, "labels": labels},
             "spec": {
                 "securityContext": {"runAsUser": settings.pods.postgres_uid, "runAsGroup": settings.pods.postgres_gid,
                                     "fsGroup": settings.pods.postgres_gid},
                 "containers": [{"name": "pgbackrest", "image": settings.images.pgbackrest,
                                 "command": ["sleep", "86400"],
                                 "volumeMounts": [
                                     {"name": "data", "mountPath": RESTORE_MOUNT},
                                     {"name": "conf", "mountPath": topology.CONF_DIR, "readOnly": True},
                                     {"name": "certs", "mountPath": topology.CERT_DIR, "readOnly": True}]}],
                 "volumes": [
                     {"name": "data", "persistentVolumeClaim": {"claimName": RESTORE_POD}},
                     {"name": "conf", "configMap": {"name": RESTORE_POD}},
                     {"name": "certs", "secret": {"secretName": spec.certs_secret, "defaultMode": 0o600, "items": [
                         {"key": "ca.crt", "path": "ca.crt"}, {"key": "primary.crt", "path": "server.crt"},
                         {"key": "primary.key", "path": "server.key"}]}}]}},
        ]
        from kubernetes_asyncio import client

        from tasks.kube import objects as kobjects
        async with client.ApiClient(self.cfg) as api:
            for manifest in objects:
                await kobjects.create_or_get(api, manifest=manifest)
        self.stack.kubesim.kubectl("-n", NS, "wait", "--for=condition=Ready", f"pod/{RESTORE_POD}", "--timeout=60s",
                                   check=True)

    # -- measurements -----------------------------------------------------------------------------------------

    async def backup_rest(self, repo: int) -> dict:
        storage = commands.storage_type_of(repo)
        os.sync()
        t = time.perf_counter()
        task_id = await asyncio.to_thread(submit, self.api, NS, f"clusters/{CLUSTER}/backups",
                                          {"type": "full", "storage_type": storage})
        rec = await asyncio.to_thread(wait_done, self.r, task_id, 7200)
        seconds = time.perf_counter() - t
        if rec.state != "SUCCESS":
            raise RuntimeError(f"backup to {storage} through the API ended {rec.state}: {rec.error}")
        return {"seconds": seconds, "label": rec.result["repos"][storage]["label"]}

    async def backup_exec(self, setting: Setting) -> dict:
        argv = with_options(commands.backup(setting.repo, "full", []), path_option(setting) + setting.backup_extra)
        os.sync()
        t = time.perf_counter()
        res = await self.pgbackrest(argv)
        seconds = time.perf_counter() - t
        label = Runtime.step_details(res.text).get("label")
        if not label:
            raise RuntimeError(f"no backup label in the output of {' '.join(argv)}:\n{res.text[-2000:]}")
        return {"seconds": seconds, "label": label, "argv": argv}

    async def backup_info(self, repo: int, setting: Setting | None, label: str) -> dict:
        argv = with_options(commands.info(repo, output="json"), path_option(setting))
        data = json.loads((await self.pgbackrest(argv)).text)
        for backup in data[0]["backup"]:
            if backup["label"] == label:
                return {"pgbackrest_seconds": backup["timestamp"]["stop"] - backup["timestamp"]["start"],
                        "repo_bytes": backup["info"]["repository"]["size"], "db_bytes": backup["info"]["size"]}
        raise RuntimeError(f"backup {label} is not in repo {repo} ({setting.path if setting else 'service path'})")

    async def restore(self, repo: int, setting: Setting | None, label: str, target: str) -> dict:
        path = f"{RESTORE_MOUNT}/{target}"
        await self.pgbackrest(["mkdir", "-m", "0700", path], pod=RESTORE_POD)
        argv = commands.restore(repo, set=label, pg_path=path, config=f"{topology.CONF_DIR}/restore{repo}.conf")
        argv = with_options(argv, path_option(setting) + (setting.restore_extra if setting else []))
        os.sync()  # every run starts with no dirty pages of the runs before it to write back
        t = time.perf_counter()
        await self.pgbackrest(argv, pod=RESTORE_POD)
        seconds = time.perf_counter() - t
        size = (await self.pgbackrest(["du", "-sb", path], pod=RESTORE_POD)).text.split()[0]
        await self.pgbackrest(["rm", "-rf", path], pod=RESTORE_POD)
        return {"seconds": seconds, "bytes": int(size), "argv": argv}

    async def one_repo(self, repo: int, rep: int) -> None:
        storage = commands.storage_type_of(repo)
        settings = settings_for(repo, pbconfig.Tuning())
        rest = await self.backup_rest(repo)
        rest.update(await self.backup_info(repo, None, rest["label"]))
        self.add(storage, rep, "service, REST", "backup", rest)
        order = [DEFAULTS, OURS] if rep % 2 == 0 else [OURS, DEFAULTS]
        labels = {}
        for name in order:
            run = await self.backup_exec(settings[name])
            run.update(await self.backup_info(repo, settings[name], run["label"]))
            labels[name] = run["label"]
            self.add(storage, rep, f"{'service settings' if name == OURS else 'pgBackRest defaults'}, exec",
                     "backup", run)
        targets = [("service, REST", None, rest["label"]), ("pgBackRest defaults, exec", settings[DEFAULTS],
                                                             labels[DEFAULTS])]
        for what, setting, label in (targets if rep % 2 == 0 else targets[::-1]):
            run = await self.restore(repo, setting, label, f"r{repo}-{rep}-{'d' if setting else 's'}")
            self.add(storage, rep, what, "restore", run)

    def add(self, storage: str, rep: int, what: str, op: str, run: dict) -> None:
        run.update(storage=storage, rep=rep, what=what, op=op)
        self.runs.append(run)
        extra = ""
        if "pgbackrest_seconds" in run:
            extra = (f"  (pgBackRest's own start→stop {run['pgbackrest_seconds']} s; repo "
                     f"{run['repo_bytes'] / 2**20:.1f} MiB of {run['db_bytes'] / 2**20:.0f} MiB)")
        elif op == "restore":
            extra = f"  ({run['bytes'] / 2**20:.0f} MiB restored)"
        print(f"  rep {rep + 1} {storage:<5} {op:<7} {what:<27} {run['seconds']:7.2f} s{extra}   [load "
              f"{os.getloadavg()[0]:.1f}]", flush=True)
        if self.args.verbose and "argv" in run:
            print(f"      {' '.join(run['argv'])}")

    def report(self) -> None:
        many = self.args.reps > 1
        print("summary (seconds, median" + (" [min–max]" if many else "") +
              "; speedup = pgBackRest defaults / service, from the medians" + (" (from the minimums)" if many else "")
              + "):")
        for storage in [commands.storage_type_of(r) for r in self.repos]:
            def times(what: str, op: str) -> list[float]:
                return [x["seconds"] for x in self.runs if x["storage"] == storage and x["what"] == what
                        and x["op"] == op]

            def show(values: list[float]) -> str:
                return f"{median(values):6.2f}" + (f" [{min(values):.2f}–{max(values):.2f}]" if many else "")

            def speedup(slow: list[float], fast: list[float]) -> str:
                return f"{median(slow) / median(fast):.1f}×" + (f" ({min(slow) / min(fast):.1f}×)" if many else "")

            b_rest, b_ours, b_def = (times("service, REST", "backup"), times("service settings, exec", "backup"),
                                     times("pgBackRest defaults, exec", "backup"))
            r_ours, r_def = times("service, REST", "restore"), times("pgBackRest defaults, exec", "restore")
            print(f"  {storage:<5} backup:  service via REST {show(b_rest)} | service settings by exec "
                  f"{show(b_ours)} | pgBackRest defaults by exec {show(b_def)}  →  {speedup(b_def, b_rest)} via REST, "
                  f"{speedup(b_def, b_ours)} like for like")
            print(f"  {storage:<5} restore: service settings {show(r_ours)} | pgBackRest defaults {show(r_def)}  →  "
                  f"{speedup(r_def, r_ours)}")
            if storage == "s3":
                print(f"  => S3: full backup {speedup(b_def, b_rest)} faster than pgBackRest's defaults through the "
                      f"REST API ({speedup(b_def, b_ours)} settings alone), restore {speedup(r_def, r_ours)} "
                      f"(target ≥ 2.5×)")


async def amain(stack: Stack, args: argparse.Namespace) -> None:
    bench = Bench(stack, args)
    await bench.setup()
    tuning = pbconfig.Tuning()
    print(f"  service settings (tasks/pgbackrest/config.py Tuning): compress-type={tuning.compress_type}, "
          f"process-max={tuning.process_max}, repo2-bundle={'y' if tuning.s3_bundle else 'n'}, "
          f"start-fast={'y' if tuning.start_fast else 'n'}; pgBackRest defaults: "
          f"{' '.join(settings_for(2, tuning)[DEFAULTS].backup_extra[:-1])} (start-fast=y kept)")
    for rep in range(args.reps):
        for repo in bench.repos:
            await bench.one_repo(repo, rep)
    bench.report()


def run(args: argparse.Namespace) -> None:
    directory = tempfile.mkdtemp(prefix="backup-bench-")
    print(f"backup bench: pgbench scale {args.scale}, repos {args.repos}, {args.reps} rep(s); {machine()}; "
          f"stack in {directory}")
    t = time.perf_counter()
    stack = Stack(directory, namespaces=(NS,)).start()
    print(f"  stack started in {time.perf_counter() - t:.1f} s")
    try:
        asyncio.run(amain(stack, args))
    finally:
        stack.stop()
        if args.keep:
            print(f"  kept {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)
    print(f"  load average at the end: {os.getloadavg()[0]:.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=int, default=70, help="pgbench scale (70 ≈ 1 GB; default 70)")
    p.add_argument("--quick", action="store_true", help="scale 5 (~75 MB): a fast check that everything runs")
    p.add_argument("--repos", default="local,s3", help="local, s3 or local,s3 (default)")
    p.add_argument("--reps", type=int, default=1, help="repetitions of every backup and restore (default 1)")
    p.add_argument("--keep", action="store_true", help="keep the stack's directory (logs, repo) afterwards")
    p.add_argument("--verbose", action="store_true", help="print every pgbackrest command line")
    args = p.parse_args()
    if args.quick:
        args.scale = 5
    commands.storage_types(args.repos)
    run(args)


if __name__ == "__main__":
    main()
