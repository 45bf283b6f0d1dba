"""What the real API server refuses, kind by kind: names, required fields, references.

Each `validate_*` returns a list of causes (`errors.cause(field, message, reason)`);
the registry turns a non-empty list into a 422 Invalid.  Messages follow
Kubernetes' wording so that users (and kubectl) see what they would on a cluster.
"""
from __future__ import annotations

import re
from typing import Any

from .errors import cause
from .selectors import label_selector_from_object

Obj = dict[str, Any]

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = _LABEL + r"(\." + _LABEL + r")*"
_DNS1035 = r"[a-z]([-a-z0-9]*[a-z0-9])?"
_LABEL_RE = re.compile(_LABEL + r"\Z")
_SUBDOMAIN_RE = re.compile(_SUBDOMAIN + r"\Z")
_DNS1035_RE = re.compile(_DNS1035 + r"\Z")
_QUALIFIED_NAME_RE = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]\Z")
_LABEL_VALUE_RE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?\Z")
_ENV_NAME_RE = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*\Z")
_CONFIG_KEY_RE = re.compile(r"[-._a-zA-Z0-9]+\Z")

SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                 "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                 f"validation is '{_SUBDOMAIN}')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
             "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
             f"validation is '{_LABEL}')")
DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
               "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
               f"regex used for validation is '{_DNS1035}')")


