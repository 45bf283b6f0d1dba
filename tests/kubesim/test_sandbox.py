"""Pod sandboxes, for real: mount namespaces built as root, processes spawned into them.

Every test checks afterwards that the test process's own mount table is unchanged (the host never
sees a pod's mounts) and that no pod process is left.
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest

from kubesim.kubelet.sandbox import (Mount, SandboxError, SandboxSpec, kill_sandbox, pod_pids,
                                     spawn, start_sandbox)

pytestmark = pytest.mark.skipif(sys.platform != "linux" or os.geteuid() != 0,
                                reason="pod sandboxes need Linux and root (mount namespaces)")

ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C"}
PROJECT = Path(__file__).resolve().parents[2]


def _mountinfo() -> list[str]:
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        return f.read().splitlines()


def _namespace_fds() -> list[str]:
    links = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            links.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass
    return sorted(link for link in links if link.startswith("mnt:["))


@pytest.fixture(autouse=True)
def host_mounts_unchanged():
    """The host never sees a pod's mounts, and no pod namespace stays pinned after its kill."""
    before = _mountinfo()
    yield
    assert _mountinfo() == before
    assert _namespace_fds() == []


@pytest.fixture
def workdir():
    path = Path(tempfile.mkdtemp(prefix="kubesim-sandbox-test-"))
    (path / "root").mkdir()
    yield path
    shutil.rmtree(path)


@pytest.fixture
def pods(workdir):
    """Start sandboxes (root mount point in workdir); every one is killed and reaped at the end."""
    holders: list[subprocess.Popen] = []

    def start(**fields) -> subprocess.Popen:
        holder = start_sandbox(SandboxSpec(root_mountpoint=str(workdir / "root"), **fields))
        holders.append(holder)
        return holder

    yield start
    for holder in holders:
        kill_sandbox(holder.pid)
        holder.wait(timeout=5)
        assert pod_pids(holder.pid) == []


def run(holder: subprocess.Popen, script: str, **kwargs) -> tuple[int, str, str]:
    """Run a shell script in the pod; return (exit code, stdout, stderr)."""
    proc = spawn(holder.pid, ["sh", "-c", script], env=ENV, stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE, **kwargs)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out.decode(), err.decode()


def _postgres() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres user on this machine")


def test_a_volume_written_in_one_pod_is_read_by_a_second_pod_mounting_the_same_host_dir(pods, workdir):
    volume = workdir / "pvc"
    volume.mkdir()
    writer = pods(mounts=(Mount(str(volume), "/data"),))
    reader = pods(mounts=(Mount(str(volume), "/srv/shared"),))

    assert run(writer, "echo hello from the writer > /data/msg")[0] == 0
    assert run(reader, "cat /srv/shared/msg") == (0, "hello from the writer\n", "")
    assert (volume / "msg").read_text() == "hello from the writer\n"


def test_a_read_only_volume_refuses_writes_while_a_read_only_file_mount_shows_its_content(pods, workdir):
    volume = workdir / "secret"
    volume.mkdir()
    (volume / "token").write_text("s3cret")
    config = workdir / "app.conf"
    config.write_text("answer = 42\n")
    pod = pods(mounts=(Mount(str(volume), "/var/run/secrets/app", read_only=True),
                       Mount(str(config), "/etc/app/app.conf", read_only=True)))

    code, _, err = run(pod, "echo x > /var/run/secrets/app/new")
    assert code != 0 and "Read-only file system" in err
    assert run(pod, "cat /var/run/secrets/app/token /etc/app/app.conf") == (0, "s3cretanswer = 42\n", "")
    assert run(pod, "echo 0 > /etc/app/app.conf")[0] != 0
    assert sorted(os.listdir(volume)) == ["token"] and config.read_text() == "answer = 42\n"


def test_tmp_and_root_are_private_and_host_usr_is_read_only_in_a_pod(pods):
    name = f"kubesim-test-{uuid.uuid4().hex}"
    pod, other = pods(), pods()

    assert run(pod, f"echo mine > /tmp/{name}")[0] == 0
    assert run(pod, f"cat /tmp/{name}") == (0, "mine\n", "")
    assert not os.path.exists(f"/tmp/{name}")
    assert run(other, f"test -e /tmp/{name}")[0] == 1
    assert run(pod, "stat -c %a /tmp /root; ls -A /root") == (0, "1777\n755\n", "")

    code, _, err = run(pod, f"touch /usr/{name}")
    assert code != 0 and "Read-only file system" in err
    assert run(pod, f"mkdir -p /usr/share/{name}")[0] != 0      # read-only below the top too
    assert not os.path.exists(f"/usr/{name}") and not os.path.exists(f"/usr/share/{name}")


