"""kubesim.patch: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch."""
from __future__ import annotations

import copy
import json

import pytest
import yaml

from kubesim import errors
from kubesim.patch import PatchError, PatchRejected, json_merge_patch, json_patch, strategic_merge_patch

DEPLOYMENT = "io.k8s.api.apps.v1.Deployment"


def live_deployment() -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "db", "namespace": "default", "labels": {"app": "db", "tier": "data"},
                     "annotations": {"owner": "team-a"}, "finalizers": ["example.com/a", "example.com/b"]},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "db"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app": "db"}},
                "spec": {
                    "containers": [{
                        "name": "db", "image": "postgres:15", "command": ["postgres", "-c", "fsync=off"],
                        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                        "ports": [{"containerPort": 5432, "protocol": "TCP"}],
                        "volumeMounts": [{"name": "data", "mountPath": "/var/lib/postgresql"},
                                         {"name": "run", "mountPath": "/run"}],
                    }],
                    "volumes": [{"name": "data", "emptyDir": {}}, {"name": "run", "emptyDir": {"medium": "Memory"}}],
                },
            },
        },
    }


def directive_keys(value, path="") -> list[str]:
    """Every key starting with '$' anywhere in a document."""
    found = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k.startswith("$"):
                found.append(f"{path}.{k}")
            found += directive_keys(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += directive_keys(v, f"{path}[{i}]")
    return found


# --- JSON merge patch (RFC 7386) ------------------------------------------------


@pytest.mark.parametrize("target, patch, expected", [  # RFC 7386 appendix A
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
])
def test_json_merge_patch_follows_the_rfc_7386_examples(target, patch, expected):
    assert json_merge_patch(target, patch) == expected


def test_json_merge_patch_merges_annotations_and_deletes_labels_with_null():
    live = live_deployment()
    result = json_merge_patch(live, {"metadata": {"annotations": {"new": "x"}, "labels": {"tier": None}},
                                     "spec": {"replicas": 3}})
    assert result["metadata"] == {**live["metadata"], "annotations": {"owner": "team-a", "new": "x"},
                                  "labels": {"app": "db"}}
    assert result["spec"] == {**live["spec"], "replicas": 3}


def test_json_merge_patch_never_mutates_or_aliases_its_inputs():
    live, patch = live_deployment(), {"spec": {"template": {"spec": {"volumes": [{"name": "x", "emptyDir": {}}]}}}}
    live_before, patch_before = copy.deepcopy(live), copy.deepcopy(patch)
    result = json_merge_patch(live, patch)
    result["spec"]["selector"]["matchLabels"]["app"] = "changed"
    result["spec"]["template"]["spec"]["volumes"][0]["emptyDir"]["medium"] = "Memory"
    assert (live, patch) == (live_before, patch_before)


# --- JSON patch (RFC 6902) --------------------------------------------------------


@pytest.mark.parametrize("doc, ops, expected", [  # RFC 6902 appendix A
    ({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}], {"baz": "qux", "foo": "bar"}),
    ({"foo": ["bar", "baz"]}, [{"op": "add", "path": "/foo/1", "value": "qux"}], {"foo": ["bar", "qux", "baz"]}),
    ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
    ({"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}], {"foo": ["bar", "baz"]}),
    ({"baz": "qux", "foo": "bar"}, [{"op": "replace", "path": "/baz", "value": "boo"}], {"baz": "boo", "foo": "bar"}),
    ({"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
     [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
     {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}),
    ({"foo": ["all", "grass", "cows", "eat"]}, [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
     {"foo": ["all", "cows", "eat", "grass"]}),
    ({"baz": "qux", "foo": ["a", 2, "c"]},
     [{"op": "test", "path": "/baz", "value": "qux"}, {"op": "test", "path": "/foo/1", "value": 2}],
     {"baz": "qux", "foo": ["a", 2, "c"]}),
    ({"foo": "bar"}, [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
     {"foo": "bar", "child": {"grandchild": {}}}),
    ({"foo": ["bar"]}, [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}], {"foo": ["bar", ["abc", "def"]]}),
    ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}], {"/": 9, "~1": 10}),
    ({"a/b": 1, "m~n": 2}, [{"op": "replace", "path": "/a~1b", "value": 3}, {"op": "remove", "path": "/m~0n"}],
     {"a/b": 3}),
    ({"foo": ["bar"]}, [{"op": "copy", "from": "/foo/0", "path": "/baz"}], {"foo": ["bar"], "baz": "bar"}),
    ({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": None}], {"foo": "bar", "baz": None}),
])
def test_json_patch_follows_the_rfc_6902_examples(doc, ops, expected):
    assert json_patch(doc, ops) == expected


@pytest.mark.parametrize("doc, ops, expected", [
    ({"foo": ["bar", "baz"]}, [{"op": "add", "path": "/foo/-1", "value": "qux"}], {"foo": ["bar", "baz", "qux"]}),
    ({"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/-2"}], {"foo": ["bar", "baz"]}),
    ({"foo": "bar"}, [{"op": "replace", "path": "/missing", "value": 1}], {"foo": "bar", "missing": 1}),
    ({"baz": "qux"}, [{"op": "test", "path": "/foo", "value": None}], {"baz": "qux"}),
    ({"foo": 1}, [{"op": "copy", "from": "/nothing", "path": "/bar"}], {"foo": 1, "bar": None}),
])
def test_json_patch_keeps_the_quirks_of_the_library_kubernetes_uses(doc, ops, expected):
    assert json_patch(doc, ops) == expected


def test_json_patch_edits_a_deployment_without_touching_the_original():
    live = live_deployment()
    before = copy.deepcopy(live)
    result = json_patch(live, [
        {"op": "test", "path": "/spec/replicas", "value": 1},
        {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "postgres:16"},
        {"op": "add", "path": "/metadata/labels/app.kubernetes.io~1name", "value": "db"},
        {"op": "remove", "path": "/spec/template/spec/containers/0/env/0"},
    ])
    assert live == before
    assert result["spec"]["template"]["spec"]["containers"][0]["image"] == "postgres:16"
    assert result["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "B", "value": "2"}]
    assert result["metadata"]["labels"] == {"app": "db", "tier": "data", "app.kubernetes.io/name": "db"}


@pytest.mark.parametrize("doc, ops, detail", [
    ({"spec": {"replicas": 1}}, [{"op": "test", "path": "/spec/replicas", "value": 2}],
     "testing value /spec/replicas failed: test failed"),
    ({"foo": {}}, [{"op": "test", "path": "/foo", "value": None}], "testing value /foo failed: test failed"),
    ({"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}],
     'add operation does not apply: doc is missing path: "/baz/bat": missing value'),
    ({"a": {"b": {"d": 1}}}, [{"op": "remove", "path": "/a/b/c"}],
     "error in remove for path: '/a/b/c': Unable to remove nonexistent key: c: missing value"),
    ({"foo": ["bar", "baz"]}, [{"op": "replace", "path": "/foo/2", "value": "bum"}],
     "replace operation does not apply: doc is missing key: /foo/2: missing value"),
    ({"foo": ["bar"]}, [{"op": "add", "path": "/foo/2", "value": "bum"}],
     "error in add for path: '/foo/2': Unable to access invalid index: 2: invalid index referenced"),
    ({"foo": []}, [{"op": "remove", "path": "/foo/-"}],
     "error in remove for path: '/foo/-': strconv.Atoi: parsing \"-\": invalid syntax"),
    ({"foo": "bar"}, [{"op": "add", "path": "", "value": "qux"}],
     'add operation does not apply: doc is missing path: "": missing value'),
    ({}, [{"op": "frobnicate", "path": "/a"}], "Unexpected kind: frobnicate"),
    ({"foo": ["a"]}, [{"op": "move", "from": "/foo/1", "path": "/foo/0"}],
     "error in move for path: '1': Unable to access invalid index: 1: invalid index referenced"),
])
def test_a_failed_json_patch_operation_answers_422_invalid_like_kubernetes(doc, ops, detail):
    before = copy.deepcopy(doc)
    with pytest.raises(PatchRejected) as info:
        json_patch(doc, ops)
    e = info.value
    assert isinstance(e, errors.Invalid)
    assert (e.code, e.reason, e.message, e.detail) == (
        422, "Invalid", "the server rejected our request due to an error in our request", detail)
    assert e.status() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                          "message": "the server rejected our request due to an error in our request",
                          "reason": "Invalid", "code": 422, "details": {}}
    assert doc == before


def test_a_json_patch_that_is_not_a_list_of_operations_is_a_bad_request():
    with pytest.raises(errors.BadRequest) as info:
        json_patch({}, {"op": "add"})
    assert info.value.message == "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
    with pytest.raises(errors.BadRequest) as info:
        json_patch({}, ["add"])
    assert info.value.message == "json: cannot unmarshal string into Go value of type jsonpatch.Operation"


def test_a_json_patch_with_more_than_ten_thousand_operations_is_too_large():
    with pytest.raises(errors.StatusError) as info:
        json_patch({"a": 1}, [{"op": "test", "path": "/a", "value": 1}] * 10001)
    assert (info.value.code, info.value.reason, info.value.message) == (
        413, "RequestEntityTooLarge", "The allowed maximum operations in a JSON patch is 10000, got 10001")


# --- strategic merge patch: what kubectl and client libraries send ------------------


def test_kubectl_apply_changing_one_image_keeps_the_rest_of_the_container():
    live = live_deployment()
    patch = {"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "db"}],
                                            "containers": [{"name": "db", "image": "postgres:16"}]}}}}
    result = strategic_merge_patch(live, patch, DEPLOYMENT)
    expected = live_deployment()
    expected["spec"]["template"]["spec"]["containers"][0]["image"] = "postgres:16"
    assert result == expected


def test_kubectl_apply_changing_image_and_env_merges_env_by_name_in_the_given_order():
    live = live_deployment()
    patch = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "db"}],
        "containers": [{"name": "db", "image": "postgres:16",
                        "$setElementOrder/env": [{"name": "A"}, {"name": "C"}, {"name": "B"}],
                        "env": [{"name": "C", "value": "3"}, {"name": "B", "value": "two"}]}]}}}}
    result = strategic_merge_patch(live, patch, DEPLOYMENT)
    container = result["spec"]["template"]["spec"]["containers"][0]
    assert container == {**live["spec"]["template"]["spec"]["containers"][0], "image": "postgres:16",
                         "env": [{"name": "A", "value": "1"}, {"name": "C", "value": "3"},
                                 {"name": "B", "value": "two"}]}