def _quote(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    return str(value)


def invalid(field: str, value: Any, detail: str) -> dict[str, str]:
    return cause(field, f"Invalid value: {_quote(value)}: {detail}", "FieldValueInvalid")


def required(field: str, detail: str = "") -> dict[str, str]:
    return cause(field, "Required value" + (f": {detail}" if detail else ""), "FieldValueRequired")


def not_found(field: str, value: Any) -> dict[str, str]:
    return cause(field, f"Not found: {_quote(value)}", "FieldValueNotFound")


def duplicate(field: str, value: Any) -> dict[str, str]:
    return cause(field, f"Duplicate value: {_quote(value)}", "FieldValueDuplicate")


def unsupported(field: str, value: Any, allowed: list[str]) -> dict[str, str]:
    values = ", ".join(_quote(a) for a in allowed)
    return cause(field, f"Unsupported value: {_quote(value)}: supported values: {values}", "FieldValueNotSupported")


def forbidden(field: str, detail: str) -> dict[str, str]:
    return cause(field, f"Forbidden: {detail}", "FieldValueForbidden")


def immutable(field: str, value: Any) -> dict[str, str]:
    return cause(field, f"Invalid value: {_summary(value)}: field is immutable", "FieldValueInvalid")


def _summary(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return "{...}" if isinstance(value, dict) else "[...]"
    return _quote(value)


# -- names and metadata --------------------------------------------------------------------------

def check_name(name: Any, style: str, field: str = "metadata.name", max_len: int | None = None) -> list[dict]:
    if not name:
        return [required(field, "name or generateName is required")] if field == "metadata.name" else [required(field)]
    if not isinstance(name, str):
        return [invalid(field, name, "must be a string")]
    pattern, msg, limit = {
        "subdomain": (_SUBDOMAIN_RE, SUBDOMAIN_MSG, 253),
        "label": (_LABEL_RE, LABEL_MSG, 63),
        "dns1035": (_DNS1035_RE, DNS1035_MSG, 63),
    }[style]
    limit = max_len or limit
    out = []
    if len(name) > limit:
        out.append(invalid(field, name, f"must be no more than {limit} characters"))
    if not pattern.match(name):
        out.append(invalid(field, name, msg))
    return out


def check_labels(labels: Any, field: str) -> list[dict]:
    if labels is None:
        return []
    if not isinstance(labels, dict):
        return [invalid(field, labels, "must be a map")]
    out = []
    for key, value in labels.items():
        out += check_qualified_name(key, f"{field}")
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE_RE.match(value):
            out.append(invalid(field, value, "a valid label must be an empty string or consist of alphanumeric "
                               "characters, '-', '_' or '.', and must start and end with an alphanumeric "
                               "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation "
                               "is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"))
    return out


def check_qualified_name(key: str, field: str) -> list[dict]:
    prefix, _, name = key.rpartition("/")
    out = []
    if prefix and (len(prefix) > 253 or not _SUBDOMAIN_RE.match(prefix)):
        out.append(invalid(field, key, "prefix part " + SUBDOMAIN_MSG))
    if not name or len(name) > 63 or not _QUALIFIED_NAME_RE.match(name):
        out.append(invalid(field, key, "name part must consist of alphanumeric characters, '-', '_' or '.', and "
                           "must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
                           "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"))
    return out


def check_metadata(obj: Obj, name_style: str, max_len: int | None = None) -> list[dict]:
    md = obj.get("metadata") or {}
    out = check_name(md.get("name"), name_style, max_len=max_len)
    out += check_labels(md.get("labels"), "metadata.labels")
    ann = md.get("annotations")
    if ann is not None and (not isinstance(ann, dict) or not all(isinstance(v, str) for v in ann.values())):
        out.append(invalid("metadata.annotations", "", "annotations must be a map of strings"))
    return out


# -- pods ----------------------------------------------------------------------------------------

RESTART_POLICIES = ["Always", "OnFailure", "Never"]


def check_pod_spec(spec: Any, field: str, *, restart_policies: list[str] | None = None) -> list[dict]:
    if not isinstance(spec, dict):
        return [required(field)]
    out: list[dict] = []
    volumes = spec.get("volumes") or []
    volume_names: set[str] = set()
    for i, vol in enumerate(volumes):
        vname = vol.get("name")
        out += check_name(vname, "label", f"{field}.volumes[{i}].name")
        if vname in volume_names:
            out.append(duplicate(f"{field}.volumes[{i}].name", vname))
        volume_names.add(vname)
        sources = [k for k in vol if k != "name"]
        if not sources:
            out.append(required(f"{field}.volumes[{i}]", "must specify a volume type"))
        elif len(sources) > 1:
            out.append(forbidden(f"{field}.volumes[{i}].{sources[1]}", "may not specify more than 1 volume type"))
        if "persistentVolumeClaim" in vol and not (vol["persistentVolumeClaim"] or {}).get("claimName"):
            out.append(required(f"{field}.volumes[{i}].persistentVolumeClaim.claimName"))
    containers = spec.get("containers")
    if not containers:
        out.append(required(f"{field}.containers"))
    names: set[str] = set()
    for group in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(group) or []):
            out += _check_container(c, f"{field}.{group}[{i}]", volume_names, names)
    policy = spec.get("restartPolicy", "Always")
    allowed = restart_policies or RESTART_POLICIES
    if policy not in allowed:
        if restart_policies and policy == "Always":
            out.append(required(f"{field}.restartPolicy", "valid values: " + ", ".join(_quote(p) for p in allowed)))
        else:
            out.append(unsupported(f"{field}.restartPolicy", policy, allowed))
    return out


def _check_container(c: Obj, field: str, volume_names: set[str], names: set[str]) -> list[dict]:
    out = check_name(c.get("name"), "label", f"{field}.name")
    if c.get("name") in names:
        out.append(duplicate(f"{field}.name", c.get("name")))
    names.add(c.get("name"))
    if not c.get("image"):
        out.append(required(f"{field}.image"))
    for j, env in enumerate(c.get("env") or []):
        ename = env.get("name")
        if not ename:
            out.append(required(f"{field}.env[{j}].name"))
        elif not _ENV_NAME_RE.match(ename):
            out.append(invalid(f"{field}.env[{j}].name", ename, "a valid environment variable name must consist "
                               "of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit "
                               "(e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation "
                               "is '[-._a-zA-Z][-._a-zA-Z0-9]*')"))
    mount_paths: set[str] = set()
    for j, vm in enumerate(c.get("volumeMounts") or []):
        if vm.get("name") not in volume_names:
            out.append(not_found(f"{field}.volumeMounts[{j}].name", vm.get("name")))
        mp = vm.get("mountPath")
        if not mp:
            out.append(required(f"{field}.volumeMounts[{j}].mountPath"))
        elif mp in mount_paths:
            out.append(invalid(f"{field}.volumeMounts[{j}].mountPath", mp, "must be unique"))
        mount_paths.add(mp)
        sub = vm.get("subPath") or ""
        if sub.startswith("/") or ".." in sub.split("/"):
            out.append(invalid(f"{field}.volumeMounts[{j}].subPath", sub, "must be a relative path without '..'"))
    for j, port in enumerate(c.get("ports") or []):
        number = port.get("containerPort")
        if not isinstance(number, int) or not 0 < number < 65536:
            out.append(invalid(f"{field}.ports[{j}].containerPort", number, "must be between 1 and 65535, inclusive"))
    return out


def check_template(template: Any, selector: Any, field: str, *, restart_policies: list[str] | None = None) -> list[dict]:
    if not isinstance(template, dict):
        return [required(field)]
    out = check_labels((template.get("metadata") or {}).get("labels"), f"{field}.metadata.labels")
    out += check_pod_spec(template.get("spec"), f"{field}.spec", restart_policies=restart_policies)
    if selector is not None:
        labels = (template.get("metadata") or {}).get("labels") or {}
        try:
            matches = label_selector_from_object(selector).matches(labels)
        except Exception:  # noqa: BLE001 - a bad selector is reported by the selector check
            matches = True
        if not matches:
            shown = "map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items())) + "}"
            out.append(cause(f"{field}.metadata.labels", f"Invalid value: {shown}: `selector` does not match "
                             "template `labels`", "FieldValueInvalid"))
    return out


