"""The whole local stack as real processes: Redis, kubesim, S3 (moto behind TLS), the API (gunicorn), Celery
workers, the watcher and Celery beat (RedBeat).  The end-to-end tests, the benchmarks and `make up`/`make demo`
all run this.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from kubesim.process import KubesimProcess

from .conf import environ, make_conf
from .s3 import S3Server
from .servers import RedisServer, free_port

BUCKET = "backrest-queue-test"
FAST_KUBESIM = ["--job-backoff-seconds", "0.5", "--crash-backoff-seconds", "1", "--bookmark-seconds", "5"]


@dataclass
class Stack:
    directory: str
    namespaces: tuple[str, ...] = ("demo",)
    workers: int = 1
    worker_concurrency: int = 2
    beats: int = 1
    beat_env: dict[str, str] = field(default_factory=lambda: {"BRQ_BEAT_MAX_INTERVAL": "1",
                                                              "BRQ_BEAT_LOCK_TIMEOUT": "5"})
    api_port: int | None = None
    redis: RedisServer | None = None
    kubesim: KubesimProcess | None = None
    s3: S3Server | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def conf_dir(self) -> str:
        return os.path.join(self.directory, "conf")

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self) -> "Stack":
        os.makedirs(self.directory, exist_ok=True)
        try:
            self.redis = RedisServer(os.path.join(self.directory, "redis"), appendonly=True).start()
            self.kubesim = KubesimProcess(os.path.join(self.directory, "kubesim"), FAST_KUBESIM).start()
            self.s3 = S3Server(os.path.join(self.directory, "s3")).start()
            self.s3.create_bucket(BUCKET)
            self.tokens = make_conf(self.conf_dir)
            self.env = {**os.environ, **environ(self.redis.url, s3=self.s3, namespaces=",".join(self.namespaces)),
                        "BRQ_CONF_DIR": self.conf_dir, "BRQ_S3_BUCKET": BUCKET, "KUBECONFIG": self.kubesim.kubeconfig,
                        "PYTHONUNBUFFERED": "1", "BRQ_LOG_FORMAT": "json"}
            for ns in self.namespaces:
                self.kubesim.kubectl("apply", "-f", "-", check=True,
                                     input=f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n")
            self.api_port = self.api_port or free_port()
            for i in range(self.workers):
                self.start_worker(f"worker{i}")
            self.start_watcher()
            for i in range(self.beats):
                self.start_beat("beat" if i == 0 else f"beat{i}")
            self.start_api()
            self.wait_api()
        except BaseException:
            self.stop()
            raise
        return self

    # -- processes -------------------------------------------------------------------------------

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(os.path.join(self.directory, f"{name}.log"), "ab")  # noqa: SIM115 - the child keeps it
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env={**self.env, **(env or {})},
                                start_new_session=True,
                                cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
        log.close()
        self.procs[name] = proc
        return proc

    def start_worker(self, name: str = "worker0", env: dict[str, str] | None = None,
                     config: list[str] | None = None) -> subprocess.Popen:
        """`config`: Celery settings after `--` (`worker_soft_shutdown_timeout=5`), as k8s/worker.yaml gives them."""
        return self._spawn(name, [sys.executable, "-m", "celery", "-A", "tasks.worker", "worker", "-Q", "brq",
                                  "-c", str(self.worker_concurrency), "--pool=prefork", "-n", f"{name}@%h",
                                  "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO",
                                  *(["--", *config] if config else [])],
                           env=env)

    def start_watcher(self, name: str = "watcher", env: dict[str, str] | None = None) -> subprocess.Popen:
        return self._spawn(name, [sys.executable, "-m", "tasks.watcher"], env=env)

    def start_beat(self, name: str = "beat", env: dict[str, str] | None = None) -> subprocess.Popen:
        """Celery beat with RedBeat (tasks/beat.py); several elect one leader by a Redis lock."""
        return self._spawn(name, [sys.executable, "-m", "celery", "-A", "tasks.beat", "beat", "-l", "INFO"],
                           env={**self.beat_env, **(env or {})})

    def start_api(self) -> subprocess.Popen:
        return self._spawn("api", [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{self.api_port}",
                                   "--timeout", "60", "--graceful-timeout", "5", "app:create_app()"])

    def wait_api(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.api_url}/healthz", timeout=1):
                    return
            except OSError:
                if self.procs["api"].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the API did not start:\n{self.tail('api')}") from None
                time.sleep(0.1)

    def stop_process(self, name: str, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        proc = self.procs.get(name)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop_redis(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        """Stop Redis as a pod's end would (SIGTERM: AOF flushed; SIGKILL: the last second may be lost)."""
        proc = self.redis.popen
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def start_redis(self) -> None:
        """Start Redis again on the same port and directory: it reloads its AOF."""
        self.redis.start()

    def tail(self, name: str, lines: int = 80) -> str:
        try:
            with open(os.path.join(self.directory, f"{name}.log"), encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        for name in list(self.procs):
            self.stop_process(name)
        for server in (self.kubesim, self.s3, self.redis):
            if server is not None:
                server.stop()

    # -- a stack that outlives the process that started it (make up / make down) ------------------

    def pids(self) -> dict[str, int]:
        """Every process of the stack, in the order to stop them (service first, kubesim before Redis)."""
        out = {name: p.pid for name, p in self.procs.items()}
        if self.kubesim and self.kubesim.popen:
            out["kubesim"] = self.kubesim.popen.pid
        if self.s3 is not None:
            out.update({"stunnel": self.s3._stunnel.pid, "moto": self.s3._moto.pid})
        if self.redis and self.redis.popen:
            out["redis"] = self.redis.popen.pid
        return out

    def detach(self) -> dict[str, int]:
        """Forget the children (they keep running) and return their pids for `stop_pids`."""
        pids = self.pids()
        for proc in list(self.procs.values()) + [getattr(self.kubesim, "popen", None), getattr(self.redis, "popen", None),
                                                  getattr(self.s3, "_moto", None), getattr(self.s3, "_stunnel", None)]:
            if proc is not None:
                proc.returncode = 0  # Popen must not warn that it still runs: it is meant to
        return pids


    # -- the REST API ----------------------------------------------------------------------------

    def call(self, method: str, path: str, body: dict | None = None, *, token: str = "admin") -> tuple[int, dict]:
        return api_call(self.api_url, self.tokens[token], method, path, body)

    def wait_task(self, task_id: str, timeout: float = 180.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            status, task = self.call("GET", f"/api/v1/tasks/{task_id}")
            assert status == 200, task
            if task["state"] in ("SUCCESS", "FAILURE", "REVOKED"):
                return task
            if time.monotonic() > deadline:
                raise AssertionError(f"task {task_id} still {task['state']} ({task['phase']}) after {timeout}s:\n"
                                     f"{json.dumps(task, indent=1)}\n--- worker ---\n{self.tail('worker0')}\n"
                                     f"--- watcher ---\n{self.tail('watcher')}")
            time.sleep(0.2)

    def psql(self, namespace: str, cluster: str, sql: str) -> str:
        """Run SQL in the cluster's primary (`database` container, over its socket)."""
        out = self.kubesim.kubectl("-n", namespace, "exec", f"deploy/{cluster}", "-c", "database", "--",
                                   "psql", "-v", "ON_ERROR_STOP=1", "-Atc", sql, check=True)
        return out.stdout.strip()


def api_call(url: str, token: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    """One REST request to the API at `url` with a bearer token: (status, JSON body)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def stop_pids(pids: dict[str, int], timeout: float = 30.0) -> list[str]:
    """SIGTERM each process (its group if it leads one), wait, then SIGKILL; returns the names stopped."""
    stopped = []
    for name, pid in pids.items():
        try:
            target = -pid if os.getpgid(pid) == pid else pid
            os.kill(target, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        stopped.append(name)
    return stopped
