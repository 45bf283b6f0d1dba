"""kubectl's imperative generators send protobuf bodies (no JSON fallback): kubesim decodes them and answers JSON.

Each test runs the real kubectl 1.32 `create …` command, then reads the object back with `-o json`.
"""
from __future__ import annotations

import base64
import json
import os
import time
import uuid


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def get(kubesim, namespace: str, *what: str) -> dict:
    return json.loads(kubesim.kubectl("-n", namespace, "get", *what, "-o", "json", check=True).stdout)


def create(kubesim, namespace: str, *args: str) -> str:
    return kubesim.kubectl("-n", namespace, "create", *args, check=True).stdout.strip()


def test_create_namespace(kubesim):
    name = "pb-" + uuid.uuid4().hex[:8]
    assert kubesim.kubectl("create", "namespace", name, check=True).stdout.strip() == f"namespace/{name} created"
    ns = json.loads(kubesim.kubectl("get", "namespace", name, "-o", "json", check=True).stdout)
    assert ns["metadata"]["name"] == name and ns["metadata"]["uid"]
    assert ns["status"]["phase"] == "Active"
    kubesim.kubectl("delete", "namespace", name, "--wait=false")


def test_create_configmap_from_literals(kubesim, namespace):
    assert create(kubesim, namespace, "configmap", "settings", "--from-literal=a=b",
                  "--from-literal=greeting=hello world") == "configmap/settings created"
    assert get(kubesim, namespace, "configmap", "settings")["data"] == {"a": "b", "greeting": "hello world"}


def test_create_secret_generic_from_literals(kubesim, namespace):
    create(kubesim, namespace, "secret", "generic", "creds", "--from-literal=pw=x", "--from-literal=user=admin")
    secret = get(kubesim, namespace, "secret", "creds")
    assert secret["data"] == {"pw": b64("x"), "user": b64("admin")}
    assert secret["type"] == "Opaque"


def test_create_secret_tls(kubesim, namespace):
    cert, key = (os.path.join(kubesim.state_dir, "pki", f) for f in ("server.crt", "server.key"))
    create(kubesim, namespace, "secret", "tls", "web-tls", f"--cert={cert}", f"--key={key}")
    secret = get(kubesim, namespace, "secret", "web-tls")
    assert secret["type"] == "kubernetes.io/tls"
    with open(cert, "rb") as f:
        assert base64.b64decode(secret["data"]["tls.crt"]) == f.read()
    with open(key, "rb") as f:
        assert base64.b64decode(secret["data"]["tls.key"]) == f.read()


def test_create_secret_docker_registry(kubesim, namespace):
    create(kubesim, namespace, "secret", "docker-registry", "reg", "--docker-server=registry.example",
           "--docker-username=u", "--docker-password=p")
    secret = get(kubesim, namespace, "secret", "reg")
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    auths = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))["auths"]
    assert auths["registry.example"]["username"] == "u" and auths["registry.example"]["password"] == "p"


def test_create_serviceaccount(kubesim, namespace):
    assert create(kubesim, namespace, "serviceaccount", "runner") == "serviceaccount/runner created"
    assert get(kubesim, namespace, "serviceaccount", "runner")["metadata"]["name"] == "runner"


def test_create_deployment_runs_its_command_and_scales(kubesim, namespace):
    assert create(kubesim, namespace, "deployment", "d", "--image=busybox", "--", "sleep", "3600") == \
        "deployment.apps/d created"
    kubesim.kubectl("-n", namespace, "wait", "--for=condition=available", "deploy/d", "--timeout=60s", check=True)
    dep = get(kubesim, namespace, "deployment", "d")
    assert dep["spec"]["replicas"] == 1
    assert dep["spec"]["selector"] == {"matchLabels": {"app": "d"}}
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert (container["name"], container["image"], container["command"]) == ("busybox", "busybox", ["sleep", "3600"])
    assert dep["status"]["availableReplicas"] == 1
    pods = get(kubesim, namespace, "pods", "-l", "app=d")["items"]
    assert [p["status"]["phase"] for p in pods] == ["Running"]
    assert pods[0]["spec"]["containers"][0]["command"] == ["sleep", "3600"]
    kubesim.kubectl("-n", namespace, "scale", "deploy/d", "--replicas=0", check=True)
    assert get(kubesim, namespace, "deployment", "d")["spec"]["replicas"] == 0


def test_create_deployment_with_replicas_and_port(kubesim, namespace):
    create(kubesim, namespace, "deployment", "web", "--image=busybox", "--replicas=2", "--port=8080",
           "--", "sleep", "3600")
    kubesim.kubectl("-n", namespace, "wait", "--for=condition=available", "deploy/web", "--timeout=60s", check=True)
    dep = get(kubesim, namespace, "deployment", "web")
    assert dep["spec"]["replicas"] == 2 and dep["status"]["readyReplicas"] == 2
    assert dep["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] == 8080


def test_create_job_completes(kubesim, namespace):
    assert create(kubesim, namespace, "job", "once", "--image=busybox", "--", "true") == "job.batch/once created"
    kubesim.kubectl("-n", namespace, "wait", "--for=condition=complete", "job/once", "--timeout=60s", check=True)
    job = get(kubesim, namespace, "job", "once")
    assert job["status"]["succeeded"] == 1
    spec = job["spec"]["template"]["spec"]
    assert spec["restartPolicy"] == "Never" and spec["containers"][0]["command"] == ["true"]
    pods = get(kubesim, namespace, "pods", "-l", "job-name=once")["items"]
    assert [p["status"]["phase"] for p in pods] == ["Succeeded"]


def test_create_service_clusterip(kubesim, namespace):
    assert create(kubesim, namespace, "service", "clusterip", "web", "--tcp=80:8080") == "service/web created"
    svc = get(kubesim, namespace, "service", "web")
    assert svc["spec"]["ports"] == [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}]
    assert svc["spec"]["selector"] == {"app": "web"}
    assert svc["spec"]["type"] == "ClusterIP" and svc["spec"]["clusterIP"]


def test_create_token_is_accepted_as_a_bearer_token(kubesim, namespace):
    deadline = time.monotonic() + 10
    while kubesim.kubectl("-n", namespace, "get", "serviceaccount", "default").returncode != 0:
        assert time.monotonic() < deadline, "the namespace's default service account never appeared"
        time.sleep(0.1)
    token = create(kubesim, namespace, "token", "default")
    assert token
    pods = kubesim.kubectl("--token", token, "-n", namespace, "get", "pods", check=True)
    assert "Unauthorized" not in pods.stderr
    forged = kubesim.kubectl("--token", token[:-1] + ("0" if token[-1] != "0" else "1"), "-n", namespace, "get", "pods")
    assert forged.returncode != 0 and "Unauthorized" in forged.stderr


def test_create_token_reports_its_duration_and_audience(kubesim, namespace):
    create(kubesim, namespace, "serviceaccount", "robot")
    req = json.loads(create(kubesim, namespace, "token", "robot", "--duration=20m", "--audience=api", "-o", "json"))
    assert req["kind"] == "TokenRequest"
    assert req["spec"]["expirationSeconds"] == 1200 and req["spec"]["audiences"] == ["api"]
    assert req["status"]["token"] and req["status"]["expirationTimestamp"].endswith("Z")


def test_create_token_for_a_missing_account_is_not_found(kubesim, namespace):
    out = kubesim.kubectl("-n", namespace, "create", "token", "nobody")
    assert out.returncode != 0 and 'serviceaccounts "nobody" not found' in out.stderr
