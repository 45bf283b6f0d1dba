"""Where the Kubernetes API is: a kubeconfig file (local stack, tests), or the in-cluster service account."""
from __future__ import annotations

import os

from kubernetes_asyncio import client, config


async def load(kubeconfig: str | None = None) -> client.Configuration:
    """A client Configuration: `kubeconfig` if given (or $KUBECONFIG), else in-cluster, else ~/.kube/config."""
    cfg = client.Configuration()
    path = kubeconfig or os.environ.get("KUBECONFIG")
    if path:
        await config.load_kube_config(config_file=path, client_configuration=cfg)
    elif os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config(client_configuration=cfg)
    else:
        await config.load_kube_config(client_configuration=cfg)
    return cfg


def api_client(cfg: client.Configuration) -> client.ApiClient:
    return client.ApiClient(cfg)
