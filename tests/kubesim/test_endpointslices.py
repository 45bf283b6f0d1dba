"""EndpointSlices: each Service with a selector lists its pods' addresses, with readiness, as a real cluster's
endpoint slice controller does; `kubectl get endpointslices` prints them; an exec probe's failure says why."""
from __future__ import annotations

import json
import time

APP = """
apiVersion: v1
kind: Service
metadata: {name: web, labels: {tier: front}}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}, {name: metrics, port: 9100, targetPort: 9100}]
---
apiVersion: v1
kind: Service
metadata: {name: manual}
spec:
  ports: [{port: 5432}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: busybox
        command: [sleep, "3600"]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          exec:
            command: [sh, -c, 'test -f /tmp/ready || { echo "no /tmp/ready in $HOSTNAME"; exit 1; }']
          periodSeconds: 1
"""


def _until(probe, until, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s; last value: {value!r}")
        time.sleep(0.2)


def _slices(kubesim, ns: str, service: str) -> list[dict]:
    out = kubesim.kubectl("-n", ns, "get", "endpointslices", "-l", f"kubernetes.io/service-name={service}",
                          "-o", "json", check=True)
    return json.loads(out.stdout)["items"]


def _endpoints(kubesim, ns: str, service: str) -> dict[str, bool]:
    return {ep["targetRef"]["name"]: ep["conditions"]["ready"]
            for s in _slices(kubesim, ns, service) for ep in s.get("endpoints") or []}


def _pods(kubesim, ns: str) -> dict[str, str]:
    out = kubesim.kubectl("-n", ns, "get", "pods", "-l", "app=web", "-o", "json", check=True)
    return {p["metadata"]["name"]: p["status"].get("podIP") for p in json.loads(out.stdout)["items"]
            if not p["metadata"].get("deletionTimestamp")}


def test_a_services_slice_follows_its_pods_and_their_readiness(kubesim, namespace):
    kubesim.kubectl("-n", namespace, "apply", "-f", "-", input=APP, check=True)
    pods = _until(lambda: _pods(kubesim, namespace), lambda p: len(p) == 2 and all(p.values()), what="two pods")
    eps = _until(lambda: _endpoints(kubesim, namespace, "web"), lambda e: set(e) == set(pods), what="endpoints")
    assert eps == {name: False for name in pods}   # listed, not ready: their probe fails
    (slice_,) = _slices(kubesim, namespace, "web")
    assert slice_["metadata"]["name"].startswith("web-") and slice_["addressType"] == "IPv4"
    assert slice_["metadata"]["labels"] == {"tier": "front", "kubernetes.io/service-name": "web",
                                            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}
    (owner,) = slice_["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("Service", "web", True)
    # the named targetPort resolved against the pod's container port; the numbered one as it is
    assert sorted((p["name"], p["port"], p["protocol"]) for p in slice_["ports"]) == [
        ("http", 8080, "TCP"), ("metrics", 9100, "TCP")]
    by_pod = {ep["targetRef"]["name"]: ep for ep in slice_["endpoints"]}
    for name, ip in pods.items():
        assert by_pod[name]["addresses"] == [ip] and by_pod[name]["nodeName"] == "kubesim"
        assert by_pod[name]["conditions"] == {"ready": False, "serving": False, "terminating": False}

    # why they are not ready: the probe's own output, as the kubelet reports it
    first = sorted(pods)[0]
    events = _until(lambda: kubesim.kubectl("-n", namespace, "get", "events", "--field-selector",
                                            f"involvedObject.name={first},reason=Unhealthy", "-o", "json",
                                            check=True).stdout,
                    lambda out: json.loads(out)["items"], what="an Unhealthy event")
    assert json.loads(events)["items"][0]["message"] == f"Readiness probe failed: no /tmp/ready in {first}\n"

    kubesim.kubectl("-n", namespace, "exec", first, "--", "touch", "/tmp/ready", check=True)
    _until(lambda: _endpoints(kubesim, namespace, "web"), lambda e: e == {n: n == first for n in pods},
           what="the first pod ready")

    # kubectl get prints the server's columns
    table = kubesim.kubectl("-n", namespace, "get", "endpointslices", check=True).stdout.splitlines()
    assert table[0].split() == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    row = next(line.split() for line in table[1:] if line.startswith("web-"))
    assert row[1:4] == ["IPv4", "8080,9100", ",".join(pods[n] for n in sorted(pods))]   # endpoints by pod name

    # a Service without a selector gets no managed slice (its endpoints are the user's to write)
    assert _slices(kubesim, namespace, "manual") == []

    # scaled to zero: one empty slice, printed <unset>
    kubesim.kubectl("-n", namespace, "scale", "deployment/web", "--replicas=0", check=True)
    _until(lambda: _slices(kubesim, namespace, "web"), lambda s: len(s) == 1 and not s[0]["endpoints"],
           what="an empty slice")
    row = next(line.split() for line in kubesim.kubectl("-n", namespace, "get", "endpointslices",
                                                         check=True).stdout.splitlines() if line.startswith("web-"))
    assert row[1:4] == ["IPv4", "<unset>", "<unset>"]

    # the slices go with their Service
    kubesim.kubectl("-n", namespace, "delete", "service", "web", check=True)
    _until(lambda: _slices(kubesim, namespace, "web"), lambda s: s == [], what="no slice")


HEADLESS = """
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{port: 5432}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: db, image: busybox, command: [sleep, "3600"]}]
"""


def test_a_headless_services_slice_names_each_statefulset_pods_hostname(kubesim, namespace):
    kubesim.kubectl("-n", namespace, "apply", "-f", "-", input=HEADLESS, check=True)
    slices = _until(lambda: _slices(kubesim, namespace, "db"),
                    lambda s: len(s) == 1 and any(ep["conditions"]["ready"] for ep in s[0]["endpoints"]),
                    what="a ready endpoint")
    (ep,) = slices[0]["endpoints"]
    assert ep["hostname"] == "db-0" and ep["targetRef"]["name"] == "db-0"
    assert slices[0]["metadata"]["labels"]["service.kubernetes.io/headless"] == ""
    assert slices[0]["ports"] == [{"name": "", "port": 5432, "protocol": "TCP"}]