def test_a_delete_directive_removes_one_env_entry():
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "db", "env": [{"$patch": "delete", "name": "A"}]}]}}}}
    result = strategic_merge_patch(live_deployment(), patch, DEPLOYMENT)
    assert result["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "B", "value": "2"}]
    assert directive_keys(result) == []


def test_annotations_merge_and_labels_delete_with_null():
    result = strategic_merge_patch(live_deployment(), {"metadata": {"annotations": {"note": "x"},
                                                                    "labels": {"tier": None, "new": "1"}}}, DEPLOYMENT)
    assert result["metadata"] == {"name": "db", "namespace": "default", "labels": {"app": "db", "new": "1"},
                                  "annotations": {"owner": "team-a", "note": "x"},
                                  "finalizers": ["example.com/a", "example.com/b"]}


def test_finalizers_merge_as_a_set_and_delete_from_primitive_list_removes_them():
    result = strategic_merge_patch(live_deployment(), {"metadata": {
        "finalizers": ["example.com/c", "example.com/a"],
        "$deleteFromPrimitiveList/finalizers": ["example.com/b"]}}, DEPLOYMENT)
    assert result["metadata"]["finalizers"] == ["example.com/c", "example.com/a"]


def test_volume_mounts_merge_by_mount_path_and_ports_by_container_port():
    patch = {"spec": {"template": {"spec": {"containers": [{
        "name": "db",
        "volumeMounts": [{"mountPath": "/run", "name": "run", "readOnly": True}],
        "ports": [{"containerPort": 9187, "name": "metrics"}, {"containerPort": 5432, "name": "pg"}]}]}}}}
    container = strategic_merge_patch(live_deployment(), patch, DEPLOYMENT)["spec"]["template"]["spec"]["containers"][0]
    assert container["volumeMounts"] == [{"name": "data", "mountPath": "/var/lib/postgresql"},
                                         {"name": "run", "mountPath": "/run", "readOnly": True}]
    assert container["ports"] == [{"containerPort": 9187, "name": "metrics"},
                                  {"containerPort": 5432, "protocol": "TCP", "name": "pg"}]


def test_a_new_container_added_without_set_element_order_goes_first_like_kubernetes():
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "busybox"}]}}}}
    containers = strategic_merge_patch(live_deployment(), patch, DEPLOYMENT)["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["sidecar", "db"]


def test_service_ports_merge_by_port():
    service = {"spec": {"ports": [{"port": 80, "targetPort": 8080, "name": "http"}, {"port": 443, "name": "https"}],
                        "selector": {"app": "web"}}}
    result = strategic_merge_patch(service, {"spec": {"ports": [{"port": 443, "targetPort": 8443}]}},
                                   "io.k8s.api.core.v1.Service")
    assert result == {"spec": {"ports": [{"port": 80, "targetPort": 8080, "name": "http"},
                                         {"port": 443, "name": "https", "targetPort": 8443}],
                               "selector": {"app": "web"}}}


def test_lists_without_a_merge_strategy_are_replaced():
    pod = {"spec": {"tolerations": [{"key": "a", "operator": "Exists"}], "containers": [{"name": "c", "args": ["x"]}]}}
    result = strategic_merge_patch(pod, {"spec": {"tolerations": [{"key": "b", "operator": "Exists"}],
                                                  "containers": [{"name": "c", "args": ["y", "z"]}]}},
                                   "io.k8s.api.core.v1.Pod")
    assert result == {"spec": {"tolerations": [{"key": "b", "operator": "Exists"}],
                               "containers": [{"name": "c", "args": ["y", "z"]}]}}


def test_retain_keys_clears_the_rolling_update_when_switching_to_recreate():
    result = strategic_merge_patch(live_deployment(), {"spec": {"strategy": {"$retainKeys": ["type"],
                                                                             "type": "Recreate"}}}, DEPLOYMENT)
    assert result["spec"]["strategy"] == {"type": "Recreate"}


def test_a_replace_strategy_field_is_replaced_whole():
    pdb = {"spec": {"selector": {"matchLabels": {"app": "a"}}, "minAvailable": 1}}
    result = strategic_merge_patch(pdb, {"spec": {"selector": {"matchExpressions": [
        {"key": "app", "operator": "Exists"}]}}}, "io.k8s.api.policy.v1.PodDisruptionBudget")
    assert result == {"spec": {"selector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]},
                               "minAvailable": 1}}


def test_patch_replace_directive_on_a_map_and_on_a_list():
    live = live_deployment()
    result = strategic_merge_patch(live, {"metadata": {"labels": {"$patch": "replace", "only": "this"}},
                                          "spec": {"template": {"spec": {"volumes": [
                                              {"$patch": "replace"}, {"name": "cache", "emptyDir": {}}]}}}},
                                   DEPLOYMENT)
    assert result["metadata"]["labels"] == {"only": "this"}
    assert result["spec"]["template"]["spec"]["volumes"] == [{"name": "cache", "emptyDir": {}}]


def test_patch_delete_directive_on_a_map_empties_it_and_merge_is_the_default():
    result = strategic_merge_patch(live_deployment(), {"metadata": {"annotations": {"$patch": "delete"},
                                                                    "labels": {"$patch": "merge", "x": "1"}}},
                                   DEPLOYMENT)
    assert (result["metadata"]["annotations"], result["metadata"]["labels"]) == (
        {}, {"app": "db", "tier": "data", "x": "1"})


def test_directives_inside_new_values_are_applied_and_never_left_in_the_result():
    live = {"metadata": {"name": "x"}, "spec": {"template": {"spec": {"containers": [{"name": "a"}]}}}}
    patch = {"metadata": {"labels": {"$patch": "replace", "a": "1"}},
             "spec": {"template": {"spec": {
                 "$setElementOrder/initContainers": [{"name": "init"}],
                 "initContainers": [{"name": "init", "image": "i", "env": [{"name": "X", "$patch": "delete"},
                                                                             {"name": "Y", "value": "1"}]}],
                 "containers": [{"name": "a", "$setElementOrder/env": [{"name": "Z"}],
                                 "env": [{"name": "Z", "value": "z"}]}]}}}}
    result = strategic_merge_patch(live, patch, DEPLOYMENT)
    assert result == {"metadata": {"name": "x", "labels": {"a": "1"}},
                      "spec": {"template": {"spec": {
                          "containers": [{"name": "a", "env": [{"name": "Z", "value": "z"}]}],
                          "initContainers": [{"name": "init", "image": "i", "env": [{"name": "Y", "value": "1"}]}]}}}}
    assert directive_keys(result) == []


def test_unknown_paths_and_a_missing_definition_fall_back_to_json_merge_semantics():
    live = {"spec": {"custom": {"list": [1, 2], "keep": True}}, "data": {"a": "1"}}
    patch = {"spec": {"custom": {"list": [3], "new": {"x": None, "y": 1}}}, "data": {"a": None, "b": "2"}}
    expected = {"spec": {"custom": {"list": [3], "keep": True, "new": {"y": 1}}}, "data": {"b": "2"}}
    assert strategic_merge_patch(live, patch, DEPLOYMENT) == expected
    assert strategic_merge_patch(live, patch, None) == expected


def test_strategic_merge_patch_never_mutates_or_aliases_its_inputs():
    live = live_deployment()
    patch = {"metadata": {"labels": {"x": "1"}, "$deleteFromPrimitiveList/finalizers": ["example.com/a"]},
             "spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "db"}, {"name": "new"}],
                                            "containers": [{"name": "db", "env": [{"name": "A", "$patch": "delete"}]},
                                                           {"name": "new", "image": "n", "env": [{"name": "E"}]}]}}}}
    live_before, patch_before = copy.deepcopy(live), copy.deepcopy(patch)
    result = strategic_merge_patch(live, patch, DEPLOYMENT)
    assert [c["name"] for c in result["spec"]["template"]["spec"]["containers"]] == ["db", "new"]
    result["spec"]["template"]["spec"]["containers"][1]["env"][0]["value"] = "changed"
    result["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][0]["name"] = "changed"
    result["spec"]["selector"]["matchLabels"]["app"] = "changed"
    assert (live, patch) == (live_before, patch_before)


@pytest.mark.parametrize("patch, error, code, message", [
    ({"spec": {"template": {"spec": {"containers": [{"image": "httpd"}]}}}}, PatchError, 500,
     "map: map[image:httpd] does not contain declared merge key: name"),
    ({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 2}}}}, errors.BadRequest, 400,
     "invalid patch format of retainKeys"),
    ({"metadata": {"$deleteFromPrimitiveListfinalizers": ["a"]}}, errors.BadRequest, 400,
     "invalid patch format of primitive list"),
    ({"spec": {"template": {"spec": {"containers": [{"name": "db", "$patch": "explode"}]}}}}, PatchError, 500,
     "unknown patch type: explode in map: map[$patch:explode name:db]"),
    ({"spec": {"template": {"spec": {"$setElementOrder/volumes": [{"name": "run"}, {"name": "data"}],
                                     "volumes": [{"name": "data", "emptyDir": {}}, {"name": "run"}]}}}}, PatchError,
     500, "The order in patch list:\n[map[emptyDir:map[] name:data] map[name:run]]\n doesn't match $setElementOrder "
          "list:\n[map[name:run] map[name:data]]\n"),
])
def test_malformed_strategic_merge_patches_fail_like_kubernetes(patch, error, code, message):
    with pytest.raises(error) as info:
        strategic_merge_patch(live_deployment(), patch, DEPLOYMENT)
    assert (info.value.code, info.value.message) == (code, message)


