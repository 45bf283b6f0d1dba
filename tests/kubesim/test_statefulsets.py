"""StatefulSets in kubesim, driven by kubectl: ordered pods with a claim each, stable names, persistence
across pod deletion, scaling, rolling updates, deletion that keeps the claims."""
from __future__ import annotations

import json
import time

import pytest

REDIS = """
apiVersion: v1
kind: Service
metadata: {name: redis}
spec:
  clusterIP: None
  selector: {app: redis}
  ports: [{name: redis, port: 6379}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: redis}
spec:
  serviceName: redis
  replicas: 2
  selector: {matchLabels: {app: redis}}
  template:
    metadata: {labels: {app: redis}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: redis
        image: redis:7.2
        env:
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        command: [redis-server, --bind, $(POD_IP), --port, "6379", --dir, /data, --appendonly, "yes",
                  --save, ""]
        ports: [{name: redis, containerPort: 6379}]
        volumeMounts: [{name: data, mountPath: /data}]
        readinessProbe:
          tcpSocket: {port: redis}
          initialDelaySeconds: 1
          periodSeconds: 1
  volumeClaimTemplates:
  - metadata: {name: data, labels: {tier: cache}}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
"""


def _get(kubesim, ns: str, *what: str) -> dict:
    return json.loads(kubesim.kubectl("-n", ns, "get", *what, "-o", "json", check=True).stdout)


def _names(kubesim, ns: str, kind: str, *selector: str) -> list[str]:
    return [o["metadata"]["name"] for o in _get(kubesim, ns, kind, *selector)["items"]]


