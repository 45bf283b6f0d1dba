"""Create, read, list, patch and delete objects: the one place the service calls the Kubernetes REST API.

Every function takes the `ApiClient` and keyword arguments only; objects go in
and come out as plain dicts (manifests are built by pure functions elsewhere).
Transient failures (5xx, 429, resets) are retried here with jittered back-off;
everything else is raised as an error of `errors.py`.  `KINDS` is the complete
list of what the service touches: `k8s/` grants exactly these verbs (a test
compares the two).
"""
from __future__ import annotations

import json
from typing import Any

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from ..retries import retry_async
from . import errors

Obj = dict[str, Any]

# kind → (API class, method suffix, namespaced)
KINDS: dict[str, tuple[type, str, bool]] = {
    "Namespace": (client.CoreV1Api, "namespace", False),
    "Pod": (client.CoreV1Api, "namespaced_pod", True),
    "Secret": (client.CoreV1Api, "namespaced_secret", True),
    "ServiceAccount": (client.CoreV1Api, "namespaced_service_account", True),
    "ConfigMap": (client.CoreV1Api, "namespaced_config_map", True),
    "Service": (client.CoreV1Api, "namespaced_service", True),
    "PersistentVolumeClaim": (client.CoreV1Api, "namespaced_persistent_volume_claim", True),
    "Deployment": (client.AppsV1Api, "namespaced_deployment", True),
    "Job": (client.BatchV1Api, "namespaced_job", True),
}


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, errors.Unavailable)


async def _call(api: client.ApiClient, kind: str, verb: str, *args, **kwargs) -> Any:
    """One API call as raw JSON (no model round trip, so no field is lost), retried while transient."""
    cls, suffix, _ = KINDS[kind]
    body = await _raw(getattr(cls(api), f"{verb}_{suffix}"), *args, reason=f"kubernetes {verb}", **kwargs)
    return json.loads(body) if body else None


async def _raw(method, *args, reason: str, **kwargs) -> bytes:
    """The body of one kubernetes_asyncio call made without its models; an error status or a client failure
    raised as our tree's error (errors.wrap), transient ones retried."""
    async def once() -> bytes:
        try:
            resp = await method(*args, _preload_content=False, **kwargs)
            try:
                body = await resp.read()
                if resp.status >= 400:
                    exc = ApiException(status=resp.status, reason=resp.reason)
                    exc.body = body.decode("utf-8", "replace")
                    raise exc
                return body
            finally:
                resp.release()
        except errors.KubeError:
            raise
        except Exception as exc:  # noqa: BLE001 - mapped into our tree
            raise errors.wrap(exc) from exc

    return await retry_async(once, retryable=_retryable, reason=reason)


def _ns_args(kind: str, namespace: str | None) -> tuple:
    return (namespace,) if KINDS[kind][2] else ()


async def create(api: client.ApiClient, *, manifest: Obj) -> Obj:
    kind = manifest["kind"]
    ns = manifest["metadata"].get("namespace")
    return await _call(api, kind, "create", *_ns_args(kind, ns), manifest)


async def create_or_get(api: client.ApiClient, *, manifest: Obj) -> tuple[Obj, bool]:
    """Create, or return the existing object of that name: (object, created). Idempotent steps use this."""
    try:
        return await create(api, manifest=manifest), True
    except errors.AlreadyExists:
        md = manifest["metadata"]
        return await get(api, kind=manifest["kind"], namespace=md.get("namespace"), name=md["name"]), False


async def get(api: client.ApiClient, *, kind: str, namespace: str | None, name: str) -> Obj:
    return await _call(api, kind, "read", name, *_ns_args(kind, namespace))


async def find(api: client.ApiClient, *, kind: str, namespace: str | None, name: str) -> Obj | None:
    try:
        return await get(api, kind=kind, namespace=namespace, name=name)
    except errors.NotFound:
        return None


async def list_(api: client.ApiClient, *, kind: str, namespace: str | None, labels: str | None = None,
                resource_version: str | None = None) -> Obj:
    """The list object (items + metadata.resourceVersion), labels as a selector string."""
    kwargs: dict[str, Any] = {}
    if labels:
        kwargs["label_selector"] = labels
    if resource_version is not None:
        kwargs["resource_version"] = resource_version
    return await _call(api, kind, "list", *_ns_args(kind, namespace), **kwargs)


async def patch(api: client.ApiClient, *, kind: str, namespace: str | None, name: str, body: Obj) -> Obj:
    """A strategic-merge patch (the client's default for a dict body)."""
    return await _call(api, kind, "patch", name, *_ns_args(kind, namespace), body)


async def delete(api: client.ApiClient, *, kind: str, namespace: str | None, name: str,
                 propagation: str = "Background", missing_ok: bool = True) -> bool:
    """Delete; False if it was already gone (and `missing_ok`)."""
    try:
        await _call(api, kind, "delete", name, *_ns_args(kind, namespace), propagation_policy=propagation)
        return True
    except errors.NotFound:
        if missing_ok:
            return False
        raise


async def pod_log(api: client.ApiClient, *, namespace: str, name: str, container: str | None = None,
                  tail_lines: int = 200) -> str:
    """The last lines of a pod's log ("" when the pod or its log is gone, or the API keeps failing).

    Transient failures (5xx, 429, resets) are retried like every other call: the log is where a backup's label
    and pgBackRest's error come from, so one 503 must not lose them."""
    core = client.CoreV1Api(api)
    kwargs: dict[str, Any] = {"tail_lines": tail_lines}
    if container:
        kwargs["container"] = container

    try:
        body = await _raw(lambda **kw: core.read_namespaced_pod_log(name, namespace, **kw), reason="kubernetes log",
                          **kwargs)
        return body.decode("utf-8", "replace")
    except errors.KubeError:  # gone, never started, or the API kept failing: the exit code is what counts
        return ""