def test_a_strategic_merge_patch_body_must_be_an_object():
    with pytest.raises(errors.BadRequest) as info:
        strategic_merge_patch({}, [{"op": "add"}], DEPLOYMENT)
    assert info.value.message == "json: cannot unmarshal array into Go value of type map[string]interface {}"


def test_lists_of_lists_are_rejected_with_422():
    with pytest.raises(PatchRejected) as info:
        strategic_merge_patch({"metadata": {"finalizers": [["a"]]}}, {"metadata": {"finalizers": [["b"]]}},
                              DEPLOYMENT)
    assert (info.value.code, info.value.detail) == (422, "lists of lists are not supported")


# --- strategic merge patch: apimachinery's own test cases -----------------------------
# The MergeItem type of k8s.io/apimachinery/pkg/util/strategicpatch/patch_test.go as a JSON schema;
# each case applies a patch to the "current" object and expects Kubernetes' result.

MERGE_ITEM_DEFS = {
    "MergeItem": {"type": "object", "properties": {
        "name": {"type": "string"}, "value": {"type": "string"}, "other": {"type": "string"},
        "mergingList": {"type": "array", "items": {"$ref": "#/$defs/MergeItem"},
                        "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"},
        "nonMergingList": {"type": "array", "items": {"$ref": "#/$defs/MergeItem"}},
        "mergingIntList": {"type": "array", "items": {"type": "integer"}, "x-kubernetes-patch-strategy": "merge"},
        "nonMergingIntList": {"type": "array", "items": {"type": "integer"}},
        "simpleMap": {"type": "object", "additionalProperties": {"type": "string"}},
        "replacingItem": {"x-kubernetes-patch-strategy": "replace"},
        "retainKeysMap": {"$ref": "#/$defs/RetainKeysMergeItem", "x-kubernetes-patch-strategy": "retainKeys"},
        "retainKeysMergingList": {"type": "array", "items": {"$ref": "#/$defs/MergeItem"},
                                  "x-kubernetes-patch-strategy": "merge,retainKeys",
                                  "x-kubernetes-patch-merge-key": "name"}}},
    "RetainKeysMergeItem": {"type": "object", "properties": {
        "name": {"type": "string"}, "value": {"type": "string"}, "other": {"type": "string"},
        "simpleMap": {"type": "object", "additionalProperties": {"type": "string"}},
        "mergingIntList": {"type": "array", "items": {"type": "integer"}, "x-kubernetes-patch-strategy": "merge"},
        "mergingList": {"type": "array", "items": {"$ref": "#/$defs/MergeItem"},
                        "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"}}},
}

