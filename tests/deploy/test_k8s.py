"""k8s/: every object valid against the Kubernetes schemas (strict), and what the deployment promises."""
from __future__ import annotations

import os
import re

import kubernetes_validate
import pytest
import yaml

from .conftest import (DEPLOYMENTS, K8S, README_COMMANDS, by_kind, configmap_files, containers, deployed_settings,
                       kustomize, one, runs, workloads)
from .kube_usage import ROOT

# The oldest Kubernetes release the manifests claim (HPA autoscaling/v2, PDB policy/v1, pod security labels are
# all older) and the newest whose schemas kubernetes-validate ships.
VERSIONS = ("1.29", kubernetes_validate.utils.latest_version())


def test_readme_names_the_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [cmd for cmd in README_COMMANDS.values() if cmd not in text]
    assert not missing, f"README.md no longer shows these commands; update tests/deploy and k8s/: {missing}"


@pytest.mark.parametrize("version", VERSIONS)
def test_every_object_passes_the_kubernetes_schemas_strictly(objects, version):
    problems = []
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message} at {list(exc.path)}")
    assert not problems, "\n".join(problems)


def test_the_optional_ingress_component_builds_and_is_valid(tmp_path):
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    rel = os.path.relpath(K8S, overlay)
    (overlay / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        f"resources: [{rel}]\ncomponents: [{rel}/ingress]\n")
    objs = kustomize(overlay)
    ingress = one(objs, "Ingress", "api")
    for version in VERSIONS:
        kubernetes_validate.validate(ingress, version, strict=True)
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    service = one(objs, "Service", backend["name"])
    assert backend["port"]["name"] in [p["name"] for p in service["spec"]["ports"]]


def test_what_is_deployed(objects):
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
    for expected in [("Namespace", "backrest-queue"), ("StatefulSet", "redis"), ("Service", "redis"),
                     ("Deployment", "api"), ("Service", "api"), ("Deployment", "worker"),
                     ("HorizontalPodAutoscaler", "worker"), ("Deployment", "beat"), ("Deployment", "watcher"),
                     ("Secret", "backrest-queue-secrets"), ("Secret", "backrest-queue-tokens")]:
        assert expected in kinds
    assert not by_kind(objects, "Ingress"), "the Ingress is optional (k8s/ingress/), not in the default build"
    for name in DEPLOYMENTS.values():
        pdb = one(objects, "PodDisruptionBudget", name)
        labels = one(objects, "Deployment", name)["spec"]["template"]["metadata"]["labels"]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_the_deployments_run_the_real_commands(objects):
    for process, name in DEPLOYMENTS.items():
        (container,) = one(objects, "Deployment", name)["spec"]["template"]["spec"]["containers"]
        assert runs(container, process), f"Deployment {name} runs {container.get('command')}"


def test_every_container_has_requests_and_limits(objects):
    for workload in workloads(objects):
        for container in containers(workload):
            resources = container.get("resources") or {}
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(part) or {}), \
                    f"{workload['kind']}/{workload['metadata']['name']} {container['name']}: {part}"


def test_every_pod_is_non_root_and_locked_down(objects):
    for workload in workloads(objects):
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in containers(workload):
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
            assert sc["capabilities"]["drop"] == ["ALL"]


def test_api_probes_and_replicas(objects):
    api = one(objects, "Deployment", "api")
    assert api["spec"]["replicas"] == 2
    (container,) = api["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    # /readyz needs a token: the readiness probe is `python -m tasks.health api`, which sends BRQ_PROBE_TOKEN
    # to /readyz (tasks/health.py), on the port gunicorn binds
    readiness = " ".join(container["readinessProbe"]["exec"]["command"])
    assert "tasks.health api" in readiness
    port = re.search(r"--bind=\S*:(\d+)$", next(a for a in container["command"] if a.startswith("--bind="))).group(1)
    assert f":{port}" in readiness
    assert [p["containerPort"] for p in container["ports"]] == [int(port)]
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert container["livenessProbe"]["httpGet"]["port"] in named
    assert "BRQ_PROBE_TOKEN" in {e["name"] for e in container["env"]}


@pytest.mark.parametrize("status", [200, 503])
def test_the_api_readiness_probe_asks_readyz_with_the_probe_token(objects, status):
    """Run the probe's command as the kubelet would (POD_IP set), against a server standing in for the API."""
    import http.server
    import subprocess
    import sys
    import threading

    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            seen.append((self.path, self.headers.get("Authorization")))
            body = b'{"status": "ready"}'
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    (container,) = one(objects, "Deployment", "api")["spec"]["template"]["spec"]["containers"]
    port = next(a for a in container["command"] if a.startswith("--bind=")).rsplit(":", 1)[1]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        argv = [a.replace(f":{port}", f":{server.server_port}") for a in container["readinessProbe"]["exec"]["command"]]
        env = {"PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
               "POD_IP": "127.0.0.1", "BRQ_PROBE_TOKEN": "probe-token-value", "PYTHONPATH": str(ROOT)}
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
    finally:
        server.shutdown()
        server.server_close()
    assert seen == [("/readyz", "Bearer probe-token-value")]
    assert (done.returncode == 0) == (status == 200), done.stderr


def test_worker_grace_period_outlasts_its_soft_shutdown(objects):
    worker = one(objects, "Deployment", "worker")
    pod = worker["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    argv = container["command"]
    extra = argv[argv.index("--") + 1:]            # celery … -- worker_soft_shutdown_timeout=N: Celery config
    soft = float(dict(a.split("=", 1) for a in extra)["worker_soft_shutdown_timeout"])
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env.get("REMAP_SIGTERM") == "SIGQUIT", "SIGTERM must start Celery's soft (time-limited) shutdown"
    assert soft > 0
    assert pod["terminationGracePeriodSeconds"] > soft
    hpa = one(objects, "HorizontalPodAutoscaler", "worker")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "worker"}
    assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]


