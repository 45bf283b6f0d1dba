"""/version, discovery and OpenAPI v3 (`kubesim.discovery`) as kube-apiserver 1.32 answers them to kubectl."""
from __future__ import annotations

import hashlib
import json
import re

import pytest

from kubesim import discovery, resources
from kubesim.resources import RESOURCES

GROUP_VERSIONS = [(g, v) for g, versions in resources.groups().items() for v in versions]
KUBECTL_DISCOVERY_ACCEPT = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
                            "application/json")
ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def gvk(r) -> dict:
    return {"group": r.group, "kind": r.kind, "version": r.version}


# ------------------------------------------------------------------ /version

def test_the_version_is_a_1_32_server_whose_git_version_parses_as_semver():
    info = discovery.version_info()
    assert (info["major"], info["minor"]) == ("1", "32")
    assert re.fullmatch(r"v1\.32\.\d+(\+[0-9A-Za-z.-]+)?", info["gitVersion"])
    assert re.fullmatch(r"\w+/\w+", info["platform"])
    assert set(info) == {"major", "minor", "gitVersion", "gitCommit", "gitTreeState", "buildDate", "goVersion",
                         "compiler", "platform"}


# ------------------------------------------------------------------ legacy discovery

def test_the_core_group_lists_v1_with_the_servers_address():
    assert discovery.api_versions("10.0.0.1:6443") == {
        "kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "10.0.0.1:6443"}]}


NAMED_GROUPS = [("apps", "v1"), ("autoscaling", "v2"), ("batch", "v1"), ("discovery.k8s.io", "v1"),
                ("networking.k8s.io", "v1"), ("policy", "v1"), ("rbac.authorization.k8s.io", "v1")]


def test_the_group_list_names_every_group_with_its_preferred_version():
    assert discovery.api_group_list() == {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v}],
         "preferredVersion": {"groupVersion": f"{g}/{v}", "version": v}} for g, v in NAMED_GROUPS]}
    assert discovery.api_group("batch") == {
        "kind": "APIGroup", "apiVersion": "v1", "name": "batch",
        "versions": [{"groupVersion": "batch/v1", "version": "v1"}],
        "preferredVersion": {"groupVersion": "batch/v1", "version": "v1"}}


def test_unknown_groups_and_versions_are_key_errors():
    for call in (lambda: discovery.api_group("storage.k8s.io"), lambda: discovery.api_group(""),
                 lambda: discovery.api_resource_list("apps", "v1beta1"),
                 lambda: discovery.api_resource_list("autoscaling", "v1"),
                 lambda: discovery.openapi_v3_document("policy", "v1beta1")):
        with pytest.raises(KeyError):
            call()