def _until(probe, until, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s; last value: {value!r}")
        time.sleep(0.2)


def _ready_at(pod: dict) -> str:
    return next(c["lastTransitionTime"] for c in pod["status"]["conditions"] if c["type"] == "Ready")


@pytest.fixture(scope="module")
def redis(kubesim):
    """A Redis StatefulSet of two (AOF on its claims) behind a headless Service, rolled out."""
    ns = "sts-redis"
    kubesim.kubectl("create", "namespace", ns, check=True)
    out = kubesim.kubectl("-n", ns, "apply", "-f", "-", input=REDIS, check=True)
    assert "statefulset.apps/redis created" in out.stdout
    rollout = kubesim.kubectl("-n", ns, "rollout", "status", "statefulset/redis", "--timeout=60s")
    assert rollout.returncode == 0, rollout.stderr
    assert "partitioned roll out complete: 2 new pods have been updated" in rollout.stdout
    yield ns
    kubesim.kubectl("delete", "namespace", ns, "--wait=false")


def test_pods_are_made_in_order_each_once_the_one_before_is_ready(kubesim, redis):
    pods = {p["metadata"]["name"]: p for p in _get(kubesim, redis, "pods", "-l", "app=redis")["items"]}
    assert sorted(pods) == ["redis-0", "redis-1"]
    first, second = pods["redis-0"], pods["redis-1"]
    # OrderedReady: redis-1 was created only once redis-0 was Running and Ready (readiness takes >= 1 s)
    assert second["metadata"]["creationTimestamp"] >= _ready_at(first)
    events = [e["message"] for e in sorted(_get(kubesim, redis, "events", "--field-selector",
                                                "involvedObject.kind=StatefulSet")["items"],
                                           key=lambda e: int(e["metadata"]["resourceVersion"]))]
    creations = [m for m in events if m.startswith("create Pod")]
    assert creations[:2] == ["create Pod redis-0 in StatefulSet redis successful",
                             "create Pod redis-1 in StatefulSet redis successful"]
    for ordinal, pod in enumerate((first, second)):
        md, spec = pod["metadata"], pod["spec"]
        name = f"redis-{ordinal}"
        assert md["labels"]["statefulset.kubernetes.io/pod-name"] == name
        assert md["labels"]["apps.kubernetes.io/pod-index"] == str(ordinal)
        assert md["labels"]["controller-revision-hash"].startswith("redis-")
        assert md["ownerReferences"][0]["kind"] == "StatefulSet" and md["ownerReferences"][0]["controller"]
        assert (spec["hostname"], spec["subdomain"]) == (name, "redis")
        claim = next(v for v in spec["volumes"] if v["name"] == "data")
        assert claim == {"name": "data", "persistentVolumeClaim": {"claimName": f"data-{name}"}}


def test_each_pod_has_its_own_bound_claim_named_after_template_set_and_ordinal(kubesim, redis):
    claims = {c["metadata"]["name"]: c for c in _get(kubesim, redis, "pvc")["items"]}
    assert sorted(claims) == ["data-redis-0", "data-redis-1"]
    for claim in claims.values():
        assert claim["status"]["phase"] == "Bound"
        assert claim["metadata"]["labels"] == {"app": "redis", "tier": "cache"}
        assert "ownerReferences" not in claim["metadata"]  # Retain: the set does not own them
    assert claims["data-redis-0"]["spec"]["volumeName"] != claims["data-redis-1"]["spec"]["volumeName"]


def test_status_and_table_show_the_rollout(kubesim, redis):
    sts = _get(kubesim, redis, "statefulset", "redis")
    status = sts["status"]
    assert status["replicas"] == status["readyReplicas"] == status["availableReplicas"] == 2
    assert status["currentReplicas"] == status["updatedReplicas"] == 2
    assert status["currentRevision"] == status["updateRevision"]
    assert status["observedGeneration"] == sts["metadata"]["generation"]
    assert sts["spec"]["podManagementPolicy"] == "OrderedReady"
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["volumeMode"] == "Filesystem"
    table = kubesim.kubectl("-n", redis, "get", "sts", "-o", "wide", check=True).stdout.split("\n")
    assert table[0].split() == ["NAME", "READY", "AGE", "CONTAINERS", "IMAGES"]
    assert table[1].split()[:2] == ["redis", "2/2"]
    revisions = kubesim.kubectl("-n", redis, "get", "controllerrevisions", check=True).stdout.split("\n")
    assert revisions[0].split() == ["NAME", "CONTROLLER", "REVISION", "AGE"]
    assert revisions[1].split()[1:3] == ["statefulset.apps/redis", "1"]


def test_the_headless_service_names_each_pod_and_the_set(kubesim, redis):
    ips = {p["metadata"]["name"]: p["status"]["podIP"] for p in _get(kubesim, redis, "pods")["items"]}
    for host, ip in (("redis-0.redis", ips["redis-0"]), ("redis-1.redis", ips["redis-1"]),
                     (f"redis-0.redis.{redis}.svc.cluster.local", ips["redis-0"])):
        out = kubesim.kubectl("-n", redis, "exec", "redis-1", "--", "getent", "hosts", host, check=True)
        assert out.stdout.split()[0] == ip, host
    out = kubesim.kubectl("-n", redis, "exec", "redis-0", "--", "getent", "hosts", "redis", check=True)
    assert out.stdout.split()[0] in ips.values()
    # the pod knows itself by its stable network identity
    out = kubesim.kubectl("-n", redis, "exec", "redis-0", "--", "sh", "-c", "echo $HOSTNAME; cat /etc/hosts",
                          check=True)
    assert out.stdout.startswith("redis-0\n")
    assert f"{ips['redis-0']}\tredis-0.redis.{redis}.svc.cluster.local\tredis-0" in out.stdout
    # and a client reaches redis-0 by name
    out = kubesim.kubectl("-n", redis, "exec", "redis-1", "--", "redis-cli", "-h", "redis-0.redis", "ping",
                          check=True)
    assert out.stdout.strip() == "PONG"


def test_a_deleted_pod_comes_back_with_the_same_name_and_claim_and_its_data(kubesim, redis):
    old = _get(kubesim, redis, "pod", "redis-0")
    kubesim.kubectl("-n", redis, "exec", "redis-0", "--", "sh", "-c",
                    "echo kept > /data/marker && redis-cli -h $POD_IP set greeting hello", check=True)
    # kubectl delete waits for the pod to be gone (and does not mistake its replacement for it)
    deleted = kubesim.kubectl("-n", redis, "delete", "pod", "redis-0", "--timeout=30s")
    assert deleted.returncode == 0, deleted.stderr
    kubesim.kubectl("-n", redis, "rollout", "status", "statefulset/redis", "--timeout=60s", check=True)
    new = _get(kubesim, redis, "pod", "redis-0")
    assert new["metadata"]["uid"] != old["metadata"]["uid"]
    claim = next(v for v in new["spec"]["volumes"] if v["name"] == "data")
    assert claim["persistentVolumeClaim"]["claimName"] == "data-redis-0"
    out = kubesim.kubectl("-n", redis, "exec", "redis-0", "--", "sh", "-c",
                          "cat /data/marker; redis-cli -h $POD_IP get greeting", check=True)
    assert out.stdout.split() == ["kept", "hello"]  # the file, and the key from Redis' AOF on the claim


def test_scaling_down_removes_the_highest_ordinal_and_keeps_its_claim_then_up_reuses_it(kubesim, redis):
    kubesim.kubectl("-n", redis, "exec", "redis-1", "--", "sh", "-c", "echo one > /data/who", check=True)
    kubesim.kubectl("-n", redis, "scale", "statefulset/redis", "--replicas=1", check=True)
    _until(lambda: _names(kubesim, redis, "pods", "-l", "app=redis"), lambda n: n == ["redis-0"],
           what="redis-1 gone")
    assert _names(kubesim, redis, "pvc") == ["data-redis-0", "data-redis-1"]
    sts = _until(lambda: _get(kubesim, redis, "sts", "redis"), lambda s: s["status"]["replicas"] == 1,
                 what="status.replicas 1")
    assert sts["status"]["readyReplicas"] == 1
    kubesim.kubectl("-n", redis, "scale", "statefulset/redis", "--replicas=2", check=True)
    kubesim.kubectl("-n", redis, "rollout", "status", "statefulset/redis", "--timeout=60s", check=True)
    out = kubesim.kubectl("-n", redis, "exec", "redis-1", "--", "cat", "/data/who", check=True)
    assert out.stdout == "one\n"


def test_a_template_change_rolls_the_pods_highest_ordinal_first(kubesim, redis):
    before = {p["metadata"]["name"]: p["metadata"]["uid"] for p in _get(kubesim, redis, "pods")["items"]}
    kubesim.kubectl("-n", redis, "rollout", "restart", "statefulset/redis", check=True)
    rollout = kubesim.kubectl("-n", redis, "rollout", "status", "statefulset/redis", "--timeout=90s")
    assert rollout.returncode == 0, rollout.stderr
    pods = {p["metadata"]["name"]: p for p in _get(kubesim, redis, "pods")["items"]}
    assert all(pods[n]["metadata"]["uid"] != before[n] for n in before)
    assert pods["redis-0"]["metadata"]["creationTimestamp"] >= _ready_at(pods["redis-1"])
    sts = _get(kubesim, redis, "sts", "redis")
    assert sts["status"]["currentRevision"] == sts["status"]["updateRevision"]
    assert {p["metadata"]["labels"]["controller-revision-hash"] for p in pods.values()} == {
        sts["status"]["updateRevision"]}
    history = kubesim.kubectl("-n", redis, "rollout", "history", "statefulset/redis", check=True).stdout
    assert [line.split()[0] for line in history.strip().split("\n")[2:]] == ["1", "2"]
    out = kubesim.kubectl("-n", redis, "exec", "redis-0", "--", "sh", "-c", "redis-cli -h $POD_IP get greeting",
                          check=True)
    assert out.stdout.strip() == "hello"


def test_changing_the_claim_templates_is_refused_as_kubernetes_does(kubesim, redis):
    sts = _get(kubesim, redis, "sts", "redis")
    sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] = "2Gi"
    out = kubesim.kubectl("-n", redis, "replace", "-f", "-", input=json.dumps(sts))
    assert out.returncode != 0
    assert "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template'" in out.stderr


