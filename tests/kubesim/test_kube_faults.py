"""The service's Kubernetes client (tasks/kube/objects.py, execing.py) against kubesim's fault switches: what is
safe to try again is tried again, with back-off, and counted (tasks/retries.py RETRIES → /metrics)."""
from __future__ import annotations

import pytest
from kubernetes_asyncio import client, config

from tasks.kube import errors, execing, objects
from tasks.retries import RETRIES
from tests.kubesim.test_faults import admin  # noqa: F401 - the fixture
from tests.support.waiting import condition, eventually


@pytest.fixture
async def pod(api, namespace) -> str:
    core = client.CoreV1Api(api)
    await core.create_namespaced_pod(namespace, {"metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "c", "image": "busybox:1.36", "command": ["sh", "-c", "echo hello; exec sleep 3600"]}]}})
    await eventually(lambda: core.read_namespaced_pod("p", namespace),
                     lambda p: condition(p, "Ready") is not None and condition(p, "Ready").status == "True",
                     what="pod ready")
    await eventually(lambda: objects.pod_log(api, namespace=namespace, name="p"), lambda text: text == "hello\n",
                     what="its log")
    return "p"


@pytest.fixture
def no_backoff(monkeypatch):
    monkeypatch.setattr("tasks.retries.backoff", lambda attempt, **kw: 0)


async def test_a_pods_log_is_asked_again_while_the_api_fails_and_is_empty_only_when_it_keeps_failing(
        admin, api, namespace, pod, no_backoff):  # noqa: F811
    before = RETRIES["kubernetes log"]
    await admin(error_rate=1.0, error_codes=[503], match_paths=["/log"])
    assert await objects.pod_log(api, namespace=namespace, name=pod) == ""
    assert (await admin.counters())["errors"] == 6          # the first try and five more
    assert RETRIES["kubernetes log"] == before + 5
    await admin()
    assert await objects.pod_log(api, namespace=namespace, name=pod) == "hello\n"
    assert await objects.pod_log(api, namespace=namespace, name="missing") == ""  # 404: not retried
    assert (await admin.counters()).get("errors", 0) == 6


async def test_an_exec_refused_with_a_5xx_is_tried_again_one_whose_outcome_is_unknown_is_not(
        admin, kubesim, namespace, pod, no_backoff):  # noqa: F811
    cfg = client.Configuration()
    await config.load_kube_config(config_file=kubesim.kubeconfig, client_configuration=cfg)
    before = RETRIES["kubernetes exec"]
    await admin(error_rate=1.0, error_codes=[500], match_paths=["/exec"])
    with pytest.raises(errors.Unavailable, match="500"):
        await execing.exec_in_pod(cfg, namespace=namespace, pod=pod, container="c", command=["true"])
    assert (await admin.counters())["errors"] == 6 and RETRIES["kubernetes exec"] == before + 5
    await admin(exec_drop_status=1)  # the command ran, its status was lost: never run again here
    with pytest.raises(errors.ExecFailed, match="without a status frame"):
        await execing.exec_in_pod(cfg, namespace=namespace, pod=pod, container="c", command=["echo", "once"])
    assert RETRIES["kubernetes exec"] == before + 5
    res = await execing.exec_in_pod(cfg, namespace=namespace, pod=pod, container="c", command=["sh", "-c", "exit 4"])
    assert res.exit_code == 4
