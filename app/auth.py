"""Bearer tokens and PGO v4 roles: who is asking, and may they do this here.

Every request but `/healthz` needs `Authorization: Bearer <token>` (401
without); `require(role, namespace)` answers 403 when the token lacks the role
or the namespace.  Tokens are stored hashed and compared in constant time
(`tasks.auth_tokens`).  Every change is logged as one audit line.
"""
from __future__ import annotations

import json
import logging

from flask import current_app, g, request

from tasks.auth_tokens import Principal

from .errors import ApiError

audit_log = logging.getLogger("brq.audit")
OPEN_PATHS = ("/healthz",)


def authenticate() -> None:
    """before_request: resolve the token into `g.principal` (401 if missing or unknown)."""
    if request.path in OPEN_PATHS:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "a bearer token is required (Authorization: Bearer <token>)",
                       headers={"WWW-Authenticate": 'Bearer realm="backrest-queue"'})
    principal = current_app.config["BRQ_TOKENS"].authenticate(token.strip())
    if principal is None:
        raise ApiError(401, "the bearer token is not valid", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    g.principal = principal


def require(role: str, namespace: str) -> Principal:
    """403 without the role; outside the token's namespaces, 403 for a change but for a read the very 404 an
    unmanaged namespace gets: a token must not learn what another namespace holds, or that it is managed."""
    principal: Principal = g.principal
    if role not in principal.roles:
        raise ApiError(403, f"token {principal.name!r} lacks the {role} role")
    if not principal.can(role, namespace):
        if request.method in ("GET", "HEAD"):
            raise ApiError(404, f"namespace {namespace!r} is not managed by this service")
        raise ApiError(403, f"token {principal.name!r} has no access to namespace {namespace!r}")
    return principal


def sees(role: str, namespace: str) -> bool:
    return g.principal.can(role, namespace)


def audit(action: str, *, namespace: str, cluster: str | None = None, task_id: str | None = None,
          **extra) -> None:
    """One line per change: who, what, which cluster, which task."""
    fields = {"who": g.principal.name, "action": action, "namespace": namespace, "cluster": cluster,
              "task": task_id, **extra}
    # the message is the JSON (text logs stay greppable); JSON logs carry the same fields as keys
    audit_log.info(json.dumps(fields, sort_keys=True),
                   extra={"fields": {"audit": True, **fields}, "task_id": task_id, "cluster": cluster,
                          "namespace": namespace})
