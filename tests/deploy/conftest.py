"""The deployment artefacts as the tests see them: `kubectl kustomize k8s/` (what `kubectl apply -k k8s/`
applies), docker-compose.yml, the Dockerfile; and the code's Kubernetes calls (kube_usage.py)."""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from tasks.settings import Settings, load_settings

from .kube_usage import ROOT, Codebase

K8S = ROOT / "k8s"


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.fail("kubectl is not on the PATH: the k8s/ tests build the kustomization with `kubectl kustomize`, "
                    "as `kubectl apply -k` does (README: kubectl is required for the tests)")
    return path


def kustomize(directory: Path) -> list[dict]:
    """The objects `kubectl apply -k DIRECTORY` would apply."""
    done = subprocess.run([kubectl(), "kustomize", str(directory)], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        pytest.fail(f"kubectl kustomize {directory} failed:\n{done.stderr}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="session")
def objects() -> list[dict]:
    return kustomize(K8S)


@pytest.fixture(scope="session")
def codebase() -> Codebase:
    return Codebase.from_root()


def by_kind(objs: list[dict], kind: str) -> list[dict]:
    return [o for o in objs if o["kind"] == kind]


def one(objs: list[dict], kind: str, name: str) -> dict:
    found = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def workloads(objs: list[dict]) -> list[dict]:
    return [o for o in objs if o["kind"] in ("Deployment", "StatefulSet")]


def containers(workload: dict) -> list[dict]:
    spec = workload["spec"]["template"]["spec"]
    return spec.get("initContainers", []) + spec["containers"]


# The processes as README "The service" starts them; each Deployment runs one, with options after these words.
README_COMMANDS = {
    "api": "gunicorn 'app:create_app()'",
    "worker": "celery -A tasks.worker worker -Q brq",
    "beat": "celery -A tasks.beat beat",
    "watcher": "python -m tasks.watcher",
}
DEPLOYMENTS = {"api": "api", "worker": "worker", "beat": "beat", "watcher": "watcher"}


def runs(container: dict, process: str) -> bool:
    """Does the container run README's command for `process` (options may be added, nothing replaced)?"""
    argv, want = container.get("command") or [], shlex.split(README_COMMANDS[process])
    if process == "api":   # gunicorn [options] APP
        return argv[:1] == want[:1] and argv[-1:] == want[-1:]
    return argv[:len(want)] == want


def configmap_files(objects) -> dict[str, str]:
    (cm,) = [o for o in by_kind(objects, "ConfigMap") if o["metadata"]["name"].startswith("backrest-queue-conf")]
    return cm["data"]


def deployed_settings(objects) -> Settings:
    """tasks.settings as the Deployments load them: the ConfigMap's files and the worker's literal env."""
    with tempfile.TemporaryDirectory() as conf_dir:
        for name, text in configmap_files(objects).items():
            with open(os.path.join(conf_dir, name), "w", encoding="utf-8") as handle:
                handle.write(text)
        (container,) = one(objects, "Deployment", "worker")["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e["value"] for e in container["env"] if "value" in e and e["name"].startswith("BRQ_")
               and e["name"] not in ("BRQ_CONF_DIR", "BRQ_REDIS_URL")}
        return load_settings(conf_dir, env)