def test_deleting_the_set_deletes_its_pods_and_revisions_and_keeps_the_claims(kubesim, redis):
    out = kubesim.kubectl("-n", redis, "delete", "statefulset", "redis", check=True)
    assert 'statefulset.apps "redis" deleted' in out.stdout
    _until(lambda: _names(kubesim, redis, "pods"), lambda n: n == [], what="pods gone")
    _until(lambda: _names(kubesim, redis, "controllerrevisions"), lambda n: n == [], what="revisions gone")
    claims = _get(kubesim, redis, "pvc")["items"]
    assert [c["metadata"]["name"] for c in claims] == ["data-redis-0", "data-redis-1"]
    assert all(c["status"]["phase"] == "Bound" and not c["metadata"].get("deletionTimestamp") for c in claims)
    # applied again, the set finds its claims, and the data on them
    kubesim.kubectl("-n", redis, "apply", "-f", "-", input=REDIS, check=True)
    kubesim.kubectl("-n", redis, "rollout", "status", "statefulset/redis", "--timeout=60s", check=True)
    out = kubesim.kubectl("-n", redis, "exec", "redis-0", "--", "cat", "/data/marker", check=True)
    assert out.stdout == "kept\n"


SLEEPER = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: {name}}}
spec:
  serviceName: {name}
  replicas: {replicas}
  podManagementPolicy: {policy}
  persistentVolumeClaimRetentionPolicy: {{whenDeleted: {retain}, whenScaled: {retain}}}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox
        command: [sh, -c, "exec sleep 3600"]
        readinessProbe:
          exec: {{command: [{ready}]}}
          periodSeconds: 1
        volumeMounts: [{{name: data, mountPath: /data}}]
  volumeClaimTemplates:
  - metadata: {{name: data}}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {{requests: {{storage: 10Mi}}}}
