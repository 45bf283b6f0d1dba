"""What kubesim answers passes the Kubernetes API's own JSON schemas (kubernetes-validate, strict: no unknown
fields), for every kind it serves, in every state a test run reaches."""
from __future__ import annotations

import json
import os

import pytest
from jsonschema import Draft202012Validator

from kubesim import resources, schemas

MANIFEST = os.path.join(os.path.dirname(__file__), "..", "..", "kubesim", "examples", "postgres.yaml")


@pytest.fixture(scope="module")
def populated(kubesim):
    """Every kind in a realistic state: the stack running, a job done, a job failed, a pod unschedulable, a
    StatefulSet rolled out (its claims, revisions), an HPA, a PDB with an eviction charged, an Ingress, RBAC."""
    ns = "schema-check"
    with open(MANIFEST, encoding="utf-8") as f:
        text = f.read().replace("namespace: demo", f"namespace: {ns}").replace("name: demo", f"name: {ns}")
    kubesim.kubectl("apply", "-f", "-", input=text, check=True)
    kubesim.kubectl("-n", ns, "apply", "-f", "-", check=True, input="""
apiVersion: batch/v1
kind: Job
metadata: {name: fails}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: b, command: [sh, -c, "exit 3"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: unschedulable}
spec:
  nodeSelector: {nowhere: "true"}
  containers: [{name: m, image: b, command: ["true"]}]
---
apiVersion: v1
kind: Service
metadata: {name: cache}
spec:
  clusterIP: None
  selector: {app: cache}
  ports: [{port: 7000}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: cache}
spec:
  serviceName: cache
  replicas: 2
  minReadySeconds: 1
  selector: {matchLabels: {app: cache}}
  template:
    metadata: {labels: {app: cache}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: m, image: b, command: [sleep, "3600"], volumeMounts: [{name: data, mountPath: /data}]}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Mi}}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: db}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: db}
  maxReplicas: 1
  behavior: {scaleUp: {selectPolicy: Disabled}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: nothing}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: StatefulSet, name: nothing}
  maxReplicas: 3
  metrics: [{type: Pods, pods: {metric: {name: qps}, target: {type: AverageValue, averageValue: 10}}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: cache}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: cache}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: loose}
spec:
  minAvailable: 50%
  selector: {matchLabels: {app: unmanaged}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  tls: [{hosts: [db.example.com], secretName: tls}]
  rules:
  - host: db.example.com
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: db, port: {number: 5432}}}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [pods], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: default}, {kind: Group, name: readers}]
""")
    kubesim.kubectl("-n", ns, "wait", "--for=condition=available", "deploy/db", "--timeout=60s", check=True)
    kubesim.kubectl("-n", ns, "wait", "--for=condition=complete", "job/query", "--timeout=60s", check=True)
    kubesim.kubectl("-n", ns, "wait", "--for=condition=failed", "job/fails", "--timeout=60s", check=True)
    kubesim.kubectl("-n", ns, "rollout", "status", "statefulset/cache", "--timeout=60s", check=True)
    kubesim.kubectl("-n", ns, "rollout", "restart", "statefulset/cache", check=True)  # a second revision
    kubesim.kubectl("-n", ns, "rollout", "status", "statefulset/cache", "--timeout=60s", check=True)
    kubesim.kubectl("-n", ns, "wait", "pdb/cache", "--for=jsonpath={.status.disruptionsAllowed}=1", "--timeout=30s",
                    check=True)
    kubesim.kubectl("-n", ns, "wait", "hpa/db", "--for=jsonpath={.status.desiredReplicas}=1", "--timeout=30s",
                    check=True)
    # an eviction charged to the budget: disruptedPods while the pod goes
    evict = kubesim.kubectl("create", "--raw", f"/api/v1/namespaces/{ns}/pods/cache-1/eviction", "-f", "-",
                            input=json.dumps({"apiVersion": "policy/v1", "kind": "Eviction",
                                              "metadata": {"name": "cache-1"}}))
    assert evict.returncode == 0, evict.stderr
    yield ns
    kubesim.kubectl("delete", "namespace", ns, "--wait=false")


def _validator(definition: str) -> Draft202012Validator:
    return Draft202012Validator({"$defs": schemas.definitions(), "$ref": f"#/$defs/{definition}"})


@pytest.mark.parametrize("resource", resources.RESOURCES, ids=lambda r: r.key)
def test_every_object_and_list_of_the_kind_passes_its_strict_schema(kubesim, populated, resource):
    out = kubesim.kubectl("get", resource.key, "-A" if resource.namespaced else "--ignore-not-found", "-o", "json",
                          check=True)
    listing = json.loads(out.stdout)
    assert listing["items"], f"no {resource.key} to check"
    validator = _validator(resource.definition)
    problems = [f"{obj['metadata']['name']}: {e.json_path}: {e.message}"
                for obj in listing["items"] for e in validator.iter_errors(obj)]
    assert problems == []
    # and the list itself, as the API returns it (kubectl -o json rewrites it into a v1 List)
    raw = kubesim.kubectl("get", "--raw", resource.base_path(populated if resource.namespaced else None),
                          check=True)
    body = json.loads(raw.stdout)
    list_validator = _validator(resource.definition + "List")
    assert [f"{e.json_path}: {e.message}" for e in list_validator.iter_errors(body)] == []
