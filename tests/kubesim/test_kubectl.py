"""kubectl, a client we did not write, drives kubesim with nothing but the kubeconfig."""
from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

MANIFEST = os.path.join(os.path.dirname(__file__), "..", "..", "kubesim", "examples", "postgres.yaml")


def stack_yaml(namespace: str) -> str:
    with open(MANIFEST, encoding="utf-8") as f:
        return f.read().replace("namespace: demo", f"namespace: {namespace}").replace("name: demo", f"name: {namespace}")


@pytest.fixture(scope="module")
def stack(kubesim):
    """The whole stack of stack.yaml applied once, in a namespace of its own, ready."""
    ns = "stack-kubectl"
    out = kubesim.kubectl("apply", "-f", "-", input=stack_yaml(ns), check=True)
    assert "deployment.apps/db created" in out.stdout
    kubesim.kubectl("-n", ns, "wait", "--for=condition=available", "deploy/db", "--timeout=60s", check=True)
    kubesim.kubectl("-n", ns, "wait", "--for=condition=complete", "job/query", "--timeout=60s", check=True)
    yield ns
    kubesim.kubectl("delete", "namespace", ns, "--wait=false")


def test_apply_creates_every_kind_of_the_manifest(kubesim, stack):
    for kind, name in [("namespace", stack), ("pvc", "pgdata"), ("configmap", "settings"), ("secret", "creds"),
                       ("service", "db"), ("deployment", "db"), ("job", "query")]:
        args = ["get", kind, name, "-o", "json"] if kind == "namespace" else ["-n", stack, "get", kind, name, "-o",
                                                                              "json"]
        obj = json.loads(kubesim.kubectl(*args, check=True).stdout)
        assert obj["metadata"]["name"] == name
        assert obj["metadata"]["uid"] and obj["metadata"]["resourceVersion"]


def test_a_postgres_deployment_becomes_ready_by_its_exec_probe(kubesim, stack):
    dep = json.loads(kubesim.kubectl("-n", stack, "get", "deploy", "db", "-o", "json", check=True).stdout)
    assert dep["status"]["readyReplicas"] == 1
    assert {c["type"]: c["status"] for c in dep["status"]["conditions"]} == {"Available": "True",
                                                                             "Progressing": "True"}
    rollout = kubesim.kubectl("-n", stack, "rollout", "status", "deploy/db", "--timeout=10s", check=True)
    assert 'deployment "db" successfully rolled out' in rollout.stdout


def test_a_job_reaches_postgres_by_the_service_name_and_logs_show_it(kubesim, stack):
    logs = kubesim.kubectl("-n", stack, "logs", "job/query", check=True)
    assert logs.stdout.strip() == "42"