def test_etc_hosts_shows_the_hosts_file_and_sees_a_later_in_place_rewrite(pods, workdir):
    hosts = workdir / "hosts"
    hosts.write_text("127.0.0.1 localhost\n127.1.0.5 db db.default.svc\n")
    pod = pods(hosts_file=str(hosts))

    assert run(pod, "cat /etc/hosts")[1] == hosts.read_text()
    with open(hosts, "r+", encoding="utf-8") as f:      # in place: same inode
        f.write("127.0.0.1 localhost\n127.1.0.9 db db.default.svc\n")
        f.truncate()
    assert run(pod, "getent hosts db") == (0, "127.1.0.9       db db.default.svc\n", "")


def test_passwd_and_group_lines_appear_in_the_pods_etc_files_only(pods):
    host_passwd, host_group = Path("/etc/passwd").read_text(), Path("/etc/group").read_text()
    pod = pods(passwd_lines=("app:x:4321:4321:app:/tmp:/bin/sh",), group_lines=("app:x:4321:",))

    assert run(pod, "getent passwd 4321; getent group 4321; id -un 4321") == (
        0, "app:x:4321:4321:app:/tmp:/bin/sh\napp:x:4321:\napp\n", "")
    assert run(pod, "grep -c root: /etc/passwd")[1] == "1\n"       # the host's lines are kept
    assert Path("/etc/passwd").read_text() == host_passwd
    assert Path("/etc/group").read_text() == host_group
    assert run(pod, "mkdir -p /etc/pgbackrest/conf.d && echo ok")[1] == "ok\n"
    assert not os.path.exists("/etc/pgbackrest/conf.d") or os.listdir("/etc/pgbackrest/conf.d") == []


def test_a_process_running_as_postgres_works_and_id_prints_its_uid(pods):
    pg = _postgres()
    pod = pods()
    groups = tuple(os.getgrouplist("postgres", pg.pw_gid))

    assert run(pod, "id -u; id -g; id -G", uid=pg.pw_uid, gid=pg.pw_gid, groups=groups) == (
        0, f"{pg.pw_uid}\n{pg.pw_gid}\n{' '.join(map(str, groups))}\n", "")
    code, _, err = run(pod, "touch /tmp/mine && touch /etc/not-mine", uid=pg.pw_uid, gid=pg.pw_gid)
    assert code != 0 and "Permission denied" in err


def test_the_venv_python_runs_as_postgres_when_its_prefixes_are_exposed(pods):
    pg = _postgres()
    probe = [sys.executable, "-c", "import os, sys; print(os.getuid(), sys.prefix, sys.base_prefix)"]
    pod = pods(expose=(sys.prefix, sys.base_prefix))

    proc = spawn(pod.pid, probe, env=ENV, uid=pg.pw_uid, gid=pg.pw_gid, stdout=subprocess.PIPE)
    assert proc.communicate(timeout=30)[0].decode() == f"{pg.pw_uid} {sys.prefix} {sys.base_prefix}\n"
    assert run(pod, "stat -c %a /root")[1] == "755\n"
    if sys.base_prefix.startswith("/root/"):        # without it the interpreter is not in the pod
        with pytest.raises(FileNotFoundError):
            spawn(pods().pid, probe, env=ENV)


def test_commands_are_looked_up_on_path_inside_the_pod(pods, workdir):
    tools = workdir / "tools"
    tools.mkdir()
    (tools / "hello-kubesim").write_text("#!/bin/sh\necho hello from $0\n")
    (tools / "hello-kubesim").chmod(0o755)
    pod = pods(mounts=(Mount(str(tools), "/podbin", read_only=True),))

    proc = spawn(pod.pid, ["hello-kubesim"], env={**ENV, "PATH": "/podbin:/usr/bin:/bin"},
                 stdout=subprocess.PIPE)
    assert proc.communicate(timeout=30)[0] == b"hello from /podbin/hello-kubesim\n"
    assert not os.path.exists("/podbin")


