"""kubernetes_asyncio, unchanged, against kubesim: CRUD of every kind, watches, exec."""
from __future__ import annotations

import asyncio
import json

import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.stream import WsApiClient

from kubesim.process import KubesimProcess


def _pod_spec(command: list[str], restart: str = "Always") -> dict:
    return {"restartPolicy": restart, "containers": [{"name": "main", "image": "busybox", "command": command}]}


def _objects(ns: str) -> list[tuple[str, dict]]:
    """One object of each kind the service uses, keyed by the API's method suffix."""
    return [
        ("persistent_volume_claim", {"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
        ("config_map", {"metadata": {"name": "conf"}, "data": {"a": "1"}}),
        ("secret", {"metadata": {"name": "keys"}, "stringData": {"k": "v"}}),
        ("service", {"metadata": {"name": "svc"}, "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]}}),
    ]


async def test_create_read_list_patch_delete_for_core_kinds(api, namespace):
    core = client.CoreV1Api(api)
    for suffix, body in _objects(namespace):
        create = getattr(core, f"create_namespaced_{suffix}")
        read = getattr(core, f"read_namespaced_{suffix}")
        list_ = getattr(core, f"list_namespaced_{suffix}")
        patch = getattr(core, f"patch_namespaced_{suffix}")
        delete = getattr(core, f"delete_namespaced_{suffix}")
        created = await create(namespace, body)
        name = created.metadata.name
        assert created.metadata.uid and int(created.metadata.resource_version) > 0
        got = await read(name, namespace)
        assert got.metadata.uid == created.metadata.uid
        listed = await list_(namespace)
        # every namespace also holds the root CA ConfigMap, as on a real cluster
        assert [i.metadata.name for i in listed.items if i.metadata.name != "kube-root-ca.crt"] == [name]
        patched = await patch(name, namespace, {"metadata": {"labels": {"patched": "yes"}}})
        assert patched.metadata.labels == {"patched": "yes"}
        assert int(patched.metadata.resource_version) > int(created.metadata.resource_version)
        await delete(name, namespace)
        with pytest.raises(ApiException) as err:
            for _ in range(100):  # a PVC waits for its protection finalizer
                await read(name, namespace)
                await asyncio.sleep(0.05)
        assert err.value.status == 404


async def test_secret_string_data_is_folded_into_base64_data(api, namespace):
    core = client.CoreV1Api(api)
    secret = await core.create_namespaced_secret(namespace, {"metadata": {"name": "s"}, "stringData": {"pw": "abc"}})
    assert secret.data == {"pw": "YWJj"} and secret.string_data is None


async def test_namespace_create_read_delete(api):
    core = client.CoreV1Api(api)
    ns = await core.create_namespace({"metadata": {"name": "client-ns"}})
    assert ns.status.phase == "Active"
    assert (await core.read_namespace("client-ns")).metadata.uid == ns.metadata.uid
    sa = await core.read_namespaced_service_account("default", "client-ns")
    assert sa.metadata.name == "default"
    await core.delete_namespace("client-ns")
    for _ in range(100):
        try:
            await core.read_namespace("client-ns")
        except ApiException as exc:
            assert exc.status == 404
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("namespace was never removed")


async def test_deployment_crud_and_scale(api, namespace):
    apps = client.AppsV1Api(api)
    body = {"metadata": {"name": "dep"}, "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "dep"}},
                                                 "template": {"metadata": {"labels": {"app": "dep"}},
                                                              "spec": _pod_spec(["sleep", "3600"])}}}
    dep = await apps.create_namespaced_deployment(namespace, body)
    assert dep.spec.strategy.type == "RollingUpdate"
    await apps.patch_namespaced_deployment_scale("dep", namespace, {"spec": {"replicas": 2}})
    for _ in range(200):
        dep = await apps.read_namespaced_deployment_status("dep", namespace)
        if dep.status.ready_replicas == 2:
            break
        await asyncio.sleep(0.05)
    assert (dep.status.replicas, dep.status.ready_replicas, dep.status.observed_generation) == (2, 2, 2)
    listed = await apps.list_namespaced_deployment(namespace, label_selector="")
    assert [d.metadata.name for d in listed.items] == ["dep"]
    await apps.delete_namespaced_deployment("dep", namespace)
    pods = client.CoreV1Api(api)
    for _ in range(200):
        if not (await pods.list_namespaced_pod(namespace)).items:
            break
        await asyncio.sleep(0.05)
    assert (await pods.list_namespaced_pod(namespace)).items == []


async def test_job_crud_with_background_propagation_removes_its_pods(api, namespace):
    batch = client.BatchV1Api(api)
    core = client.CoreV1Api(api)
    job = await batch.create_namespaced_job(namespace, {"metadata": {"name": "j"}, "spec": {
        "template": {"spec": _pod_spec(["sleep", "3600"], "Never")}}})
    assert job.spec.selector.match_labels == {"batch.kubernetes.io/controller-uid": job.metadata.uid}
    for _ in range(100):
        pods = await core.list_namespaced_pod(namespace, label_selector=f"job-name=j")
        if pods.items and pods.items[0].status.phase == "Running":
            break
        await asyncio.sleep(0.05)
    assert pods.items[0].metadata.owner_references[0].uid == job.metadata.uid
    patched = await batch.patch_namespaced_job("j", namespace, {"metadata": {"annotations": {"a": "b"}}})
    assert patched.metadata.annotations == {"a": "b"}
    await batch.delete_namespaced_job("j", namespace, propagation_policy="Background")
    for _ in range(200):
        if not (await core.list_namespaced_pod(namespace)).items:
            break
        await asyncio.sleep(0.05)
    assert (await core.list_namespaced_pod(namespace)).items == []


async def test_watch_lists_then_follows_and_resumes_from_a_resource_version(api, namespace):
    core = client.CoreV1Api(api)
    await core.create_namespaced_config_map(namespace, {"metadata": {"name": "a"}})
    w = watch.Watch()
    seen = []
    async for event in w.stream(core.list_namespaced_config_map, namespace, timeout_seconds=5):
        if event["object"].metadata.name == "kube-root-ca.crt":
            continue
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 1:
            await core.create_namespaced_config_map(namespace, {"metadata": {"name": "b"}})
        if len(seen) == 2:
            resume_from = event["object"].metadata.resource_version
            w.stop()
    assert seen == [("ADDED", "a"), ("ADDED", "b")]
    await core.delete_namespaced_config_map("a", namespace)
    w2 = watch.Watch()
    resumed = []
    async for event in w2.stream(core.list_namespaced_config_map, namespace, resource_version=resume_from,
                                 timeout_seconds=2):
        resumed.append((event["type"], event["object"].metadata.name))
        w2.stop()
    assert resumed == [("DELETED", "a")]


async def test_watch_with_a_label_selector_sees_objects_leave_as_deleted(api, namespace):
    core = client.CoreV1Api(api)
    await core.create_namespaced_config_map(namespace, {"metadata": {"name": "c", "labels": {"keep": "yes"}}})
    events = []
    w = watch.Watch()
    async for event in w.stream(core.list_namespaced_config_map, namespace, label_selector="keep=yes",
                                timeout_seconds=5):
        events.append((event["type"], event["object"].metadata.name))
        if len(events) == 1:
            await core.patch_namespaced_config_map("c", namespace, {"metadata": {"labels": {"keep": "no"}}})
        if len(events) == 2:
            w.stop()
    assert events == [("ADDED", "c"), ("DELETED", "c")]


async def test_timeout_seconds_ends_the_watch_stream(api, namespace):
    core = client.CoreV1Api(api)
    loop = asyncio.get_running_loop()
    start = loop.time()
    raw = await core.list_namespaced_config_map(namespace, watch=True, timeout_seconds=1, _preload_content=False)
    body = await raw.read()
    elapsed = loop.time() - start
    assert 0.9 <= elapsed < 5
    assert [json.loads(line)["object"]["metadata"]["name"] for line in body.splitlines()] == ["kube-root-ca.crt"]


async def test_bookmarks_carry_the_current_resource_version(api, namespace):
    core = client.CoreV1Api(api)
    raw = await core.list_namespaced_pod(namespace, watch=True, allow_watch_bookmarks=True, timeout_seconds=2,
                                         _preload_content=False)
    lines = [json.loads(line) for line in (await raw.read()).splitlines()]
    bookmarks = [e for e in lines if e["type"] == "BOOKMARK"]
    assert bookmarks, lines
    assert all(e["object"]["kind"] == "Pod" and int(e["object"]["metadata"]["resourceVersion"]) > 0
               for e in bookmarks)


async def test_a_stale_resource_version_gets_410_gone(tmp_path):
    proc = KubesimProcess(str(tmp_path / "small"), ["--history-size", "20"]).start()
    try:
        from kubernetes_asyncio import config
        cfg = client.Configuration()
        await config.load_kube_config(config_file=proc.kubeconfig, client_configuration=cfg)
        async with client.ApiClient(cfg) as api:
            core = client.CoreV1Api(api)
            first = await core.create_namespaced_config_map("default", {"metadata": {"name": "old"}})
            for i in range(40):
                await core.patch_namespaced_config_map("old", "default", {"data": {"i": str(i)}})
            with pytest.raises(ApiException) as err:
                async for _ in watch.Watch().stream(core.list_namespaced_config_map, "default",
                                                    resource_version=first.metadata.resource_version,
                                                    timeout_seconds=2):
                    pass
            assert err.value.status == 410
            assert "too old resource version" in err.value.reason
    finally:
        assert proc.stop() == 0


async def test_exec_streams_stdout_and_stderr_apart_and_reports_the_exit_code(api, kubesim, namespace):
    core = client.CoreV1Api(api)
    await core.create_namespaced_pod(namespace, {"metadata": {"name": "p"}, "spec": _pod_spec(["sleep", "3600"])})
    for _ in range(200):
        pod = await core.read_namespaced_pod("p", namespace)
        if pod.status.phase == "Running":
            break
        await asyncio.sleep(0.05)
    from kubernetes_asyncio import config
    cfg = client.Configuration()
    await config.load_kube_config(config_file=kubesim.kubeconfig, client_configuration=cfg)
    async with WsApiClient(cfg) as ws_api:
        ws_core = client.CoreV1Api(ws_api)
        ws = await ws_core.connect_get_namespaced_pod_exec(
            "p", namespace, command=["sh", "-c", "echo to-out; echo to-err >&2; exit 7"], stderr=True,
            stdout=True, stdin=False, tty=False, _preload_content=False)
        channels: dict[int, bytes] = {1: b"", 2: b"", 3: b""}
        async with ws as conn:
            async for msg in conn:
                data = msg.data
                if len(data) > 1:
                    channels[data[0]] += data[1:]
        assert channels[1] == b"to-out\n" and channels[2] == b"to-err\n"
        assert WsApiClient.parse_error_data(channels[3]) == 7
        # and the preloaded form returns the combined output
        out = await ws_core.connect_get_namespaced_pod_exec("p", namespace, command=["echo", "hi"], stdout=True,
                                                            stderr=True)
        assert out == "hi\n"
