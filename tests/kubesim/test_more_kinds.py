"""The kinds a service's manifests bring besides workloads — RBAC, HorizontalPodAutoscaler,
PodDisruptionBudget, Ingress — and a whole service applied with `kubectl apply -k`, as issue 6 ships it."""
from __future__ import annotations

import json

import kubernetes_validate
import pytest
import yaml
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from tests.support.waiting import condition, eventually

SERVICE = """
apiVersion: v1
kind: Namespace
metadata: {name: placeholder}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: brq}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: brq}
rules:
- apiGroups: [""]
  resources: [pods, pods/log, persistentvolumeclaims, secrets]
  verbs: [get, list, watch, create, delete]
- apiGroups: [""]
  resources: [pods/exec]
  verbs: [create, get]
- apiGroups: [batch]
  resources: [jobs]
  verbs: [get, list, watch, create, delete, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: brq}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: brq}
subjects:
- {kind: ServiceAccount, name: brq}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "brq-test:namespaces"}
rules:
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "brq-test:namespaces"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "brq-test:namespaces"}
subjects:
- {kind: ServiceAccount, name: brq, namespace: placeholder}
---
apiVersion: v1
kind: Secret
metadata: {name: brq-secrets}
stringData: {API_TOKENS: "not-a-real-token"}
---
apiVersion: v1
kind: Service
metadata: {name: redis}
spec:
  clusterIP: None
  selector: {app.kubernetes.io/name: redis}
  ports: [{name: redis, port: 6379}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: redis}
spec:
  serviceName: redis
  replicas: 1
  selector: {matchLabels: {app.kubernetes.io/name: redis}}
  template:
    metadata: {labels: {app.kubernetes.io/name: redis}}
    spec:
      containers:
      - name: redis
        image: redis:7.2
        env:
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        command: [redis-server, --bind, $(POD_IP), --dir, /data, --appendonly, "yes"]
        ports: [{name: redis, containerPort: 6379}]
        readinessProbe:
          tcpSocket: {port: redis}
          periodSeconds: 1
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Service
metadata: {name: api}
spec:
  selector: {app.kubernetes.io/name: api}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 2
  selector: {matchLabels: {app.kubernetes.io/name: api}}
  template:
    metadata: {labels: {app.kubernetes.io/name: api}}
    spec:
      serviceAccountName: brq
      terminationGracePeriodSeconds: 1
      containers:
      - name: api
        image: brq:1
        command: [sh, -c, "redis-cli -h redis ping && exec sleep 3600"]
        envFrom: [{configMapRef: {name: brq-conf}}, {secretRef: {name: brq-secrets}}]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          exec: {command: [redis-cli, -h, redis, ping]}
          periodSeconds: 1
        resources:
          requests: {cpu: 100m, memory: 128Mi}
          limits: {memory: 256Mi}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: worker}
spec:
  replicas: 1
  selector: {matchLabels: {app.kubernetes.io/name: worker}}
  template:
    metadata: {labels: {app.kubernetes.io/name: worker}}
    spec:
      serviceAccountName: brq
      terminationGracePeriodSeconds: 1
      containers:
      - name: worker
        image: brq:1
        command: [sleep, "3600"]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: worker}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: worker}
  minReplicas: 2
  maxReplicas: 4
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 75}}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 120}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: api}
spec:
  minAvailable: 1
  selector: {matchLabels: {app.kubernetes.io/name: api}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: redis}
spec:
  maxUnavailable: 0
  selector: {matchLabels: {app.kubernetes.io/name: redis}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: api}
spec:
  ingressClassName: nginx
  tls: [{hosts: [brq.example.com], secretName: brq-tls}]
  rules:
  - host: brq.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service: {name: api, port: {name: http}}
"""

KINDS = ["namespace", "serviceaccount", "role.rbac.authorization.k8s.io", "rolebinding.rbac.authorization.k8s.io",
         "clusterrole.rbac.authorization.k8s.io", "clusterrolebinding.rbac.authorization.k8s.io", "configmap",
         "secret", "service", "statefulset.apps", "deployment.apps", "horizontalpodautoscaler.autoscaling",
         "poddisruptionbudget.policy", "ingress.networking.k8s.io"]


