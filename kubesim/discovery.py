"""What kube-apiserver 1.32 tells clients about itself: /version, discovery and OpenAPI v3.

Everything here is computed from `resources.RESOURCES` and the Kubernetes
schemas (`schemas.definitions()`); nothing does I/O beyond reading those.

Endpoints and the Content-Type each must be answered with:

- `GET /version` → `version_info()`, `application/json`.  `/usr/bin/kubectl` is a
  dispatcher that reads `minor` to pick the kubectl binary of the server's minor.
- `GET /api` → `api_versions()`; `GET /apis` → `api_group_list()`;
  `GET /apis/G` → `api_group(G)`; `GET /api/v1`, `GET /apis/G/V` →
  `api_resource_list(G, V)`: legacy discovery, `application/json`.
- `GET /api`, `GET /apis` with `Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`
  (kubectl 1.32 and client-go ask for it first; see `accepts_aggregated`) →
  `aggregated(core=True|False)`, answered with exactly `AGGREGATED_CONTENT_TYPE`
  as Content-Type: client-go decides by the response's Content-Type whether it
  got aggregated discovery, and falls back to legacy discovery otherwise.
- `GET /openapi/v3` → `openapi_v3_index()`, `application/json`.
- `GET /openapi/v3/api/v1`, `GET /openapi/v3/apis/G/V` (with or without `?hash=`)
  → `openapi_v3_document(G, V)` (or the same as bytes, `openapi_v3_json`),
  `application/json`: client-go asks for JSON.  A real server can also answer
  `application/com.github.proto-openapi.spec.v3.v1.0+protobuf`; no client we
  serve asks for it.  `/openapi/v2` is asked for only as protobuf and a 404 is
  tolerated.

The OpenAPI documents are what kubectl needs from them: `kubectl explain`
(templates over the raw JSON: every `type` a plain string, schemas found by
`x-kubernetes-group-version-kind`), the strategic-merge patch of client-side
`apply` (`x-kubernetes-patch-merge-key` / `-strategy` on the properties,
`allOf[0]` / `$ref` followed), and `--validate=strict`, which uses
server-side field validation when the PATCH operation of the kind's path
carries a `fieldValidation` query parameter.
"""
from __future__ import annotations

import base64
import copy
import functools
import hashlib
import json
import platform
import sys
from dataclasses import dataclass
from typing import Any

from . import resources
from .resources import Resource
from .schemas import KUBE_MAJOR, KUBE_MINOR, definitions

AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
OPENAPI_V3_CONTENT_TYPE = "application/json"
GIT_VERSION = f"v{KUBE_MAJOR}.{KUBE_MINOR}.0+kubesim"

_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_SCHEMAS = "#/components/schemas/"


# ---------------------------------------------------------------- /version

