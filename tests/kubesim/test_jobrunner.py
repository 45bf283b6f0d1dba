"""The job-runner (tasks/jobrunner.py on tasks/kube/lite.py) against a real kubesim: from outside with a kubeconfig,
and from inside a Job with its service account, as a backup Job runs it."""
from __future__ import annotations

import asyncio
import json
import os
import ssl
import sys

import aiohttp
import pytest
import yaml
from kubernetes_asyncio import client

from tests.support.waiting import condition, eventually

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LABELS = {"brq.io/cluster": "c1", "brq.io/role": "repo-host"}
SELECTOR = "brq.io/cluster=c1,brq.io/role=repo-host"
SCRIPT = "echo out; echo err >&2; exit 3"


@pytest.fixture
async def repo_host(api, namespace) -> str:
    """A Running, Ready pod the selector names (the stand-in for a cluster's repo host)."""
    core = client.CoreV1Api(api)
    await core.create_namespaced_pod(namespace, {"metadata": {"name": "repo-0", "labels": LABELS}, "spec": {
        "containers": [{"name": "pgbackrest", "image": "busybox:1.36", "command": ["sleep", "3600"]}]}})
    await eventually(lambda: core.read_namespaced_pod("repo-0", namespace),
                     lambda p: (condition(p, "Ready") is not None and condition(p, "Ready").status == "True"),
                     what="repo host ready")
    return "repo-0"


async def job_runner(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tasks.jobrunner", *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=ROOT, env={**os.environ, **(env or {})})
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode, out.decode(), err.decode()


def exec_args(kubeconfig: str, namespace: str, selector: str = SELECTOR, *argv: str) -> list[str]:
    return ["exec", "--kubeconfig", kubeconfig, "--namespace", namespace, "--selector", selector,
            "--container", "pgbackrest", "--", *(argv or ("sh", "-c", SCRIPT))]


async def test_exec_streams_stdout_and_stderr_apart_and_exits_with_the_commands_code(kubesim, namespace, repo_host):
    code, out, err = await job_runner(*exec_args(kubesim.kubeconfig, namespace))
    assert (code, out) == (3, "out\n"), err
    assert err == (f"job-runner: exec in {namespace}/repo-0 (pgbackrest): sh -c {SCRIPT}\n"
                   "err\njob-runner: exit code 3\n")


async def test_arguments_with_shell_and_url_characters_arrive_intact(kubesim, namespace, repo_host):
    odd = "a+b c&d;e=f%20?#é"
    code, out, err = await job_runner(*exec_args(kubesim.kubeconfig, namespace, SELECTOR, "echo", odd, ""))
    assert (code, out) == (0, odd + " \n"), err


async def test_sigterm_ends_it_at_once_with_143(kubesim, namespace, repo_host):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tasks.jobrunner",
        *exec_args(kubesim.kubeconfig, namespace, SELECTOR, "sh", "-c", "echo started; exec sleep 300"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT)
    assert await asyncio.wait_for(proc.stdout.readline(), 30) == b"started\n"
    proc.terminate()
    err = await asyncio.wait_for(proc.stderr.read(), 10)
    assert await asyncio.wait_for(proc.wait(), 10) == 143
    assert err.decode().endswith("job-runner: stopped by SIGTERM\n"), err


async def test_no_ready_pod_is_120(kubesim, namespace, repo_host):
    code, out, err = await job_runner(*exec_args(kubesim.kubeconfig, namespace, "brq.io/cluster=other"))
    assert (code, out) == (120, "")
    assert err == f"job-runner: no ready pod matches brq.io/cluster=other in {namespace}\n"


async def test_a_stream_closed_without_its_status_is_121(kubesim, namespace, repo_host):
    ctx = ssl.create_default_context(cafile=kubesim.ca_file)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {kubesim.token}"}) as session:
        async def faults(**switches) -> dict:
            async with session.put(f"{kubesim.server}/kubesim/faults", json=switches, ssl=ctx) as resp:
                assert resp.status == 200, await resp.text()
                return await resp.json()
        await faults(exec_drop_status=1)
        try:
            code, out, err = await job_runner(*exec_args(kubesim.kubeconfig, namespace))
            async with session.get(f"{kubesim.server}/kubesim/faults", ssl=ctx) as resp:
                counters = (await resp.json())["counters"]
        finally:
            await faults(counters={})
    assert counters.get("exec_drop_status") == 1
    assert (code, out) == (121, "out\n")
    assert err.endswith(f"job-runner: exec stream in {namespace}/repo-0 closed without a status frame\n")


async def test_a_stream_lost_after_pgbackrest_logged_its_end_exits_with_that_outcome(kubesim, namespace, repo_host):
    ctx = ssl.create_default_context(cafile=kubesim.ca_file)
    end = "2026-11-27 03:46:36.160 P00   INFO: backup command end: aborted with exception [050]"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {kubesim.token}"}) as session:
        # a budget of several: an exec of an earlier test ending meanwhile (its pod deleted) may take one
        async with session.put(f"{kubesim.server}/kubesim/faults", json={"exec_drop_status": 5}, ssl=ctx) as resp:
            assert resp.status == 200
        try:
            # `backup` is the command run ($0 of the script): its logged end is what the exit code is
            code, out, err = await job_runner(*exec_args(kubesim.kubeconfig, namespace, SELECTOR, "sh", "-c",
                                                         f"echo '{end}'; exit 50", "backup"))
        finally:
            async with session.put(f"{kubesim.server}/kubesim/faults", json={"counters": {}}, ssl=ctx) as resp:
                assert resp.status == 200
    assert (code, out) == (50, end + "\n"), err
    assert err.endswith("closed without a status frame, after the command logged its end: exit code 50\n"), err


async def test_an_exec_refused_with_5xx_is_tried_again_and_the_retries_end_its_log(kubesim, namespace, repo_host):
    ctx = ssl.create_default_context(cafile=kubesim.ca_file)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {kubesim.token}"}) as session:
        async with session.put(f"{kubesim.server}/kubesim/faults", ssl=ctx,
                               json={"error_rate": 1.0, "error_codes": [503], "match_paths": ["/exec"]}) as resp:
            assert resp.status == 200
        try:
            code, out, err = await job_runner(*exec_args(kubesim.kubeconfig, namespace))
            async with session.get(f"{kubesim.server}/kubesim/faults", ssl=ctx) as resp:
                counters = (await resp.json())["counters"]
        finally:
            async with session.put(f"{kubesim.server}/kubesim/faults", json={"counters": {}}, ssl=ctx) as resp:
                assert resp.status == 200
    assert counters["errors"] == 6, counters        # refused each time: nothing ran, so it was asked 6 times
    assert (code, out) == (122, ""), err
    assert err.endswith('job-runner: retried Kubernetes calls: {"kubernetes exec":5}\n'), err


async def test_an_api_refusal_is_122(kubesim, namespace, repo_host, tmp_path):
    config = kubesim.config()
    config["users"][0]["user"]["token"] = "not-a-token"
    (tmp_path / "config").write_text(yaml.safe_dump(config))
    code, out, err = await job_runner(*exec_args(str(tmp_path / "config"), namespace))
    assert (code, out) == (122, "")
    assert err.startswith("job-runner: cannot list pods: Kubernetes API 401"), err
    code, _, err = await job_runner(*exec_args(str(tmp_path / "missing"), namespace))
    assert code == 122 and "cannot read the kubeconfig" in err


async def run_job(batch: client.BatchV1Api, namespace: str, name: str, command: list[str]):
    """Run `command` as a backup Job runs the job-runner (its service account, BRQ_JOB_NAME); the Job once ended."""
    await batch.create_namespaced_job(namespace, {"metadata": {"name": name}, "spec": {
        "backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [{
            "name": "job-runner", "image": "backrest-queue:dev", "command": command,
            "env": [{"name": "BRQ_JOB_NAME", "value": name}]}]}}}})
    return await eventually(lambda: batch.read_namespaced_job(name, namespace),
                            lambda j: condition(j, "Complete") or condition(j, "Failed"), timeout=60,
                            what="job finished")


