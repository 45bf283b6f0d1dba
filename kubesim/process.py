"""kubesim as a child process, for tests, benchmarks and the local stack (never for app/ or tasks/).

`KubesimProcess` starts `python -m kubesim` in its own state directory, waits
until its kubeconfig appears (written only once the API answers), and stops it
with SIGTERM, as a user would.
"""
from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

import yaml


@dataclass
class KubesimProcess:
    state_dir: str
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    popen: subprocess.Popen | None = None

    @property
    def kubeconfig(self) -> str:
        return os.path.join(self.state_dir, "kubeconfig")

    @property
    def log_file(self) -> str:
        return os.path.join(self.state_dir, "kubesim.log")

    def start(self, timeout: float = 30.0) -> "KubesimProcess":
        os.makedirs(self.state_dir, exist_ok=True)
        if os.path.exists(self.kubeconfig):
            os.unlink(self.kubeconfig)
        log = open(self.log_file, "ab")  # noqa: SIM115 - the child keeps it
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "kubesim", "--state-dir", self.state_dir, "--kubeconfig", self.kubeconfig,
             *self.extra_args],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.env}, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.kubeconfig):
            if self.popen.poll() is not None:
                raise RuntimeError(f"kubesim exited with {self.popen.returncode}:\n{self.tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"kubesim did not answer within {timeout}s:\n{self.tail()}")
            time.sleep(0.02)
        return self

    def tail(self, n: int = 60) -> str:
        try:
            with open(self.log_file, encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.popen is None or self.popen.poll() is not None:
            return self.popen.returncode if self.popen else None
        self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            return self.popen.wait()

    def config(self) -> dict:
        with open(self.kubeconfig, encoding="utf-8") as f:
            return yaml.safe_load(f)

    @property
    def server(self) -> str:
        return self.config()["clusters"][0]["cluster"]["server"]

    @property
    def token(self) -> str:
        return self.config()["users"][0]["user"]["token"]

    @property
    def ca_file(self) -> str:
        path = os.path.join(self.state_dir, "ca-from-kubeconfig.crt")
        if not os.path.exists(path):
            data = self.config()["clusters"][0]["cluster"]["certificate-authority-data"]
            with open(path, "wb") as f:
                f.write(base64.b64decode(data))
        return path

    def kubectl(self, *args: str, input: str | None = None, timeout: float = 60.0,
                check: bool = False) -> subprocess.CompletedProcess:
        """Run the real kubectl with this kubeconfig and nothing else."""
        result = subprocess.run(["kubectl", *args], input=input, capture_output=True, text=True, timeout=timeout,
                                env={**os.environ, "KUBECONFIG": self.kubeconfig,
                                     "HOME": os.path.join(self.state_dir, "home")})
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n"
                                 f"{result.stderr}")
        return result
