"""`Idempotency-Key` on every POST: a client that retries a request it is unsure about gets the first answer,
and nothing new is created.

The key is scoped to the token's name and the request path.  The first request with a key records
"pending" (with a hash of its body) before it runs, then its answer (status, body, `Location`) for
`TTL_SECONDS`.  Another request with the same key and the same body (JSON compared canonically) gets that answer
again, with `Idempotent-Replayed: true`; while the first still runs, 409; with another body, 422 naming the
header.  Answers of 5xx are not kept (the request may be retried), nor are requests without the header.
"""
from __future__ import annotations

import hashlib
import json
import re

from flask import Response, g, request

from .common import runtime
from .errors import ApiError

HEADER = "Idempotency-Key"
TTL_SECONDS = 24 * 3600
PENDING_SECONDS = 60  # a request that died while pending frees its key after this
_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def _body_hash() -> str:
    raw = request.get_data(cache=True)
    try:
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode() if raw else b""
    except ValueError:
        canonical = raw
    return hashlib.sha256(canonical).hexdigest()


def _redis_key(key: str) -> str:
    scope = f"{g.principal.name}\0{request.path}\0{key}"
    return "brq:idem:" + hashlib.sha256(scope.encode()).hexdigest()


def begin() -> Response | None:
    """before_request (after authentication): None to go on, or the first answer to replay."""
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None:
        return None
    if not _KEY.fullmatch(key):
        raise ApiError(400, f"{HEADER} must be 1 to 255 visible ASCII characters", field=HEADER)
    body_hash = _body_hash()
    rkey = _redis_key(key)
    r = runtime().redis
    if r.set(rkey, json.dumps({"pending": True, "body": body_hash}), nx=True, ex=PENDING_SECONDS):
        g.idempotency = (rkey, body_hash)
        return None
    raw = r.get(rkey)
    if raw is None:  # expired between the two calls: treat as new
        r.set(rkey, json.dumps({"pending": True, "body": body_hash}), ex=PENDING_SECONDS)
        g.idempotency = (rkey, body_hash)
        return None
    first = json.loads(raw)
    if first["body"] != body_hash:
        raise ApiError(422, f"this {HEADER} was used with another body: send the same body, or a new key",
                       field=HEADER)
    if first.get("pending"):
        raise ApiError(409, f"a request with this {HEADER} is still being processed; retry shortly", field=HEADER)
    headers = {"Idempotent-Replayed": "true", **({"Location": first["location"]} if first.get("location") else {})}
    return Response(first["response"], status=first["status"], mimetype="application/json", headers=headers)


def finish(response: Response) -> Response:
    """after_request: keep the answer of a request that took a key (not a 5xx: that one may be retried)."""
    taken = g.pop("idempotency", None)
    if taken is None:
        return response
    rkey, body_hash = taken
    r = runtime().redis
    if response.status_code >= 500:
        r.delete(rkey)
        return response
    record = {"body": body_hash, "status": response.status_code, "response": response.get_data(as_text=True),
              "location": response.headers.get("Location")}
    r.set(rkey, json.dumps(record), ex=TTL_SECONDS)
    return response