def test_the_apps_resource_list_is_what_kube_apiserver_answers():
    assert discovery.api_resource_list("apps", "v1") == {
        "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "apps/v1",
        "resources": [
            {"name": "controllerrevisions", "singularName": "controllerrevision", "namespaced": True,
             "kind": "ControllerRevision", "verbs": ALL_VERBS, "storageVersionHash": "85nkx63pcBU="},
            {"name": "deployments", "singularName": "deployment", "namespaced": True, "kind": "Deployment",
             "verbs": ALL_VERBS, "shortNames": ["deploy"], "categories": ["all"],
             "storageVersionHash": "8aSe+NMegvE="},
            {"name": "deployments/scale", "singularName": "", "namespaced": True, "group": "autoscaling",
             "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]},
            {"name": "deployments/status", "singularName": "", "namespaced": True, "kind": "Deployment",
             "verbs": ["get", "patch", "update"]},
            {"name": "replicasets", "singularName": "replicaset", "namespaced": True, "kind": "ReplicaSet",
             "verbs": ALL_VERBS, "shortNames": ["rs"], "categories": ["all"], "storageVersionHash": "P1RzHs8/mWQ="},
            {"name": "replicasets/scale", "singularName": "", "namespaced": True, "group": "autoscaling",
             "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]},
            {"name": "replicasets/status", "singularName": "", "namespaced": True, "kind": "ReplicaSet",
             "verbs": ["get", "patch", "update"]},
            {"name": "statefulsets", "singularName": "statefulset", "namespaced": True, "kind": "StatefulSet",
             "verbs": ALL_VERBS, "shortNames": ["sts"], "categories": ["all"], "storageVersionHash": "H+vl74LkKdo="},
            {"name": "statefulsets/scale", "singularName": "", "namespaced": True, "group": "autoscaling",
             "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]},
            {"name": "statefulsets/status", "singularName": "", "namespaced": True, "kind": "StatefulSet",
             "verbs": ["get", "patch", "update"]},
        ]}


def test_the_rbac_kinds_are_served_the_cluster_ones_cluster_scoped():
    body = discovery.api_resource_list("rbac.authorization.k8s.io", "v1")
    got = {r["name"]: (r["kind"], r["namespaced"], r["storageVersionHash"]) for r in body["resources"]}
    assert got == {"clusterrolebindings": ("ClusterRoleBinding", False, "48tpQ8gZHFc="),
                   "clusterroles": ("ClusterRole", False, "bYE5ZWDrJ44="),
                   "rolebindings": ("RoleBinding", True, "eGsCzGH6b1g="),
                   "roles": ("Role", True, "7FuwZcIIItM=")}
    hpa = discovery.api_resource_list("autoscaling", "v2")["resources"]
    assert [(r["name"], r.get("shortNames"), r.get("categories")) for r in hpa] == [
        ("horizontalpodautoscalers", ["hpa"], ["all"]), ("horizontalpodautoscalers/status", None, None)]
    pdb = discovery.api_resource_list("policy", "v1")["resources"][0]
    assert (pdb["name"], pdb["shortNames"], pdb["storageVersionHash"]) == ("poddisruptionbudgets", ["pdb"],
                                                                           "EVWiDmWqyJw=")
    ing = discovery.api_resource_list("networking.k8s.io", "v1")["resources"][0]
    assert (ing["name"], ing["shortNames"], ing["storageVersionHash"]) == ("ingresses", ["ing"], "39NQlfNR+bo=")


def test_the_core_resource_list_has_no_api_version_and_lists_pod_subresources_as_entries():
    body = discovery.api_resource_list("", "v1")
    assert list(body) == ["kind", "groupVersion", "resources"]
    by_name = {r["name"]: r for r in body["resources"]}
    assert [r["name"] for r in body["resources"]] == sorted(by_name)
    assert by_name["pods"] == {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
                               "verbs": ALL_VERBS, "shortNames": ["po"], "categories": ["all"],
                               "storageVersionHash": "xPOwRZ+Yhw8="}
    assert by_name["pods/log"] == {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod",
                                   "verbs": ["get"]}
    assert by_name["pods/exec"] == {"name": "pods/exec", "singularName": "", "namespaced": True,
                                    "kind": "PodExecOptions", "verbs": ["create", "get"]}
    assert by_name["pods/eviction"] == {"name": "pods/eviction", "singularName": "", "namespaced": True,
                                        "group": "policy", "version": "v1", "kind": "Eviction", "verbs": ["create"]}
    assert by_name["serviceaccounts/token"]["group"] == "authentication.k8s.io"
    assert by_name["namespaces"]["verbs"] == ["create", "delete", "get", "list", "patch", "update", "watch"]
    assert by_name["namespaces/finalize"] == {"name": "namespaces/finalize", "singularName": "", "namespaced": False,
                                              "kind": "Namespace", "verbs": ["update"]}
    assert "shortNames" not in by_name["secrets"] and "categories" not in by_name["configmaps"]


@pytest.mark.parametrize(("group", "kind", "digest"), [
    ("", "Pod", "xPOwRZ+Yhw8="), ("", "ConfigMap", "qFsyl6wFWjQ="), ("", "Secret", "S6u1pOWzb84="),
    ("", "Service", "0/CO1lhkEBI="), ("", "Namespace", "Q3oi5N2YM8M="), ("", "Node", "XwShjMxG9Fs="),
    ("", "PersistentVolumeClaim", "QWTyNDq0dC4="), ("", "Event", "r2yiGXH7wu8="),
    ("apps", "Deployment", "8aSe+NMegvE="), ("apps", "StatefulSet", "H+vl74LkKdo="),
])
def test_storage_version_hashes_are_the_ones_real_clusters_publish(group, kind, digest):
    assert discovery.storage_version_hash(group, "v1", kind) == digest


def test_every_resource_and_subresource_is_in_legacy_discovery():
    for r in RESOURCES:
        names = {e["name"]: e for e in discovery.api_resource_list(r.group, r.version)["resources"]}
        entry = names[r.plural]
        assert (entry["kind"], entry["namespaced"], entry["verbs"]) == (r.kind, r.namespaced, list(r.verbs))
        assert entry.get("shortNames", []) == list(r.short_names)
        assert entry.get("categories", []) == list(r.categories)
        for sub in r.subresources:
            assert names[f"{r.plural}/{sub}"]["singularName"] == ""


# ------------------------------------------------------------------ aggregated discovery

def test_kubectls_discovery_accept_header_asks_for_aggregated_discovery_and_plain_json_does_not():
    assert discovery.accepts_aggregated(KUBECTL_DISCOVERY_ACCEPT)
    assert discovery.accepts_aggregated(discovery.AGGREGATED_CONTENT_TYPE)
    assert not discovery.accepts_aggregated("application/json, */*")
    assert not discovery.accepts_aggregated("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList")
    assert not discovery.accepts_aggregated(discovery.AGGREGATED_CONTENT_TYPE + ";q=0")
    assert discovery.AGGREGATED_CONTENT_TYPE == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def test_aggregated_discovery_of_the_core_group_is_one_unnamed_group():
    body = discovery.aggregated(core=True)
    assert (body["kind"], body["apiVersion"], body["metadata"]) == ("APIGroupDiscoveryList",
                                                                    "apidiscovery.k8s.io/v2", {})
    [group] = body["items"]
    assert group["metadata"] == {"creationTimestamp": None}
    [version] = group["versions"]
    assert (version["version"], version["freshness"]) == ("v1", "Current")
    pods = next(r for r in version["resources"] if r["resource"] == "pods")
    assert pods == {
        "resource": "pods", "responseKind": {"group": "", "version": "", "kind": "Pod"}, "scope": "Namespaced",
        "singularResource": "pod", "verbs": ALL_VERBS, "shortNames": ["po"], "categories": ["all"],
        "subresources": [
            {"subresource": "eviction", "responseKind": {"group": "policy", "version": "v1", "kind": "Eviction"},
             "verbs": ["create"]},
            {"subresource": "exec", "responseKind": {"group": "", "version": "", "kind": "PodExecOptions"},
             "verbs": ["create", "get"]},
            {"subresource": "log", "responseKind": {"group": "", "version": "", "kind": "Pod"}, "verbs": ["get"]},
            {"subresource": "status", "responseKind": {"group": "", "version": "", "kind": "Pod"},
             "verbs": ["get", "patch", "update"]},
        ]}
    nodes = next(r for r in version["resources"] if r["resource"] == "nodes")
    assert nodes["scope"] == "Cluster"


def test_aggregated_discovery_of_the_named_groups_gives_scale_as_autoscaling_v1():
    body = discovery.aggregated(core=False)
    assert [g["metadata"] for g in body["items"]] == [{"name": g, "creationTimestamp": None} for g, _ in NAMED_GROUPS]
    deployments = body["items"][0]["versions"][0]["resources"][1]
    assert deployments["resource"] == "deployments"
    assert deployments["subresources"][0] == {
        "subresource": "scale", "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
        "verbs": ["get", "patch", "update"]}


def test_every_resource_is_in_aggregated_discovery_with_its_short_names_and_categories():
    found = {}
    for core in (True, False):
        for group in discovery.aggregated(core)["items"]:
            for version in group["versions"]:
                for r in version["resources"]:
                    found[(group["metadata"].get("name", ""), version["version"], r["resource"])] = r
    assert set(found) == {(r.group, r.version, r.plural) for r in RESOURCES}
    for r in RESOURCES:
        entry = found[(r.group, r.version, r.plural)]
        assert entry.get("shortNames", []) == list(r.short_names)
        assert entry.get("categories", []) == list(r.categories)
        assert [s["subresource"] for s in entry.get("subresources", [])] == sorted(r.subresources)


# ------------------------------------------------------------------ OpenAPI v3: index

def test_the_openapi_index_points_at_every_group_version_with_its_content_hash():
    index = discovery.openapi_v3_index()
    assert set(index["paths"]) == {f"apis/{g}/{v}" if g else f"api/{v}" for g, v in GROUP_VERSIONS}
    for g, v in GROUP_VERSIONS:
        key = f"apis/{g}/{v}" if g else f"api/{v}"
        digest = hashlib.sha512(discovery.openapi_v3_json(g, v)).hexdigest().upper()
        assert index["paths"][key] == {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}


def test_the_openapi_hash_is_stable_because_the_bytes_are_canonical_json():
    doc = discovery.openapi_v3_document("apps", "v1")
    assert discovery.openapi_v3_document("apps", "v1") is doc
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    assert discovery.openapi_v3_json("apps", "v1") == canonical
    assert discovery.openapi_v3_hash("apps", "v1") == hashlib.sha512(canonical).hexdigest().upper()


# ------------------------------------------------------------------ OpenAPI v3: documents

@pytest.fixture(params=GROUP_VERSIONS, ids=lambda gv: "/".join(p for p in gv if p))
def document(request) -> tuple[str, str, dict]:
    g, v = request.param
    return g, v, json.loads(discovery.openapi_v3_json(g, v))


def walk(node, path=()):
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from walk(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, path + (i,))


def test_each_document_is_openapi_3_whose_refs_all_resolve_into_its_components(document):
    _, _, doc = document
    assert doc["openapi"] == "3.0.0" and doc["info"]["title"] == "Kubernetes"
    schemas = doc["components"]["schemas"]
    refs = [node["$ref"] for _, node in walk(doc) if isinstance(node.get("$ref"), str)]
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


def schemas_in(schema: dict, path: tuple = ()):
    """Every schema node under a component: properties, items, map values and allOf/oneOf/anyOf members."""
    yield path, schema
    for name, prop in schema.get("properties", {}).items():
        yield from schemas_in(prop, path + ("properties", name))
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from schemas_in(schema[key], path + (key,))
    for key in ("allOf", "oneOf", "anyOf"):
        for i, member in enumerate(schema.get(key, [])):
            yield from schemas_in(member, path + (key, i))


def test_schema_types_are_single_strings_as_kubectl_explain_compares_them(document):
    _, _, doc = document
    for name, component in doc["components"]["schemas"].items():
        for path, node in schemas_in(component, (name,)):
            assert isinstance(node.get("type", ""), str), f"type is not a string at {path}: {node['type']!r}"
            assert node.get("additionalProperties", {}) is not False, path
            if "$ref" in node:
                assert set(node) == {"$ref"}, f"$ref with siblings at {path} (kube-openapi wraps them in allOf)"


def test_every_resource_has_its_rest_paths_with_group_version_kind_and_action():
    for r in RESOURCES:
        doc = discovery.openapi_v3_document(r.group, r.version)
        root = f"/apis/{r.group}/{r.version}" if r.group else f"/api/{r.version}"
        collection = f"{root}/namespaces/{{namespace}}/{r.plural}" if r.namespaced else f"{root}/{r.plural}"
        item = collection + "/{name}"
        expected = {collection: {"get": "list", "post": "post", "delete": "deletecollection"},
                    item: {"get": "get", "put": "put", "patch": "patch", "delete": "delete"}}
        if r.namespaced:
            expected[f"{root}/{r.plural}"] = {"get": "list"}
        for path, ops in expected.items():
            for method, action in ops.items():
                op = doc["paths"][path][method]
                assert op["x-kubernetes-group-version-kind"] == gvk(r), (path, method)
                assert op["x-kubernetes-action"] == action, (path, method)
        for sub in r.subresources:
            assert f"{item}/{sub}" in doc["paths"], (r.kind, sub)
        [kind_schema] = [s for s in doc["components"]["schemas"].values()
                         if gvk(r) in s.get("x-kubernetes-group-version-kind", [])]
        assert kind_schema["type"] == "object"
        assert {"apiVersion", "kind", "metadata"} <= set(kind_schema["properties"]), r.kind


def test_every_write_carries_field_validation_so_kubectl_validates_on_the_server():
    for _, _, doc in [(g, v, discovery.openapi_v3_document(g, v)) for g, v in GROUP_VERSIONS]:
        for path, item in doc["paths"].items():
            for method in ("post", "put", "patch"):
                op = item.get(method)
                if op is None or op["x-kubernetes-action"] == "connect":
                    continue
                names = [p["name"] for p in op.get("parameters", [])]
                assert {"dryRun", "fieldManager", "fieldValidation"} <= set(names), (path, method)


def supports_field_validation(doc: dict, want: dict) -> bool:
    """kubectl's resource.supportsQueryParamV3: the first PATCH of the GVK must take fieldValidation."""
    for item in doc["paths"].values():
        patch = item.get("patch")
        if patch is None or patch.get("x-kubernetes-group-version-kind") != want:
            continue
        params = patch.get("parameters", []) + item.get("parameters", [])
        return any(p.get("name") == "fieldValidation" for p in params)
    return False


def supports_strategic_merge(doc: dict, want: dict) -> bool:
    """kubectl apply's gvkSupportsPatchOpenAPIV3."""
    for item in doc["paths"].values():
        patch = item.get("patch")
        if patch is not None and patch.get("x-kubernetes-group-version-kind") == want:
            return "application/strategic-merge-patch+json" in patch["requestBody"]["content"]
    return False


def test_kubectl_finds_field_validation_and_strategic_merge_support_for_every_kind():
    for r in RESOURCES:
        doc = json.loads(discovery.openapi_v3_json(r.group, r.version))
        assert supports_field_validation(doc, gvk(r)), r.kind
        assert supports_strategic_merge(doc, gvk(r)), r.kind


class PatchMeta:
    """strategicpatch.PatchMetaFromOpenAPIV3, as client-side apply walks it."""

    def __init__(self, schema: dict, schemas: dict):
        self.schema, self.schemas = schema, schemas

    def _resolve(self, schema: dict) -> dict:
        if schema.get("allOf"):
            schema = schema["allOf"][0]
        if "$ref" in schema:
            schema = self.schemas[schema["$ref"].removeprefix("#/components/schemas/")]
        return schema

    def field(self, key: str) -> tuple[PatchMeta, dict]:
        sub = self.schema["properties"][key]  # KeyError = "unable to find api field"
        meta = {k: sub[k] for k in ("x-kubernetes-patch-merge-key", "x-kubernetes-patch-strategy") if k in sub}
        return PatchMeta(self._resolve(sub), self.schemas), meta

    def slice(self, key: str) -> tuple[PatchMeta, dict]:
        sub = self.schema["properties"][key]
        meta = {k: sub[k] for k in ("x-kubernetes-patch-merge-key", "x-kubernetes-patch-strategy") if k in sub}
        return PatchMeta(self._resolve(sub.get("items", sub)), self.schemas), meta


def test_client_side_apply_finds_the_merge_keys_of_a_deployments_containers_and_volume_mounts():
    doc = json.loads(discovery.openapi_v3_json("apps", "v1"))
    schemas = doc["components"]["schemas"]
    want = {"group": "apps", "kind": "Deployment", "version": "v1"}
    [deployment] = [s for s in schemas.values() if want in s.get("x-kubernetes-group-version-kind", [])]
    meta = PatchMeta(deployment, schemas)
    pod_spec = meta.field("spec")[0].field("template")[0].field("spec")[0]
    containers, containers_meta = pod_spec.slice("containers")
    assert containers_meta == {"x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"}
    assert containers.slice("volumeMounts")[1]["x-kubernetes-patch-merge-key"] == "mountPath"
    assert containers.slice("env")[1]["x-kubernetes-patch-merge-key"] == "name"
    assert pod_spec.slice("volumes")[1] == {"x-kubernetes-patch-merge-key": "name",
                                            "x-kubernetes-patch-strategy": "merge,retainKeys"}
    assert meta.field("spec")[0].field("strategy")[1] == {"x-kubernetes-patch-strategy": "retainKeys"}


def test_kubectl_explain_finds_each_kind_from_its_path_and_each_field_has_a_type():
    for r in RESOURCES:
        doc = json.loads(discovery.openapi_v3_json(r.group, r.version))
        prefix = f"/apis/{r.group}" if r.group else "/api"
        candidates = [f"{prefix}/{r.version}/{r.plural}", f"{prefix}/{r.version}/{r.plural}/{{name}}",
                      f"{prefix}/{r.version}/namespaces/{{namespace}}/{r.plural}",
                      f"{prefix}/{r.version}/namespaces/{{namespace}}/{r.plural}/{{name}}"]
        found = None
        for path in candidates:
            for method in ("get", "post", "put", "patch", "delete"):
                found = found or doc["paths"].get(path, {}).get(method, {}).get("x-kubernetes-group-version-kind")
        assert found == gvk(r), r.kind
        [schema] = [s for s in doc["components"]["schemas"].values()
                    if found in s.get("x-kubernetes-group-version-kind", [])]
        assert schema["description"]
        for name, prop in schema["properties"].items():
            assert "type" in prop or "allOf" in prop or "$ref" in prop, (r.kind, name)
        assert "enum" not in schema["properties"]["apiVersion"]


def test_int_or_string_and_quantity_are_one_of_their_two_types_and_times_are_date_time_strings():
    schemas = discovery.openapi_v3_document("", "v1")["components"]["schemas"]
    assert schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["oneOf"] == [{"type": "string"},
                                                                                   {"type": "integer"}]
    assert schemas["io.k8s.apimachinery.pkg.api.resource.Quantity"]["oneOf"] == [{"type": "string"},
                                                                                 {"type": "number"}]
    time = schemas["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]
    assert (time["type"], time["format"]) == ("string", "date-time")


def test_the_scale_subresource_speaks_autoscaling_v1_scale_and_its_schema_is_included():
    doc = discovery.openapi_v3_document("apps", "v1")
    scale = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
    assert scale["patch"]["x-kubernetes-group-version-kind"] == {"group": "autoscaling", "kind": "Scale",
                                                                 "version": "v1"}
    assert "io.k8s.api.autoscaling.v1.Scale" in doc["components"]["schemas"]
    status = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status"]
    assert status["patch"]["x-kubernetes-group-version-kind"] == {"group": "apps", "kind": "Deployment",
                                                                  "version": "v1"}


def test_pod_log_exec_and_eviction_paths_describe_their_operations():
    paths = discovery.openapi_v3_document("", "v1")["paths"]
    base = "/api/v1/namespaces/{namespace}/pods/{name}"
    log = paths[base + "/log"]["get"]
    assert (log["operationId"], log["x-kubernetes-action"]) == ("readCoreV1NamespacedPodLog", "get")
    assert {p["name"] for p in log["parameters"]} >= {"container", "follow", "previous", "tailLines", "timestamps"}
    execute = paths[base + "/exec"]
    assert execute["post"]["x-kubernetes-group-version-kind"] == {"group": "", "kind": "PodExecOptions",
                                                                  "version": "v1"}
    assert execute["get"]["x-kubernetes-action"] == "connect"
    assert paths[base + "/eviction"]["post"]["x-kubernetes-group-version-kind"] == {
        "group": "policy", "kind": "Eviction", "version": "v1"}
    assert paths["/api/v1/namespaces/{namespace}/pods"]["get"]["operationId"] == "listCoreV1NamespacedPod"
    assert paths["/api/v1/namespaces/{name}"]["get"]["operationId"] == "readCoreV1Namespace"
