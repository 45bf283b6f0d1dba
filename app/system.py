"""`/healthz` (alive, no token), `/readyz` (Redis and the Kubernetes API answer), `/api/v1/config` (settings
without secrets).

The API itself never calls Kubernetes, but a replica whose cluster is unreachable would accept tasks nobody can
run: it is not ready.  The Kubernetes check is cached for 5 s per process (tasks/health.py); set
`BRQ_READYZ_KUBERNETES=false` to leave it out (an API run apart from any cluster, as in the API tests).
"""
from __future__ import annotations

import os

from flask import Blueprint, current_app, jsonify

from tasks import health

from .common import runtime
from .errors import ApiError

blp = Blueprint("system", __name__)


@blp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


def _kube_check():
    check = current_app.config.get("BRQ_KUBE_CHECK")
    if check is None:
        check = current_app.config["BRQ_KUBE_CHECK"] = health.CachedCheck(
            lambda kubeconfig=runtime().kubeconfig: health.kube_check(kubeconfig))
    return check()


@blp.get("/readyz")
def readyz():
    checks = [health.redis_check(runtime().redis)]
    if os.environ.get("BRQ_READYZ_KUBERNETES", "true").lower() not in ("false", "0", "no"):
        checks.append(_kube_check())
    failed = [c for c in checks if not c.ok]
    if failed:
        raise ApiError(503, "; ".join(c.detail for c in failed), details={"checks": [c.to_json() for c in checks]})
    return jsonify({"status": "ready", "checks": [c.to_json() for c in checks]})


@blp.get("/api/v1/config")
def config():
    return jsonify(runtime().settings.public_view())