def check_selector(selector: Any, field: str) -> list[dict]:
    if not selector:
        return [required(field)]
    if not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return [invalid(field, "", "empty selector is invalid for deployment")]
    try:
        label_selector_from_object(selector)
    except Exception as exc:  # noqa: BLE001
        return [invalid(field, "", str(exc))]
    return []


# -- other kinds ---------------------------------------------------------------------------------

def check_data_keys(data: Any, field: str) -> list[dict]:
    out = []
    for key in (data or {}):
        if len(key) > 253 or not _CONFIG_KEY_RE.match(key):
            out.append(invalid(f"{field}[{key}]", key, "a valid config key must consist of alphanumeric characters, "
                               "'-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for "
                               "validation is '[-._a-zA-Z0-9]+')"))
    return out


def check_service(spec: Obj) -> list[dict]:
    out = []
    stype = spec.get("type", "ClusterIP")
    if stype not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
        out.append(unsupported("spec.type", stype, ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]))
    ports = spec.get("ports") or []
    if not ports and spec.get("clusterIP") != "None" and stype != "ExternalName":
        out.append(required("spec.ports"))
    seen: set[tuple] = set()
    for i, port in enumerate(ports):
        number = port.get("port")
        if not isinstance(number, int) or not 0 < number < 65536:
            out.append(invalid(f"spec.ports[{i}].port", number, "must be between 1 and 65535, inclusive"))
        key = (number, port.get("protocol", "TCP"))
        if key in seen:
            out.append(duplicate(f"spec.ports[{i}]", f"{number}/{key[1]}"))
        seen.add(key)
        if len(ports) > 1 and not port.get("name"):
            out.append(required(f"spec.ports[{i}].name"))
    return out


def check_pvc(spec: Obj) -> list[dict]:
    out = []
    modes = spec.get("accessModes") or []
    if not modes:
        out.append(required("spec.accessModes", "at least 1 access mode is required"))
    allowed = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]
    for i, mode in enumerate(modes):
        if mode not in allowed:
            out.append(unsupported(f"spec.accessModes[{i}]", mode, allowed))
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if not storage:
        out.append(required("spec.resources[storage]"))
    return out
