"""kubesim.fieldvalidation: unknown fields, type errors and strict-decoding messages from the 1.32 schemas."""
from __future__ import annotations

import copy

import pytest

from kubesim.fieldvalidation import Problem, check, compile_schema, unknown_fields_message, validator_for

DEPLOYMENT = "io.k8s.api.apps.v1.Deployment"


def deployment() -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}, "annotations": {"a": "b"},
                     "creationTimestamp": None,
                     "managedFields": [{"manager": "kubectl", "operation": "Update", "apiVersion": "apps/v1",
                                        "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": None}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{
                        "name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80, "protocol": "TCP"}],
                        "env": [{"name": "A", "value": "1"},
                                {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
                        "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": 0.1}},
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                        "readinessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 5},
                    }],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                },
            },
        },
        "status": {"replicas": 3, "conditions": [{"type": "Available", "status": "True"}]},
    }


def test_a_valid_deployment_has_no_problems():
    assert check(DEPLOYMENT, deployment(), strict=True) == []


def test_each_unknown_field_is_one_problem_in_kubernetes_field_notation_and_document_order():
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["foo"] = 1
    obj["spec"]["template"]["spec"]["volumes"][0]["emptyDir"]["sizeLimitt"] = "1Gi"
    obj["spec"]["bar"] = True
    obj["metadata"]["labelz"] = {}
    obj["status"]["bogus"] = 2
    assert check(DEPLOYMENT, obj, strict=True) == [
        Problem("unknown", "metadata.labelz", 'unknown field "metadata.labelz"'),
        Problem("unknown", "spec.template.spec.containers[0].foo", 'unknown field "spec.template.spec.containers[0].foo"'),
        Problem("unknown", "spec.template.spec.volumes[0].emptyDir.sizeLimitt",
                'unknown field "spec.template.spec.volumes[0].emptyDir.sizeLimitt"'),
        Problem("unknown", "spec.bar", 'unknown field "spec.bar"'),
        Problem("unknown", "status.bogus", 'unknown field "status.bogus"'),
    ]


def test_without_strict_unknown_fields_are_not_reported():
    obj = deployment()
    obj["spec"]["foo"] = 1
    obj["spec"]["replicas"] = "3"
    assert check(DEPLOYMENT, obj, strict=False) == [
        Problem("type", "spec.replicas",
                "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32")]


def test_unknown_fields_message_reads_like_kubernetes_strict_decoding():
    problems = [Problem("unknown", "spec.foo", 'unknown field "spec.foo"'),
                Problem("type", "spec.replicas", "x"),
                Problem("unknown", "spec.bar", 'unknown field "spec.bar"')]
    assert unknown_fields_message(problems) == 'strict decoding error: unknown field "spec.foo", unknown field "spec.bar"'


@pytest.mark.parametrize("mutate, problem", [
    (lambda o: o["metadata"]["labels"].update(x=5),
     Problem("type", "metadata.labels.x",
             "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string")),
    (lambda o: o["spec"]["template"]["spec"]["containers"][0]["ports"][0].update(containerPort=80.5),
     Problem("type", "spec.template.spec.containers[0].ports[0].containerPort",
             "json: cannot unmarshal number 80.5 into Go struct field "
             "ContainerPort.spec.template.spec.containers.ports.containerPort of type int32")),
    (lambda o: o["spec"]["strategy"]["rollingUpdate"].update(maxSurge=True),
     Problem("type", "spec.strategy.rollingUpdate.maxSurge",
             "json: cannot unmarshal bool into Go struct field "
             "RollingUpdateDeployment.spec.strategy.rollingUpdate.maxSurge of type int32")),
    (lambda o: o["spec"]["template"]["spec"]["containers"][0].update(command="sleep"),
     Problem("type", "spec.template.spec.containers[0].command",
             "json: cannot unmarshal string into Go struct field Container.spec.template.spec.containers.command "
             "of type []string")),
    (lambda o: o["spec"].update(paused="yes"),
     Problem("type", "spec.paused",
             "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.paused of type bool")),
    (lambda o: o["spec"]["template"]["spec"].update(containers={"name": "x"}),
     Problem("type", "spec.template.spec.containers",
             "json: cannot unmarshal object into Go struct field PodSpec.spec.template.spec.containers "
             "of type []v1.Container")),
])
def test_a_wrong_json_type_is_a_type_problem_with_the_go_decoder_message(mutate, problem):
    obj = deployment()
    mutate(obj)
    assert check(DEPLOYMENT, obj, strict=True) == [problem]