@pytest.fixture(scope="module")
def service(kubesim, tmp_path_factory):
    """The whole service applied with `kubectl apply -k` (kustomize: namespace, a generated ConfigMap)."""
    ns = "brq-kustomized"
    base = tmp_path_factory.mktemp("k8s")
    (base / "service.yaml").write_text(SERVICE.replace("placeholder", ns))
    (base / "pgo.yaml").write_text("cluster: demo\n")
    (base / "kustomization.yaml").write_text(
        f"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: {ns}\n"
        "resources: [service.yaml]\n"
        "configMapGenerator:\n- name: brq-conf\n  literals: [BRQ_LOG=json]\n  files: [pgo.yaml]\n")
    out = kubesim.kubectl("apply", "-k", str(base))
    yield ns, str(base), out
    kubesim.kubectl("delete", "namespace", ns, "--wait=false")
    kubesim.kubectl("delete", "clusterrole,clusterrolebinding", "brq-test:namespaces", "--ignore-not-found")


def test_apply_k_creates_every_kind_and_a_second_apply_changes_nothing(kubesim, service):
    ns, base, out = service
    assert out.returncode == 0, out.stderr
    created = [line.split()[0].split("/")[0] for line in out.stdout.strip().split("\n")]
    assert sorted(set(created)) == sorted(KINDS), out.stdout
    assert all(line.endswith(" created") for line in out.stdout.strip().split("\n")), out.stdout
    again = kubesim.kubectl("apply", "-k", base, check=True)
    verdicts = dict(line.rsplit(" ", 1) for line in again.stdout.strip().split("\n"))
    # what a real cluster answers too: kubectl's patch always carries a Secret's stringData, a PDB's selector
    # (patch strategy "replace"), a StatefulSet's claim templates (the server fills in apiVersion, kind,
    # status), and the replicas the HPA changed
    configured = {"secret/brq-secrets", "poddisruptionbudget.policy/api", "poddisruptionbudget.policy/redis",
                  "statefulset.apps/redis", "deployment.apps/worker"}
    assert {k for k, v in verdicts.items() if v == "configured"} == configured, again.stdout
    assert {v for k, v in verdicts.items() if k not in configured} == {"unchanged"}, again.stdout
    # strict server-side field validation accepts every object as written
    dry = kubesim.kubectl("apply", "-k", base, "--dry-run=server", "--validate=strict", check=True)
    assert "(server dry run)" in dry.stdout


def test_every_workload_rolls_out(kubesim, service):
    ns = service[0]
    for what in ("statefulset/redis", "deployment/api", "deployment/worker"):
        out = kubesim.kubectl("-n", ns, "rollout", "status", what, "--timeout=90s")
        assert out.returncode == 0, (what, out.stdout, out.stderr)
    out = kubesim.kubectl("-n", ns, "rollout", "status", "deployment/api", "--timeout=10s", check=True)
    assert 'deployment "api" successfully rolled out' in out.stdout
    out = kubesim.kubectl("-n", ns, "get", "all", check=True).stdout
    assert "statefulset.apps/redis" in out and "horizontalpodautoscaler.autoscaling/worker" in out


def test_kubectl_get_prints_each_new_kind_with_its_server_side_columns(kubesim, service):
    ns = service[0]

    def header(*args: str) -> list[str]:
        return kubesim.kubectl(*args, check=True).stdout.split("\n")[0].split()

    assert header("-n", ns, "get", "role") == ["NAME", "CREATED", "AT"]
    assert header("-n", ns, "get", "rolebinding", "-o", "wide") == ["NAME", "ROLE", "AGE", "USERS", "GROUPS",
                                                                    "SERVICEACCOUNTS"]
    row = kubesim.kubectl("-n", ns, "get", "rolebinding", "brq", "-o", "wide", "--no-headers", check=True).stdout
    assert row.split()[1] == "Role/brq" and row.split()[-1] == f"{ns}/brq"
    row = kubesim.kubectl("get", "clusterrolebinding", "brq-test:namespaces", "--no-headers", check=True).stdout
    assert row.split()[1] == "ClusterRole/brq-test:namespaces"
    assert "cluster-admin" in kubesim.kubectl("get", "clusterroles", check=True).stdout  # bootstrap role
    assert header("-n", ns, "get", "hpa") == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS",
                                              "AGE"]
    row = kubesim.kubectl("-n", ns, "get", "hpa", "worker", "--no-headers", check=True).stdout.split()
    assert row[:3] == ["worker", "Deployment/worker", "cpu:"] and row[3:7] == ["<unknown>/75%", "2", "4", "2"]
    assert header("-n", ns, "get", "pdb") == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED",
                                              "DISRUPTIONS", "AGE"]
    rows = {r.split()[0]: r.split() for r in kubesim.kubectl("-n", ns, "get", "pdb", "--no-headers",
                                                             check=True).stdout.strip().split("\n")}
    assert rows["api"][1:4] == ["1", "N/A", "1"] and rows["redis"][1:4] == ["N/A", "0", "0"]
    assert header("-n", ns, "get", "ingress") == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    row = kubesim.kubectl("-n", ns, "get", "ing", "api", "--no-headers", check=True).stdout.split()
    assert row[:3] == ["api", "nginx", "brq.example.com"] and row[3:5] == ["80,", "443"]