def version_info() -> dict[str, str]:
    """`GET /version`: a 1.32 server.  `+kubesim` is semver build metadata, so it sorts as v1.32.0."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine or "amd64")
    return {
        "major": KUBE_MAJOR,
        "minor": KUBE_MINOR,
        "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2024-12-11T00:00:00Z",
        "goVersion": "go1.23.3",
        "compiler": "gc",
        "platform": f"{sys.platform}/{arch}",
    }


# ---------------------------------------------------------------- subresources

@dataclass(frozen=True)
class Subresource:
    """What discovery says of `parent/name`: its kind (None: the parent's), verbs, and a
    group/version when the kind lives in another group (`deployments/scale` → autoscaling/v1 Scale)."""

    name: str
    kind: str | None
    verbs: tuple[str, ...]
    group: str | None = None
    version: str | None = None


_GET_PATCH_UPDATE = ("get", "patch", "update")

_SUBRESOURCES: dict[str, Subresource] = {
    "status": Subresource("status", None, _GET_PATCH_UPDATE),
    "scale": Subresource("scale", "Scale", _GET_PATCH_UPDATE, "autoscaling", "v1"),
    "log": Subresource("log", None, ("get",)),
    "exec": Subresource("exec", "PodExecOptions", ("create", "get")),
    "attach": Subresource("attach", "PodAttachOptions", ("create", "get")),
    "portforward": Subresource("portforward", "PodPortForwardOptions", ("create", "get")),
    "eviction": Subresource("eviction", "Eviction", ("create",), "policy", "v1"),
    "binding": Subresource("binding", "Binding", ("create",)),
    "ephemeralcontainers": Subresource("ephemeralcontainers", None, _GET_PATCH_UPDATE),
    "finalize": Subresource("finalize", None, ("update",)),
    "token": Subresource("token", "TokenRequest", ("create",), "authentication.k8s.io", "v1"),
    "proxy": Subresource("proxy", None, ("create", "delete", "get", "patch", "update")),
}


def subresource(resource: Resource, name: str) -> Subresource:
    """The discovery facts of `resource/name` (`pods/exec`, `deployments/scale`, …)."""
    sub = _SUBRESOURCES[name]
    if name == "proxy":  # PodProxyOptions, NodeProxyOptions, ServiceProxyOptions
        return Subresource(name, resource.kind + "ProxyOptions", sub.verbs)
    return sub


def storage_version_hash(group: str, version: str, kind: str) -> str:
    """kube-apiserver's `storageversionhash.StorageVersionHash`: the first 8 bytes of sha256("g/v/kind")."""
    digest = hashlib.sha256(f"{group}/{version}/{kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


# ---------------------------------------------------------------- legacy discovery

def _group_version(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


def _known(group: str, version: str) -> list[Resource]:
    found = resources.in_group_version(group, version)
    if not found:
        raise KeyError(f"no such group-version: {_group_version(group, version)!r}")
    return found


def api_versions(server_address: str = "127.0.0.1:6443") -> dict[str, Any]:
    """`GET /api`: APIVersions of the core group."""
    return {
        "kind": "APIVersions",
        "versions": list(resources.groups().get("", [])),
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _api_group(group: str) -> dict[str, Any]:
    versions = [{"groupVersion": f"{group}/{v}", "version": v} for v in resources.groups()[group]]
    return {"name": group, "versions": versions, "preferredVersion": versions[0]}


def api_group_list() -> dict[str, Any]:
    """`GET /apis`: every named group (the core group is only under /api)."""
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_api_group(g) for g in resources.groups() if g],
    }


def api_group(group: str) -> dict[str, Any]:
    """`GET /apis/G`; KeyError for an unknown group."""
    if not group or group not in resources.groups():
        raise KeyError(f"no such group: {group!r}")
    return {"kind": "APIGroup", "apiVersion": "v1", **_api_group(group)}


def _resource_entry(r: Resource) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": r.plural,
        "singularName": r.singular_name,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": list(r.verbs),
    }
    if r.short_names:
        entry["shortNames"] = list(r.short_names)
    if r.categories:
        entry["categories"] = list(r.categories)
    entry["storageVersionHash"] = storage_version_hash(r.group, r.version, r.kind)
    return entry


def _subresource_entry(r: Resource, name: str) -> dict[str, Any]:
    sub = subresource(r, name)
    entry: dict[str, Any] = {"name": f"{r.plural}/{name}", "singularName": "", "namespaced": r.namespaced}
    if sub.group is not None:
        entry["group"] = sub.group
        entry["version"] = sub.version
    entry["kind"] = sub.kind or r.kind
    entry["verbs"] = list(sub.verbs)
    return entry


def api_resource_list(group: str, version: str) -> dict[str, Any]:
    """`GET /api/v1`, `GET /apis/G/V`: the APIResourceList, subresources as `plural/sub` entries,
    sorted by name as kube-apiserver lists them; KeyError for an unknown group-version."""
    entries = []
    for r in _known(group, version):
        entries.append(_resource_entry(r))
        entries.extend(_subresource_entry(r, s) for s in r.subresources)
    entries.sort(key=lambda e: e["name"])
    body: dict[str, Any] = {"kind": "APIResourceList"}
    if group:  # kube-apiserver leaves apiVersion out of the core list
        body["apiVersion"] = "v1"
    body["groupVersion"] = _group_version(group, version)
    body["resources"] = entries
    return body


# ---------------------------------------------------------------- aggregated discovery

def accepts_aggregated(accept: str) -> bool:
    """True when an Accept header asks for apidiscovery.k8s.io/v2 APIGroupDiscoveryList."""
    for media in accept.split(","):
        parts = [p.strip() for p in media.split(";")]
        params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        if (parts[0] in ("application/json", "*/*") and params.get("g") == "apidiscovery.k8s.io"
                and params.get("v") == "v2" and params.get("as") == "APIGroupDiscoveryList"
                and params.get("q", "1").strip() not in ("0", "0.0")):
            return True
    return False


def _aggregated_resource(r: Resource) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": r.plural,
        "responseKind": {"group": "", "version": "", "kind": r.kind},
        "scope": "Namespaced" if r.namespaced else "Cluster",
        "singularResource": r.singular_name,
        "verbs": list(r.verbs),
    }
    if r.short_names:
        entry["shortNames"] = list(r.short_names)
    if r.categories:
        entry["categories"] = list(r.categories)
    subs = []
    for name in sorted(r.subresources):
        sub = subresource(r, name)
        subs.append({
            "subresource": name,
            "responseKind": {"group": sub.group or "", "version": sub.version or "", "kind": sub.kind or r.kind},
            "verbs": list(sub.verbs),
        })
    if subs:
        entry["subresources"] = subs
    return entry


