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
    if style == "path":
        return [invalid(field, name, msg) for msg in path_segment_errors(name)]
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


def path_segment_errors(name: str) -> list[str]:
    """path.IsValidPathSegmentName, the rule for RBAC names (`system:controller:x` is fine)."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


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


def check_pvc(spec: Obj, field: str = "spec") -> list[dict]:
    out = []
    spec = spec if isinstance(spec, dict) else {}
    modes = spec.get("accessModes") or []
    if not modes:
        out.append(required(f"{field}.accessModes", "at least 1 access mode is required"))
    allowed = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]
    for i, mode in enumerate(modes):
        if mode not in allowed:
            out.append(unsupported(f"{field}.accessModes[{i}]", mode, allowed))
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if not storage:
        out.append(required(f"{field}.resources[storage]"))
    return out


# -- apps/v1 StatefulSet -------------------------------------------------------------------------

STATEFULSET_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy",
                       "minReadySeconds", "revisionHistoryLimit")


def _non_negative(value: Any, field: str) -> list[dict]:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        return [invalid(field, value, "must be greater than or equal to 0")]
    return []


def check_statefulset(spec: Obj) -> list[dict]:
    out: list[dict] = []
    policy = spec.get("podManagementPolicy")
    if policy not in ("OrderedReady", "Parallel"):
        out.append(invalid("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'"))
    strategy = spec.get("updateStrategy") or {}
    stype = strategy.get("type")
    if stype not in ("RollingUpdate", "OnDelete"):
        out.append(invalid("spec.updateStrategy.type", stype, "must be 'RollingUpdate' or 'OnDelete'"))
    rolling = strategy.get("rollingUpdate")
    if stype == "OnDelete" and rolling is not None:
        out.append(invalid("spec.updateStrategy.rollingUpdate", "{...}",
                           "only allowed for updateStrategy 'RollingUpdate'"))
    if isinstance(rolling, dict):
        out += _non_negative(rolling.get("partition"), "spec.updateStrategy.rollingUpdate.partition")
    for fld in ("replicas", "minReadySeconds", "revisionHistoryLimit"):
        out += _non_negative(spec.get(fld), f"spec.{fld}")
    start = (spec.get("ordinals") or {}).get("start")
    out += _non_negative(start, "spec.ordinals.start")
    retention = spec.get("persistentVolumeClaimRetentionPolicy") or {}
    for fld in ("whenDeleted", "whenScaled"):
        if retention.get(fld) not in ("Retain", "Delete"):
            out.append(unsupported(f"spec.persistentVolumeClaimRetentionPolicy.{fld}", retention.get(fld),
                                   ["Retain", "Delete"]))
    selector = spec.get("selector")
    if not selector:
        out.append(required("spec.selector"))
    elif not (selector.get("matchLabels") or selector.get("matchExpressions")):
        out.append(invalid("spec.selector", "", "empty selector is invalid for statefulset"))
    else:
        out += check_selector(selector, "spec.selector")
    # the template's mounts may name claim templates: check it as its pods will be, with their volumes added
    template = spec.get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        claims = {((c or {}).get("metadata") or {}).get("name") for c in spec.get("volumeClaimTemplates") or []}
        claims.discard(None)
        if claims:
            tspec = dict(template["spec"])
            tspec["volumes"] = [{"name": c, "persistentVolumeClaim": {"claimName": c}} for c in sorted(claims)] + [
                v for v in tspec.get("volumes") or [] if isinstance(v, dict) and v.get("name") not in claims]
            template = {**template, "spec": tspec}
    out += check_template(template, selector or None, "spec.template", restart_policies=["Always"])
    tspec = (spec.get("template") or {}).get("spec") or {}
    if tspec.get("activeDeadlineSeconds") is not None:
        out.append(forbidden("spec.template.spec.activeDeadlineSeconds",
                             "activeDeadlineSeconds in StatefulSet is not Supported"))
    names: set[str] = set()
    for i, claim in enumerate(spec.get("volumeClaimTemplates") or []):
        field = f"spec.volumeClaimTemplates[{i}]"
        cname = ((claim or {}).get("metadata") or {}).get("name")
        out += check_name(cname, "subdomain", f"{field}.metadata.name")
        if cname in names:
            out.append(duplicate(f"{field}.metadata.name", cname))
        names.add(cname)
        out += check_pvc((claim or {}).get("spec"), f"{field}.spec")
    return out


# -- rbac.authorization.k8s.io/v1 ----------------------------------------------------------------

RBAC_GROUP = "rbac.authorization.k8s.io"


def check_policy_rules(rules: Any, namespaced: bool, field: str = "rules") -> list[dict]:
    out: list[dict] = []
    for i, rule in enumerate(rules or []):
        path = f"{field}[{i}]"
        rule = rule if isinstance(rule, dict) else {}
        if not rule.get("verbs"):
            out.append(required(f"{path}.verbs", "verbs must contain at least one value"))
        urls = rule.get("nonResourceURLs") or []
        if urls:
            shown = "[]string{" + ", ".join(_quote(u) for u in urls) + "}"
            if namespaced:
                out.append(cause(f"{path}.nonResourceURLs", f"Invalid value: {shown}: namespaced rules cannot apply "
                                 "to non-resource URLs", "FieldValueInvalid"))
            if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
                out.append(cause(f"{path}.nonResourceURLs", f"Invalid value: {shown}: rules cannot apply to both "
                                 "regular resources and non-resource URLs", "FieldValueInvalid"))
            continue
        if not rule.get("apiGroups"):
            out.append(required(f"{path}.apiGroups", "resource rules must supply at least one api group"))
        if not rule.get("resources"):
            out.append(required(f"{path}.resources", "resource rules must supply at least one resource"))
    return out


def role_ref_text(ref: Any) -> str:
    ref = ref if isinstance(ref, dict) else {}
    return (f'rbac.RoleRef{{APIGroup:{_quote(ref.get("apiGroup", ""))}, Kind:{_quote(ref.get("kind", ""))}, '
            f'Name:{_quote(ref.get("name", ""))}}}')


def check_binding(obj: Obj, namespaced: bool) -> list[dict]:
    out: list[dict] = []
    ref = obj.get("roleRef") if isinstance(obj.get("roleRef"), dict) else {}
    if ref.get("apiGroup") != RBAC_GROUP:
        out.append(unsupported("roleRef.apiGroup", ref.get("apiGroup", ""), [RBAC_GROUP]))
    kinds = ["Role", "ClusterRole"] if namespaced else ["ClusterRole"]
    if ref.get("kind") not in kinds:
        out.append(unsupported("roleRef.kind", ref.get("kind", ""), kinds))
    if not ref.get("name"):
        out.append(required("roleRef.name"))
    else:
        out += [invalid("roleRef.name", ref["name"], m) for m in path_segment_errors(ref["name"])]
    for i, subject in enumerate(obj.get("subjects") or []):
        path = f"subjects[{i}]"
        subject = subject if isinstance(subject, dict) else {}
        name, kind, group = subject.get("name") or "", subject.get("kind"), subject.get("apiGroup") or ""
        if not name:
            out.append(required(f"{path}.name"))
        if kind == "ServiceAccount":
            if name:
                out += check_name(name, "subdomain", f"{path}.name")
            if group:
                out.append(unsupported(f"{path}.apiGroup", group, [""]))
            if not namespaced and not subject.get("namespace"):
                out.append(required(f"{path}.namespace"))
        elif kind in ("User", "Group"):
            if group != RBAC_GROUP:
                out.append(unsupported(f"{path}.apiGroup", group, [RBAC_GROUP]))
        else:
            out.append(unsupported(f"{path}.kind", kind or "", ["ServiceAccount", "User", "Group"]))
    return out


# -- autoscaling/v2, policy/v1, networking.k8s.io/v1 ---------------------------------------------

_METRIC_SOURCES = {"Object": "object", "Pods": "pods", "Resource": "resource", "ContainerResource":
                   "containerResource", "External": "external"}


def check_hpa(spec: Obj) -> list[dict]:
    out: list[dict] = []
    ref = spec.get("scaleTargetRef") if isinstance(spec.get("scaleTargetRef"), dict) else {}
    for fld in ("kind", "name"):
        value = ref.get(fld)
        if not value:
            out.append(required(f"spec.scaleTargetRef.{fld}"))
        else:
            out += [invalid(f"spec.scaleTargetRef.{fld}", value, m) for m in path_segment_errors(value)]
    low, high = spec.get("minReplicas"), spec.get("maxReplicas")
    if isinstance(low, int) and low < 1:
        out.append(invalid("spec.minReplicas", low, "must be greater than or equal to 1"))
    if not isinstance(high, int) or high < 1:
        out.append(invalid("spec.maxReplicas", high, "must be greater than 0"))
    elif isinstance(low, int) and high < low:
        out.append(invalid("spec.maxReplicas", high, "must be greater than or equal to `minReplicas`"))
    for i, metric in enumerate(spec.get("metrics") or []):
        path = f"spec.metrics[{i}]"
        metric = metric if isinstance(metric, dict) else {}
        mtype = metric.get("type")
        if not mtype:
            out.append(required(f"{path}.type", "must specify a metric source type"))
        elif mtype not in _METRIC_SOURCES:
            out.append(unsupported(f"{path}.type", mtype, sorted(_METRIC_SOURCES)))
        elif not isinstance(metric.get(_METRIC_SOURCES[mtype]), dict):
            out.append(required(f"{path}.{_METRIC_SOURCES[mtype]}",
                                "must populate information for the given metric source"))
    return out


def _int_or_percent(value: Any, field: str) -> list[dict]:
    if value is None:
        return []
    if isinstance(value, int) and not isinstance(value, bool):
        return [invalid(field, value, "must be greater than or equal to 0")] if value < 0 else []
    if isinstance(value, str) and re.fullmatch(r"[0-9]+%", value):
        if int(value[:-1]) > 100:
            return [invalid(field, value, "must not be greater than 100%")]
        return []
    return [invalid(field, value, "a valid percent string must be a numeric string followed by an ending '%' "
                    "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")]


def check_pdb(spec: Obj) -> list[dict]:
    out: list[dict] = []
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        out.append(invalid("spec", "{...}", "minAvailable and maxUnavailable cannot be both set"))
    out += _int_or_percent(spec.get("minAvailable"), "spec.minAvailable")
    out += _int_or_percent(spec.get("maxUnavailable"), "spec.maxUnavailable")
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy is not None and policy not in ("IfHealthyBudget", "AlwaysAllow"):
        out.append(unsupported("spec.unhealthyPodEvictionPolicy", policy, ["AlwaysAllow", "IfHealthyBudget"]))
    if spec.get("selector"):
        try:
            label_selector_from_object(spec["selector"])
        except Exception as exc:  # noqa: BLE001
            out.append(invalid("spec.selector", "", str(exc)))
    return out


def _check_backend(backend: Any, field: str) -> list[dict]:
    backend = backend if isinstance(backend, dict) else {}
    service, resource = backend.get("service"), backend.get("resource")
    if service and resource:
        return [invalid(field, "", "cannot set both resource and service backends")]
    if not service and not resource:
        return [invalid(field, "", "one backend (service or resource) must be specified")]
    if resource:
        return [] if resource.get("kind") and resource.get("name") else [required(f"{field}.resource")]
    out = []
    if not service.get("name"):
        out.append(required(f"{field}.service.name"))
    else:
        out += check_name(service["name"], "dns1035", f"{field}.service.name")
    port = service.get("port") if isinstance(service.get("port"), dict) else {}
    if port.get("name") and port.get("number"):
        out.append(invalid(f"{field}.service.port", "", "cannot set both port name & port number"))
    elif not port.get("name") and not port.get("number"):
        out.append(invalid(f"{field}.service.port", "", "port name or number is required"))
    elif port.get("number") is not None and not 0 < port["number"] < 65536:
        out.append(invalid(f"{field}.service.port.number", port["number"], "must be between 1 and 65535, inclusive"))
    return out


def check_ingress(spec: Obj) -> list[dict]:
    out: list[dict] = []
    rules = spec.get("rules") or []
    if not rules and spec.get("defaultBackend") is None:
        out.append(invalid("spec.rules", "[]", "either `defaultBackend` or `rules` must be specified"))
    if spec.get("defaultBackend") is not None:
        out += _check_backend(spec["defaultBackend"], "spec.defaultBackend")
    if spec.get("ingressClassName"):
        out += check_name(spec["ingressClassName"], "subdomain", "spec.ingressClassName")
    for i, rule in enumerate(rules):
        path = f"spec.rules[{i}]"
        rule = rule if isinstance(rule, dict) else {}
        host = rule.get("host")
        if host:
            bare = host[2:] if host.startswith("*.") else host
            if _is_ip(host):
                out.append(invalid(f"{path}.host", host, "must be a DNS name, not an IP address"))
            elif not _SUBDOMAIN_RE.match(bare):
                out.append(invalid(f"{path}.host", host, SUBDOMAIN_MSG))
        http = rule.get("http")
        if http is None:
            continue
        paths = (http or {}).get("paths") or []
        if not paths:
            out.append(required(f"{path}.http.paths"))
        for j, hp in enumerate(paths):
            ppath = f"{path}.http.paths[{j}]"
            hp = hp if isinstance(hp, dict) else {}
            ptype = hp.get("pathType")
            if not ptype:
                out.append(required(f"{ppath}.pathType", "pathType must be specified"))
            elif ptype not in ("Exact", "Prefix", "ImplementationSpecific"):
                out.append(unsupported(f"{ppath}.pathType", ptype, ["Exact", "ImplementationSpecific", "Prefix"]))
            elif ptype in ("Exact", "Prefix") and not str(hp.get("path") or "").startswith("/"):
                out.append(invalid(f"{ppath}.path", hp.get("path") or "", "must be an absolute path"))
            out += _check_backend(hp.get("backend"), f"{ppath}.backend")
    return out


def _is_ip(value: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False
