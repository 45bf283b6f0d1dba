"""The one module that speaks HTTP: the REST API's routes as keyword-only calls, on the stdlib's urllib.

Every call returns an `Answer` for a 2xx (its status tells 200 from 202) or raises from `errors`:
`ApiRefused` for an error answer (the API's `{"error": …}` body, or a short stand-in when a proxy
answered something else), `Unreachable` when no answer came.  The token goes into the
`Authorization` header and nowhere else.
"""
from __future__ import annotations

import http.client
import json
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from .errors import ApiRefused, BrqError, Unreachable

USER_AGENT = "brq/0.1"
BODY_EXCERPT = 200  # characters of a non-JSON error body worth showing


@dataclass(frozen=True)
class Answer:
    """A 2xx answer: `status`, the parsed JSON `body`, and `location` (the task's URL on a 202)."""

    status: int
    body: Any
    location: str | None = None


def _segment(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _error_of(status: int, raw: bytes) -> dict[str, Any]:
    """The `error` object of an error body; a stand-in naming the status when the body is not ours."""
    try:
        error = json.loads(raw).get("error")
        if isinstance(error, dict):
            return error
    except (ValueError, AttributeError):
        pass
    text = " ".join(raw.decode("utf-8", "replace").split())[:BODY_EXCERPT]
    return {"code": status, "message": text or http.client.responses.get(status, "error")}


class Client:
    """The REST API at `url` (http or https), as the bearer `token`; `ca_file` to trust for HTTPS."""

    def __init__(self, *, url: str, token: str, ca_file: str | None = None, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._token = token
        self._context = ssl.create_default_context(cafile=ca_file) if self.url.startswith("https:") else None

    # -- the routes ------------------------------------------------------------------------------

    def create_cluster(self, *, namespace: str, name: str, storage_type: str | None) -> Answer:
        body = {"name": name, **({"pgbackrest_storage_type": storage_type} if storage_type else {})}
        return self.call("POST", f"/api/v1/namespaces/{_segment(namespace)}/clusters", body=body)

    def list_clusters(self, *, namespace: str) -> Answer:
        return self.call("GET", f"/api/v1/namespaces/{_segment(namespace)}/clusters")

    def get_cluster(self, *, namespace: str, name: str) -> Answer:
        return self.call("GET", f"/api/v1/namespaces/{_segment(namespace)}/clusters/{_segment(name)}")

    def create_backup(self, *, namespace: str, cluster: str, body: dict[str, Any]) -> Answer:
        return self.call("POST", f"/api/v1/namespaces/{_segment(namespace)}/clusters/{_segment(cluster)}/backups",
                         body=body)

    def get_catalogue(self, *, namespace: str, cluster: str, storage_type: str | None, fmt: str,
                      wait: float) -> Answer:
        query = {"storage_type": storage_type, "format": fmt, "wait": f"{wait:g}"}
        return self.call("GET", f"/api/v1/namespaces/{_segment(namespace)}/clusters/{_segment(cluster)}/backups",
                         query=query)

    def preview_restore(self, *, namespace: str, cluster: str, storage_type: str | None, target_type: str | None,
                        target: str | None, set: str | None, target_action: str | None, wait: float) -> Answer:
        query = {"storage_type": storage_type, "target_type": target_type, "target": target, "set": set,
                 "target_action": target_action, "wait": f"{wait:g}"}
        return self.call("GET", f"{self._restores(namespace, cluster)}/preview", query=query)

    def create_restore(self, *, namespace: str, cluster: str, body: dict[str, Any]) -> Answer:
        return self.call("POST", self._restores(namespace, cluster), body=body)

    def resume_restore(self, *, namespace: str, cluster: str, task_id: str) -> Answer:
        return self.call("POST", f"{self._restores(namespace, cluster)}/{_segment(task_id)}/resume")

    @staticmethod
    def _restores(namespace: str, cluster: str) -> str:
        return f"/api/v1/namespaces/{_segment(namespace)}/clusters/{_segment(cluster)}/restores"

    def get_task(self, *, task_id: str) -> Answer:
        return self.call("GET", f"/api/v1/tasks/{_segment(task_id)}")

    def list_tasks(self, *, namespace: str, cluster: str | None = None, state: str | None = None,
                   kind: str | None = None) -> Answer:
        return self.call("GET", f"/api/v1/namespaces/{_segment(namespace)}/tasks",
                         query={"cluster": cluster, "state": state, "kind": kind})

    def cancel_task(self, *, task_id: str) -> Answer:
        return self.call("DELETE", f"/api/v1/tasks/{_segment(task_id)}")

    # -- HTTP ------------------------------------------------------------------------------------

    def call(self, method: str, path: str, *, body: Any = None, query: dict[str, str | None] | None = None) -> Answer:
        """One request; `query` entries that are None are left out."""
        params = {k: v for k, v in (query or {}).items() if v is not None}
        url = self.url + path + (f"?{urllib.parse.urlencode(params)}" if params else "")
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json", "User-Agent": USER_AGENT}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self._context) as response:
                status, raw, location = response.status, response.read(), response.headers.get("Location")
        except urllib.error.HTTPError as exc:
            with exc:
                raise ApiRefused(exc.code, _error_of(exc.code, exc.read())) from None
        except urllib.error.URLError as exc:
            raise Unreachable(self.url, _reason(exc.reason, self.timeout)) from None
        except (OSError, http.client.HTTPException) as exc:
            raise Unreachable(self.url, _reason(exc, self.timeout)) from None
        try:
            return Answer(status, json.loads(raw) if raw else None, location)
        except ValueError:
            raise BrqError(f"the API answered {status} with a body that is not JSON") from None


def _reason(exc: Any, timeout: float) -> str:
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return f"no answer within {timeout:g} s (--timeout)"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS: {exc.verify_message or exc} (is --ca-file the API's CA?)"
    return str(exc) or type(exc).__name__