def aggregated(core: bool) -> dict[str, Any]:
    """`GET /api` (core=True) or `GET /apis` (core=False) as an apidiscovery.k8s.io/v2
    APIGroupDiscoveryList.  Serve it with Content-Type `AGGREGATED_CONTENT_TYPE`."""
    items = []
    for group, versions in resources.groups().items():
        if (group == "") != core:
            continue
        metadata: dict[str, Any] = {"name": group} if group else {}
        metadata["creationTimestamp"] = None
        items.append({
            "metadata": metadata,
            "versions": [{
                "version": v,
                "resources": [_aggregated_resource(r)
                              for r in sorted(resources.in_group_version(group, v), key=lambda r: r.plural)],
                "freshness": "Current",
            } for v in versions],
        })
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}


# ---------------------------------------------------------------- OpenAPI v3: schemas

def _convert(schema: Any) -> Any:
    """One JSON-schema (2020-12, from kubernetes-json-schema) node as kube-openapi's OpenAPI 3.0
    writes it: `type` a single string (the `null` alternative dropped: kubectl explain's
    templates compare `type` with "object"), `$ref` into components, a `$ref` with siblings
    wrapped in `allOf` as kube-apiserver does, no `additionalProperties: false` (a strictness the
    JSON-schema package adds) and no `enum` on apiVersion/kind (likewise added)."""
    if isinstance(schema, list):
        return [_convert(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type":
            if isinstance(value, list):
                kinds = [t for t in value if t != "null"]
                if not kinds:
                    continue
                value = kinds[0] if len(kinds) == 1 else kinds
            out[key] = value
        elif key == "$ref":
            out[key] = _SCHEMAS + value.rsplit("/", 1)[-1]
        elif key == "$schema":
            continue
        elif key == "properties":
            props = {}
            for name, prop in value.items():
                prop = _convert(prop)
                if name in ("apiVersion", "kind") and isinstance(prop, dict):
                    prop.pop("enum", None)
                props[name] = prop
            out[key] = props
        elif key == "additionalProperties":
            if value is False:
                continue
            out[key] = _convert(value)
        elif key in ("items", "allOf", "oneOf", "anyOf", "not"):
            out[key] = _convert(value)
        else:
            out[key] = copy.deepcopy(value)
    if "$ref" in out and len(out) > 1:
        ref = out.pop("$ref")
        out = {"allOf": [{"$ref": ref}], **out}
    return out


@functools.cache
def _component(name: str) -> dict[str, Any]:
    return _convert(definitions()[name])


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_SCHEMAS):
            found.add(ref[len(_SCHEMAS):])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _closure(roots: set[str]) -> dict[str, dict[str, Any]]:
    """Every definition reachable from `roots`, by name, sorted."""
    seen: set[str] = set()
    todo = [r for r in roots if r in definitions()]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        found: set[str] = set()
        _refs(_component(name), found)
        todo.extend(n for n in found if n not in seen)
    return {name: _component(name) for name in sorted(seen)}


def _definition_for(group: str, version: str, kind: str) -> str:
    """The definition name of a kind (Scale, Eviction, TokenRequest…) by its x-kubernetes-group-version-kind."""
    want = {"group": group, "version": version, "kind": kind}
    for name, schema in definitions().items():
        if want in schema.get("x-kubernetes-group-version-kind", []):
            return name
    raise KeyError(f"no definition for {group}/{version} {kind}")


# ---------------------------------------------------------------- OpenAPI v3: parameters

def _param(name: str, where: str, description: str, kind: str = "string", required: bool = False) -> dict[str, Any]:
    p: dict[str, Any] = {"name": name, "in": where, "description": description}
    if required:
        p["required"] = True
    p["schema"] = {"type": kind, "uniqueItems": True}
    return p


_P = {
    "pretty": _param("pretty", "query", "If 'true', then the output is pretty printed. Defaults to 'false' unless "
                     "the user-agent indicates a browser or command-line HTTP tool (curl and wget)."),
    "namespace": _param("namespace", "path", "object name and auth scope, such as for teams and projects",
                        required=True),
    "dryRun": _param("dryRun", "query", "When present, indicates that modifications should not be persisted. An "
                     "invalid or unrecognized dryRun directive will result in an error response and no further "
                     "processing of the request. Valid values are: - All: all dry run stages will be processed"),
    "fieldManager": _param("fieldManager", "query", "fieldManager is a name associated with the actor or entity "
                           "that is making these changes. The value must be less than or 128 characters long, and "
                           "only contain printable characters, as defined by "
                           "https://golang.org/pkg/unicode/#IsPrint."),
    "fieldValidation": _param(
        "fieldValidation", "query",
        "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing "
        "unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are "
        "silently dropped from the object, and will ignore all but the last duplicate field that the decoder "
        "encounters. This is the default behavior prior to v1.23. - Warn: This will send a warning via the "
        "standard warning response header for each unknown field that is dropped from the object, and for each "
        "duplicate field that is encountered. The request will still succeed if there are no other errors, and "
        "will only persist the last of any duplicate fields. This is the default in v1.23+ - Strict: This will "
        "fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if "
        "any duplicate fields are present. The error returned from the server will contain all unknown and "
        "duplicate fields encountered."),
    "force": _param("force", "query", "Force is going to \"force\" Apply requests. It means user will re-acquire "
                    "conflicting fields owned by other people. Force flag must be unset for non-apply patch "
                    "requests.", "boolean"),
    "allowWatchBookmarks": _param("allowWatchBookmarks", "query", "allowWatchBookmarks requests watch events with "
                                  "type \"BOOKMARK\". Servers that do not implement bookmarks may ignore this flag "
                                  "and bookmarks are sent at the server's discretion.", "boolean"),
    "continue": _param("continue", "query", "The continue option should be set when retrieving more results from "
                       "the server. Since this value is server defined, clients may only use the continue value "
                       "from a previous query result with identical query parameters."),
    "fieldSelector": _param("fieldSelector", "query", "A selector to restrict the list of returned objects by their "
                            "fields. Defaults to everything."),
    "labelSelector": _param("labelSelector", "query", "A selector to restrict the list of returned objects by their "
                            "labels. Defaults to everything."),
    "limit": _param("limit", "query", "limit is a maximum number of responses to return for a list call.",
                    "integer"),
    "resourceVersion": _param("resourceVersion", "query", "resourceVersion sets a constraint on what resource "
                              "versions a request may be served from. Defaults to unset"),
    "resourceVersionMatch": _param("resourceVersionMatch", "query", "resourceVersionMatch determines how "
                                   "resourceVersion is applied to list calls. Defaults to unset"),
    "sendInitialEvents": _param("sendInitialEvents", "query", "`sendInitialEvents=true` may be set together with "
                                "`watch=true`. In that case, the watch stream will begin with synthetic events to "
                                "produce the current state of objects in the collection.", "boolean"),
    "timeoutSeconds": _param("timeoutSeconds", "query", "Timeout for the list/watch call. This limits the duration "
                             "of the call, regardless of any activity or inactivity.", "integer"),
    "watch": _param("watch", "query", "Watch for changes to the described resources and return them as a stream of "
                    "add, update, and remove notifications. Specify resourceVersion.", "boolean"),
    "gracePeriodSeconds": _param("gracePeriodSeconds", "query", "The duration in seconds before the object should "
                                 "be deleted. Value must be non-negative integer. The value zero indicates delete "
                                 "immediately.", "integer"),
    "ignoreStoreReadErrorWithClusterBreakingPotential": _param(
        "ignoreStoreReadErrorWithClusterBreakingPotential", "query", "if set to true, it will trigger an unsafe "
        "deletion of the resource in case the normal deletion flow fails with a corrupt object error.", "boolean"),
    "orphanDependents": _param("orphanDependents", "query", "Deprecated: please use the PropagationPolicy, this "
                               "field will be deprecated in 1.7. Should the dependent objects be orphaned.",
                               "boolean"),
    "propagationPolicy": _param("propagationPolicy", "query", "Whether and how garbage collection will be "
                                "performed. Either this field or OrphanDependents may be set, but not both. "
                                "Acceptable values are: 'Orphan', 'Foreground', 'Background'."),
}

_WRITE = ("dryRun", "fieldManager", "fieldValidation")
_LIST = ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit", "resourceVersion",
         "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds", "watch")
