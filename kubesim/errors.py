"""kubesim's error tree: every failure the API answers is one of these, rendered as a `Status`.

`StatusError` is the base; each subclass fixes the HTTP code and the `reason`
Kubernetes uses for it, so handlers raise and the server renders one shape.
"""
from __future__ import annotations

from typing import Any


class StatusError(Exception):
    """Base class: an API failure with an HTTP code, a Kubernetes `reason` and `details`."""

    code = 500
    reason = "InternalError"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None, code: int | None = None):
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def _details(resource, name: str | None) -> dict[str, Any]:
    """`details` naming the object: `resource` is a `Resource` or None."""
    out: dict[str, Any] = {}
    if name:
        out["name"] = name
    if resource is not None:
        if resource.group:
            out["group"] = resource.group
        out["kind"] = resource.plural
    return out


def _qualified(resource) -> str:
    return resource.key if resource is not None else "object"


class NotFound(StatusError):
    """The object (or its namespace) does not exist."""

    code = 404
    reason = "NotFound"

    @classmethod
    def of(cls, resource, name: str) -> "NotFound":
        return cls(f'{_qualified(resource)} "{name}" not found', details=_details(resource, name))


class AlreadyExists(StatusError):
    """create of a name that is taken."""

    code = 409
    reason = "AlreadyExists"

    @classmethod
    def of(cls, resource, name: str) -> "AlreadyExists":
        return cls(f'{_qualified(resource)} "{name}" already exists', details=_details(resource, name))


class Conflict(StatusError):
    """An update carried a stale `resourceVersion` or failed a precondition."""

    code = 409
    reason = "Conflict"

    @classmethod
    def stale(cls, resource, name: str) -> "Conflict":
        return cls(
            f'Operation cannot be fulfilled on {_qualified(resource)} "{name}": the object has been modified; '
            "please apply your changes to the latest version and try again",
            details=_details(resource, name),
        )


class Invalid(StatusError):
    """The object fails validation: `causes` are (field, reason, message) triples."""

    code = 422
    reason = "Invalid"

    def __init__(self, resource, kind: str, name: str, causes: list[dict[str, str]]):
        parts = [f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes]
        joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
        group = f".{resource.group}" if resource is not None and resource.group else ""
        message = f'{kind}{group} "{name}" is invalid: {joined}'
        details = {**_details(resource, name), "causes": causes}
        if resource is not None:
            details["kind"] = kind
        super().__init__(message, details=details)


class BadRequest(StatusError):
    """The request itself is malformed (bad JSON, bad selector, unknown field under strict validation)."""

    code = 400
    reason = "BadRequest"


class Expired(StatusError):
    """A watch or list asked for a resourceVersion older than the kept history."""

    code = 410
    reason = "Expired"


class MethodNotAllowed(StatusError):
    code = 405
    reason = "MethodNotAllowed"


class Unauthorized(StatusError):
    code = 401
    reason = "Unauthorized"


class UnsupportedMediaType(StatusError):
    code = 415
    reason = "UnsupportedMediaType"


class ServiceUnavailable(StatusError):
    """Injected by the fault switches, or answered while shutting down."""

    code = 503
    reason = "ServiceUnavailable"


class TooManyRequests(StatusError):
    """429: come back later (an eviction a PodDisruptionBudget does not allow yet)."""

    code = 429
    reason = "TooManyRequests"


class InternalError(StatusError):
    code = 500
    reason = "InternalError"


def cause(field: str, message: str, reason: str = "FieldValueInvalid") -> dict[str, str]:
    return {"reason": reason, "message": message, "field": field}
