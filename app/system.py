"""`/healthz` (alive, no token), `/readyz` (Redis answers), `/api/v1/config` (settings without secrets)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from .common import runtime
from .errors import ApiError

blp = Blueprint("system", __name__)


@blp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@blp.get("/readyz")
def readyz():
    try:
        runtime().redis.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        raise ApiError(503, f"Redis is unreachable: {type(exc).__name__}") from None
    return jsonify({"status": "ready"})


@blp.get("/api/v1/config")
def config():
    return jsonify(runtime().settings.public_view())