_DELETE = ("dryRun", "gracePeriodSeconds", "ignoreStoreReadErrorWithClusterBreakingPotential", "orphanDependents",
           "propagationPolicy")
_DELETE_COLLECTION = ("continue", "dryRun", "fieldSelector", "gracePeriodSeconds",
                      "ignoreStoreReadErrorWithClusterBreakingPotential", "labelSelector", "limit",
                      "orphanDependents", "propagationPolicy", "resourceVersion", "resourceVersionMatch",
                      "sendInitialEvents", "timeoutSeconds")
_PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json",
                "application/strategic-merge-patch+json")
# kinds whose DELETE answers the deleted object rather than a Status, as in kube-apiserver
_DELETE_RETURNS_OBJECT = {"Pod", "PersistentVolumeClaim", "PersistentVolume", "Service"}


def _params(*names: str) -> list[dict[str, Any]]:
    return [copy.deepcopy(_P[n]) for n in names]


def _name_param(kind: str, what: str = "") -> dict[str, Any]:
    return _param("name", "path", f"name of the {what or kind}", required=True)


def _ref(definition: str) -> dict[str, str]:
    return {"$ref": _SCHEMAS + definition}


def _json(definition: str, *media: str) -> dict[str, Any]:
    return {m: {"schema": _ref(definition)} for m in (media or ("application/json",))}


