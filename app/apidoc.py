"""The answers every operation can give, documented once: the OpenAPI document lists each status code the API
really returns, each with the one error shape (`schemas.Problem`), so a client (and the fuzz test,
tests/api/test_api_fuzz.py) can hold every answer to it.

`Api` is flask-smorest's without its catch-all `default` response and with `Problem` as the error schema (the
422 it adds for `@blp.arguments` included).  `CommonResponses` is an apispec plugin that adds, by path and
method, what the gate before every view answers (app/__init__.py, auth.py, idempotency.py, errors.py): 401, 403,
404, 503, and for bodies 400, 413, 415; for POSTs the `Idempotency-Key` header with its 409 and 422.  What a
single view adds (409 busy, 502 …) stays next to it, in `@blp.alt_response`.  `Blueprint` holds requests to
the document where flask-smorest does not: a required JSON body is required.
"""
from __future__ import annotations

from functools import wraps

import flask_smorest
from apispec import BasePlugin
from flask import request
from flask_smorest import Api as SmorestApi

from . import schemas
from .errors import ApiError

# name → (status, description): registered as components/responses, referred to by the operations
RESPONSES = {
    "Unauthorized": (401, "no bearer token, or not a valid one"),
    "Forbidden": (403, "the token lacks the role, or (for a change) the namespace"),
    "NotFound": (404, "no such namespace (or not one of the token's, for a read), cluster, schedule or task"),
    "BadRequest": (400, "the body is missing or not JSON, or the Idempotency-Key header is malformed"),
    "PayloadTooLarge": (413, "the body is larger than the API accepts (64 KiB)"),
    "UnsupportedMediaType": (415, "the body is not application/json"),
    "Unavailable": (503, "Redis or the task queue is unreachable: nothing was started"),
    "IdempotencyPending": (409, "a request with this Idempotency-Key is still being processed"),
    "Invalid": (422, "the request is invalid (the field and the reason are named), or its Idempotency-Key was "
                     "used with another body"),
}
BODY_METHODS = ("post", "put", "patch")

IDEMPOTENCY_KEY = {
    "in": "header", "name": "Idempotency-Key", "required": False,
    "description": "the same key and body (per token and path, for 24 h) get the first answer again "
                   "(`Idempotent-Replayed: true`) and create nothing; the same key with another body is 422",
    "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
}


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's, but a JSON body the document calls required is required: webargs would load a missing
    body as `{}` (every default: a request nobody wrote would start a backup or a restore)."""

    def arguments(self, schema, *, location="json", required=True, **kwargs):
        decorate = super().arguments(schema, location=location, required=required, **kwargs)
        if location != "json" or not required:
            return decorate

        def decorator(func):
            parsed = decorate(func)

            @wraps(parsed)
            def wrapper(*args, **kw):
                if not request.get_data(cache=True).strip():
                    raise ApiError(400, "a JSON body is required ({} takes every default)")
                return parsed(*args, **kw)
            return wrapper
        return decorator


class Api(SmorestApi):
    ERROR_SCHEMA = schemas.Problem
    DEFAULT_ERROR_RESPONSE_NAME = None  # a `default` response would make every status code "documented"


def register_responses(api: SmorestApi) -> None:
    """The components/responses `CommonResponses` refers to (lazy: only those used appear)."""
    for name, (_, description) in RESPONSES.items():
        api.spec.components.response(name, {"description": description,
                                            "content": {"application/json": {"schema": schemas.Problem}}}, lazy=True)


class CommonResponses(BasePlugin):
    """apispec plugin: the gate's answers on every operation, unless the view documented that status itself."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            responses = operation.setdefault("responses", {})
            have = {str(code) for code in responses}
            wanted = ["Unauthorized", "NotFound", "Unavailable"]
            if not (method == "get" and path == "/api/v1/tasks/{task_id}"):  # a task outside one's reach is 404
                wanted.append("Forbidden")
            if method in BODY_METHODS:
                wanted += ["BadRequest", "PayloadTooLarge", "UnsupportedMediaType"]
            if method == "post":
                wanted += ["IdempotencyPending", "Invalid"]
                operation.setdefault("parameters", []).append(dict(IDEMPOTENCY_KEY))
            for name in wanted:
                code = str(RESPONSES[name][0])
                if code not in have:
                    responses[code] = name
                    have.add(code)
