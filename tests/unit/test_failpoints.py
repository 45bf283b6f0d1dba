"""tasks.failpoints: nothing unless armed; an armed point SIGKILLs the whole worker (its process group) or holds."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from tasks import failpoints

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_the_variable_names_points_and_their_actions():
    assert failpoints._parse(" a.b , c=sleep:0.5,,") == {"a.b": "kill", "c": "sleep:0.5"}
    assert failpoints._parse("") == {}


def test_an_unarmed_point_does_nothing(monkeypatch):
    monkeypatch.setattr(failpoints, "_ARMED", {})
    failpoints.hit("backup.job-created")


def test_a_held_point_sleeps_once(monkeypatch):
    monkeypatch.setattr(failpoints, "_ARMED", {"p": "sleep:0.2"})
    start = time.monotonic()
    failpoints.hit("p")
    assert time.monotonic() - start >= 0.2
    assert "p" not in failpoints._ARMED  # fired: a second pass goes through


def test_an_armed_point_kills_the_whole_process_group_like_a_crash(tmp_path):
    """A 'main process' and its 'pool child' (a fork); the child reaches the point: both die by SIGKILL."""
    pids = tmp_path / "child.pid"
    script = textwrap.dedent(f"""
        import os, time
        from tasks import failpoints
        child = os.fork()
        if child == 0:
            open({str(pids)!r}, "w").write(str(os.getpid()))
            failpoints.hit("here")
            os._exit(0)  # not reached
        time.sleep(30)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, start_new_session=True,
                            env={**os.environ, "BRQ_FAILPOINTS": "here"})
    try:
        assert proc.wait(timeout=20) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    child = int(pids.read_text())
    deadline = time.monotonic() + 5
    while running(child):  # the pool child died with it (a zombie at most, until it is reaped)
        assert time.monotonic() < deadline, f"the forked child {child} still runs"
        time.sleep(0.05)


def running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False
