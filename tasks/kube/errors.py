"""Kubernetes failures, mapped once at the boundary into errors that say what to do.

`KubeError` is the base.  `NotFound`, `AlreadyExists`, `Conflict`, `Invalid`
mean the request was wrong for the cluster's state; `Unavailable` (5xx, 429,
connection errors, cut streams) means retry later.  Messages carry the API's
`message` cut to a bounded length and never the request body, so nothing a
request carried (a Secret's data) reaches a log through an error.

`kubernetes_asyncio` is never imported here (importing any part of it loads all its
generated models, ~0.7 s): `wrap` recognises its `ApiException` only once the caller
has loaded it, so the job-runner's client (`lite.py`, standard library only) maps its
answers through `from_status` into the same tree without paying for it.  aiohttp
(~0.3 s) likewise: its `ClientResponseError` is recognised once something imported it.
"""
from __future__ import annotations

import json
import sys

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


def _cut(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "…"


def _body_field(body: str | bytes | None, name: str) -> str:
    try:
        data = json.loads(body) if body else {}
        return str(data.get(name) or "") if isinstance(data, dict) else ""
    except (ValueError, TypeError, AttributeError):
        return ""


def from_status(status: int, *, body: str | bytes | None = None, reason: str = "") -> KubeError:
    """The error of our tree for an HTTP answer: `body` the API's Status JSON (if any), `reason` the HTTP reason."""
    message = _cut(str(_body_field(body, "message") or reason or ""))
    api_reason = _body_field(body, "reason")
    if status == 404:
        cls = NotFound
    elif status == 409:
        cls = AlreadyExists if api_reason == "AlreadyExists" else Conflict
    elif status in (400, 422):
        cls = Invalid
    elif status in (401, 403):
        cls = Forbidden
    else:
        cls = Unavailable
    return cls(f"Kubernetes API {status} {api_reason}: {message}".strip(), status=status, reason=api_reason)


def _api_exception_class() -> type | None:
    """kubernetes_asyncio's ApiException if something already imported it (else no exception can be one)."""
    module = sys.modules.get("kubernetes_asyncio.client.exceptions")
    return getattr(module, "ApiException", None)


def _client_response_error_class() -> type | None:
    """aiohttp's ClientResponseError if something already imported aiohttp (else no exception can be one)."""
    module = sys.modules.get("aiohttp")
    return getattr(module, "ClientResponseError", None)


def wrap(exc: BaseException) -> KubeError:
    """The error of our tree for a client exception (ApiException, aiohttp/OS errors, timeouts)."""
    if isinstance(exc, KubeError):
        return exc
    response_error = _client_response_error_class()
    if response_error is not None and isinstance(exc, response_error) and exc.status:
        # a websocket handshake the server refused (exec into a missing pod, …)
        return from_status(exc.status, reason=exc.message)
    api_exception = _api_exception_class()
    if api_exception is not None and isinstance(exc, api_exception):
        return from_status(exc.status or 0, body=exc.body, reason=exc.reason or "")
    return Unavailable(f"Kubernetes API unreachable: {type(exc).__name__}: {str(exc)[:MAX_MESSAGE]}")
