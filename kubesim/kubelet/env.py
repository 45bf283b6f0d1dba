"""A container's environment: `env`, `envFrom`, `valueFrom` and `$(VAR)` expansion, as the kubelet builds it."""
from __future__ import annotations

import base64
import re
from typing import Any, Callable

from ..resources import CONFIGMAPS, SECRETS
from ..store import Obj, Store

_VAR_REF = re.compile(r"\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)")


class ConfigError(Exception):
    """A referenced Secret, ConfigMap or key is missing: the container waits (CreateContainerConfigError)."""


def expand(value: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion: known names are replaced, `$$` escapes, unknown refs stay as written."""
    def sub(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return _VAR_REF.sub(sub, value)


def field_value(pod: Obj, path: str) -> str:
    md = pod["metadata"]
    status = pod.get("status") or {}
    simple = {
        "metadata.name": md.get("name", ""),
        "metadata.namespace": md.get("namespace", ""),
        "metadata.uid": md.get("uid", ""),
        "spec.nodeName": pod["spec"].get("nodeName", ""),
        "spec.serviceAccountName": pod["spec"].get("serviceAccountName", ""),
        "status.podIP": status.get("podIP", ""),
        "status.hostIP": status.get("hostIP", ""),
        "status.podIPs": ",".join(i["ip"] for i in status.get("podIPs") or []),
        "status.hostIPs": ",".join(i["ip"] for i in status.get("hostIPs") or []),
    }
    if path in simple:
        return simple[path]
    m = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if m:
        return (md.get(m.group(1)) or {}).get(m.group(2), "")
    if path in ("metadata.labels", "metadata.annotations"):
        items = md.get(path.split(".")[1]) or {}
        return "\n".join(f'{k}="{v}"' for k, v in sorted(items.items()))
    raise ConfigError(f'unsupported fieldRef "{path}"')


def _lookup(store: Store, namespace: str, kind: str, name: str, key: str | None, optional: bool) -> Any:
    res = SECRETS if kind == "secret" else CONFIGMAPS
    obj = store.find(res, namespace, name)
    if obj is None:
        if optional:
            return None
        raise ConfigError(f'{kind} "{name}" not found')
    if key is None:
        return obj
    data = obj.get("data") or {}
    if key not in data:
        if optional:
            return None
        raise ConfigError(f"couldn't find key {key} in {'Secret' if kind == 'secret' else 'ConfigMap'} "
                          f"{namespace}/{name}")
    value = data[key]
    return base64.b64decode(value).decode("utf-8", "replace") if kind == "secret" else value


def build(pod: Obj, container: Obj, store: Store, base: dict[str, str],
          resource_value: Callable[[Obj, dict], str] | None = None) -> dict[str, str]:
    """The full environment: `base` (PATH, HOSTNAME, KUBERNETES_*), then envFrom, then env in order."""
    ns = pod["metadata"]["namespace"]
    env = dict(base)
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        for kind, ref in (("configmap", source.get("configMapRef")), ("secret", source.get("secretRef"))):
            if not ref:
                continue
            obj = _lookup(store, ns, kind, ref.get("name", ""), None, bool(ref.get("optional")))
            if obj is None:
                continue
            for key, value in (obj.get("data") or {}).items():
                if kind == "secret":
                    value = base64.b64decode(value).decode("utf-8", "replace")
                env[prefix + key] = value
    for item in container.get("env") or []:
        name = item["name"]
        if "value" in item or "valueFrom" not in item:
            env[name] = expand(item.get("value", ""), env)
            continue
        vf = item["valueFrom"]
        if "secretKeyRef" in vf:
            ref = vf["secretKeyRef"]
            value = _lookup(store, ns, "secret", ref.get("name", ""), ref["key"], bool(ref.get("optional")))
        elif "configMapKeyRef" in vf:
            ref = vf["configMapKeyRef"]
            value = _lookup(store, ns, "configmap", ref.get("name", ""), ref["key"], bool(ref.get("optional")))
        elif "fieldRef" in vf:
            value = field_value(pod, vf["fieldRef"]["fieldPath"])
        elif "resourceFieldRef" in vf and resource_value is not None:
            value = resource_value(container, vf["resourceFieldRef"])
        else:
            value = None
        if value is not None:
            env[name] = value
    return env


def command_line(container: Obj, env: dict[str, str]) -> list[str]:
    """command + args with `$(VAR)` expanded. The image is only a label: without a command, args run."""
    argv = [expand(a, env) for a in (container.get("command") or [])]
    argv += [expand(a, env) for a in (container.get("args") or [])]
    return argv
