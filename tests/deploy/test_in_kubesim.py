"""Issue 6's proof: `kubectl apply -k` of the repository's k8s/ into kubesim brings the whole service up as pods
running the real commands (kubesim runs them from this virtualenv), `kubectl rollout status` of every workload
succeeds, and the end-to-end backup test of tests/e2e passes against the API Service inside kubesim, as it does
against `make up`.

The overlay is what k8s/README.md ("Secrets") tells users to write: `resources: [<k8s/>]` and a secretGenerator
that replaces the placeholders with real values (generated here). Its one other change is kubesim's: see
`KUBESIM_ONLY` below. Only local repositories: k8s/conf/pgo.yaml names no S3 bucket.
"""
from __future__ import annotations

import json
import os
import pwd
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest

from kubesim.cluster import default_expose
from kubesim.process import KubesimProcess
from tasks.auth_tokens import add_token
from tests.e2e.test_backups import \
    test_full_then_incr_backups_appear_in_the_catalogue_of_each_repo as full_then_incr_backups_scenario
from tests.support.stack import FAST_KUBESIM, Stack

from .conftest import K8S

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux" or os.geteuid() != 0,
                       reason="kubesim's pods need Linux and root (mount namespaces)"),
]

NAMESPACE = "backrest-queue"
MANAGED = "demo"          # k8s/conf/pgo.yaml Kubernetes.Namespaces; managed-namespace-demo.yaml binds in it

# The overlay's one change beyond the secrets, because kubesim runs host binaries where a cluster runs images.
KUBESIM_ONLY = """\
patches:
  # kubesim only: the clusters' pods run the host's PostgreSQL as the host's postgres user ({uid}:{gid}), where
  # a real cluster runs Crunchy's image as uid 26 (k8s/conf/pgo.yaml Pods.PostgresUID). BRQ_PG_UID/BRQ_PG_GID
  # are that key's documented overrides (conf/README.md), read by the worker, which builds those pods.
  - patch: |
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: worker
        namespace: backrest-queue
      spec:
        template:
          spec:
            containers:
              - name: worker
                env:
                  - name: BRQ_PG_UID
                    value: "{uid}"
                  - name: BRQ_PG_GID
                    value: "{gid}"
"""


def write_overlay(directory: str) -> dict[str, str]:
    """The deployment's overlay in `directory`; returns the API tokens it grants (name → token)."""
    os.makedirs(directory, exist_ok=True)
    tokens_file = os.path.join(directory, "tokens.json")
    tokens = {
        # k8s/README.md "Secrets": the readiness probe's token has no roles; an admin for the test's requests
        "probe": add_token(tokens_file, "probe", [], []).reveal(),
        "admin": add_token(tokens_file, "admin", ["*"], ["*"]).reveal(),
    }
    with open(os.path.join(directory, "secrets.env"), "w", encoding="utf-8") as f:
        f.write(f"redis-password={secrets.token_hex(32)}\n"
                f"probe-token={tokens['probe']}\n"
                # no S3 here: k8s/conf/pgo.yaml names no bucket, so the keys are never read
                "s3-key=\n"
                "s3-key-secret=\n")
    postgres = pwd.getpwnam("postgres")
    with open(os.path.join(directory, "kustomization.yaml"), "w", encoding="utf-8") as f:
        f.write(f"""\
# Written by tests/deploy/test_in_kubesim.py: the repository's k8s/ as k8s/README.md says to deploy it.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - {os.path.relpath(K8S, directory)}
# the placeholders of k8s/secrets.yaml, replaced by values generated for this run
secretGenerator:
  - name: backrest-queue-secrets
    namespace: backrest-queue
    behavior: replace
    envs: [secrets.env]
  - name: backrest-queue-tokens
    namespace: backrest-queue
    behavior: replace
    files: [tokens.json]
""" + KUBESIM_ONLY.format(uid=postgres.pw_uid, gid=postgres.pw_gid))
    return tokens