def test_a_body_that_is_not_an_object_is_a_type_problem_at_the_root():
    assert check(DEPLOYMENT, ["x"], strict=True) == [
        Problem("type", "", "json: cannot unmarshal array into Go value of type v1.Deployment")]


def test_missing_required_fields_and_unsupported_enum_values_are_other_problems():
    obj = deployment()
    del obj["spec"]["selector"]
    del obj["spec"]["template"]["spec"]["containers"][0]["name"]
    obj["kind"] = "Pod"
    assert check(DEPLOYMENT, obj, strict=True) == [
        Problem("other", "kind", 'Unsupported value: "Pod": supported values: "Deployment"'),
        Problem("other", "spec.template.spec.containers[0].name", "Required value"),
        Problem("other", "spec.selector", "Required value"),
    ]


def test_nulls_are_accepted_anywhere_including_int_or_string_fields():
    obj = deployment()
    obj["spec"]["replicas"] = None
    obj["spec"]["strategy"]["rollingUpdate"] = {"maxSurge": None, "maxUnavailable": None}
    obj["metadata"]["labels"] = None
    obj["status"] = None
    assert check(DEPLOYMENT, obj, strict=True) == []


def test_other_kinds_validate_against_their_own_definitions():
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": 1},
                  "binaryData": {"b": "aGk="}, "immutable": False}
    assert check("io.k8s.api.core.v1.ConfigMap", config_map, strict=True) == [
        Problem("type", "data.a", "json: cannot unmarshal number into Go struct field ConfigMap.data of type string")]
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
               "spec": {"ports": [{"port": 80, "targetPort": "http"}, {"port": 81, "targetPort": 8081}],
                        "selector": {"app": "web"}, "sessionAffinityConfig": {"clientIP": {"timeoutSecond": 1}}}}
    assert check("io.k8s.api.core.v1.Service", service, strict=True) == [
        Problem("unknown", "spec.sessionAffinityConfig.clientIP.timeoutSecond",
                'unknown field "spec.sessionAffinityConfig.clientIP.timeoutSecond"')]


def test_the_validator_of_a_definition_is_built_once_and_reused():
    assert validator_for(DEPLOYMENT) is validator_for(DEPLOYMENT)
    with pytest.raises(KeyError):
        validator_for("io.k8s.api.apps.v1.NoSuchThing")


def test_checking_does_not_modify_the_object():
    obj = deployment()
    obj["spec"]["foo"] = {"bar": [1]}
    before = copy.deepcopy(obj)
    check(DEPLOYMENT, obj, strict=True)
    assert obj == before


# --- custom resource (structural) schemas --------------------------------------

CRD_SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "size": {"type": "integer", "minimum": 1},
                "port": {"x-kubernetes-int-or-string": True},
                "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                           "properties": {"level": {"type": "string"}}},
                "tags": {"type": "array", "items": {"type": "string"}},
                "extra": {"type": "object", "additionalProperties": {"type": "string"}},
                "note": {"type": "string", "nullable": True},
            },
        },
        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
    },
}


def test_a_crd_schema_closes_objects_unless_they_preserve_unknown_fields():
    compiled = compile_schema(CRD_SCHEMA)
    good = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "labels": {"a": "b"}},
            "spec": {"size": 2, "port": "http", "config": {"level": "x", "anything": {"goes": [1]}},
                     "tags": ["a"], "extra": {"k": "v"}, "note": None},
            "status": {"ready": True}}
    assert check(compiled, good, strict=True) == []
    bad = copy.deepcopy(good)
    bad["spec"]["colour"] = "red"
    bad["status"]["phase"] = "x"
    bad["metadata"]["labelz"] = {}
    bad["spec"]["config"]["level"] = 3
    assert check(compiled, bad, strict=True) == [
        Problem("unknown", "metadata.labelz", 'unknown field "metadata.labelz"'),
        Problem("type", "spec.config.level", 'Invalid value: 3: spec.config.level in body must be of type string: 3'),
        Problem("unknown", "spec.colour", 'unknown field "spec.colour"'),
        Problem("unknown", "status.phase", 'unknown field "status.phase"'),
    ]


def test_a_crd_schema_checks_value_constraints_and_int_or_string():
    problems = check(CRD_SCHEMA, {"spec": {"size": 0, "port": 8080, "note": None}}, strict=True)
    assert problems == [Problem("other", "spec.size", "Invalid value: 0: 0 is less than the minimum of 1")]
    assert check(CRD_SCHEMA, {"spec": {"port": True}}, strict=True) == [
        Problem("type", "spec.port", 'Invalid value: true: spec.port in body must be of type integer/string: true')]
