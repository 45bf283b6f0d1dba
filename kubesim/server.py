"""The Kubernetes REST API over HTTPS (aiohttp): routing, auth, faults, errors, discovery.

Resource requests are parsed into a `Target` (resource, namespace, name,
subresource) and handed to `handlers.py` (CRUD, watch) or `streams.py`
(exec, logs).  Every failure is a `StatusError` rendered as a `Status` body.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from . import discovery, errors, resources
from .faults import Faults
from .pki import Pki
from .resources import Resource

log = logging.getLogger("kubesim.server")


@dataclass(frozen=True)
class Target:
    resource: Resource
    namespace: str | None
    name: str | None
    subresource: str | None


def parse_path(path: str) -> Target:
    """`/api/v1/namespaces/ns/pods/x/log` → Target(pods, "ns", "x", "log"); NotFound if unknown."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise errors.NotFound("the server could not find the requested resource")
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        raise errors.NotFound("the server could not find the requested resource")
    resource = resources.BY_PATH.get((group, version, rest[0]))
    if resource is None:
        raise errors.NotFound("the server could not find the requested resource")
    if namespace is not None and not resource.namespaced:
        raise errors.NotFound("the server could not find the requested resource")
    name = rest[1] if len(rest) >= 2 else None
    sub = rest[2] if len(rest) == 3 else None
    if sub is not None and sub not in resource.subresources:
        raise errors.NotFound("the server could not find the requested resource")
    return Target(resource, namespace, name, sub)


def status_response(exc: errors.StatusError) -> web.Response:
    return web.json_response(exc.status(), status=exc.code)


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(body=json.dumps(body, separators=(",", ":")).encode(), status=status,
                        content_type="application/json", headers=headers)


class Audit:
    """One JSON line per API request: who did what to which object, and the answer's code."""

    def __init__(self, path: str | None):
        self._file = open(path, "a", encoding="utf-8", buffering=1 << 16) if path else None  # noqa: SIM115

    def write(self, **fields: Any) -> None:
        if self._file is not None:
            self._file.write(json.dumps(fields, separators=(",", ":")) + "\n")

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _verb(request: web.Request, target: Target) -> str:
    method = request.method
    if target.subresource in ("exec", "attach", "portforward"):
        return "create" if method == "POST" or request.headers.get("Upgrade") else "get"
    if method == "GET":
        if target.name is None:
            return "watch" if request.query.get("watch", "").lower() in ("true", "1") else "list"
        return "get"
    return {"POST": "create", "PUT": "update", "PATCH": "patch",
            "DELETE": "delete" if target.name else "deletecollection"}.get(method, method.lower())


