"""CRUD, patch and watch handlers for every resource path.

`dispatch` is mounted on `/api/...` and `/apis/...`; the middleware has already
authenticated the request and parsed its `Target`.
"""
from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import yaml
from aiohttp import web

from . import errors, fieldvalidation, patch, protobuf, selectors, tables
from .controllers import disruption
from .registry import Registry
from .resources import DEPLOYMENTS, REPLICASETS, STATEFULSETS, Resource
from .server import Target, json_response
from .store import BOOKMARK, ERROR, Obj, Store, copy_obj, now_rfc3339

TABLE_ACCEPT = "as=Table"
DEFAULT_WATCH_TIMEOUT = 1800.0


def _bool(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("true", "1")


def _dry_run(request: web.Request) -> bool:
    return request.query.get("dryRun", "") == "All"


def _registry(request: web.Request) -> Registry:
    reg = request.app["cluster"].registry
    reg.warnings = []
    return reg


def _store(request: web.Request) -> Store:
    return request.app["cluster"].store


def _respond(request: web.Request, body: Any, status: int = 200) -> web.Response:
    headers = {}
    warnings = request.app["cluster"].registry.warnings
    if warnings:
        headers["Warning"] = ", ".join(f'299 - "{w}"' for w in warnings)
    return json_response(body, status, headers)


# the kinds a subresource's body carries, when not the resource's own
_SUBRESOURCE_KINDS = {"token": ("authentication.k8s.io/v1", "TokenRequest"), "scale": ("autoscaling/v1", "Scale")}


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        raise errors.BadRequest("the body of the request was empty")
    ctype = request.content_type
    if "protobuf" in ctype:
        # kubectl's generators (create deployment, create token, ...) send protobuf and never fall back to JSON
        t: Target = request["target"]
        api_version, kind = _SUBRESOURCE_KINDS.get(t.subresource, (t.resource.api_version, t.resource.kind))
        return protobuf.decode(raw, api_version=api_version, kind=kind)
    if "cbor" in ctype:
        raise errors.UnsupportedMediaType(f"the body of the request was in an unknown format - accepted media "
                                          f"types include: application/json, application/yaml, {protobuf.CONTENT_TYPE}")
    try:
        if "yaml" in ctype:
            return yaml.safe_load(raw)
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as exc:
        raise errors.BadRequest(f"the body of the request could not be decoded: {exc}") from None


def _check_fields(request: web.Request, resource: Resource, obj: Any) -> None:
    """fieldValidation: Strict refuses unknown fields (400), Warn reports them, Ignore drops them."""
    if not isinstance(obj, dict) or not resource.definition:
        return
    mode = request.query.get("fieldValidation", "Warn")
    problems = fieldvalidation.check(resource.definition, obj, strict=mode != "Ignore")
    unknown = [p for p in problems if p.kind == "unknown"]
    others = [p for p in problems if p.kind != "unknown"]
    if others:
        detail = "; ".join(p.message if p.kind == "type" else f"{p.field}: {p.message}" for p in others[:5])
        raise errors.BadRequest(f"{resource.kind} in version \"{resource.version}\" cannot be handled as a "
                                f"{resource.kind}: {detail}")
    if unknown:
        message = fieldvalidation.unknown_fields_message(unknown)
        if mode == "Strict":
            raise errors.BadRequest(f"{resource.kind} in version \"{resource.version}\" cannot be handled as a "
                                    f"{resource.kind}: {message}")
        request.app["cluster"].registry.warnings.extend(f'unknown field "{p.field}"' for p in unknown)


def _selectors(request: web.Request):
    label = request.query.get("labelSelector") or ""
    field = request.query.get("fieldSelector") or ""
    ls = selectors.parse_label_selector(label) if label else None
    fs = selectors.parse_field_selector(field) if field else None
    if ls is None and fs is None:
        return None
    return lambda o: (ls is None or ls.matches((o.get("metadata") or {}).get("labels") or {})) and \
        (fs is None or fs.matches(o))


def _wants_table(request: web.Request) -> bool:
    return TABLE_ACCEPT in request.headers.get("Accept", "")


def _include_object(request: web.Request) -> str:
    value = request.query.get("includeObject", "Metadata")
    if value not in ("None", "Metadata", "Object"):
        raise errors.BadRequest(f'includeObject must be one of None, Metadata, Object, not "{value}"')
    return value


async def dispatch(request: web.Request) -> web.StreamResponse:
    target: Target = request["target"]
    method = request.method
    sub = target.subresource
    if sub in ("exec", "log", "attach"):
        streams = request.app["streams"]
        if sub == "exec" and method in ("GET", "POST"):
            return await streams.exec_handler(request, target)
        if sub == "log" and method == "GET":
            return await streams.log_handler(request, target)
        raise errors.MethodNotAllowed("the server does not allow this method on the requested resource")
    if target.name is None:
        if method == "GET":
            if _bool(request, "watch"):
                return await watch(request, target)
            return list_(request, target)
        if method == "POST":
            return await create(request, target)
        if method == "DELETE":
            return await delete_collection(request, target)
    else:
        if sub == "scale":
            return await scale(request, target)
        if sub == "eviction" and method == "POST":
            return await evict(request, target)
        if sub == "token" and method == "POST":
            return await token(request, target)
        if method == "GET":
            return get(request, target)
        if method == "PUT":
            return await update(request, target)
        if method == "PATCH":
            return await patch_(request, target)
        if method == "DELETE" and sub is None:
            return await delete(request, target)
    raise errors.MethodNotAllowed("the server does not allow this method on the requested resource")


# -- reads -------------------------------------------------------------------------------------------

def get(request: web.Request, t: Target) -> web.Response:
    obj = _store(request).get(t.resource, t.namespace, t.name)
    if _wants_table(request):
        return json_response(tables.table(t.resource, [obj], resource_version=obj["metadata"]["resourceVersion"],
                                          include_object=_include_object(request)))
    return json_response(obj)


def list_(request: web.Request, t: Target) -> web.Response:
    store = _store(request)
    predicate = _selectors(request)
    items = store.list(t.resource, t.namespace, predicate)
    rv = str(store.rv)
    cont = request.query.get("continue")
    if cont:
        try:
            after = tuple(json.loads(base64.urlsafe_b64decode(cont.encode())))
        except (ValueError, TypeError):
            raise errors.BadRequest("continue key is not valid") from None
        items = [o for o in items if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > after]
    limit = int(request.query.get("limit") or 0)
    next_token = None
    if limit and len(items) > limit:
        items = items[:limit]
        last = items[-1]["metadata"]
        next_token = base64.urlsafe_b64encode(json.dumps([last.get("namespace", ""), last["name"]]).encode()).decode()
    if _wants_table(request):
        body = tables.table(t.resource, items, resource_version=rv, include_object=_include_object(request))
    else:
        body = {"kind": t.resource.list_kind, "apiVersion": t.resource.api_version,
                "metadata": {"resourceVersion": rv}, "items": items}
    if next_token:
        body["metadata"]["continue"] = next_token
    return json_response(body)


# -- writes ------------------------------------------------------------------------------------------

async def create(request: web.Request, t: Target) -> web.Response:
    reg = _registry(request)
    body = await _body(request)
    _check_fields(request, t.resource, body)
    obj = reg.create(t.resource, body, namespace=t.namespace, dry_run=_dry_run(request))
    return _respond(request, obj, 201)


async def update(request: web.Request, t: Target) -> web.Response:
    reg = _registry(request)
    body = await _body(request)
    _check_fields(request, t.resource, body)
    obj = reg.update(t.resource, body, namespace=t.namespace, name=t.name, subresource=t.subresource,
                     dry_run=_dry_run(request))
    return _respond(request, obj)


async def patch_(request: web.Request, t: Target) -> web.Response:
    reg = _registry(request)
    store = _store(request)
    ctype = request.content_type
    body = await _body(request)
    current = store.find(t.resource, t.namespace, t.name)
    if ctype == "application/apply-patch+yaml":
        if current is None:
            _check_fields(request, t.resource, body)
            return _respond(request, reg.create(t.resource, body, namespace=t.namespace,
                                                dry_run=_dry_run(request)), 201)
        new = patch.strategic_merge_patch(copy_obj(current), body, t.resource.definition)
    else:
        if current is None:
            raise errors.NotFound.of(t.resource, t.name)
        base = copy_obj(current)
        if ctype == "application/json-patch+json":
            if not isinstance(body, list):
                raise errors.BadRequest("json patch must be a list of operations")
            new = patch.json_patch(base, body)
        elif ctype == "application/merge-patch+json":
            new = patch.json_merge_patch(base, body)
        elif ctype == "application/strategic-merge-patch+json":
            new = patch.strategic_merge_patch(base, body, t.resource.definition)
        else:
            raise errors.UnsupportedMediaType("the body of the request was in an unknown format - accepted media "
                                              "types include: application/json-patch+json, "
                                              "application/merge-patch+json, application/apply-patch+yaml, "
                                              "application/strategic-merge-patch+json")
    if not isinstance(new, dict):
        raise errors.BadRequest("the patch did not produce an object")
    md = new.setdefault("metadata", {})
    # a patch that does not name a resourceVersion applies to the current one
    if not (isinstance(body, dict) and (body.get("metadata") or {}).get("resourceVersion")):
        md["resourceVersion"] = current["metadata"]["resourceVersion"] if current else None
    _check_fields(request, t.resource, new)
    obj = reg.update(t.resource, new, namespace=t.namespace, name=t.name, subresource=t.subresource,
                     dry_run=_dry_run(request))
    return _respond(request, obj)


async def _delete_options(request: web.Request) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    raw = await request.read()
    if raw:
        try:
            opts = json.loads(raw) or {}
        except ValueError:
            raise errors.BadRequest("DeleteOptions in the body could not be decoded") from None
    q = request.query
    if "propagationPolicy" in q:
        opts["propagationPolicy"] = q["propagationPolicy"]
    if "gracePeriodSeconds" in q:
        try:
            opts["gracePeriodSeconds"] = int(q["gracePeriodSeconds"])
        except ValueError:
            raise errors.BadRequest("gracePeriodSeconds must be an integer") from None
    if "orphanDependents" in q:
        opts["orphanDependents"] = q["orphanDependents"].lower() == "true"
    if "dryRun" in q:
        opts["dryRun"] = [q["dryRun"]]
    if opts.get("orphanDependents") is not None and "propagationPolicy" not in opts:
        opts["propagationPolicy"] = "Orphan" if opts["orphanDependents"] else "Background"
    return opts


async def delete(request: web.Request, t: Target) -> web.Response:
    reg = _registry(request)
    opts = await _delete_options(request)
    obj, removed = reg.delete(t.resource, t.namespace, t.name, propagation=opts.get("propagationPolicy"),
                              grace=opts.get("gracePeriodSeconds"), preconditions=opts.get("preconditions"),
                              dry_run="All" in (opts.get("dryRun") or []))
    if removed and t.resource.key not in ("pods", "persistentvolumeclaims"):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": t.name, "kind": t.resource.plural, "uid": obj["metadata"]["uid"],
                            **({"group": t.resource.group} if t.resource.group else {})}}
        return _respond(request, body)
    return _respond(request, obj)