@dataclass
class Deployed(Stack):
    """The service as k8s/ deploys it into kubesim, seen as tests/e2e see `make up`'s stack (`call`, `wait_task`,
    `psql` are Stack's own): its API reached at a ready endpoint of the Service `api`."""
    url: str = ""

    @property
    def api_url(self) -> str:
        return self.url

    def tail(self, name: str, lines: int = 80) -> str:
        """The logs of a component's pods (Stack.wait_task shows the worker's and the watcher's on a timeout)."""
        component = "worker" if name.startswith("worker") else name
        done = self.kubesim.kubectl("-n", NAMESPACE, "logs", "-l", f"app.kubernetes.io/component={component}",
                                    "--prefix", f"--tail={lines}", "--max-log-requests=10")
        return done.stdout + done.stderr

    def get(self, *what: str, namespace: str = NAMESPACE) -> dict:
        return json.loads(self.kubesim.kubectl("-n", namespace, "get", *what, "-o", "json", check=True).stdout)

    def service_endpoint(self, service: str) -> str:
        """host:port of a ready endpoint of the Service, as its EndpointSlice lists it for clients."""
        svc = self.get("service", service)
        (port,) = svc["spec"]["ports"]
        deadline = time.monotonic() + 30
        while True:
            slices = self.get("endpointslices", "-l", f"kubernetes.io/service-name={service}")["items"]
            for eps in slices:
                for slice_port in [p for p in eps.get("ports") or [] if p.get("name") == port.get("name", "")]:
                    for ep in eps.get("endpoints") or []:
                        if (ep.get("conditions") or {}).get("ready"):
                            return f"{ep['addresses'][0]}:{slice_port['port']}"
            if time.monotonic() > deadline:
                raise AssertionError(f"Service {service} has no ready endpoint: {json.dumps(slices, indent=1)}")
            time.sleep(0.5)


def rollout_status(deployed: Deployed, workload: str) -> subprocess.CompletedProcess:
    return deployed.kubesim.kubectl("-n", NAMESPACE, "rollout", "status", workload, "--timeout=150s", timeout=170)