def build_app(*, cluster, pki: Pki, faults: Faults, audit: Audit) -> web.Application:
    """`cluster` is the `Cluster` (store, registry, kubelet) the API serves."""
    from . import handlers, streams

    @web.middleware
    async def middleware(request: web.Request, handler):
        path = request.path
        user = None
        target = None
        code = 500
        try:
            if not path.startswith(("/healthz", "/livez", "/readyz")):
                header = request.headers.get("Authorization", "")
                token = header[7:].strip() if header[:7].lower() == "bearer " else ""
                user = pki.authenticate(token) if token else None
                if user is None:
                    raise errors.Unauthorized("Unauthorized")
            request["user"] = user
            if path.startswith(("/api/", "/apis/")) and not _is_discovery(path):
                delay = faults.delay_seconds(path)
                if delay:
                    await asyncio.sleep(delay)
                injected = faults.pick_error(path)
                if injected:
                    raise errors.StatusError(f"kubesim fault injected: HTTP {injected}", code=injected)
                target = parse_path(path)
                request["target"] = target
            response = await handler(request)
            code = response.status
            return response
        except errors.StatusError as exc:
            code = exc.code
            return status_response(exc)
        except web.HTTPException as exc:
            code = exc.status
            raise
        except (ConnectionResetError, asyncio.CancelledError):
            code = 499
            raise
        except Exception as exc:  # noqa: BLE001 - an API server answers, it does not crash
            log.exception("internal error on %s %s", request.method, path)
            return status_response(errors.InternalError(f"kubesim internal error: {type(exc).__name__}: {exc}"))
        finally:
            if target is not None:
                audit.write(ts=time.time(), user=user, verb=_verb(request, target), group=target.resource.group,
                            resource=target.resource.plural, subresource=target.subresource,
                            namespace=target.namespace, name=target.name, code=code)

    app = web.Application(middlewares=[middleware], client_max_size=8 * 1024 * 1024)
    app["cluster"] = cluster
    app["faults"] = faults

    async def version(_):
        return json_response(discovery.version_info())

    async def api_root(request):
        if discovery.accepts_aggregated(request.headers.get("Accept", "")):
            return _aggregated(core=True)
        return json_response(discovery.api_versions(f"{request.url.host}:{request.url.port}"))

    async def apis_root(request):
        if discovery.accepts_aggregated(request.headers.get("Accept", "")):
            return _aggregated(core=False)
        return json_response(discovery.api_group_list())

    async def api_group(request):
        group = request.match_info["group"]
        if group not in resources.groups() or not group:
            raise errors.NotFound("the server could not find the requested resource")
        return json_response(discovery.api_group(group))

    async def resource_list(request):
        group = request.match_info.get("group", "")
        version = request.match_info["version"]
        if not resources.in_group_version(group, version):
            raise errors.NotFound("the server could not find the requested resource")
        return json_response(discovery.api_resource_list(group, version))

    async def openapi_index(_):
        return json_response(discovery.openapi_v3_index())

    async def openapi_doc(request):
        tail = request.match_info["tail"].strip("/").split("/")
        if tail[0] == "api" and len(tail) == 2:
            group, version = "", tail[1]
        elif tail[0] == "apis" and len(tail) == 3:
            group, version = tail[1], tail[2]
        else:
            raise errors.NotFound("the server could not find the requested resource")
        if not resources.in_group_version(group, version):
            raise errors.NotFound("the server could not find the requested resource")
        return web.Response(body=discovery.openapi_v3_json(group, version), content_type="application/json")

    async def not_found(_):
        raise errors.NotFound("the server could not find the requested resource")

    async def health(_):
        return web.Response(text="ok")

    async def get_faults(_):
        return json_response(faults.to_json())

    async def set_faults(request):
        try:
            body = await request.json()
            faults.update(body, replace=request.method == "PUT")
        except (ValueError, TypeError) as exc:
            raise errors.BadRequest(str(exc)) from None
        log.warning("faults now %s", faults.to_json())
        return json_response(faults.to_json())

    r = app.router
    r.add_get("/version", version)
    r.add_get("/version/", version)
    r.add_get("/api", api_root)
    r.add_get("/api/", api_root)
    r.add_get("/apis", apis_root)
    r.add_get("/apis/", apis_root)
    r.add_get("/api/{version}", resource_list)
    r.add_get("/apis/{group}", api_group)
    r.add_get("/apis/{group}/{version}", resource_list)
    r.add_get("/openapi/v3", openapi_index)
    r.add_get("/openapi/v3/{tail:.+}", openapi_doc)
    r.add_get("/openapi/v2", not_found)
    for p in ("/healthz", "/livez", "/readyz"):
        r.add_get(p, health)
    r.add_get("/kubesim/faults", get_faults)
    r.add_put("/kubesim/faults", set_faults)
    r.add_patch("/kubesim/faults", set_faults)
    r.add_route("*", "/api/{tail:.+}", handlers.dispatch)
    r.add_route("*", "/apis/{tail:.+}", handlers.dispatch)
    app["streams"] = streams
    return app


def _is_discovery(path: str) -> bool:
    parts = [p for p in path.split("/") if p]
    return (parts[0] == "api" and len(parts) <= 2) or (parts[0] == "apis" and len(parts) <= 3)


def _aggregated(core: bool) -> web.Response:
    body = json.dumps(discovery.aggregated(core), separators=(",", ":")).encode()
    return web.Response(body=body, headers={"Content-Type": discovery.AGGREGATED_CONTENT_TYPE})