APIMACHINERY_CASES = yaml.safe_load("""
- name: unique scalars when merging lists
  current: {mergingIntList: [1, 2]}
  patch: {mergingIntList: [2, 3]}
  result: {mergingIntList: [1, 2, 3]}
- name: delete map from nested map
  current: {simpleMap: {key1: "1", key2: "1"}}
  patch: {simpleMap: {$patch: delete}}
  result: {simpleMap: {}}
- name: delete all items from merging list
  current: {mergingList: [{name: "1"}, {name: "2"}]}
  patch: {mergingList: [{$patch: replace}]}
  result: {mergingList: []}
- name: merge empty merging lists
  current: {mergingList: []}
  patch: {mergingList: []}
  result: {mergingList: []}
- name: delete all keys from map
  current: {name: "1", value: "1"}
  patch: {$patch: replace}
  result: {}
- name: add key and delete all keys from map
  current: {name: "1", value: "1"}
  patch: {other: a, $patch: replace}
  result: {other: a}
- name: delete all duplicate entries in a merging list
  current: {mergingList: [{name: "1"}, {name: "1"}, {name: "2", value: a}, {name: "3"}, {name: "3"}]}
  patch: {mergingList: [{name: "1", $patch: delete}, {name: "3", $patch: delete}]}
  result: {mergingList: [{name: "2", value: a}]}
- name: retainKeys map can add a field when no retainKeys directive present
  current: {retainKeysMap: {name: foo}}
  patch: {retainKeysMap: {value: bar}}
  result: {retainKeysMap: {name: foo, value: bar}}
- name: retainKeys map can delete a field when no retainKeys directive present
  current: {retainKeysMap: {name: foo, value: a}}
  patch: {retainKeysMap: {value: null}}
  result: {retainKeysMap: {name: foo}}
- name: retainKeys list can change a field when no retainKeys directive present
  current: {retainKeysMergingList: [{name: bar}, {name: foo, value: a}]}
  patch: {retainKeysMergingList: [{name: foo, value: b}]}
  result: {retainKeysMergingList: [{name: bar}, {name: foo, value: b}]}
- name: retainKeys map should clear defaulted field
  current: {retainKeysMap: {value: foo}}
  patch: {retainKeysMap: {$retainKeys: [other], other: bar}}
  result: {retainKeysMap: {other: bar}}
- name: retainKeys map should clear defaulted field with conflict (discriminated union)
  current: {retainKeysMap: {name: type1, value: foo}}
  patch: {retainKeysMap: {$retainKeys: [name, other], name: type2, other: bar}}
  result: {retainKeysMap: {name: type2, other: bar}}
- name: preserve the order from the patch in a merging list
  current: {mergingList: [{name: "1"}, {name: "2", value: b}, {name: "3"}]}
  patch: {mergingList: [{name: "3", value: c}, {name: "1", value: a}, {name: "2", other: x}]}
  result: {mergingList: [{name: "3", value: c}, {name: "1", value: a}, {name: "2", value: b, other: x}]}
- name: preserve the order from the patch in a merging list 2
  current: {mergingList: [{name: "1"}, {name: "2", value: b}, {name: "3"}]}
  patch: {mergingList: [{name: "3", value: c}, {name: "1", value: a}]}
  result: {mergingList: [{name: "2", value: b}, {name: "3", value: c}, {name: "1", value: a}]}
- name: preserve the order from the patch in a merging int list
  current: {mergingIntList: [1, 2, 3]}
  patch: {mergingIntList: [3, 1]}
  result: {mergingIntList: [2, 3, 1]}
- name: setElementOrder contains item that is not present in the list to be merged
  current: {mergingList: [{name: "1"}, {name: "3"}]}
  patch: {$setElementOrder/mergingList: [{name: "3"}, {name: "2"}, {name: "1"}],
          mergingList: [{name: "3", value: "3"}, {name: "1", value: "1"}]}
  result: {mergingList: [{name: "3", value: "3"}, {name: "1", value: "1"}]}
- name: setElementOrder contains item that is not present in the int list to be merged
  current: {mergingIntList: [1, 3]}
  patch: {$setElementOrder/mergingIntList: [3, 2, 1]}
  result: {mergingIntList: [3, 1]}
- name: setElementOrder reorders a merging int list with duplicates
  current: {mergingIntList: [1, 2, 3, 2, 4]}
  patch: {$setElementOrder/mergingIntList: [2, 1, 4, 3, 2]}
  result: {mergingIntList: [2, 2, 1, 4, 3]}
- name: deleteFromPrimitiveList of nonexistent item in primitive list should not add the item to the list
  current: {mergingIntList: [1, 2]}
  patch: {$deleteFromPrimitiveList/mergingIntList: [3]}
  result: {mergingIntList: [1, 2]}
- name: delete items in lists of scalars
  current: {mergingIntList: [1, 2, 3, 4]}
  patch: {$setElementOrder/mergingIntList: [1, 2], $deleteFromPrimitiveList/mergingIntList: [3]}
  result: {mergingIntList: [1, 2, 4]}
- name: delete all duplicate items in lists of scalars
  current: {mergingIntList: [1, 2, 3, 3, 4]}
  patch: {$setElementOrder/mergingIntList: [1, 2], $deleteFromPrimitiveList/mergingIntList: [3]}
  result: {mergingIntList: [1, 2, 4]}
- name: merge lists of maps
  current: {mergingList: [{name: "1", other: a}, {name: "2", value: "2", other: b}]}
  patch: {$setElementOrder/mergingList: [{name: "4"}, {name: "1"}, {name: "2"}, {name: "3"}],
          mergingList: [{name: "4", value: "4"}, {name: "3", value: "3"}]}
  result: {mergingList: [{name: "4", value: "4"}, {name: "1", other: a}, {name: "2", value: "2", other: b},
                         {name: "3", value: "3"}]}
- name: merge lists of maps with conflict
  current: {mergingList: [{name: "1", other: a}, {name: "2", value: "3", other: b}]}
  patch: {$setElementOrder/mergingList: [{name: "1"}, {name: "2"}, {name: "3"}],
          mergingList: [{name: "2", value: "2"}, {name: "3", value: "3"}]}
  result: {mergingList: [{name: "1", other: a}, {name: "2", value: "2", other: b}, {name: "3", value: "3"}]}
- name: add field to map in merging list with conflict
  current: {mergingList: [{name: "1", other: a}, {name: "3", value: "2", other: b}]}
  patch: {$setElementOrder/mergingList: [{name: "1"}, {name: "2"}],
          mergingList: [{name: "1", value: "1"}, {name: "2", value: "2"}]}
  result: {mergingList: [{name: "1", value: "1", other: a}, {name: "2", value: "2"}, {name: "3", value: "2", other: b}]}
- name: delete map from merging list
  current: {mergingList: [{name: "1"}, {name: "2", other: b}]}
  patch: {$setElementOrder/mergingList: [{name: "2"}], mergingList: [{name: "1", $patch: delete}]}
  result: {mergingList: [{name: "2", other: b}]}
- name: delete missing map from merging list with conflict
  current: {mergingList: [{name: "3", other: a}]}
  patch: {$setElementOrder/mergingList: [{name: "2"}], mergingList: [{name: "2"}, {name: "1", $patch: delete}]}
  result: {mergingList: [{name: "2"}, {name: "3", other: a}]}
- name: add map and delete map from merging list
  current: {mergingList: [{name: "1"}, {name: "2", other: b}, {name: "4", other: c}]}
  patch: {$setElementOrder/mergingList: [{name: "2"}, {name: "3"}], mergingList: [{name: "3"}, {name: "1", $patch: delete}]}
  result: {mergingList: [{name: "2", other: b}, {name: "4", other: c}, {name: "3"}]}
- name: add map and delete map from merging list with conflict
  current: {mergingList: [{name: "1", other: a}, {name: "4", other: c}]}
  patch: {$setElementOrder/mergingList: [{name: "2"}, {name: "3"}],
          mergingList: [{name: "2"}, {name: "3"}, {name: "1", $patch: delete}]}
  result: {mergingList: [{name: "4", other: c}, {name: "2"}, {name: "3"}]}
- name: replace non merging list nested in merging list
  current: {mergingList: [{name: "1", other: a, nonMergingList: [{name: "1"}, {name: "2", value: "2"}]},
                          {name: "2", other: b}]}
  patch: {$setElementOrder/mergingList: [{name: "1"}, {name: "2"}],
          mergingList: [{name: "1", nonMergingList: [{name: "1", value: "1"}]}]}
  result: {mergingList: [{name: "1", other: a, nonMergingList: [{name: "1", value: "1"}]}, {name: "2", other: b}]}
- name: add field to map in merging list nested in merging list
  current: {mergingList: [{name: "1", other: a, mergingList: [{name: "1"}, {name: "2", value: "2"}]},
                          {name: "2", other: b}]}
  patch: {$setElementOrder/mergingList: [{name: "1"}, {name: "2"}],
          mergingList: [{$setElementOrder/mergingList: [{name: "1"}, {name: "2"}], name: "1",
                         mergingList: [{name: "1", value: "1"}]}]}
  result: {mergingList: [{name: "1", other: a, mergingList: [{name: "1", value: "1"}, {name: "2", value: "2"}]},
                         {name: "2", other: b}]}
- name: defined null values should propagate overwrite current fields
  current: {name: a, other: a}
  patch: {name: "1", value: "1", other: null}
  result: {name: "1", value: "1"}
- name: nil patch with retainKeys map
  current: {name: a, value: b, retainKeysMap: {name: foo}}
  patch: {}
  result: {name: a, value: b, retainKeysMap: {name: foo}}
""")


@pytest.mark.parametrize("case", APIMACHINERY_CASES, ids=[c["name"] for c in APIMACHINERY_CASES])
def test_strategic_merge_patch_agrees_with_apimachinerys_test_cases(case):
    before = json.dumps(case, sort_keys=True)
    result = strategic_merge_patch(case["current"], case["patch"], "MergeItem", defs=MERGE_ITEM_DEFS)
    assert result == case["result"]
    assert json.dumps(case, sort_keys=True) == before