async def test_in_a_job_it_uses_its_service_account_and_writes_progress_on_its_job(api, namespace, repo_host):
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    progress_argv = ["sh", "-c", "echo 'status: ok (backup/expire running - 42.50% complete)'"]
    command = ["python", "-m", "tasks.jobrunner", "exec", "--namespace", namespace, "--selector", SELECTOR,
               "--container", "pgbackrest", "--progress-argv", json.dumps(progress_argv), "--progress-every", "0.2",
               "--", "sh", "-c", "echo out; echo err >&2; sleep 2; exit 3"]
    done = await run_job(batch, namespace, "backup-1", command)
    pods = await core.list_namespaced_pod(namespace, label_selector="job-name=backup-1")
    pod = pods.items[0]
    log = await core.read_namespaced_pod_log(pod.metadata.name, namespace)
    assert condition(done, "Failed") is not None, log
    assert pod.status.container_statuses[0].state.terminated.exit_code == 3, log
    assert log == (f"job-runner: exec in {namespace}/repo-0 (pgbackrest): sh -c echo out; echo err >&2; sleep 2; "
                   "exit 3\nout\nerr\njob-runner: exit code 3\n")
    assert done.metadata.annotations["brq.io/progress"] == '{"percent": 42.5}'


async def test_in_a_job_that_succeeds_it_notes_its_outcome_and_label_on_its_job(api, namespace, repo_host):
    batch = client.BatchV1Api(api)
    script = "echo 'P00   INFO: new backup label = 20261127-010203F'; echo 'P00   INFO: expire command end: ok'"
    command = ["python", "-m", "tasks.jobrunner", "exec", "--namespace", namespace, "--selector", SELECTOR,
               "--container", "pgbackrest", "--", "sh", "-c", script]
    done = await run_job(batch, namespace, "backup-2", command)
    assert condition(done, "Complete") is not None
    # the Complete Job carries it: the watcher records the step from this object alone
    assert json.loads(done.metadata.annotations["brq.io/outcome"]) == {
        "exit_code": 0, "label": "20261127-010203F", "retries": {}}
