"""One pod's life on the node: volumes, sandbox, init containers, containers, probes, restarts, status, teardown.

A `PodWorker` is an asyncio task per pod.  It owns the pod's status: every
change of its own state is written back as the whole `status` (phase,
conditions, containerStatuses), as the real kubelet's status manager does.
"""
from __future__ import annotations

import asyncio
import grp
import logging
import os
import pwd
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import errors
from ..resources import PODS
from ..store import Obj, now_rfc3339
from . import env as envmod
from . import sandbox
from .procs import ExecProc, Proc
from .volumes import VolumeError, materialize

if TYPE_CHECKING:
    from .kubelet import Kubelet

log = logging.getLogger("kubesim.kubelet")
PROBE_OUTPUT_LIMIT = 10 * 1024   # the kubelet's maxReadLength for an exec probe's output


@dataclass
class ContainerState:
    spec: Obj
    init: bool = False
    restart_count: int = 0
    proc: Proc | None = None
    state: dict[str, Any] = field(default_factory=lambda: {"waiting": {"reason": "ContainerCreating"}})
    last_state: dict[str, Any] = field(default_factory=dict)
    ready: bool = False
    started: bool = False
    container_id: str = ""
    env: dict[str, str] = field(default_factory=dict)
    identity: tuple[int, int, tuple[int, ...]] = (0, 0, ())

    @property
    def name(self) -> str:
        return self.spec["name"]

    @property
    def running(self) -> bool:
        return "running" in self.state

    @property
    def terminated(self) -> dict | None:
        return self.state.get("terminated")

    def status(self) -> Obj:
        image = self.spec.get("image", "")
        out = {"name": self.name, "image": image, "imageID": f"kubesim://{image}", "ready": self.ready,
               "restartCount": self.restart_count, "started": self.started, "state": self.state,
               "lastState": self.last_state}
        if self.container_id:
            out["containerID"] = self.container_id
        return out


def _cond(type_: str, ok: bool, reason: str | None = None, since: str | None = None) -> Obj:
    out: Obj = {"type": type_, "status": "True" if ok else "False", "lastProbeTime": None,
                "lastTransitionTime": since or now_rfc3339()}
    if reason:
        out["reason"] = reason
    return out