def pod_processes(marker: str) -> list[int]:
    """Processes whose environment holds `marker` (every pod process of one kubesim has its KUBERNETES_PORT)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if marker.encode() in f.read().split(b"\0"):
                    found.append(int(pid))
        except OSError:
            pass
    return found


def open_to_pod_users() -> None:
    """k8s/ runs every process as a non-root user, which must read the project and this Python where kubesim shows
    them to pods (at their host paths).  A checkout is world-readable, except a clone made straight into
    `mktemp -d` (0700): give others read and search on those directories, as any checkout has."""
    for path in default_expose():
        mode = os.stat(path).st_mode
        if mode & 0o005 != 0o005:
            os.chmod(path, mode | 0o005)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    open_to_pod_users()
    directory = str(tmp_path_factory.mktemp("in-kubesim"))
    stack = Deployed(directory)
    marker = None
    try:
        stack.kubesim = KubesimProcess(os.path.join(directory, "kubesim"), FAST_KUBESIM).start()
        marker = "KUBERNETES_PORT=tcp://" + stack.kubesim.server.removeprefix("https://")
        stack.tokens = write_overlay(os.path.join(directory, "overlay"))
        # the managed namespace is the user's, not the kustomization's (k8s/managed-namespace-demo.yaml)
        stack.kubesim.kubectl("create", "namespace", MANAGED, check=True)
        stack.kubesim.kubectl("apply", "-k", os.path.join(directory, "overlay"), check=True)
        yield stack
    finally:
        stack.stop()   # kubesim's SIGTERM ends every pod process
        if marker is not None:
            assert pod_processes(marker) == [], "pod processes outlived kubesim"


def test_every_workload_rolls_out(deployed):
    workloads = [f"deployment/{d['metadata']['name']}" for d in deployed.get("deployments")["items"]]
    workloads += [f"statefulset/{s['metadata']['name']}" for s in deployed.get("statefulsets")["items"]]
    assert sorted(workloads) == ["deployment/api", "deployment/beat", "deployment/watcher", "deployment/worker",
                                 "statefulset/redis"]
    for workload in workloads:
        done = rollout_status(deployed, workload)
        assert done.returncode == 0, (f"kubectl rollout status {workload}:\n{done.stdout}{done.stderr}\n"
                                      + deployed.kubesim.kubectl("-n", NAMESPACE, "describe", workload.split("/")[0],
                                                                 workload.split("/")[1]).stdout[-3000:]
                                      + deployed.kubesim.kubectl("-n", NAMESPACE, "get", "pods", "-o", "wide").stdout
                                      + deployed.kubesim.kubectl("-n", NAMESPACE, "get", "events").stdout[-4000:])
    pods = deployed.get("pods")["items"]
    assert len(pods) == 2 + 2 + 2 + 2 + 1
    for pod in pods:   # each runs its manifest's command: README's "The service" (tests/deploy/test_k8s.py checks them)
        assert all(c["ready"] and "running" in c["state"] for c in pod["status"]["containerStatuses"]), pod
    # the API Service lists both API pods as ready endpoints
    (eps,) = deployed.get("endpointslices", "-l", "kubernetes.io/service-name=api")["items"]
    assert sorted(ep["conditions"]["ready"] for ep in eps["endpoints"]) == [True, True]


def test_the_end_to_end_backup_test_passes_against_the_api_service(deployed):
    for workload in ("statefulset/redis", "deployment/api", "deployment/worker", "deployment/watcher"):
        assert rollout_status(deployed, workload).returncode == 0, workload
    deployed.url = f"http://{deployed.service_endpoint('api')}"
    status, ready = deployed.call("GET", "/readyz")
    assert status == 200 and ready["status"] == "ready", ready
    # tests/e2e/test_backups.py's own test, run against this deployment: a cluster (local) in `demo`, rows in it,
    # a full and an incremental backup, both in the catalogue, the cluster's last backup
    full_then_incr_backups_scenario(deployed, "local")
    # the backup ran as a Job of job-runner in the image the Deployments run (Images.JobRunner)
    jobs = deployed.get("jobs", "-l", "app.kubernetes.io/managed-by=backrest-queue", namespace=MANAGED)["items"]
    images = {c["image"] for job in jobs for c in job["spec"]["template"]["spec"]["containers"]}
    assert images == {deployed.get("deployment", "api")["spec"]["template"]["spec"]["containers"][0]["image"]}


def _grants(rule: dict, group: str, resource: str, verb: str, name: str | None) -> bool:
    """An RBAC PolicyRule allows the request (kube-apiserver's rbac.RuleAllows, without non-resource URLs)."""
    return (any(g in ("*", group) for g in rule.get("apiGroups") or [])
            and any(r in ("*", resource) for r in rule.get("resources") or [])
            and any(v in ("*", verb) for v in rule.get("verbs") or [])
            and (not rule.get("resourceNames") or name in rule["resourceNames"]))


def test_every_kubernetes_call_the_service_made_is_granted_by_k8s_rbac(deployed):
    """kubesim does not enforce RBAC (every valid token may do everything), so a grant missing from k8s/ would not
    fail the tests above as a real cluster's 403 would. kubesim's audit log names the ServiceAccount of every
    request: each one the service's processes and its backup Jobs made must be allowed by the Roles and bindings
    `kubectl apply -k` created (tests/deploy/test_rbac.py checks the same grants against the code)."""
    rbac = {kind: deployed.get(kind, "-A")["items"] for kind in ("clusterroles", "clusterrolebindings",
                                                                  "roles", "rolebindings")}
    deployed.kubesim.stop()   # the audit log is complete once kubesim has closed it
    rules = {("ClusterRole", None, r["metadata"]["name"]): r.get("rules") or [] for r in rbac["clusterroles"]}
    rules |= {("Role", r["metadata"]["namespace"], r["metadata"]["name"]): r.get("rules") or [] for r in rbac["roles"]}

    def allowed(user: str, request: dict) -> bool:
        sa_ns, sa_name = user.removeprefix("system:serviceaccount:").split(":")
        resource = request["resource"] + (f"/{request['subresource']}" if request.get("subresource") else "")
        for binding in rbac["clusterrolebindings"] + rbac["rolebindings"]:
            scope = binding["metadata"].get("namespace")
            if scope is not None and scope != request.get("namespace"):
                continue   # a RoleBinding grants in its own namespace only (not cluster-wide lists either)
            if not any(s.get("kind") == "ServiceAccount" and s.get("name") == sa_name and s.get("namespace") == sa_ns
                       for s in binding.get("subjects") or []):
                continue
            ref = binding["roleRef"]
            for rule in rules.get((ref["kind"], scope if ref["kind"] == "Role" else None, ref["name"]), []):
                if _grants(rule, request["group"], resource, request["verb"], request.get("name")):
                    return True
        return False

    calls: dict[str, set] = {}
    denied = set()
    with open(os.path.join(deployed.kubesim.state_dir, "audit.jsonl"), encoding="utf-8") as f:
        for line in f:
            request = json.loads(line)
            user = request.get("user") or ""
            if not user.startswith("system:serviceaccount:"):
                continue   # kubectl (this test, the user) as the admin
            what = (request["verb"], request["group"], request["resource"], request.get("subresource"),
                    request.get("namespace"))
            calls.setdefault(user, set()).add(what)
            if not allowed(user, request):
                denied.add((user, *what))
    assert not denied, "requests a real cluster would refuse (403): " + "\n".join(map(str, sorted(denied, key=str)))
    # the check saw the callers: the worker (clusters, Jobs, exec), the watcher (the Job watch), job-runner
    assert {"system:serviceaccount:backrest-queue:backrest-queue-worker",
            "system:serviceaccount:backrest-queue:backrest-queue-watcher",
            f"system:serviceaccount:{MANAGED}:brq-job-runner"} <= set(calls), sorted(calls)
