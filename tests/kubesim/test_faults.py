"""Every fault switch, turned on at run time through the admin endpoint, fires and turns off again."""
from __future__ import annotations

import json
import ssl
import time

import aiohttp
import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.stream import WsApiClient

from tests.support.waiting import condition, eventually


@pytest.fixture
async def admin(kubesim):
    """Set faults with PUT (all others off); everything is switched off again after the test."""
    ctx = ssl.create_default_context(cafile=kubesim.ca_file)
    headers = {"Authorization": f"Bearer {kubesim.token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async def set_faults(**switches) -> dict:
            async with session.put(f"{kubesim.server}/kubesim/faults", json=switches, ssl=ctx) as resp:
                assert resp.status == 200, await resp.text()
                return await resp.json()

        async def counters() -> dict:
            async with session.get(f"{kubesim.server}/kubesim/faults", ssl=ctx) as resp:
                return (await resp.json())["counters"]
        set_faults.counters = counters
        yield set_faults
        await set_faults(counters={})


async def test_an_unknown_switch_is_refused_and_nothing_changes(admin, kubesim):
    ctx = ssl.create_default_context(cafile=kubesim.ca_file)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {kubesim.token}"}) as s:
        async with s.patch(f"{kubesim.server}/kubesim/faults", json={"error_rat": 1}, ssl=ctx) as resp:
            assert resp.status == 400
            assert "unknown fault switches: ['error_rat']" in (await resp.json())["message"]
    state = await admin()
    assert state["error_rate"] == 0


async def test_error_rate_answers_500_or_503_then_stops(admin, api, namespace):
    core = client.CoreV1Api(api)
    await admin(error_rate=1.0, error_codes=[503], match_paths=[f"/namespaces/{namespace}/configmaps"])
    with pytest.raises(ApiException) as err:
        await core.list_namespaced_config_map(namespace)
    assert err.value.status == 503
    assert json.loads(err.value.body)["message"] == "kubesim fault injected: HTTP 503"
    await core.list_namespaced_secret(namespace)  # other paths are not touched
    assert (await admin.counters())["errors"] == 1
    await admin()
    assert (await core.list_namespaced_config_map(namespace)).items is not None


async def test_latency_delays_every_matching_request(admin, api, namespace):
    core = client.CoreV1Api(api)
    await admin(latency_ms=300, match_paths=[f"/namespaces/{namespace}/configmaps"])
    start = time.monotonic()
    await core.list_namespaced_config_map(namespace)
    assert time.monotonic() - start >= 0.3
    assert (await admin.counters())["delayed"] == 1


async def test_watch_streams_are_cut_after_k_events(admin, api, namespace):
    core = client.CoreV1Api(api)
    for i in range(5):
        await core.create_namespaced_config_map(namespace, {"metadata": {"name": f"c{i}"}})
    await admin(watch_drop_after=2)
    resp = await core.list_namespaced_config_map(namespace, watch=True, timeout_seconds=10,
                                                 _preload_content=False)
    lines = []
    try:
        with pytest.raises(aiohttp.ClientPayloadError):
            async for line in resp.content:
                lines.append(json.loads(line))
    finally:
        resp.close()
    assert [e["type"] for e in lines] == ["ADDED", "ADDED"]
    assert (await admin.counters())["watch_dropped"] == 1


async def test_the_next_resuming_watch_gets_410(admin, api, namespace):
    core = client.CoreV1Api(api)
    cm = await core.create_namespaced_config_map(namespace, {"metadata": {"name": "r"}})
    await admin(watch_expire_next=1)
    with pytest.raises(ApiException) as err:
        async for _ in watch.Watch().stream(core.list_namespaced_config_map, namespace,
                                            resource_version=cm.metadata.resource_version, timeout_seconds=2):
            pass
    assert err.value.status == 410
    # only the next one: the second resume works
    events = []
    async for e in watch.Watch().stream(core.list_namespaced_config_map, namespace,
                                        resource_version=cm.metadata.resource_version, timeout_seconds=1):
        events.append(e)
    assert events == []


async def test_exec_sockets_close_without_their_status_frame(admin, api, kubesim, namespace):
    core = client.CoreV1Api(api)
    await core.create_namespaced_pod(namespace, {"metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "m", "image": "b", "command": ["sleep", "3600"]}]}})
    await eventually(lambda: core.read_namespaced_pod("p", namespace), lambda p: p.status.phase == "Running")
    await admin(exec_drop_status=1)
    from kubernetes_asyncio import config
    cfg = client.Configuration()
    await config.load_kube_config(config_file=kubesim.kubeconfig, client_configuration=cfg)

    async def channels_of(command: list[str]) -> dict[int, bytes]:
        async with WsApiClient(cfg) as ws_api:
            ws = await client.CoreV1Api(ws_api).connect_get_namespaced_pod_exec(
                "p", namespace, command=command, stdout=True, stderr=True, _preload_content=False)
            got: dict[int, bytes] = {}
            async with ws as conn:
                async for msg in conn:
                    if msg.type == aiohttp.WSMsgType.BINARY and len(msg.data) > 1:
                        got[msg.data[0]] = got.get(msg.data[0], b"") + msg.data[1:]
            return got

    assert await channels_of(["echo", "x"]) == {1: b"x\n"}
    assert (await admin.counters())["exec_drop_status"] == 1
    assert await channels_of(["echo", "y"]) == {1: b"y\n", 3: b'{"metadata": {}, "status": "Success"}'}


async def test_the_next_job_pod_fails_without_running(admin, api, namespace):
    batch = client.BatchV1Api(api)
    await admin(job_pod_fail_next=1, job_pod_fail_exit_code=42)
    await batch.create_namespaced_job(namespace, {"metadata": {"name": "f"}, "spec": {"backoffLimit": 0, "template": {
        "spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "b", "command": ["true"]}]}}}})
    job = await eventually(lambda: batch.read_namespaced_job("f", namespace),
                           lambda j: condition(j, "Failed") is not None)
    assert condition(job, "Failed").reason == "BackoffLimitExceeded"
    pods = await client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector="job-name=f")
    assert pods.items[0].status.container_statuses[0].state.terminated.exit_code == 42
    # the budget is spent: the next job succeeds
    await batch.create_namespaced_job(namespace, {"metadata": {"name": "ok"}, "spec": {"template": {
        "spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "b", "command": ["true"]}]}}}})
    await eventually(lambda: batch.read_namespaced_job("ok", namespace), lambda j: condition(j, "Complete"))
