"""Readiness of every process kind against the running stack: the API's /readyz and `python -m tasks.health`."""
from __future__ import annotations

import subprocess
import sys


def health(stack, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tasks.health", *args], env={**stack.env, **(env or {})},
                          capture_output=True, text=True, timeout=60)


def test_readyz_reports_redis_and_kubernetes_reachable(stack):
    status, body = stack.call("GET", "/readyz", token="probe")
    assert status == 200, body
    assert {c["name"]: c["ok"] for c in body["checks"]} == {"redis": True, "kubernetes": True}


def test_worker_watcher_beat_and_api_probes_pass_against_the_stack(stack):
    for kind in ("worker", "beat"):
        done = health(stack, kind)
        assert done.returncode == 0, done.stderr
    watcher = health(stack, "watcher")
    assert watcher.returncode == 0 and "lease: ok: held by" in watcher.stdout, watcher.stdout + watcher.stderr
    api = health(stack, "api", "--url", stack.api_url, env={"BRQ_PROBE_TOKEN": stack.tokens["probe"]})
    assert api.returncode == 0 and '"ready"' in api.stdout, api.stderr


def test_probes_fail_with_the_reason_when_a_dependency_is_unreachable(stack, tmp_path):
    broken = health(stack, "worker", env={"BRQ_REDIS_URL": "redis://127.0.0.1:1/0", "KUBECONFIG": str(tmp_path / "no")})
    assert broken.returncode == 1
    assert "redis: FAIL: Redis is unreachable" in broken.stderr and "kubernetes: FAIL: cannot read the kubeconfig" \
        in broken.stderr
    unauthorized = health(stack, "api", "--url", stack.api_url, env={"BRQ_PROBE_TOKEN": "brq_wrong"})
    assert unauthorized.returncode == 1 and "not ready: 401" in unauthorized.stderr


def test_every_log_line_is_json_and_lines_about_a_task_name_it_and_its_cluster(stack):
    import json

    from tests.e2e.conftest import backup, create_cluster
    create_cluster(stack, "logged", "local")
    done = backup(stack, "logged", "local", "full")
    assert done["state"] == "SUCCESS", done
    for process in ("worker0", "watcher", "beat", "api"):
        lines = [line for line in stack.tail(process, 2000).splitlines() if line.startswith("{")]
        assert lines, f"{process}: no JSON lines"
        parsed = [json.loads(line) for line in lines]
        assert all({"time", "level", "logger", "message", "process"} <= set(p) for p in parsed), process
    worker = [json.loads(line) for line in stack.tail("worker0", 4000).splitlines() if line.startswith("{")]
    about = [p for p in worker if p.get("task_id") == done["id"]]
    assert about and all(p.get("cluster") == "logged" and p.get("namespace") == "demo" for p in about
                         if p["logger"].startswith("brq.")), about
    watcher = [json.loads(line) for line in stack.tail("watcher", 2000).splitlines() if line.startswith("{")]
    assert any(p.get("task_id") == done["id"] and p.get("cluster") == "logged" and "ended SUCCESS" in p["message"]
               for p in watcher)
    api = [json.loads(line) for line in stack.tail("api", 2000).splitlines() if line.startswith("{")]
    assert any(p.get("audit") and p.get("task") == done["id"] and p.get("who") == "admin" for p in api)