def test_beat_and_watcher_run_a_standby(objects):
    assert one(objects, "Deployment", "beat")["spec"]["replicas"] == 2
    assert one(objects, "Deployment", "watcher")["spec"]["replicas"] >= 2


def test_one_image_for_every_process_and_for_backup_jobs(objects):
    images = {c["image"] for name in DEPLOYMENTS.values()
              for c in one(objects, "Deployment", name)["spec"]["template"]["spec"]["containers"]}
    assert len(images) == 1, images
    (image,) = images
    assert re.fullmatch(r"[^:@]+(:[\w.-]+|@sha256:[0-9a-f]{64})", image) and not image.endswith(":latest")
    settings = deployed_settings(objects)
    assert settings.images.job_runner == image, "pgo.yaml Images.JobRunner must be the image the Deployments run"


def test_redis_keeps_an_append_only_file_on_its_volume(objects):
    redis = one(objects, "StatefulSet", "redis")
    (container,) = redis["spec"]["template"]["spec"]["containers"]
    argv = container["command"] + container.get("args", [])
    assert argv[argv.index("--appendonly") + 1] == "yes"
    data_dir = argv[argv.index("--dir") + 1]
    (template,) = redis["spec"]["volumeClaimTemplates"]
    assert {"name": template["metadata"]["name"], "mountPath": data_dir} in container["volumeMounts"]
    service = one(objects, "Service", redis["spec"]["serviceName"])
    assert service["spec"]["clusterIP"] == "None"
    assert argv[argv.index("--maxmemory-policy") + 1] == "noeviction"


def test_the_configuration_loads_and_every_deployment_mounts_it(objects):
    files = configmap_files(objects)
    assert set(files) == {"pgo.yaml", "aws-s3-ca.crt"}
    deployed_settings(objects)                   # raises SettingsError naming the key
    cm_name = next(o["metadata"]["name"] for o in by_kind(objects, "ConfigMap")
                   if o["metadata"]["name"].startswith("backrest-queue-conf"))
    for name in DEPLOYMENTS.values():
        pod = one(objects, "Deployment", name)["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        env = {e["name"]: e for e in container["env"]}
        volume = next(v["name"] for v in pod["volumes"] if (v.get("configMap") or {}).get("name") == cm_name)
        mount = next(m for m in container["volumeMounts"] if m["name"] == volume)
        assert env["BRQ_CONF_DIR"]["value"] == mount["mountPath"] and mount["readOnly"] is True
        assert env["BRQ_REDIS_URL"]["value"].startswith("redis://")
        for secret in ("BRQ_S3_KEY", "BRQ_S3_KEY_SECRET", "REDIS_PASSWORD"):
            assert "secretKeyRef" in env[secret]["valueFrom"], f"{name}: {secret} must come from a Secret"


def test_the_redis_url_reaches_the_redis_service(objects):
    redis = one(objects, "StatefulSet", "redis")
    service = one(objects, "Service", redis["spec"]["serviceName"])
    port = service["spec"]["ports"][0]["port"]
    for name in DEPLOYMENTS.values():
        (container,) = one(objects, "Deployment", name)["spec"]["template"]["spec"]["containers"]
        url = next(e["value"] for e in container["env"] if e["name"] == "BRQ_REDIS_URL")
        names = [e["name"] for e in container["env"]]
        assert re.fullmatch(rf"redis://:\$\(REDIS_PASSWORD\)@{service['metadata']['name']}:{port}/\d+", url), url
        assert names.index("REDIS_PASSWORD") < names.index("BRQ_REDIS_URL"), "$(VAR) expands earlier variables only"


def test_secrets_hold_placeholders_only(objects):
    for secret in by_kind(objects, "Secret"):
        values = dict(secret.get("stringData") or {})
        assert not secret.get("data"), f"Secret {secret['metadata']['name']}: use stringData placeholders"
        for key, value in values.items():
            if key.endswith(".json"):
                assert yaml.safe_load(value) == {"tokens": []}, f"{key}: no token hashes in the repository"
            else:
                assert value == "CHANGE-ME", f"Secret {secret['metadata']['name']}: {key} must be a placeholder"


def test_the_tokens_secret_is_a_tokens_file(objects):
    from tasks.auth_tokens import parse_tokens

    secret = one(objects, "Secret", "backrest-queue-tokens")
    (container,) = one(objects, "Deployment", "api")["spec"]["template"]["spec"]["containers"]
    path = next(e["value"] for e in container["env"] if e["name"] == "BRQ_TOKENS_FILE")
    name = os.path.basename(path)
    parse_tokens(yaml.safe_load(secret["stringData"][name]), name)
    pod = one(objects, "Deployment", "api")["spec"]["template"]["spec"]
    volume = next(v["name"] for v in pod["volumes"] if (v.get("secret") or {}).get("secretName")
                  == secret["metadata"]["name"])
    mount = next(m for m in container["volumeMounts"] if m["name"] == volume)
    assert os.path.dirname(path) == mount["mountPath"]


def test_every_namespaced_object_names_its_namespace(objects):
    cluster_scoped = {"Namespace", "ClusterRole", "ClusterRoleBinding"}
    for obj in objects:
        if obj["kind"] not in cluster_scoped:
            assert obj["metadata"].get("namespace"), f"{obj['kind']}/{obj['metadata']['name']} has no namespace"