async def delete_collection(request: web.Request, t: Target) -> web.Response:
    reg = _registry(request)
    opts = await _delete_options(request)
    items = _store(request).list(t.resource, t.namespace, _selectors(request))
    for item in items:
        try:
            reg.delete(t.resource, item["metadata"].get("namespace"), item["metadata"]["name"],
                       propagation=opts.get("propagationPolicy"), grace=opts.get("gracePeriodSeconds"))
        except errors.NotFound:
            pass
    return _respond(request, {"kind": t.resource.list_kind, "apiVersion": t.resource.api_version,
                              "metadata": {"resourceVersion": str(_store(request).rv)}, "items": items})


async def scale(request: web.Request, t: Target) -> web.Response:
    if t.resource.key not in (DEPLOYMENTS.key, REPLICASETS.key, STATEFULSETS.key):
        raise errors.NotFound("the server could not find the requested resource")
    store = _store(request)
    obj = store.get(t.resource, t.namespace, t.name)
    if request.method in ("PUT", "PATCH"):
        body = await _body(request)
        if request.method == "PATCH":
            body = patch.json_merge_patch(_scale_of(obj), body) if request.content_type != \
                "application/json-patch+json" else patch.json_patch(_scale_of(obj), body)
        replicas = (body.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise errors.Invalid(t.resource, "Scale", t.name, [{"field": "spec.replicas", "reason": "FieldValueInvalid",
                                                                "message": f"Invalid value: {replicas}: must be "
                                                                "greater than or equal to 0"}])
        new = copy_obj(obj)
        new["spec"]["replicas"] = replicas
        obj = _registry(request).update(t.resource, new, namespace=t.namespace, name=t.name)
    elif request.method != "GET":
        raise errors.MethodNotAllowed("the server does not allow this method on the requested resource")
    return json_response(_scale_of(obj))


def _scale_of(obj: Obj) -> Obj:
    md = obj["metadata"]
    sel = selectors.label_selector_to_string((obj.get("spec") or {}).get("selector") or {})
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": md["name"], "namespace": md.get("namespace"), "uid": md["uid"],
                         "resourceVersion": md["resourceVersion"], "creationTimestamp": md["creationTimestamp"]},
            "spec": {"replicas": obj["spec"].get("replicas", 1)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0), "selector": sel}}


