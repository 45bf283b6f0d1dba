"""The Kubernetes API's JSON schemas, as the `kubernetes-validate` package ships them.

One Kubernetes minor version is served (`KUBE_MINOR`); its strict schemas (no
unknown fields) are loaded once, lazily, and shared by field validation, the
strategic-merge patch (merge keys) and the OpenAPI documents kubectl reads.
"""
from __future__ import annotations

import functools
import json
import os

import kubernetes_validate

KUBE_MAJOR = "1"
KUBE_MINOR = "32"


def schema_dir(strict: bool = True) -> str:
    suffix = "-local-strict" if strict else "-local"
    return os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema",
                        f"v{KUBE_MAJOR}.{KUBE_MINOR}.0{suffix}")


@functools.cache
def definitions() -> dict[str, dict]:
    """Definition name (`io.k8s.api.apps.v1.Deployment`) → its JSON schema (2020-12, `$ref`s to `#/$defs/…`)."""
    with open(os.path.join(schema_dir(), "_definitions.json"), encoding="utf-8") as f:
        return json.load(f)["$defs"]
