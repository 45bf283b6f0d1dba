"""One JSON shape for every error the API answers:

    {"error": {"code": 422, "reason": "Invalid", "message": "...", "field": "options[0]", "fields": {...}}}

`ApiError` is what views raise; `install` makes Flask, werkzeug and
flask-smorest/webargs errors (404 routes, 405, 413, 422 schema failures)
and an unreachable Redis (503) answer in the same shape.  Messages never carry
request bodies or secrets.
"""
from __future__ import annotations

from typing import Any

import redis
from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
           409: "Conflict", 413: "PayloadTooLarge", 415: "UnsupportedMediaType", 422: "Invalid",
           500: "InternalError", 502: "BadGateway", 503: "Unavailable"}


class ApiError(Exception):
    """An answer other than success: HTTP `code`, a `message`, and the `field` it is about, if one."""

    def __init__(self, code: int, message: str, *, field: str | None = None, reason: str | None = None,
                 fields: dict[str, list[str]] | None = None, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.reason = reason or REASONS.get(code, "Error")
        self.fields = fields
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict:
        err: dict[str, Any] = {"code": self.code, "reason": self.reason, "message": self.message}
        if self.field is not None:
            err["field"] = self.field
        if self.fields:
            err["fields"] = self.fields
        if self.details:
            err["details"] = self.details
        return {"error": err}


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs' nested {location: {field: [msgs]}} → {"field.sub": [msgs]}."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, (dict, list)) and not (isinstance(value, list) and all(isinstance(v, str)
                                                                                         for v in value)):
                out.update(_flatten(value, name))
            else:
                out[name] = value if isinstance(value, list) else [str(value)]
    elif isinstance(messages, list):
        out[prefix or "_schema"] = [str(m) for m in messages]
    return out


def _respond(err: ApiError):
    response = jsonify(err.body())
    response.status_code = err.code
    for key, value in err.headers.items():
        response.headers[key] = value
    return response


def install(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(err: ApiError):
        return _respond(err)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        data = getattr(exc, "data", None) or {}
        messages = data.get("messages") if isinstance(data, dict) else None
        if messages:
            # a body or query that failed its schema: name the first field and list them all
            fields: dict[str, list[str]] = {}
            for location, by_field in messages.items():
                fields.update(_flatten(by_field) if location in ("json", "query", "files", "form") else
                              _flatten(by_field, location))
            field = sorted(fields)[0] if fields else None
            message = f"{field or repr(field)}: {fields[field][0]}" if field is not None else "the request is invalid"
            if field == "_schema":
                field, message = None, fields["_schema"][0]
                if message == "Invalid input type.":  # marshmallow's words for a body that is not an object
                    message = "the body must be a JSON object"
            return _respond(ApiError(422 if code == 422 else code, message, field=field, fields=fields))
        if code == 413:
            return _respond(ApiError(413, "the request body is larger than the API accepts"))
        if code == 404:
            return _respond(ApiError(404, "no such resource: see /api/v1/openapi.json for the routes"))
        if code == 405:  # with the Allow header werkzeug's answer carries (RFC 9110 requires it)
            allowed = ", ".join(getattr(exc, "valid_methods", None) or [])
            return _respond(ApiError(405, f"method not allowed on this resource (allowed: {allowed or 'none'})",
                                     headers={"Allow": allowed} if allowed else None))
        return _respond(ApiError(code, exc.description or REASONS.get(code, "error")))

    @app.errorhandler(redis.ConnectionError)
    @app.errorhandler(redis.TimeoutError)
    def redis_down(exc: redis.RedisError):
        app.logger.warning("Redis is unreachable: %s: %s", type(exc).__name__, exc)
        return _respond(ApiError(503, f"Redis is unreachable ({type(exc).__name__}): nothing was done; retry later"))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        return _respond(ApiError(500, f"internal error ({type(exc).__name__}); see the API's log"))