def test_the_hpa_keeps_its_target_within_bounds_and_reports_why_it_does_not_scale_on_metrics(kubesim, service):
    ns = service[0]
    dep = json.loads(kubesim.kubectl("-n", ns, "get", "deploy", "worker", "-o", "json", check=True).stdout)
    assert dep["spec"]["replicas"] == 2  # 1 in the manifest, raised to minReplicas
    hpa = json.loads(kubesim.kubectl("-n", ns, "get", "hpa", "worker", "-o", "json", check=True).stdout)
    assert hpa["spec"]["behavior"]["scaleDown"] == {
        "stabilizationWindowSeconds": 120, "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}
    assert hpa["spec"]["behavior"]["scaleUp"]["policies"][0] == {"type": "Pods", "value": 4, "periodSeconds": 15}
    status = hpa["status"]
    assert (status["currentReplicas"], status["desiredReplicas"]) == (2, 2)
    conds = {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}
    assert conds == {"AbleToScale": ("True", "ReadyForNewScale"), "ScalingActive": ("False", "FailedGetResourceMetric"),
                     "ScalingLimited": ("False", "DesiredWithinRange")}
    assert status["lastScaleTime"]
    events = kubesim.kubectl("-n", ns, "get", "events", "--field-selector", "involvedObject.name=worker,"
                             "involvedObject.kind=HorizontalPodAutoscaler", check=True).stdout
    assert "New size: 2; reason: Current number of replicas below Spec.MinReplicas" in events
    # above the maximum: brought down to it
    kubesim.kubectl("-n", ns, "scale", "deploy/worker", "--replicas=6", check=True)
    out = kubesim.kubectl("-n", ns, "wait", "hpa/worker", "--for=jsonpath={.status.currentReplicas}=4",
                          "--timeout=30s")
    assert out.returncode == 0, out.stderr
    assert json.loads(kubesim.kubectl("-n", ns, "get", "deploy", "worker", "-o", "json",
                                      check=True).stdout)["spec"]["replicas"] == 4
    kubesim.kubectl("-n", ns, "scale", "deploy/worker", "--replicas=2", check=True)


async def test_pdb_status_counts_the_selected_pods_and_eviction_obeys_it(kubesim, service, api):
    ns = service[0]
    policy = client.PolicyV1Api(api)
    core = client.CoreV1Api(api)
    pdb = await eventually(lambda: policy.read_namespaced_pod_disruption_budget("api", ns),
                           lambda p: p.status.current_healthy == 2, what="2 healthy api pods")
    assert (pdb.status.expected_pods, pdb.status.desired_healthy, pdb.status.disruptions_allowed) == (2, 1, 1)
    assert pdb.status.observed_generation == pdb.metadata.generation
    assert condition(pdb, "DisruptionAllowed").reason == "SufficientPods"
    redis = await policy.read_namespaced_pod_disruption_budget("redis", ns)
    # maxUnavailable: the expected pods come from the StatefulSet's scale
    assert (redis.status.expected_pods, redis.status.desired_healthy, redis.status.disruptions_allowed) == (1, 1, 0)
    assert condition(redis, "DisruptionAllowed").reason == "InsufficientPods"

    with pytest.raises(ApiException) as err:
        await core.create_namespaced_pod_eviction("redis-0", ns, {"metadata": {"name": "redis-0"}})
    assert err.value.status == 429
    body = json.loads(err.value.body)
    assert body["reason"] == "TooManyRequests"
    assert body["details"]["causes"] == [{"reason": "DisruptionBudget",
                                          "message": "The disruption budget redis needs 1 healthy pods and has 1 "
                                                     "currently"}]
    pods = await core.list_namespaced_pod(ns, label_selector="app.kubernetes.io/name=api")
    victim, other = (p.metadata.name for p in pods.items)
    await core.create_namespaced_pod_eviction(victim, ns, {"metadata": {"name": victim}})
    with pytest.raises(ApiException) as err:  # the budget is spent until a replacement is ready
        await core.create_namespaced_pod_eviction(other, ns, {"metadata": {"name": other}})
    assert err.value.status == 429
    await eventually(lambda: policy.read_namespaced_pod_disruption_budget("api", ns),
                     lambda p: p.status.disruptions_allowed == 1 and not p.status.disrupted_pods,
                     timeout=60, what="the api budget restored")


def test_delete_k_removes_the_service_and_cascades(kubesim, service):
    ns, base, _ = service
    out = kubesim.kubectl("delete", "-k", base, "--timeout=60s")
    assert out.returncode == 0, out.stderr
    assert kubesim.kubectl("get", "namespace", ns).returncode != 0
    assert kubesim.kubectl("get", "clusterrole", "brq-test:namespaces").returncode != 0


# ------------------------------------------------------------------ kubernetes_asyncio, kind by kind

def _rule(*verbs: str) -> dict:
    return {"apiGroups": [""], "resources": ["pods"], "verbs": list(verbs)}


async def _crud(create, read, list_, patch, delete, name: str, body: dict, *ns: str):
    created = await create(*ns, body)
    assert created.metadata.name == name and created.metadata.uid
    got = await read(name, *ns)
    assert got.metadata.uid == created.metadata.uid
    listed = await list_(*ns)
    assert name in [i.metadata.name for i in listed.items]
    patched = await patch(name, *ns, {"metadata": {"labels": {"patched": "yes"}}})
    assert patched.metadata.labels == {"patched": "yes"}
    await delete(name, *ns)
    with pytest.raises(ApiException) as err:
        await read(name, *ns)
    assert err.value.status == 404
    return created


async def test_rbac_kinds_create_read_list_patch_delete(api, namespace):
    rbac = client.RbacAuthorizationV1Api(api)
    role = await _crud(rbac.create_namespaced_role, rbac.read_namespaced_role, rbac.list_namespaced_role,
                       rbac.patch_namespaced_role, rbac.delete_namespaced_role, "reader",
                       {"metadata": {"name": "reader"}, "rules": [_rule("get", "list")]}, namespace)
    assert role.rules[0].verbs == ["get", "list"] and role.kind == "Role"
    binding = await _crud(rbac.create_namespaced_role_binding, rbac.read_namespaced_role_binding,
                          rbac.list_namespaced_role_binding, rbac.patch_namespaced_role_binding,
                          rbac.delete_namespaced_role_binding, "reader",
                          {"metadata": {"name": "reader"},
                           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
                           "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": namespace},
                                        {"kind": "User", "name": "alice"}]}, namespace)
    assert binding.subjects[1].api_group == "rbac.authorization.k8s.io"  # defaulted for users and groups
    name = f"{namespace}:reader"
    cluster_role = await _crud(rbac.create_cluster_role, rbac.read_cluster_role, rbac.list_cluster_role,
                               rbac.patch_cluster_role, rbac.delete_cluster_role, name,
                               {"metadata": {"name": name}, "rules": [_rule("get"), {"nonResourceURLs": ["/healthz"],
                                                                                      "verbs": ["get"]}]})
    assert cluster_role.metadata.namespace is None
    await _crud(rbac.create_cluster_role_binding, rbac.read_cluster_role_binding, rbac.list_cluster_role_binding,
                rbac.patch_cluster_role_binding, rbac.delete_cluster_role_binding, name,
                {"metadata": {"name": name},
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                 "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": namespace}]})


