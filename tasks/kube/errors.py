"""Kubernetes failures, mapped once at the boundary into errors that say what to do.

`KubeError` is the base.  `NotFound`, `AlreadyExists`, `Conflict`, `Invalid`
mean the request was wrong for the cluster's state; `Unavailable` (5xx, 429,
connection errors, cut streams) means retry later.  Messages carry the API's
`message` cut to a bounded length and never the request body, so nothing a
request carried (a Secret's data) reaches a log through an error.
"""
from __future__ import annotations

import json

import aiohttp
from kubernetes_asyncio.client.exceptions import ApiException

MAX_MESSAGE = 300


class KubeError(Exception):
    """Base: a Kubernetes API call failed. `status` is the HTTP code (0 when none came back)."""

    retryable = False

    def __init__(self, message: str, *, status: int = 0, reason: str = ""):
        super().__init__(message)
        self.status = status
        self.reason = reason


class NotFound(KubeError):
    """The object (or its namespace) does not exist."""


class AlreadyExists(KubeError):
    """create: the name is taken (for our deterministic names: the step already ran)."""


class Conflict(KubeError):
    """A stale resourceVersion or a failed precondition: read again and retry."""

    retryable = True


class Invalid(KubeError):
    """The object was refused as invalid (422) or malformed (400): a bug in what we built."""


class Forbidden(KubeError):
    """The service account may not do this: the Role in k8s/ lacks a verb."""


class Unavailable(KubeError):
    """The API server failed or was unreachable (5xx, 429, reset, timeout): retry with back-off."""

    retryable = True


class ExecFailed(KubeError):
    """An exec stream ended without its status frame: the command's outcome is unknown."""

    retryable = True


def _message(exc: ApiException) -> str:
    body = exc.body
    try:
        data = json.loads(body) if body else {}
        text = data.get("message") or exc.reason or ""
    except (ValueError, TypeError, AttributeError):
        text = exc.reason or ""
    text = str(text)
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "…"


def wrap(exc: BaseException) -> KubeError:
    """The error of our tree for a client exception (ApiException, aiohttp/OS errors, timeouts)."""
    if isinstance(exc, KubeError):
        return exc
    if isinstance(exc, aiohttp.ClientResponseError) and exc.status:
        # a websocket handshake the server refused (exec into a missing pod, …)
        exc = ApiException(status=exc.status, reason=exc.message)
    if isinstance(exc, ApiException):
        status = exc.status or 0
        message = _message(exc)
        reason = ""
        try:
            reason = json.loads(exc.body).get("reason", "") if exc.body else ""
        except (ValueError, TypeError, AttributeError):
            pass
        if status == 404:
            cls = NotFound
        elif status == 409:
            cls = AlreadyExists if reason == "AlreadyExists" else Conflict
        elif status in (400, 422):
            cls = Invalid
        elif status in (401, 403):
            cls = Forbidden
        else:
            cls = Unavailable
        return cls(f"Kubernetes API {status} {reason}: {message}".strip(), status=status, reason=reason)
    return Unavailable(f"Kubernetes API unreachable: {type(exc).__name__}: {str(exc)[:MAX_MESSAGE]}")