def _ok(definition: str, *codes: str, media: tuple[str, ...] = ()) -> dict[str, Any]:
    responses = {code: {"description": {"200": "OK", "201": "Created", "202": "Accepted"}[code],
                        "content": _json(definition, *media)} for code in codes}
    responses["401"] = {"description": "Unauthorized"}
    return responses


def _operation_id(verb: str, group: str, version: str, suffix: str) -> str:
    g = "".join(part.capitalize() for part in group.split(".")[0].split("-")) if group else "Core"
    return f"{verb}{g}{version.capitalize()}{suffix}"


def _gvk(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "kind": kind, "version": version}


def _op(*, group: str, version: str, tag: str, op_id: str, description: str, action: str,
        gvk: dict[str, str], responses: dict[str, Any], params: list[dict[str, Any]] | None = None,
        body: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"tags": [tag], "description": description, "operationId": op_id}
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = body
    op["responses"] = responses
    op["x-kubernetes-action"] = action
    op["x-kubernetes-group-version-kind"] = gvk
    return op


def _resource_paths(r: Resource, roots: set[str]) -> dict[str, dict[str, Any]]:
    """The REST paths of one resource and its subresources, as kube-apiserver's OpenAPI v3 lists them."""
    g, v = r.group, r.version
    tag = f"{g.split('.')[0] if g else 'core'}_{v}"
    root = f"/apis/{g}/{v}" if g else f"/api/{v}"
    definition = r.definition
    list_definition = definition + "List"
    status = _META + "Status"
    delete_options = _META + "DeleteOptions"
    patch = _META + "Patch"
    roots.update({definition, list_definition, status, delete_options, patch})
    gvk = _gvk(g, v, r.kind)
    ns = "Namespaced" if r.namespaced else ""
    kind = r.kind
    pretty = _params("pretty")
    paths: dict[str, dict[str, Any]] = {}

    def opid(verb: str, suffix: str = "") -> str:
        return _operation_id(verb, g, v, f"{ns}{kind}{suffix}")

    collection = f"{root}/namespaces/{{namespace}}/{r.plural}" if r.namespaced else f"{root}/{r.plural}"
    item = collection + "/{name}"
    collection_params = (_params("namespace") if r.namespaced else []) + pretty
    item_params = [_name_param(kind)] + collection_params
    common = {"group": g, "version": v, "tag": tag, "gvk": gvk}

    list_media = ("application/json", "application/json;stream=watch")
    paths[collection] = {
        "get": _op(**common, op_id=opid("list"), description=f"list or watch objects of kind {kind}",
                   action="list", params=_params(*_LIST), responses=_ok(list_definition, "200", media=list_media)),
        "post": _op(**common, op_id=opid("create"), description=f"create a {kind}", action="post",
                    params=_params(*_WRITE),
                    body={"content": _json(definition, "*/*"), "required": True},
                    responses=_ok(definition, "200", "201", "202")),
        "delete": _op(**common, op_id=_operation_id("delete", g, v, f"Collection{ns}{kind}"),
                      description=f"delete collection of {kind}", action="deletecollection",
                      params=_params(*_DELETE_COLLECTION), body={"content": _json(delete_options, "*/*")},
                      responses=_ok(status, "200")),
        "parameters": collection_params,
    }
    deleted = definition if kind in _DELETE_RETURNS_OBJECT else status
    paths[item] = {
        "get": _op(**common, op_id=opid("read"), description=f"read the specified {kind}", action="get",
                   responses=_ok(definition, "200")),
        "put": _op(**common, op_id=opid("replace"), description=f"replace the specified {kind}", action="put",
                   params=_params(*_WRITE), body={"content": _json(definition, "*/*"), "required": True},
                   responses=_ok(definition, "200", "201")),
        "delete": _op(**common, op_id=opid("delete"), description=f"delete a {kind}", action="delete",
                      params=_params(*_DELETE), body={"content": _json(delete_options, "*/*")},
                      responses=_ok(deleted, "200", "202")),
        "patch": _op(**common, op_id=opid("patch"), description=f"partially update the specified {kind}",
                     action="patch", params=_params(*_WRITE, "force"),
                     body={"content": _json(patch, *_PATCH_TYPES), "required": True},
                     responses=_ok(definition, "200", "201")),
        "parameters": item_params,
    }
    if r.namespaced:
        paths[f"{root}/{r.plural}"] = {
            "get": _op(**common, op_id=_operation_id("list", g, v, f"{kind}ForAllNamespaces"),
                       description=f"list or watch objects of kind {kind}", action="list",
                       responses=_ok(list_definition, "200", media=list_media)),
            "parameters": _params(*_LIST, "pretty"),
        }

    for name in r.subresources:
        path = f"{item}/{name}"
        sub = subresource(r, name)
        if name in ("status", "scale", "ephemeralcontainers"):
            if sub.group is not None:
                sub_gvk = _gvk(sub.group, sub.version, sub.kind)
                sub_def = _definition_for(sub.group, sub.version, sub.kind)
            else:
                sub_gvk, sub_def = gvk, definition
            roots.add(sub_def)
            suffix = name.capitalize() if name != "ephemeralcontainers" else "Ephemeralcontainers"
            sc = {**common, "gvk": sub_gvk}
            paths[path] = {
                "get": _op(**sc, op_id=opid("read", suffix), description=f"read {name} of the specified {kind}",
                           action="get", responses=_ok(sub_def, "200")),
                "put": _op(**sc, op_id=opid("replace", suffix), description=f"replace {name} of the specified {kind}",
                           action="put", params=_params(*_WRITE),
                           body={"content": _json(sub_def, "*/*"), "required": True},
                           responses=_ok(sub_def, "200", "201")),
                "patch": _op(**sc, op_id=opid("patch", suffix),
                             description=f"partially update {name} of the specified {kind}", action="patch",
                             params=_params(*_WRITE, "force"),
                             body={"content": _json(patch, *_PATCH_TYPES), "required": True},
                             responses=_ok(sub_def, "200", "201")),
                "parameters": [_name_param(kind, f"{sub.kind or kind}")] + collection_params,
            }
        elif name == "log":
            log_params = [
                _param("container", "query", "The container for which to stream logs. Defaults to only container "
                       "if there is one container in the pod."),
                _param("follow", "query", "Follow the log stream of the pod. Defaults to false.", "boolean"),
                _param("insecureSkipTLSVerifyBackend", "query", "insecureSkipTLSVerifyBackend indicates that the "
                       "apiserver should not confirm the validity of the serving certificate of the backend it is "
                       "connecting to.", "boolean"),
                _param("limitBytes", "query", "If set, the number of bytes to read from the server before "
                       "terminating the log output.", "integer"),
                _param("previous", "query", "Return previous terminated container logs. Defaults to false.",
                       "boolean"),
                _param("sinceSeconds", "query", "A relative time in seconds before the current time from which to "
                       "show logs.", "integer"),
                _param("tailLines", "query", "If set, the number of lines from the end of the logs to show.",
                       "integer"),
                _param("timestamps", "query", "If true, add an RFC3339 or RFC3339Nano timestamp at the beginning "
                       "of every line of log output. Defaults to false.", "boolean"),
            ]
            paths[path] = {
                "get": _op(**common, op_id=opid("read", "Log"), description=f"read log of the specified {kind}",
                           action="get", params=log_params,
                           responses={"200": {"description": "OK",
                                              "content": {"text/plain": {"schema": {"type": "string"}}}},
                                      "401": {"description": "Unauthorized"}}),
                "parameters": [_name_param(kind)] + collection_params,
            }
        elif name in ("exec", "attach", "portforward", "proxy"):
            sc = {**common, "gvk": _gvk(g, v, sub.kind)}
            connect_params = [_param(p, "query", f"{p} of the {sub.kind}", t) for p, t in {
                "exec": (("command", "string"), ("container", "string"), ("stderr", "boolean"),
                         ("stdin", "boolean"), ("stdout", "boolean"), ("tty", "boolean")),
                "attach": (("container", "string"), ("stderr", "boolean"), ("stdin", "boolean"),
                           ("stdout", "boolean"), ("tty", "boolean")),
                "portforward": (("ports", "integer"),),
                "proxy": (("path", "string"),),
            }[name]]
            ok = {"200": {"description": "OK", "content": {"*/*": {"schema": {"type": "string"}}}},
                  "401": {"description": "Unauthorized"}}
            item_ops = {}
            for method in ("get", "post") if name != "proxy" else ("get", "post", "put", "patch", "delete"):
                verb = "connect" + method.capitalize()
                item_ops[method] = _op(**sc, op_id=opid(verb, name.capitalize()),
                                       description=f"connect {method.upper()} requests to {name} of {kind}",
                                       action="connect", params=copy.deepcopy(connect_params), responses=ok)
            item_ops["parameters"] = [_name_param(kind, sub.kind)] + (_params("namespace") if r.namespaced else [])
            paths[path] = item_ops
        elif name in ("eviction", "token", "binding"):
            sub_group = sub.group if sub.group is not None else g
            sub_version = sub.version if sub.version is not None else v
            sub_def = _definition_for(sub_group, sub_version, sub.kind)
            roots.add(sub_def)
            sc = {**common, "gvk": _gvk(sub_group, sub_version, sub.kind)}
            paths[path] = {
                "post": _op(**sc, op_id=opid("create", name.capitalize()), description=f"create {name} of a {kind}",
                            action="post", params=_params(*_WRITE),
                            body={"content": _json(sub_def, "*/*"), "required": True},
                            responses=_ok(sub_def, "200", "201", "202")),
                "parameters": [_name_param(kind, sub.kind)] + collection_params,
            }
        elif name == "finalize":
            paths[path] = {
                "put": _op(**common, op_id=opid("replace", "Finalize"),
                           description=f"replace finalize of the specified {kind}", action="put",
                           params=_params(*_WRITE), body={"content": _json(definition, "*/*"), "required": True},
                           responses=_ok(definition, "200", "201")),
                "parameters": [_name_param(kind)] + collection_params,
            }
    return paths