class PodWorker:
    def __init__(self, kubelet: "Kubelet", pod: Obj):
        self.k = kubelet
        self.pod = pod
        md = pod["metadata"]
        self.uid, self.namespace, self.name = md["uid"], md["namespace"], md["name"]
        self.dir = os.path.join(kubelet.config.state_dir, "pods", self.uid)
        self.holder: Proc | None = None
        self.ip: str | None = None
        self.start_time: str | None = None
        spec = pod["spec"]
        self.inits = [ContainerState(c, init=True) for c in spec.get("initContainers") or []]
        self.containers = [ContainerState(c) for c in spec.get("containers") or []]
        self.initialized = not self.inits
        self.phase = "Pending"
        self.message: str | None = None
        self.reason: str | None = None
        self.stopping = False
        self.finished = False
        self._transitions: dict[str, tuple[bool, str]] = {}
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        self.task = asyncio.create_task(self._run(), name=f"pod {self.namespace}/{self.name}")

    # -- the pod's life --------------------------------------------------------------------------

    def poke(self) -> None:
        """Something the pod may wait for changed (a secret, a claim): look again."""
        self._wake.set()

    async def _wait_poke(self, timeout: float) -> None:
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    async def _run(self) -> None:
        try:
            mounts = await self._prepare()
            if mounts is None:
                return
            if not await self._start_sandbox(mounts):
                return
            self.push_status()
            for cs in self.inits:
                if not await self._run_init(cs):
                    return
            self.initialized = True
            for cs in self.containers:
                self._spawn_task(self._supervise(cs))
            self.push_status()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a broken pod must not take the node down
            log.exception("pod %s/%s failed in the kubelet", self.namespace, self.name)
            self.phase, self.reason, self.message = "Failed", "KubeletError", "kubesim kubelet error, see its log"
            self.push_status()

    async def _prepare(self) -> dict[str, str] | None:
        os.makedirs(os.path.join(self.dir, "logs"), exist_ok=True)
        warned = None
        while not self.stopping:
            try:
                return materialize(self.pod, self.k.store, self.dir, self.k.pki.service_account_token,
                                   self.k.pki.ca_pem())
            except VolumeError as exc:
                if str(exc) != warned:
                    warned = str(exc)
                    self.k.registry.record_event(self.pod, "Warning", "FailedMount",
                                                 f"MountVolume.SetUp failed: {exc}", "kubelet")
                    self.push_status()
                await self._wait_poke(1.0)
        return None

    async def _start_sandbox(self, volume_paths: dict[str, str]) -> bool:
        if self.stopping:
            return False
        self.ip = self.k.allocate_ip(self.uid)
        self.start_time = now_rfc3339()
        mounts = self._mounts(volume_paths)
        hosts = os.path.join(self.dir, "hosts")
        self.k.write_hosts(self, hosts)
        spec = sandbox.SandboxSpec(
            root_mountpoint=self.k.config.root_mountpoint, mounts=tuple(mounts), hosts_file=hosts,
            expose=self.k.config.expose, passwd_lines=self._passwd_lines(),
            error_file=os.path.join(self.dir, "sandbox-error"), tag=self.k.config.sandbox_tag)
        try:
            popen = sandbox.start_sandbox(spec)
        except sandbox.SandboxError as exc:
            self.phase, self.reason, self.message = "Failed", "FailedCreatePodSandBox", str(exc)
            self.k.registry.record_event(self.pod, "Warning", "FailedCreatePodSandBox", str(exc), "kubelet")
            self.push_status()
            return False
        self.holder = Proc(popen)
        self.k.on_pod_network(self)
        return True

    def _mounts(self, volume_paths: dict[str, str]) -> list[sandbox.Mount]:
        by_path: dict[str, sandbox.Mount] = {}
        for cs in self.inits + self.containers:
            for vm in cs.spec.get("volumeMounts") or []:
                host = volume_paths.get(vm["name"])
                if host is None:
                    continue
                if vm.get("subPath"):
                    host = os.path.join(host, vm["subPath"])
                    if not os.path.exists(host):
                        os.makedirs(host, exist_ok=True)
                path = os.path.normpath(vm["mountPath"])
                ro = bool(vm.get("readOnly"))
                prev = by_path.get(path)
                if prev is not None:
                    ro = ro and prev.read_only
                by_path[path] = sandbox.Mount(host, path, ro)
        # parents before children, so that nested mount paths land inside their parent volume
        return [by_path[p] for p in sorted(by_path, key=lambda p: p.count("/"))]

    def _passwd_lines(self) -> tuple[str, ...]:
        lines = []
        for cs in self.inits + self.containers:
            uid, gid, _ = self._identity(cs.spec)
            try:
                pwd.getpwuid(uid)
            except KeyError:
                line = f"kubesim{uid}:x:{uid}:{gid}:kubesim runAsUser {uid}:/tmp:/bin/sh"
                if line not in lines:
                    lines.append(line)
        return tuple(lines)

    def _identity(self, spec: Obj) -> tuple[int, int, tuple[int, ...]]:
        psc = self.pod["spec"].get("securityContext") or {}
        csc = spec.get("securityContext") or {}
        uid = csc.get("runAsUser", psc.get("runAsUser", 0))
        gid = csc.get("runAsGroup", psc.get("runAsGroup"))
        if gid is None:
            try:
                gid = pwd.getpwuid(uid).pw_gid
            except KeyError:
                gid = 0
        groups = list(psc.get("supplementalGroups") or [])
        if psc.get("fsGroup") is not None:
            groups.append(psc["fsGroup"])
        if uid != 0:
            try:
                name = pwd.getpwuid(uid).pw_name
                groups += [g.gr_gid for g in grp.getgrall() if name in g.gr_mem]
            except KeyError:
                pass
        return uid, gid, tuple(dict.fromkeys(groups))

    # -- containers ------------------------------------------------------------------------------

    def _start(self, cs: ContainerState) -> bool:
        """Start one container; on failure record why (waiting or terminated) and return False."""
        try:
            cs.env = envmod.build(self.pod_now(), cs.spec, self.k.store, self.k.base_env(self, cs.spec))
            uid, gid, groups = self._identity(cs.spec)
            sc = {**(self.pod["spec"].get("securityContext") or {}), **(cs.spec.get("securityContext") or {})}
            if sc.get("runAsNonRoot") and uid == 0:
                raise envmod.ConfigError("container has runAsNonRoot and image will run as root")
        except envmod.ConfigError as exc:
            cs.state = {"waiting": {"reason": "CreateContainerConfigError", "message": str(exc)}}
            self.k.registry.record_event(self.pod, "Warning", "Failed", f"Error: {exc}", "kubelet")
            return False
        cs.identity = (uid, gid, groups)
        argv = envmod.command_line(cs.spec, cs.env)
        log_file = self.log_path(cs.name, cs.restart_count)
        cs.container_id = "kubesim://" + uuid.uuid4().hex
        fail = self.k.faults.take("job_pod_fail_next") if self._is_job_pod() and cs.restart_count == 0 else False
        if fail:
            argv = ["sh", "-c", f"exit {self.k.faults.job_pod_fail_exit_code}"]
        if not argv:
            return self._start_error(cs, f"kubesim: container {cs.name} has no command or args; kubesim runs "
                                     "command+args on the host, the image is only a label")
        with open(log_file, "ab") as out:
            try:
                popen = sandbox.spawn(self.holder.pid, argv, env=cs.env, cwd=cs.spec.get("workingDir"),
                                      uid=uid, gid=gid, groups=groups, stdin=None, stdout=out, stderr=out)
            except FileNotFoundError:
                return self._start_error(cs, f'exec: "{argv[0]}": executable file not found in $PATH')
            except PermissionError as exc:
                return self._start_error(cs, f'exec: "{argv[0]}": permission denied ({exc})')
            except OSError as exc:
                return self._start_error(cs, f'exec: "{argv[0]}": {exc}')
        cs.proc = Proc(popen)
        cs.state = {"running": {"startedAt": now_rfc3339()}}
        cs.started = not cs.spec.get("startupProbe")
        cs.ready = False
        return True

    def _start_error(self, cs: ContainerState, message: str) -> bool:
        now = now_rfc3339()
        cs.state = {"terminated": {"exitCode": 128, "reason": "StartError", "message": message,
                                   "startedAt": "1970-01-01T00:00:00Z", "finishedAt": now,
                                   "containerID": cs.container_id}}
        self.k.registry.record_event(self.pod, "Warning", "Failed", f"Error: {message}", "kubelet")
        return False

    def _is_job_pod(self) -> bool:
        return any(r.get("kind") == "Job" for r in self.pod["metadata"].get("ownerReferences") or [])

    async def _run_container_once(self, cs: ContainerState) -> int:
        """Start and wait; returns the exit code (128 when it could not start)."""
        while not self._start(cs):
            if cs.terminated:
                return cs.terminated["exitCode"]
            self.push_status()
            await self._wait_poke(2.0)
            if self.stopping:
                return 137
        probes = self._start_probes(cs)
        self.k.registry.record_event(self.pod, "Normal", "Started", f"Started container {cs.name}", "kubelet")
        self.push_status()
        if cs.ready:
            self.k.on_readiness(self)
        code = await cs.proc.wait()
        for p in probes:
            p.cancel()
        started = cs.state.get("running", {}).get("startedAt", now_rfc3339())
        reason = "Completed" if code == 0 else "Error"
        cs.state = {"terminated": {"exitCode": code, "reason": reason, "startedAt": started,
                                   "finishedAt": now_rfc3339(), "containerID": cs.container_id}}
        cs.ready = False
        return code

    def _should_restart(self, code: int) -> bool:
        policy = self.pod["spec"].get("restartPolicy", "Always")
        if self.stopping:
            return False
        return policy == "Always" or (policy == "OnFailure" and code != 0)

    async def _backoff(self, cs: ContainerState) -> None:
        delay = min(self.k.config.crash_backoff * (2 ** max(cs.restart_count - 1, 0)), 300.0)
        cs.last_state = dict(cs.state)
        cs.restart_count += 1
        cs.state = {"waiting": {"reason": "CrashLoopBackOff", "message": f"back-off {delay:g}s restarting failed "
                                f"container={cs.name} pod={self.name}_{self.namespace}({self.uid})"}}
        self.push_status()
        if delay > 0:
            await asyncio.sleep(delay)

    async def _run_init(self, cs: ContainerState) -> bool:
        while True:
            code = await self._run_container_once(cs)
            self.push_status()
            if code == 0:
                return True
            if self.stopping or self.pod["spec"].get("restartPolicy") == "Never":
                self.phase = "Failed"
                self._terminate_rest()
                self.push_status()
                await self._teardown_sandbox()
                return False
            await self._backoff(cs)

    async def _supervise(self, cs: ContainerState) -> None:
        while True:
            code = await self._run_container_once(cs)
            if self._should_restart(code):
                self.push_status()
                await self._backoff(cs)
                continue
            break
        if all(c.terminated for c in self.containers):
            self.phase = "Succeeded" if all(c.terminated["exitCode"] == 0 for c in self.containers) else "Failed"
            self.push_status()
            await self._teardown_sandbox()
        else:
            self.push_status()

    def _terminate_rest(self) -> None:
        for cs in self.containers:
            if not cs.terminated:
                cs.state = {"waiting": {"reason": "PodInitializing"}}

    # -- probes ----------------------------------------------------------------------------------

    def _start_probes(self, cs: ContainerState) -> list[asyncio.Task]:
        tasks = []
        if cs.spec.get("startupProbe"):
            tasks.append(self._spawn_task(self._probe_loop(cs, "startupProbe")))
        if cs.spec.get("readinessProbe"):
            tasks.append(self._spawn_task(self._probe_loop(cs, "readinessProbe")))
        else:
            cs.ready = cs.started
        if cs.spec.get("livenessProbe"):
            tasks.append(self._spawn_task(self._probe_loop(cs, "livenessProbe")))
        return tasks

    async def _probe_loop(self, cs: ContainerState, kind: str) -> None:
        probe = cs.spec[kind]
        proc = cs.proc
        if kind != "startupProbe":
            while not cs.started:
                await asyncio.sleep(0.05)
        await asyncio.sleep(probe.get("initialDelaySeconds", 0))
        successes = failures = 0
        while not proc.done and not self.stopping:
            ok, why = await self._probe_once(cs, probe)
            if proc.done:
                return
            if ok:
                successes, failures = successes + 1, 0
            else:
                successes, failures = 0, failures + 1
            if kind == "readinessProbe":
                want = successes >= probe.get("successThreshold", 1) if ok else \
                    not (failures >= probe.get("failureThreshold", 3)) and cs.ready
                if want != cs.ready:
                    cs.ready = want
                    self.push_status()
                    self.k.on_readiness(self)
                if not ok and failures == 1:
                    self.k.registry.record_event(self.pod, "Warning", "Unhealthy",
                                                 f"Readiness probe failed: {why}", "kubelet")
            elif kind == "startupProbe":
                if ok:
                    cs.started = True
                    if not cs.spec.get("readinessProbe"):
                        cs.ready = True
                    self.push_status()
                    return
                if failures >= probe.get("failureThreshold", 3):
                    self.k.registry.record_event(self.pod, "Warning", "Unhealthy",
                                                 f"Startup probe failed: {why}", "kubelet")
                    proc.signal_group(signal.SIGKILL)
                    return
            elif kind == "livenessProbe" and not ok and failures >= probe.get("failureThreshold", 3):
                self.k.registry.record_event(self.pod, "Normal", "Killing", f"Container {cs.name} failed liveness "
                                             "probe, will be restarted", "kubelet")
                proc.signal_group(signal.SIGTERM)
                await asyncio.sleep(min(self.pod["spec"].get("terminationGracePeriodSeconds", 30), 5))
                proc.signal_group(signal.SIGKILL)
                return
            await asyncio.sleep(probe.get("periodSeconds", 10))

    async def _probe_once(self, cs: ContainerState, probe: Obj) -> tuple[bool, str]:
        timeout = probe.get("timeoutSeconds", 1)
        try:
            if "exec" in probe:
                argv = probe["exec"].get("command") or []
                uid, gid, groups = cs.identity
                # the kubelet keeps the command's output (stdout and stderr, its first 10 KiB): a failure's
                # event is "Readiness probe failed: <output>", which is how a user learns why a pod is unready
                popen = sandbox.spawn(self.holder.pid, argv, env=cs.env, cwd=cs.spec.get("workingDir"), uid=uid,
                                      gid=gid, groups=groups, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT)
                p = ExecProc(popen)
                await p.connect()
                output = bytearray()

                async def collect() -> None:
                    while chunk := await p.stdout.read():
                        output.extend(chunk[:max(PROBE_OUTPUT_LIMIT - len(output), 0)])
                reader = asyncio.ensure_future(collect())
                try:
                    code = await asyncio.wait_for(p.wait(), timeout)
                    await asyncio.wait_for(asyncio.shield(reader), 1.0)  # what it wrote before it exited
                except asyncio.TimeoutError:
                    if not p.done:
                        p.kill()
                        reader.cancel()
                        return False, f"command timed out after {timeout}s"
                finally:
                    if not reader.done():
                        reader.cancel()
                        p.stdout.close()
                text = output.decode("utf-8", "replace")
                return code == 0, text if text.strip() else f"exit code {code}"
            if "tcpSocket" in probe:
                port = self._port(cs, probe["tcpSocket"]["port"])
                host = probe["tcpSocket"].get("host") or self.ip
                _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
                writer.close()
                return True, ""
            if "httpGet" in probe:
                hg = probe["httpGet"]
                port = self._port(cs, hg["port"])
                host = hg.get("host") or self.ip
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
                writer.write(f"GET {hg.get('path', '/')} HTTP/1.0\r\nHost: {host}:{port}\r\n"
                             f"User-Agent: kube-probe/1.32\r\n\r\n".encode())
                line = await asyncio.wait_for(reader.readline(), timeout)
                writer.close()
                parts = line.split()
                code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
                return 200 <= code < 400, f"HTTP probe failed with statuscode: {code}"
        except (OSError, asyncio.TimeoutError, ValueError) as exc:
            return False, str(exc) or type(exc).__name__
        return False, "probe has no handler"

    def _port(self, cs: ContainerState, port: Any) -> int:
        if isinstance(port, int):
            return port
        for p in cs.spec.get("ports") or []:
            if p.get("name") == port:
                return p["containerPort"]
        return int(port)

    # -- status ----------------------------------------------------------------------------------

    def pod_now(self) -> Obj:
        return self.k.store.find(PODS, self.namespace, self.name) or self.pod

    def _since(self, type_: str, ok: bool) -> str:
        prev = self._transitions.get(type_)
        if prev is None or prev[0] != ok:
            prev = (ok, now_rfc3339())
            self._transitions[type_] = prev
        return prev[1]

    def compute_status(self) -> Obj:
        running_phase = self.phase
        if running_phase == "Pending" and self.initialized and self.holder is not None and \
                all(c.running or c.terminated or c.restart_count for c in self.containers):
            running_phase = "Running"
        if running_phase == "Running" and all(c.terminated for c in self.containers):
            running_phase = self.phase
        self.phase = running_phase if running_phase in ("Running", "Succeeded", "Failed") else self.phase
        terminal = self.phase in ("Succeeded", "Failed")
        containers_ready = all(c.ready for c in self.containers) and not terminal
        sandbox_up = self.holder is not None and not terminal
        reason_ready = "PodCompleted" if terminal else (None if containers_ready else "ContainersNotReady")
        conds = [
            _cond("PodReadyToStartContainers", sandbox_up, None, self._since("PodReadyToStartContainers", sandbox_up)),
            _cond("Initialized", self.initialized or terminal, None if self.initialized else "ContainersNotInitialized",
                  self._since("Initialized", self.initialized)),
            _cond("Ready", containers_ready, reason_ready, self._since("Ready", containers_ready)),
            _cond("ContainersReady", containers_ready, reason_ready, self._since("ContainersReady", containers_ready)),
            _cond("PodScheduled", True, None, self._since("PodScheduled", True)),
        ]
        status: Obj = {"phase": self.phase, "conditions": conds, "hostIP": self.k.node_ip,
                       "hostIPs": [{"ip": self.k.node_ip}], "qosClass": "BestEffort"}
        if self.ip:
            status["podIP"] = self.ip
            status["podIPs"] = [{"ip": self.ip}]
        if self.start_time:
            status["startTime"] = self.start_time
        if self.inits:
            status["initContainerStatuses"] = [c.status() for c in self.inits]
        status["containerStatuses"] = [c.status() for c in self.containers]
        if self.reason:
            status["reason"] = self.reason
        if self.message:
            status["message"] = self.message
        return status

    def push_status(self) -> None:
        status = self.compute_status()

        def apply(o: Obj) -> None:
            o["status"] = status
        try:
            self.pod = self.k.registry.update_status(PODS, self.namespace, self.name, apply)
        except errors.NotFound:
            pass

    # -- logs and exec ---------------------------------------------------------------------------

    def log_path(self, container: str, restart: int) -> str:
        return os.path.join(self.dir, "logs", f"{container}-{restart}.log")

    def container(self, name: str) -> ContainerState | None:
        return next((c for c in self.containers + self.inits if c.name == name), None)

    async def exec(self, container: str, argv: list[str], stdin: bool) -> ExecProc:
        cs = self.container(container)
        if cs is None or not cs.running or self.holder is None or self.holder.done:
            raise errors.BadRequest(f'unable to upgrade connection: container not found ("{container}")')
        uid, gid, groups = cs.identity
        try:
            popen = sandbox.spawn(self.holder.pid, argv, env=cs.env, cwd=cs.spec.get("workingDir"), uid=uid,
                                  gid=gid, groups=groups, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except FileNotFoundError:
            raise errors.InternalError(
                f'Internal error occurred: error executing command in container: failed to exec in container: '
                f'failed to start exec: OCI runtime exec failed: exec failed: unable to start container process: '
                f'exec: "{argv[0]}": executable file not found in $PATH: unknown') from None
        return await ExecProc(popen).connect()

    # -- teardown --------------------------------------------------------------------------------

    def _spawn_task(self, coro) -> asyncio.Task:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _teardown_sandbox(self) -> None:
        """Containers are all done: the sandbox (and anything left running in it) goes."""
        if self.holder is not None and not self.holder.done:
            sandbox.kill_sandbox(self.holder.pid)
            await self.holder.wait()
        self.finished = True
        self.k.on_readiness(self)

    async def stop(self, grace: float) -> None:
        """Kill the pod: SIGTERM, up to `grace` seconds, then SIGKILL everything in its sandbox."""
        if self.stopping:
            return
        self.stopping = True
        self._wake.set()
        self.task.cancel()
        live = [c for c in self.inits + self.containers if c.proc is not None and not c.proc.done]
        for cs in live:
            cs.proc.signal_group(signal.SIGTERM)
        if live and grace > 0:
            deadline = time.monotonic() + grace
            for cs in live:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    await asyncio.wait_for(cs.proc.wait(), left)
                except asyncio.TimeoutError:
                    break
        for task in list(self._tasks):
            task.cancel()
        if self.holder is not None and not self.holder.done:
            sandbox.kill_sandbox(self.holder.pid)
            await self.holder.wait()
        for cs in live:
            await cs.proc.wait()
            started = cs.state.get("running", {}).get("startedAt", now_rfc3339())
            code = cs.proc.returncode
            cs.state = {"terminated": {"exitCode": code, "reason": "Error" if code else "Completed",
                                       "startedAt": started, "finishedAt": now_rfc3339(),
                                       "containerID": cs.container_id}}
            cs.ready = False
        self.finished = True

    def kill_now(self) -> None:
        """Synchronous, for shutdown: nothing of the pod may outlive kubesim."""
        self.stopping = True
        self.task.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self.holder is not None:
            sandbox.kill_sandbox(self.holder.pid)

    def remove_dir(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