async def test_hpa_pdb_ingress_statefulset_create_read_list_patch_delete(api, namespace):
    auto = client.AutoscalingV2Api(api)
    hpa = await _crud(auto.create_namespaced_horizontal_pod_autoscaler, auto.read_namespaced_horizontal_pod_autoscaler,
                      auto.list_namespaced_horizontal_pod_autoscaler, auto.patch_namespaced_horizontal_pod_autoscaler,
                      auto.delete_namespaced_horizontal_pod_autoscaler, "h",
                      {"metadata": {"name": "h"}, "spec": {"maxReplicas": 3, "scaleTargetRef": {
                          "apiVersion": "apps/v1", "kind": "Deployment", "name": "missing"}}}, namespace)
    assert hpa.spec.min_replicas == 1  # defaults: minReplicas 1, 80% CPU
    assert hpa.spec.metrics[0].resource.target.average_utilization == 80
    policy = client.PolicyV1Api(api)
    pdb = await _crud(policy.create_namespaced_pod_disruption_budget, policy.read_namespaced_pod_disruption_budget,
                      policy.list_namespaced_pod_disruption_budget, policy.patch_namespaced_pod_disruption_budget,
                      policy.delete_namespaced_pod_disruption_budget, "p",
                      {"metadata": {"name": "p"}, "spec": {"maxUnavailable": "50%", "selector": {
                          "matchLabels": {"app": "none"}}}}, namespace)
    assert pdb.spec.max_unavailable == "50%"
    net = client.NetworkingV1Api(api)
    ing = await _crud(net.create_namespaced_ingress, net.read_namespaced_ingress, net.list_namespaced_ingress,
                      net.patch_namespaced_ingress, net.delete_namespaced_ingress, "i",
                      {"metadata": {"name": "i"}, "spec": {"defaultBackend": {"service": {
                          "name": "web", "port": {"number": 80}}}}}, namespace)
    assert ing.spec.default_backend.service.port.number == 80
    apps = client.AppsV1Api(api)
    sts = await _crud(apps.create_namespaced_stateful_set, apps.read_namespaced_stateful_set,
                      apps.list_namespaced_stateful_set, apps.patch_namespaced_stateful_set,
                      apps.delete_namespaced_stateful_set, "s",
                      {"metadata": {"name": "s"}, "spec": {
                          "serviceName": "s", "replicas": 0, "selector": {"matchLabels": {"app": "s"}},
                          "template": {"metadata": {"labels": {"app": "s"}}, "spec": {"containers": [
                              {"name": "m", "image": "busybox", "command": ["sleep", "60"]}]}}}}, namespace)
    assert sts.spec.update_strategy.rolling_update.partition == 0