# ---------------------------------------------------------------- OpenAPI v3: documents

@functools.cache
def openapi_v3_document(group: str, version: str) -> dict[str, Any]:
    """`GET /openapi/v3/api/v1` (group "") or `/openapi/v3/apis/G/V`: an OpenAPI 3.0 document with
    a path for every resource and subresource of the group-version (each operation carrying
    `x-kubernetes-group-version-kind` and `x-kubernetes-action`; writes a `fieldValidation`
    parameter) and `components.schemas` holding every definition those reach.  KeyError for an
    unknown group-version.  Cached and shared: treat it as read-only."""
    found = _known(group, version)
    tag = f"{group.split('.')[0] if group else 'core'}_{version}"
    root = f"/apis/{group}/{version}/" if group else f"/api/{version}/"
    roots = {_META + "APIResourceList"}
    paths: dict[str, Any] = {
        root: {"get": {
            "tags": [tag],
            "description": "get available resources",
            "operationId": _operation_id("get", group, version, "APIResources"),
            "responses": {"200": {"description": "OK", "content": _json(_META + "APIResourceList")},
                          "401": {"description": "Unauthorized"}},
        }},
    }
    for r in sorted(found, key=lambda r: r.plural):
        paths.update(_resource_paths(r, roots))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": GIT_VERSION.split("+")[0]},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": _closure(roots),
            "securitySchemes": {"BearerToken": {"type": "apiKey", "description": "Bearer Token authentication",
                                                "name": "authorization", "in": "header"}},
        },
        "security": [{"BearerToken": []}],
    }


@functools.cache
def openapi_v3_json(group: str, version: str) -> bytes:
    """The document as the bytes to serve (`application/json`); its sha512 is the index's hash."""
    return json.dumps(openapi_v3_document(group, version), sort_keys=True, separators=(",", ":")).encode()


@functools.cache
def openapi_v3_hash(group: str, version: str) -> str:
    """The `?hash=` of the document, as kube-apiserver makes it: upper-case hex sha512 of the JSON."""
    return hashlib.sha512(openapi_v3_json(group, version)).hexdigest().upper()


def openapi_v3_index() -> dict[str, Any]:
    """`GET /openapi/v3`: where each group-version's document is, with a stable content hash."""
    paths = {}
    for group, versions in resources.groups().items():
        for version in versions:
            key = f"apis/{group}/{version}" if group else f"api/{version}"
            paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={openapi_v3_hash(group, version)}"}
    return {"paths": paths}
