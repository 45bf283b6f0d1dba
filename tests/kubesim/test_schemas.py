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
    """Every kind in a realistic state: the stack running, a job done, a job failed, a pod unschedulable."""
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
""")
    kubesim.kubectl("-n", ns, "wait", "--for=condition=available", "deploy/db", "--timeout=60s", check=True)
    kubesim.kubectl("-n", ns, "wait", "--for=condition=complete", "job/query", "--timeout=60s", check=True)
    kubesim.kubectl("-n", ns, "wait", "--for=condition=failed", "job/fails", "--timeout=60s", check=True)
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