async def token(request: web.Request, t: Target) -> web.Response:
    """POST serviceaccounts/{name}/token (`kubectl create token`): the account's bearer token as a TokenRequest."""
    _store(request).get(t.resource, t.namespace, t.name)  # 404 for an unknown account
    spec = (await _body(request)).get("spec") or {}
    seconds = spec.get("expirationSeconds") or 3600
    spec = {**spec, "audiences": spec.get("audiences") or ["https://kubernetes.default.svc.cluster.local"],
            "expirationSeconds": seconds}
    return json_response({"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                          "metadata": {"name": t.name, "namespace": t.namespace, "creationTimestamp": now_rfc3339()},
                          "spec": spec, "status": {
                              "token": request.app["cluster"].pki.service_account_token(t.namespace, t.name),
                              "expirationTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                   time.gmtime(time.time() + seconds))}}, 201)


async def evict(request: web.Request, t: Target) -> web.Response:
    opts = (await _body(request)).get("deleteOptions") or {}
    reg = _registry(request)
    pod = _store(request).get(t.resource, t.namespace, t.name)
    disruption.admit_eviction(_store(request), pod)  # 429 when a PodDisruptionBudget forbids it
    reg.delete(t.resource, t.namespace, t.name, grace=opts.get("gracePeriodSeconds"))
    return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201},
                         201)


# -- watch -------------------------------------------------------------------------------------------

async def watch(request: web.Request, t: Target) -> web.StreamResponse:
    store = _store(request)
    faults = request.app["faults"]
    since = request.query.get("resourceVersion") or None
    send_initial = _bool(request, "sendInitialEvents")
    if send_initial:
        since = None
    expire = since not in (None, "0") and faults.take("watch_expire_next")
    w = None if expire else store.watch(t.resource, t.namespace, since=since, predicate=_selectors(request))
    timeout = float(request.query.get("timeoutSeconds") or DEFAULT_WATCH_TIMEOUT)
    bookmarks = _bool(request, "allowWatchBookmarks")
    as_table = _wants_table(request)
    response = web.StreamResponse(headers={"Content-Type": "application/json", "Cache-Control": "no-cache"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    cluster = request.app["cluster"]
    if expire:
        status = errors.Expired(f"too old resource version: {since} ({store.rv})").status()
        await response.write(json.dumps({"type": ERROR, "object": status}).encode() + b"\n")
        await response.write_eof()
        return response
    deadline = time.monotonic() + timeout
    sent = 0
    columns_sent = False
    try:
        if send_initial:
            # initial events are already queued; mark their end with the bookmark clients wait for
            initial = w.queue.qsize()
        else:
            initial = -1
        while True:
            if initial == 0:
                initial = -1
                await response.write(_bookmark(t.resource, store.rv, initial_end=True))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            wait = min(remaining, cluster.bookmark_interval) if bookmarks else remaining
            try:
                item = await asyncio.wait_for(w.queue.get(), wait)
            except asyncio.TimeoutError:
                if bookmarks and deadline - time.monotonic() > 0:
                    await response.write(_bookmark(t.resource, store.rv))
                continue
            if item is None:
                break
            kind, event = item
            if initial > 0:
                initial -= 1
            if as_table:
                table = tables.table(t.resource, [event.obj], resource_version=str(event.rv),
                                     include_object=_include_object(request))
                if columns_sent:
                    table["columnDefinitions"] = []
                columns_sent = True
                line = json.dumps({"type": kind, "object": table}, separators=(",", ":")).encode() + b"\n"
            elif kind == event.type:
                if event.line is None:
                    event.line = json.dumps({"type": kind, "object": event.obj}, separators=(",", ":")).encode() + b"\n"
                line = event.line
            else:
                line = json.dumps({"type": kind, "object": event.obj}, separators=(",", ":")).encode() + b"\n"
            await response.write(line)
            sent += 1
            if faults.watch_drop_after and sent >= faults.watch_drop_after:
                faults.count("watch_dropped")
                # cut the stream the way a dropped connection looks: no clean end of the chunked body
                request.transport.close() if request.transport else None
                return response
        if bookmarks:
            await response.write(_bookmark(t.resource, store.rv))
        await response.write_eof()
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        w.close()
    return response


def _bookmark(resource: Resource, rv: int, initial_end: bool = False) -> bytes:
    md: dict[str, Any] = {"resourceVersion": str(rv)}
    if initial_end:
        md["annotations"] = {"k8s.io/initial-events-end": "true"}
    return json.dumps({"type": BOOKMARK, "object": {"kind": resource.kind, "apiVersion": resource.api_version,
                                                    "metadata": md}}, separators=(",", ":")).encode() + b"\n"