"""


def _sleeper(name: str, replicas: int = 2, policy: str = "OrderedReady", ready: str = "\"true\"",
             retain: str = "Retain") -> str:
    return SLEEPER.format(name=name, replicas=replicas, policy=policy, ready=ready, retain=retain)


def test_ordered_ready_waits_for_a_pod_that_never_becomes_ready(kubesim, namespace):
    kubesim.kubectl("-n", namespace, "apply", "-f", "-", input=_sleeper("stuck", ready="\"false\""), check=True)
    pod = _until(lambda: _get(kubesim, namespace, "pods")["items"],
                 lambda items: items and items[0]["status"].get("phase") == "Running", what="stuck-0 running")
    assert [p["metadata"]["name"] for p in pod] == ["stuck-0"]
    time.sleep(2)
    assert _names(kubesim, namespace, "pods") == ["stuck-0"]
    out = kubesim.kubectl("-n", namespace, "rollout", "status", "statefulset/stuck", "--timeout=2s")
    assert out.returncode != 0 and "Waiting for 2 pods to be ready" in out.stdout


def test_parallel_makes_every_pod_at_once(kubesim, namespace):
    kubesim.kubectl("-n", namespace, "apply", "-f", "-", input=_sleeper("par", replicas=3, policy="Parallel",
                                                                       ready="\"false\""), check=True)
    names = _until(lambda: _names(kubesim, namespace, "pods"), lambda n: len(n) == 3, what="three pods")
    assert names == ["par-0", "par-1", "par-2"]
    assert _names(kubesim, namespace, "pvc") == ["data-par-0", "data-par-1", "data-par-2"]


def test_retention_policy_delete_removes_the_claims_when_scaled_and_when_deleted(kubesim, namespace):
    kubesim.kubectl("-n", namespace, "apply", "-f", "-", input=_sleeper("tmp", retain="Delete"), check=True)
    kubesim.kubectl("-n", namespace, "rollout", "status", "statefulset/tmp", "--timeout=60s", check=True)
    claims = _get(kubesim, namespace, "pvc")["items"]
    assert [c["metadata"]["ownerReferences"][0]["kind"] for c in claims] == ["StatefulSet", "StatefulSet"]
    kubesim.kubectl("-n", namespace, "scale", "statefulset/tmp", "--replicas=1", check=True)
    _until(lambda: _names(kubesim, namespace, "pvc"), lambda n: n == ["data-tmp-0"], what="data-tmp-1 gone")
    kubesim.kubectl("-n", namespace, "delete", "statefulset", "tmp", check=True)
    _until(lambda: _names(kubesim, namespace, "pvc"), lambda n: n == [], what="claims gone")
    assert _names(kubesim, namespace, "pods") == []


def test_a_set_deleted_with_cascade_orphan_adopts_its_pods_and_revision_when_applied_again(kubesim, namespace):
    kubesim.kubectl("-n", namespace, "apply", "-f", "-", input=_sleeper("keep"), check=True)
    kubesim.kubectl("-n", namespace, "rollout", "status", "statefulset/keep", "--timeout=60s", check=True)
    uids = {p["metadata"]["name"]: p["metadata"]["uid"] for p in _get(kubesim, namespace, "pods")["items"]}
    kubesim.kubectl("-n", namespace, "delete", "statefulset", "keep", "--cascade=orphan", check=True)
    orphans = _get(kubesim, namespace, "pods,controllerrevisions")["items"]
    assert len(orphans) == 3 and not any(o["metadata"].get("ownerReferences") for o in orphans)
    kubesim.kubectl("-n", namespace, "apply", "-f", "-", input=_sleeper("keep"), check=True)
    kubesim.kubectl("-n", namespace, "rollout", "status", "statefulset/keep", "--timeout=60s", check=True)
    sts = _get(kubesim, namespace, "sts", "keep")
    owned = _get(kubesim, namespace, "pods,controllerrevisions")["items"]
    assert {o["metadata"]["ownerReferences"][0]["uid"] for o in owned} == {sts["metadata"]["uid"]}
    assert {p["metadata"]["name"]: p["metadata"]["uid"] for p in owned if p["kind"] == "Pod"} == uids