async def test_hpa_status_and_scale_subresource_of_a_statefulset(api, namespace):
    apps, auto = client.AppsV1Api(api), client.AutoscalingV2Api(api)
    await apps.create_namespaced_stateful_set(namespace, {"metadata": {"name": "s"}, "spec": {
        "serviceName": "s", "replicas": 0, "selector": {"matchLabels": {"app": "s"}},
        "template": {"metadata": {"labels": {"app": "s"}}, "spec": {"containers": [
            {"name": "m", "image": "busybox", "command": ["sleep", "60"]}]}}}})
    await auto.create_namespaced_horizontal_pod_autoscaler(namespace, {"metadata": {"name": "s"}, "spec": {
        "minReplicas": 1, "maxReplicas": 3, "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "StatefulSet",
                                                              "name": "s"}}})
    hpa = await eventually(lambda: auto.read_namespaced_horizontal_pod_autoscaler("s", namespace),
                           lambda h: condition(h, "ScalingActive") is not None, what="hpa status")
    assert condition(hpa, "ScalingActive").reason == "ScalingDisabled"  # a target at zero is left alone
    assert hpa.status.desired_replicas == 0
    scale = await apps.patch_namespaced_stateful_set_scale("s", namespace, {"spec": {"replicas": 1}})
    assert scale.spec.replicas == 1
    hpa = await eventually(lambda: auto.read_namespaced_horizontal_pod_autoscaler("s", namespace),
                           lambda h: h.status.current_replicas == 1, what="hpa sees one replica")
    assert hpa.status.desired_replicas == 1