def test_a_missing_executable_raises_file_not_found_and_a_bad_cwd_raises_sandbox_error(pods):
    pod = pods()

    with pytest.raises(FileNotFoundError):
        spawn(pod.pid, ["kubesim-no-such-command"], env=ENV)
    with pytest.raises(SandboxError, match="/no/such/dir"):
        spawn(pod.pid, ["true"], env=ENV, cwd="/no/such/dir")
    assert pod_pids(pod.pid) == [pod.pid]


def test_spawned_processes_share_the_holders_mount_namespace_and_start_in_cwd(pods):
    pod = pods()
    proc = spawn(pod.pid, ["sh", "-c", "pwd; exec sleep 1000"], env=ENV, cwd="/usr/share",
                 stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"/usr/share\n"
        mnt = os.readlink(f"/proc/{pod.pid}/ns/mnt")
        assert os.readlink(f"/proc/{proc.pid}/ns/mnt") == mnt != os.readlink("/proc/self/ns/mnt")
        assert pod_pids(pod.pid) == sorted([pod.pid, proc.pid])
    finally:
        kill_sandbox(pod.pid)
        proc.communicate(timeout=5)
    assert proc.returncode == -signal.SIGKILL


def test_kill_sandbox_kills_a_double_forked_daemon(pods):
    pod = pods()
    starter = spawn(pod.pid, ["sh", "-c", "sleep 1000 >/dev/null 2>&1 & echo $!"], env=ENV,
                    stdout=subprocess.PIPE)
    daemon = int(starter.communicate(timeout=10)[0])

    assert starter.returncode == 0
    assert pod_pids(pod.pid) == sorted([pod.pid, daemon])  # the orphan is still the pod's
    kill_sandbox(pod.pid)
    assert pod_pids(pod.pid) == []
    assert not os.path.exists(f"/proc/{daemon}/ns/mnt")     # gone (at most a zombie of init)
    pod.wait(timeout=5)
    kill_sandbox(pod.pid)                                     # a dead pod: no error


def test_pods_started_and_killed_concurrently_from_several_threads_do_not_disturb_each_other(workdir):
    outputs, errors = [], []

    def cycle_pods():
        try:
            for _ in range(8):
                holder = start_sandbox(SandboxSpec(root_mountpoint=str(workdir / "root")))
                proc = spawn(holder.pid, ["sh", "-c", "echo $$ > /tmp/me; sleep 0.01; cat /tmp/me"],
                             env=ENV, stdout=subprocess.PIPE)
                outputs.append(proc.communicate(timeout=30)[0] == f"{proc.pid}\n".encode())
                kill_sandbox(holder.pid)    # namespace numbers are reused at once: must not hit others
                holder.wait(timeout=5)
        except Exception as exc:            # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=cycle_pods) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and outputs == [True] * 24


def test_missing_mount_points_under_var_are_created_as_empty_host_paths(pods, workdir):
    base = Path(f"/var/lib/kubesim-test-{uuid.uuid4().hex[:8]}")
    volume, config = workdir / "pgdata", workdir / "postgresql.conf"
    volume.mkdir()
    config.write_text("port = 5432\n")
    try:
        pod = pods(mounts=(Mount(str(volume), f"{base}/data"),
                           Mount(str(config), f"{base}/conf/postgresql.conf", read_only=True),
                           Mount(str(volume), "/var/run/postgresql")))     # -> the pod's /run
        script = f"echo x > {base}/data/PG_VERSION; cat {base}/conf/postgresql.conf; ls /run /run/postgresql"
        assert run(pod, script) == (0, "port = 5432\n/run:\npostgresql\n\n/run/postgresql:\nPG_VERSION\n", "")
        assert sorted(os.listdir(base)) == ["conf", "data"]
        assert os.listdir(base / "data") == [] and (volume / "PG_VERSION").exists()
        assert (base / "conf" / "postgresql.conf").stat().st_size == 0
        assert not os.path.exists("/run/postgresql/PG_VERSION")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_a_volume_with_a_missing_host_path_raises_sandbox_error_naming_the_path(workdir):
    missing = workdir / "no-such-pvc"
    error_file = workdir / "error"

    with pytest.raises(SandboxError, match=str(missing)):
        start_sandbox(SandboxSpec(root_mountpoint=str(workdir / "root"), error_file=str(error_file),
                                  mounts=(Mount(str(missing), "/data"),)))
    assert str(missing) in error_file.read_text()


def test_a_failure_inside_the_set_up_is_explained_by_its_step(workdir):
    volume = workdir / "dir"
    volume.mkdir()
    error_file = workdir / "error"
    spec = SandboxSpec(root_mountpoint=str(workdir / "root"), error_file=str(error_file),
                       mounts=(Mount(str(volume), "/etc/hostname"),))   # a directory onto a file

    with pytest.raises(SandboxError, match=f"mounting {volume} at /etc/hostname: .*Not a directory"):
        start_sandbox(spec)
    assert "Not a directory" in error_file.read_text()
    assert os.listdir(workdir / "root") == []


@pytest.mark.parametrize("spawner", ["1", "0"], ids=["spawner-thread-and-watchdog", "fork-and-pdeathsig"])
def test_pods_die_with_sigkill_when_kubesim_dies(workdir, spawner):
    script = textwrap.dedent(f"""
        import os, signal, sys
        from kubesim.kubelet.sandbox import SandboxSpec, spawn, start_sandbox
        holder = start_sandbox(SandboxSpec(root_mountpoint={str(workdir / "root")!r}))
        spawn(holder.pid, ["sleep", "1000"], env={ENV!r})
        spawn(holder.pid, ["sleep", "1001"], env={ENV!r}, uid=4321, gid=4321)
        print(os.readlink(f"/proc/{{holder.pid}}/ns/mnt"), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    kubesim = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True,
                             timeout=30, env={**os.environ, "KUBESIM_SANDBOX_SPAWNER": spawner})
    mnt = kubesim.stdout.strip()

    assert kubesim.returncode == -signal.SIGKILL and mnt.startswith("mnt:[")
    deadline = time.monotonic() + 5
    while _pids_in_namespace(mnt) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _pids_in_namespace(mnt) == []


def _pids_in_namespace(mnt: str) -> list[int]:
    pids = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{entry}/ns/mnt") == mnt:
                pids.append(int(entry))
        except OSError:
            pass
    return pids


def test_a_pod_cycle_of_start_spawn_wait_and_kill_is_timed(workdir, capsys):
    volume = workdir / "vol"
    volume.mkdir()
    spec = SandboxSpec(root_mountpoint=str(workdir / "root"), mounts=(Mount(str(volume), "/data"),),
                       expose=(sys.prefix, sys.base_prefix))
    times = []
    for _ in range(50):
        t0 = time.perf_counter()
        holder = start_sandbox(spec)
        assert spawn(holder.pid, ["true"], env=ENV).wait() == 0
        kill_sandbox(holder.pid)
        times.append((time.perf_counter() - t0) * 1000)
        holder.wait(timeout=5)
        assert pod_pids(holder.pid) == []
    with capsys.disabled():
        print(f"\nsandbox start+spawn(true)+wait+kill over {len(times)} runs: "
              f"mean {statistics.mean(times):.1f} ms, median {statistics.median(times):.1f} ms, "
              f"max {max(times):.1f} ms")


# ------------------------------------------------------------------ the spawner thread (no fork of kubesim)
def _callers_state() -> tuple:
    return (os.getresuid(), os.getresgid(), sorted(os.getgroups()), os.getcwd(),
            os.readlink("/proc/self/ns/mnt"), os.readlink("/proc/thread-self/ns/mnt"))


def _every_threads_identity() -> set[tuple[str, str, str, str]]:
    """(Uid line, Gid line, Groups line, mount namespace) of every thread of this process."""
    out = set()
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/status", encoding="utf-8") as f:
                lines = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
            ns = os.readlink(f"/proc/self/task/{tid}/ns/mnt")
        except OSError:         # a thread that just ended
            continue
        out.add((lines["Uid"], lines["Gid"], lines.get("Groups", "").strip(), ns))
    return out


def test_spawning_as_another_user_changes_nothing_of_the_callers_identity_cwd_or_namespace(pods, workdir):
    from kubesim.kubelet import sandbox

    pod = pods()
    os.chdir(workdir)           # a cwd the pod does not have
    try:
        before, threads_before = _callers_state(), _every_threads_identity()
        for uid, gid, groups in ((4321, 4322, (4322, 100)), (0, 0, ()), (65534, 65534, ())):
            proc = spawn(pod.pid, ["sh", "-c", "id -u; id -g; id -G; pwd; exec sleep 1000"], env=ENV,
                         cwd="/tmp", uid=uid, gid=gid, groups=groups, stdout=subprocess.PIPE)
            try:
                lines = [proc.stdout.readline().decode() for _ in range(4)]
                assert lines == [f"{uid}\n", f"{gid}\n", f"{' '.join(map(str, groups)) or gid}\n", "/tmp\n"]
                with open(f"/proc/{proc.pid}/status", encoding="utf-8") as f:
                    status = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
                # no saved root uid and no capabilities left to a process started as a user
                assert status["Uid"].split() == [str(uid)] * 4 and status["Gid"].split() == [str(gid)] * 4
                if uid:
                    assert int(status["CapPrm"], 16) == 0 and int(status["CapEff"], 16) == 0
                assert os.readlink(f"/proc/{proc.pid}/ns/mnt") == os.readlink(f"/proc/{pod.pid}/ns/mnt")
            finally:
                proc.kill()
                proc.communicate(timeout=5)
            assert _callers_state() == before
            assert _every_threads_identity() == threads_before == {
                ("0\t0\t0\t0", "0\t0\t0\t0", " ".join(map(str, os.getgroups())), before[4])}
        if sandbox._USE_SPAWNER:            # not KUBESIM_SANDBOX_SPAWNER=0: no fallback was needed
            assert sandbox._spawner is not None and sandbox._spawner.retired is None
    finally:
        os.chdir(PROJECT)


def test_spawns_from_many_threads_interleave_with_the_main_threads_own_calls(pods, workdir):
    (workdir / "host-only").write_text("on the host\n")
    pod_a, pod_b = pods(), pods()
    os.chdir(workdir)
    before = _callers_state()
    results, errors = [], []

    def spawner(pod, uid):
        try:
            for i in range(25):
                proc = spawn(pod.pid, ["sh", "-c", "id -u; pwd; test ! -e host-only"], env=ENV, uid=uid, gid=uid,
                             cwd="/tmp" if i % 2 else "/", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                out, err = proc.communicate(timeout=30)
                results.append((proc.returncode, out.decode(), err) == (0, f"{uid}\n{'/tmp' if i % 2 else '/'}\n", b""))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=spawner, args=(pod, uid))
               for pod, uid in ((pod_a, 4321), (pod_b, 0), (pod_a, 65534), (pod_b, 1234))]
    try:
        for thread in threads:
            thread.start()
        checks = 0
        while any(thread.is_alive() for thread in threads) or checks < 100:
            assert os.getuid() == os.geteuid() == 0 and os.getgid() == os.getegid() == 0
            assert os.getcwd() == str(workdir)
            assert Path("host-only").read_text() == "on the host\n"      # the host's filesystem, here
            assert _callers_state() == before
            checks += 1
        for thread in threads:
            thread.join(timeout=60)
    finally:
        os.chdir(PROJECT)
    assert errors == [] and results == [True] * 100


def test_a_spawner_that_cannot_verify_its_way_back_retires_and_later_calls_fork(pods, workdir, monkeypatch):
    from kubesim.kubelet import sandbox

    monkeypatch.setattr(sandbox, "_USE_SPAWNER", True)
    fresh = sandbox._Spawner()
    assert fresh.retired is None
    monkeypatch.setattr(sandbox, "_spawner", fresh)
    monkeypatch.setattr(sandbox, "_fallback_noted", True)
    pod = pods()
    real_state = sandbox._thread_state
    monkeypatch.setattr(sandbox, "_thread_state", lambda: (*real_state(), "tampered"))
    try:
        proc = spawn(pod.pid, ["id", "-u"], env=ENV, uid=4321, gid=4321, stdout=subprocess.PIPE)
        assert proc.communicate(timeout=30)[0] == b"4321\n"     # started; then the check failed
        assert fresh.retired and "tampered" in fresh.retired
        fresh._thread.join(timeout=5)
        assert not fresh._thread.is_alive()                    # the thread ended: it can be in no pod
        monkeypatch.setattr(sandbox, "_thread_state", real_state)

        other = pods()                                          # both on the fork path now
        proc = spawn(other.pid, ["sh", "-c", "id -u; pwd"], env=ENV, uid=4321, gid=4321, cwd="/tmp",
                     stdout=subprocess.PIPE)
        assert proc.communicate(timeout=30)[0] == b"4321\n/tmp\n"
        assert _every_threads_identity() == {("0\t0\t0\t0", "0\t0\t0\t0", " ".join(map(str, os.getgroups())),
                                              os.readlink("/proc/self/ns/mnt"))}
    finally:
        fresh._sock.close()                 # its watchdog exits
        os.waitpid(fresh._watchdog, 0)
