"""kubesim leaves nothing running: SIGTERM kills every pod process; a SIGKILLed kubesim's leftovers die at the
next start on the same state directory."""
from __future__ import annotations

import os
import signal
import time

from kubesim.process import KubesimProcess

STACK = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: daemons, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: daemons}}
  template:
    metadata: {labels: {app: daemons}}
    spec:
      containers:
        - name: main
          image: busybox
          # a daemon that double-forks away from the container's process, and the container itself
          command: [sh, -c, "(setsid sleep MARK &) ; exec sleep MARK"]
---
apiVersion: batch/v1
kind: Job
metadata: {name: long, namespace: default}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox, command: [sleep, "MARK"]}]
"""


def processes_with(marker: str) -> list[int]:
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if marker.encode() in f.read().split(b"\0"):
                        out.append(int(pid))
            except OSError:
                pass
    return out


def host_mounts_under(path: str) -> list[str]:
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        return [line for line in f if path in line]


def start_stack(proc: KubesimProcess, marker: str, count: int) -> None:
    proc.kubectl("apply", "-f", "-", input=STACK.replace("MARK", marker), check=True)
    deadline = time.monotonic() + 30
    while len(processes_with(marker)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(processes_with(marker)) == count


def test_sigterm_stops_kubesim_and_every_pod_process(tmp_path):
    marker = "4321.5"
    proc = KubesimProcess(str(tmp_path / "ks")).start()
    try:
        start_stack(proc, marker, 5)  # 2 containers, 2 orphaned daemons, 1 job pod
    finally:
        code = proc.stop()
    assert code == 0
    assert processes_with(marker) == []
    assert host_mounts_under(str(tmp_path)) == []
    assert "kubesim: stopped; every pod process killed" in proc.tail()


def test_a_restart_after_sigkill_reaps_what_the_killed_kubesim_left(tmp_path):
    marker = "4321.75"
    state = str(tmp_path / "ks")
    proc = KubesimProcess(state).start()
    try:
        start_stack(proc, marker, 5)
    except BaseException:
        proc.stop()
        raise
    proc.popen.send_signal(signal.SIGKILL)
    proc.popen.wait()
    time.sleep(0.2)
    # the containers died with kubesim (parent-death signal); the double-forked daemons did not
    assert len(processes_with(marker)) == 2
    again = KubesimProcess(state).start()
    try:
        assert processes_with(marker) == []
        assert "killed 2 process(es) left in pods" in again.tail()
    finally:
        assert again.stop() == 0