async def test_invalid_objects_of_the_new_kinds_are_refused_with_kubernetes_messages(api, namespace):
    rbac, policy, auto = client.RbacAuthorizationV1Api(api), client.PolicyV1Api(api), client.AutoscalingV2Api(api)
    net = client.NetworkingV1Api(api)

    async def refused(call, *args) -> str:
        with pytest.raises(ApiException) as err:
            await call(*args)
        assert err.value.status == 422, err.value.body
        return json.loads(err.value.body)["message"]

    msg = await refused(rbac.create_namespaced_role, namespace, {"metadata": {"name": "r"}, "rules": [
        {"apiGroups": [""], "resources": ["pods"], "verbs": []}]})
    assert msg == 'Role.rbac.authorization.k8s.io "r" is invalid: rules[0].verbs: Required value: verbs must ' \
                  'contain at least one value'
    msg = await refused(rbac.create_namespaced_role_binding, namespace, {"metadata": {"name": "b"}, "roleRef": {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "Secret", "name": "x"}, "subjects": []})
    assert 'roleRef.kind: Unsupported value: "Secret": supported values: "Role", "ClusterRole"' in msg
    await rbac.create_namespaced_role_binding(namespace, {"metadata": {"name": "b"}, "roleRef": {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "x"}})
    msg = await refused(rbac.patch_namespaced_role_binding, "b", namespace, {"roleRef": {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "y"}})
    assert msg.endswith('roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"Role", '
                        'Name:"y"}: cannot change roleRef')
    msg = await refused(policy.create_namespaced_pod_disruption_budget, namespace, {"metadata": {"name": "p"},
                                                                                    "spec": {"minAvailable": 1,
                                                                                             "maxUnavailable": 1}})
    assert "minAvailable and maxUnavailable cannot be both set" in msg
    msg = await refused(auto.create_namespaced_horizontal_pod_autoscaler, namespace, {"metadata": {"name": "h"},
                        "spec": {"minReplicas": 3, "maxReplicas": 2, "scaleTargetRef": {"kind": "Deployment",
                                                                                         "name": "x"}}})
    assert "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`" in msg
    msg = await refused(net.create_namespaced_ingress, namespace, {"metadata": {"name": "i"}, "spec": {"rules": [
        {"http": {"paths": [{"path": "api", "pathType": "Prefix", "backend": {"service": {
            "name": "api", "port": {"number": 80}}}}]}}]}})
    assert 'spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path' in msg


def test_kubectl_create_generators_of_the_new_kinds(kubesim, namespace):
    ns = ["-n", namespace]
    for args in (["create", "role", "pod-reader", "--verb=get,list", "--resource=pods,deployments.apps"],
                 ["create", "rolebinding", "pod-reader", "--role=pod-reader", f"--serviceaccount={namespace}:default",
                  "--user=alice"],
                 ["create", "poddisruptionbudget", "web", "--selector=app=web", "--min-available=50%"],
                 ["create", "ingress", "web", "--class=nginx", "--rule=web.example.com/api*=web:8080,tls=web-tls"]):
        out = kubesim.kubectl(*ns, *args)
        assert out.returncode == 0, (args, out.stderr)
    role = json.loads(kubesim.kubectl(*ns, "get", "role", "pod-reader", "-o", "json", check=True).stdout)
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
                             {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]}]
    binding = json.loads(kubesim.kubectl(*ns, "get", "rolebinding", "pod-reader", "-o", "json", check=True).stdout)
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"}
    assert {s["kind"] for s in binding["subjects"]} == {"User", "ServiceAccount"}
    pdb = json.loads(kubesim.kubectl(*ns, "get", "pdb", "web", "-o", "json", check=True).stdout)
    assert pdb["spec"] == {"minAvailable": "50%", "selector": {"matchLabels": {"app": "web"}}}
    ing = json.loads(kubesim.kubectl(*ns, "get", "ingress", "web", "-o", "json", check=True).stdout)
    path = ing["spec"]["rules"][0]["http"]["paths"][0]
    assert (path["path"], path["pathType"], path["backend"]["service"]["port"]["number"]) == ("/api", "Prefix", 8080)
    name = f"{namespace}-view"
    try:
        kubesim.kubectl("create", "clusterrole", name, "--verb=get", "--non-resource-url=/healthz", check=True)
        kubesim.kubectl("create", "clusterrolebinding", name, f"--clusterrole={name}", "--group=devs", check=True)
        row = kubesim.kubectl("get", "clusterrolebinding", name, "-o", "wide", "--no-headers", check=True).stdout
        assert row.split()[1] == f"ClusterRole/{name}" and "devs" in row.split()
    finally:
        kubesim.kubectl("delete", "clusterrole,clusterrolebinding", name, "--ignore-not-found")


def test_kubectl_explain_knows_the_new_kinds(kubesim):
    for kind, field in (("statefulset.spec.volumeClaimTemplates", "FIELD: volumeClaimTemplates"),
                        ("hpa.spec.behavior", "FIELD: behavior"), ("pdb.spec.minAvailable", "FIELD: minAvailable"),
                        ("rolebinding.roleRef", "FIELD: roleRef"), ("ingress.spec.rules", "FIELD: rules")):
        out = kubesim.kubectl("explain", kind)
        assert out.returncode == 0 and field in out.stdout, (kind, out.stderr)


def test_the_service_manifest_passes_the_kubernetes_schemas_offline():
    """The manifest used here is valid Kubernetes 1.32, by kubernetes-validate, strict (no kubesim involved)."""
    for doc in yaml.safe_load_all(SERVICE):
        kubernetes_validate.validate(doc, "1.32.0", strict=True)