def test_get_wide_shows_pod_ip_and_node(kubesim, stack):
    out = kubesim.kubectl("-n", stack, "get", "pods", "-l", "app=db", "-o", "wide", check=True).stdout
    header, row = out.splitlines()[:2]
    assert header.split()[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    cells = row.split()
    assert cells[1:3] == ["1/1", "Running"]
    assert cells[5].startswith("127.") and cells[6] == "kubesim"


def test_describe_shows_the_deployment_and_its_events(kubesim, stack):
    out = " ".join(kubesim.kubectl("-n", stack, "describe", "deploy", "db", check=True).stdout.split())
    assert "Replicas: 1 desired | 1 updated | 1 total | 1 available | 0 unavailable" in out
    assert "StrategyType: Recreate" in out
    assert "ScalingReplicaSet" in out
    job = " ".join(kubesim.kubectl("-n", stack, "describe", "job", "query", check=True).stdout.split())
    assert "SuccessfulCreate" in job and "Pods Statuses: 0 Active (0 Ready) / 1 Succeeded / 0 Failed" in job


def test_exec_prints_stdout_and_stderr_and_exits_with_the_commands_code(kubesim, stack):
    out = kubesim.kubectl("-n", stack, "exec", "deploy/db", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert out.returncode == 3
    assert out.stdout == "out\n"
    assert out.stderr.startswith("err\n")
    assert "command terminated with exit code 3" in out.stderr


def test_exec_with_stdin_feeds_the_command(kubesim, stack):
    out = kubesim.kubectl("-n", stack, "exec", "-i", "deploy/db", "--", "sh", "-c", "tr a-z A-Z; id -un",
                          input="hello stdin\n", check=True)
    assert out.stdout == "HELLO STDIN\npostgres\n"


def test_get_of_a_missing_object_prints_the_real_not_found_message(kubesim, stack):
    out = kubesim.kubectl("-n", stack, "get", "job", "nope")
    assert out.returncode == 1
    assert out.stderr.strip() == 'Error from server (NotFound): jobs.batch "nope" not found'


def test_get_watch_prints_a_row_per_change(kubesim, namespace):
    watcher = subprocess.Popen(["kubectl", "-n", namespace, "get", "configmaps", "-w", "--request-timeout=0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "KUBECONFIG": kubesim.kubeconfig})
    try:
        time.sleep(1.0)
        kubesim.kubectl("-n", namespace, "apply", "-f", "-", check=True,
                        input="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: watched}\ndata: {a: '1'}\n")
        kubesim.kubectl("-n", namespace, "patch", "configmap", "watched", "-p", '{"data":{"b":"2"}}', check=True)
        time.sleep(1.0)
    finally:
        watcher.terminate()
        out, _ = watcher.communicate(timeout=10)
    rows = [line.split() for line in out.splitlines()]
    assert rows[0] == ["NAME", "DATA", "AGE"]
    watched = [r[:2] for r in rows[1:] if r[0] == "watched"]
    assert watched == [["watched", "1"], ["watched", "2"]]


def test_apply_again_changes_the_image_and_keeps_command_and_env(kubesim, namespace):
    manifest = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: NS}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: main
          image: IMAGE
          command: [sleep, "3600"]
          env: [{name: A, value: "1"}]
""".replace("NS", namespace)
    kubesim.kubectl("apply", "-f", "-", input=manifest.replace("IMAGE", "busybox:1"), check=True)
    kubesim.kubectl("apply", "-f", "-", input=manifest.replace("IMAGE", "busybox:2"), check=True)
    dep = json.loads(kubesim.kubectl("-n", namespace, "get", "deploy", "web", "-o", "json", check=True).stdout)
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert (container["image"], container["command"], container["env"]) == ("busybox:2", ["sleep", "3600"],
                                                                             [{"name": "A", "value": "1"}])
    assert dep["metadata"]["generation"] == 2
    kubesim.kubectl("-n", namespace, "rollout", "status", "deploy/web", "--timeout=30s", check=True)
    rs = json.loads(kubesim.kubectl("-n", namespace, "get", "rs", "-o", "json", check=True).stdout)["items"]
    assert sorted(r["spec"]["replicas"] for r in rs) == [0, 1]


def test_delete_cascades_from_deployment_to_replicasets_and_pods(kubesim, namespace):
    kubesim.kubectl("-n", namespace, "apply", "-f", "-", check=True, input="""
apiVersion: apps/v1
kind: Deployment
metadata: {name: gone}
spec:
  replicas: 2
  selector: {matchLabels: {app: gone}}
  template:
    metadata: {labels: {app: gone}}
    spec:
      containers: [{name: main, image: busybox, command: [sleep, "3600"]}]
""")
    kubesim.kubectl("-n", namespace, "wait", "--for=condition=available", "deploy/gone", "--timeout=30s", check=True)
    kubesim.kubectl("-n", namespace, "delete", "deployment", "gone", "--wait=true", "--timeout=30s", check=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        left = kubesim.kubectl("-n", namespace, "get", "rs,pods", "-o", "name", check=True).stdout.split()
        if not left:
            break
        time.sleep(0.2)
    assert left == []
