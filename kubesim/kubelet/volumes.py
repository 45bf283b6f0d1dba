"""Pod volumes as host directories: PVCs, emptyDir, hostPath, and files for secret/configMap/projected/downwardAPI.

`materialize` writes what needs writing under the pod's directory and returns,
per volume name, the host path to bind.  File modes and ownership follow the
kubelet: `defaultMode`/`mode` per file, and with `fsGroup` the group becomes
fsGroup and read-only volumes gain group read (0440), writable ones group
read-write.
"""
from __future__ import annotations

import base64
import os
from typing import Callable

from ..resources import CONFIGMAPS, PVCS, PVS, SECRETS
from ..store import Obj, Store
from .env import ConfigError, field_value


class VolumeError(ConfigError):
    """A volume cannot be set up yet (missing claim, secret or key): the pod waits in ContainerCreating."""


def _write_file(directory: str, rel: str, data: bytes, mode: int, gid: int | None) -> None:
    path = os.path.join(directory, rel)
    if os.path.relpath(path, directory).startswith(".."):
        raise VolumeError(f"invalid path {rel!r} in volume item")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    if gid is not None:
        os.chown(path, 0, gid)
        mode |= 0o440
    os.chmod(path, mode)


def _items(data: dict[str, bytes], items: list[dict] | None, default_mode: int, name: str, kind: str,
           optional: bool) -> list[tuple[str, bytes, int]]:
    if not items:
        return [(k, v, default_mode) for k, v in sorted(data.items())]
    out = []
    for item in items:
        if item["key"] not in data:
            if optional:
                continue
            raise VolumeError(f'configmap references non-existent config key: {item["key"]}' if kind == "configMap"
                              else f'references non-existent secret key: {item["key"]}')
        out.append((item["path"], data[item["key"]], item.get("mode", default_mode)))
    return out


def _source_data(store: Store, ns: str, kind: str, name: str, optional: bool) -> dict[str, bytes] | None:
    res = SECRETS if kind == "secret" else CONFIGMAPS
    obj = store.find(res, ns, name)
    if obj is None:
        if optional:
            return {}
        raise VolumeError(f'{"secret" if kind == "secret" else "configmap"} "{name}" not found')
    if kind == "secret":
        return {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
    data = {k: v.encode() for k, v in (obj.get("data") or {}).items()}
    data.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
    return data


def pv_path(store: Store, pod: Obj, claim: str) -> str:
    pvc = store.find(PVCS, pod["metadata"]["namespace"], claim)
    if pvc is None:
        raise VolumeError(f'persistentvolumeclaim "{claim}" not found')
    if pvc["metadata"].get("deletionTimestamp"):
        raise VolumeError(f'persistentvolumeclaim "{claim}" is being deleted')
    if (pvc.get("status") or {}).get("phase") != "Bound":
        raise VolumeError(f'persistentvolumeclaim "{claim}" is not bound')
    pv = store.find(PVS, None, pvc["spec"].get("volumeName", ""))
    if pv is None:
        raise VolumeError(f'persistentvolume for claim "{claim}" not found')
    return pv["spec"]["hostPath"]["path"]


def materialize(pod: Obj, store: Store, pod_dir: str, token_for: Callable[[str, str], str],
                ca_pem: str) -> dict[str, str]:
    """Volume name → host path. Raises VolumeError while something referenced is missing."""
    ns = pod["metadata"]["namespace"]
    fs_group = (pod["spec"].get("securityContext") or {}).get("fsGroup")
    out: dict[str, str] = {}
    for vol in pod["spec"].get("volumes") or []:
        name = vol["name"]
        vdir = os.path.join(pod_dir, "volumes", name)
        if "persistentVolumeClaim" in vol:
            path = pv_path(store, pod, vol["persistentVolumeClaim"]["claimName"])
            if fs_group is not None:
                st = os.stat(path)
                if st.st_gid != fs_group:
                    os.chown(path, st.st_uid, fs_group)
                    os.chmod(path, (st.st_mode & 0o7777) | 0o2070)
            out[name] = path
        elif "emptyDir" in vol:
            os.makedirs(vdir, exist_ok=True)
            os.chmod(vdir, 0o777)
            out[name] = vdir
        elif "hostPath" in vol:
            hp = vol["hostPath"]
            if hp.get("type") == "DirectoryOrCreate":
                os.makedirs(hp["path"], exist_ok=True)
            if not os.path.exists(hp["path"]):
                raise VolumeError(f'hostPath type check failed: {hp["path"]} does not exist')
            out[name] = hp["path"]
        else:
            files = _files_of(vol, store, ns, pod, token_for, ca_pem)
            os.makedirs(vdir, exist_ok=True)
            for rel, data, mode in files:
                _write_file(vdir, rel, data, mode, fs_group)
            if fs_group is not None:
                os.chown(vdir, 0, fs_group)
            os.chmod(vdir, 0o755 if fs_group is None else 0o2755)
            out[name] = vdir
    return out


def _files_of(vol: Obj, store: Store, ns: str, pod: Obj, token_for, ca_pem: str) -> list[tuple[str, bytes, int]]:
    if "secret" in vol:
        src = vol["secret"]
        data = _source_data(store, ns, "secret", src.get("secretName", ""), bool(src.get("optional")))
        return _items(data, src.get("items"), src.get("defaultMode", 0o644), src.get("secretName", ""), "secret",
                      bool(src.get("optional")))
    if "configMap" in vol:
        src = vol["configMap"]
        data = _source_data(store, ns, "configMap", src.get("name", ""), bool(src.get("optional")))
        return _items(data, src.get("items"), src.get("defaultMode", 0o644), src.get("name", ""), "configMap",
                      bool(src.get("optional")))
    if "downwardAPI" in vol:
        src = vol["downwardAPI"]
        return [(i["path"], field_value(pod, i["fieldRef"]["fieldPath"]).encode(), i.get("mode", src.get(
            "defaultMode", 0o644))) for i in src.get("items") or [] if "fieldRef" in i]
    if "projected" in vol:
        src = vol["projected"]
        default_mode = src.get("defaultMode", 0o644)
        out: list[tuple[str, bytes, int]] = []
        for source in src.get("sources") or []:
            if "serviceAccountToken" in source:
                token = token_for(ns, pod["spec"].get("serviceAccountName", "default"))
                out.append((source["serviceAccountToken"]["path"], token.encode(), default_mode))
            elif "configMap" in source:
                s = source["configMap"]
                if s.get("name") == "kube-root-ca.crt":
                    data = {"ca.crt": ca_pem.encode()}
                else:
                    data = _source_data(store, ns, "configMap", s.get("name", ""), bool(s.get("optional")))
                out += _items(data, s.get("items"), default_mode, s.get("name", ""), "configMap",
                              bool(s.get("optional")))
            elif "secret" in source:
                s = source["secret"]
                data = _source_data(store, ns, "secret", s.get("name", ""), bool(s.get("optional")))
                out += _items(data, s.get("items"), default_mode, s.get("name", ""), "secret",
                              bool(s.get("optional")))
            elif "downwardAPI" in source:
                out += [(i["path"], field_value(pod, i["fieldRef"]["fieldPath"]).encode(), i.get("mode", default_mode))
                        for i in source["downwardAPI"].get("items") or [] if "fieldRef" in i]
        return out
    kind = next((k for k in vol if k != "name"), "unknown")
    raise VolumeError(f"kubesim does not support {kind} volumes")
