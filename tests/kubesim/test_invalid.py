"""Invalid objects get the Status error Kubernetes gives, and change nothing."""
from __future__ import annotations

import json

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException


async def _refused(coro) -> dict:
    with pytest.raises(ApiException) as err:
        await coro
    body = json.loads(err.value.body)
    assert body["kind"] == "Status" and body["status"] == "Failure" and body["code"] == err.value.status
    return body


async def _snapshot(api: client.ApiClient, ns: str) -> tuple:
    apps, batch, core = client.AppsV1Api(api), client.BatchV1Api(api), client.CoreV1Api(api)
    return ([d.metadata.name for d in (await apps.list_namespaced_deployment(ns)).items],
            [j.metadata.name for j in (await batch.list_namespaced_job(ns)).items],
            [p.metadata.name for p in (await core.list_namespaced_pod(ns)).items],
            [c.metadata.name for c in (await core.list_namespaced_config_map(ns)).items])


def _deployment(name: str, containers) -> dict:
    return {"metadata": {"name": name}, "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
        "metadata": {"labels": {"a": "b"}}, "spec": {"containers": containers}}}}


async def test_a_deployment_without_containers_is_invalid_with_the_field_named(api, namespace):
    before = await _snapshot(api, namespace)
    body = await _refused(client.AppsV1Api(api).create_namespaced_deployment(namespace, _deployment("d", [])))
    assert (body["code"], body["reason"]) == (422, "Invalid")
    assert body["message"] == 'Deployment.apps "d" is invalid: spec.template.spec.containers: Required value'
    assert body["details"]["causes"] == [{"reason": "FieldValueRequired", "message": "Required value",
                                          "field": "spec.template.spec.containers"}]
    assert await _snapshot(api, namespace) == before


async def test_a_name_that_is_not_a_dns_subdomain_is_invalid(api, namespace):
    before = await _snapshot(api, namespace)
    body = await _refused(client.CoreV1Api(api).create_namespaced_config_map(
        namespace, {"metadata": {"name": "Bad_Name"}}))
    assert body["code"] == 422
    assert body["message"].startswith('ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": '
                                      "a lowercase RFC 1123 subdomain must consist of")
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    assert await _snapshot(api, namespace) == before


async def test_a_job_name_over_63_characters_is_invalid(api, namespace):
    job = {"metadata": {"name": "j" * 64}, "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
        {"name": "m", "image": "b", "command": ["true"]}]}}}}
    body = await _refused(client.BatchV1Api(api).create_namespaced_job(namespace, job))
    assert body["code"] == 422 and "must be no more than 63 characters" in body["message"]


async def test_a_job_with_restart_policy_always_is_invalid(api, namespace):
    job = {"metadata": {"name": "always"}, "spec": {"template": {"spec": {"restartPolicy": "Always", "containers": [
        {"name": "m", "image": "b", "command": ["true"]}]}}}}
    body = await _refused(client.BatchV1Api(api).create_namespaced_job(namespace, job))
    assert body["details"]["causes"] == [{"reason": "FieldValueRequired", "field": "spec.template.spec.restartPolicy",
                                          "message": 'Required value: valid values: "OnFailure", "Never"'}]


async def test_a_duplicate_name_is_already_exists_and_keeps_the_first(api, namespace):
    core = client.CoreV1Api(api)
    first = await core.create_namespaced_config_map(namespace, {"metadata": {"name": "dup"}, "data": {"v": "1"}})
    body = await _refused(core.create_namespaced_config_map(namespace, {"metadata": {"name": "dup"},
                                                                        "data": {"v": "2"}}))
    assert (body["code"], body["reason"], body["message"]) == (409, "AlreadyExists",
                                                               'configmaps "dup" already exists')
    kept = await core.read_namespaced_config_map("dup", namespace)
    assert (kept.data, kept.metadata.resource_version) == ({"v": "1"}, first.metadata.resource_version)


async def test_an_update_with_a_stale_resource_version_is_a_conflict(api, namespace):
    core = client.CoreV1Api(api)
    cm = await core.create_namespaced_config_map(namespace, {"metadata": {"name": "cas"}, "data": {"v": "1"}})
    await core.patch_namespaced_config_map("cas", namespace, {"data": {"v": "2"}})
    stale = {"metadata": {"name": "cas", "resourceVersion": cm.metadata.resource_version}, "data": {"v": "3"}}
    body = await _refused(core.replace_namespaced_config_map("cas", namespace, stale))
    assert (body["code"], body["reason"]) == (409, "Conflict")
    assert (await core.read_namespaced_config_map("cas", namespace)).data == {"v": "2"}


async def test_a_selector_that_does_not_match_the_template_is_invalid(api, namespace):
    dep = _deployment("mismatch", [{"name": "m", "image": "b"}])
    dep["spec"]["template"]["metadata"]["labels"] = {"a": "other"}
    body = await _refused(client.AppsV1Api(api).create_namespaced_deployment(namespace, dep))
    assert body["details"]["causes"] == [{
        "reason": "FieldValueInvalid", "field": "spec.template.metadata.labels",
        "message": 'Invalid value: map[string]string{"a":"other"}: `selector` does not match template `labels`'}]


async def test_objects_in_a_missing_namespace_are_not_found(api):
    body = await _refused(client.CoreV1Api(api).create_namespaced_config_map("no-such-ns", {"metadata": {
        "name": "x"}}))
    assert (body["code"], body["message"]) == (404, 'namespaces "no-such-ns" not found')


async def test_requests_without_a_valid_token_are_unauthorized(kubesim):
    import aiohttp
    import ssl
    ctx = ssl.create_default_context(cafile=kubesim.ca_file)
    async with aiohttp.ClientSession() as s:
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            async with s.get(f"{kubesim.server}/api/v1/namespaces", headers=headers, ssl=ctx) as resp:
                assert resp.status == 401
                assert (await resp.json())["reason"] == "Unauthorized"
