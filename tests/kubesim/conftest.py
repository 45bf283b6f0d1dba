"""One kubesim per test session, driven over real HTTPS by kubectl and kubernetes_asyncio."""
from __future__ import annotations

import os
import uuid

import pytest
from kubernetes_asyncio import client, config

from kubesim.process import KubesimProcess

FAST = ["--job-backoff-seconds", "0.2", "--crash-backoff-seconds", "0.3", "--bookmark-seconds", "1",
        "--node-label", "kubesim.io/zone=a", "--node-label", "disktype=ssd"]


@pytest.fixture(scope="session")
def kubesim(tmp_path_factory):
    proc = KubesimProcess(str(tmp_path_factory.mktemp("kubesim")), FAST).start()
    yield proc
    code = proc.stop()
    assert code == 0, proc.tail()


@pytest.fixture
def namespace(kubesim):
    name = "t-" + uuid.uuid4().hex[:8]
    kubesim.kubectl("apply", "-f", "-", input=f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n",
                    check=True)
    yield name
    kubesim.kubectl("delete", "namespace", name, "--wait=false")


@pytest.fixture
async def api(kubesim):
    cfg = client.Configuration()
    await config.load_kube_config(config_file=kubesim.kubeconfig, client_configuration=cfg)
    async with client.ApiClient(cfg) as api_client:
        yield api_client
