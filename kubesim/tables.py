"""Server-side printing: the meta.k8s.io/v1 `Table` that `kubectl get` asks for.

kubectl sends `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` and prints
what comes back.  The columns and cells here are kube-apiserver 1.32's
(`pkg/printers/internalversion/printers.go`), generated as the server does it:
always the wide form (priority-1 columns included; kubectl hides them unless
`-o wide`).  Kinds without a printer get kube-apiserver's default table
(Name, Created At).

Objects are the JSON dicts kubesim stores; times are RFC 3339 strings.  Where
kube-apiserver would have defaulted a field on create (a Service's `type`, a
port's `protocol`, a Deployment's `replicas`…) and it is missing, the default
is printed, as a real server's stored object would show it.
"""
from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from typing import Any, Callable

from .resources import Resource
from .schemas import definitions

TABLE_CONTENT_TYPE = "application/json;as=Table;v=v1;g=meta.k8s.io"
INCLUDE_OBJECT = ("None", "Metadata", "Object")

Obj = dict[str, Any]


# ---------------------------------------------------------------- small helpers

def _at(obj: Any, *path: str, default: Any = None) -> Any:
    for key in path:
        if not isinstance(obj, dict) or obj.get(key) is None:
            return default
        obj = obj[key]
    return obj


def _list(obj: Any, *path: str) -> list:
    value = _at(obj, *path)
    return value if isinstance(value, list) else []


def _map(obj: Any, *path: str) -> dict:
    value = _at(obj, *path)
    return value if isinstance(value, dict) else {}


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (`2026-11-26T15:38:48Z`, with or without fractions) as an aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def human_duration(d: timedelta) -> str:
    """apimachinery's `duration.HumanDuration`: 5s, 119s, 2m5s, 10m, 3h4m, 15h, 3d4h, 20d, 2y30d, 9y."""
    seconds = int(d.total_seconds())  # Go's int(d.Seconds()) truncates toward zero
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = seconds // 3600
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def _since(value: Any, now: datetime) -> str:
    """printers.go `translateTimestampSince`: "<unknown>" for a missing time."""
    t = parse_time(value)
    return "<unknown>" if t is None else human_duration(now - t)


def _label_requirements(selector: Any) -> list[str] | None:
    """A LabelSelector's requirements as strings, sorted by key; None if it is invalid."""
    reqs: list[tuple[str, str]] = []
    for key, value in _map(selector, "matchLabels").items():
        reqs.append((key, f"{key}={value}"))
    for expr in _list(selector, "matchExpressions"):
        key, op, values = expr.get("key", ""), expr.get("operator"), sorted(expr.get("values") or [])
        if op in ("In", "NotIn"):
            if not values:
                return None
            word = "in" if op == "In" else "notin"
            reqs.append((key, f"{key} {word} ({','.join(values)})"))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                return None
            reqs.append((key, key if op == "Exists" else f"!{key}"))
        else:
            return None
    reqs.sort(key=lambda r: r[0])
    return [text for _, text in reqs]


def _selector_string(selector: Any) -> str:
    """`LabelSelectorAsSelector(s).String()`: "" for nil or empty, "<invalid>" when it cannot parse."""
    reqs = _label_requirements(selector)
    return "<invalid>" if reqs is None else ",".join(reqs)


def format_label_selector(selector: Any) -> str:
    """metav1.FormatLabelSelector: `app=web,tier in (a,b)`, "<none>" when empty, "<error>" when invalid."""
    reqs = _label_requirements(selector)
    if reqs is None:
        return "<error>"
    return ",".join(reqs) or "<none>"


def format_labels(labels: Any) -> str:
    """labels.FormatLabels: `a=1,b=2` sorted by key, "<none>" when empty."""
    if not isinstance(labels, dict) or not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def _containers(pod_spec: Any) -> tuple[str, str]:
    """printers.go `layoutContainerCells`: names and images, comma-separated."""
    containers = _list(pod_spec, "containers")
    return (",".join(c.get("name", "") for c in containers),
            ",".join(c.get("image", "") for c in containers))


def _condition(obj: Obj, kind: str) -> bool:
    """printers.go `hasJobCondition`: the first condition of that type, and is it True."""
    for c in _list(obj, "status", "conditions"):
        if c.get("type") == kind:
            return c.get("status") == "True"
    return False


# ---------------------------------------------------------------- quantities

_BINARY = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {e: s for s, e in _DECIMAL.items()}
_QUANTITY = re.compile(r"^([+-]?)(\d*)(?:\.(\d*))?([a-zA-Z]*|[eE][+-]?\d+)$")


def quantity_string(raw: Any) -> str:
    """resource.Quantity's canonical String(): `1536Mi` for 1.5Gi, `500m` for 0.5, `1k` for 1000.
    Anything it cannot parse comes back as given."""
    text = str(raw).strip() if isinstance(raw, (str, int, float)) and not isinstance(raw, bool) else ""
    match = _QUANTITY.match(text)
    if not match or not (match.group(2) or match.group(3)):
        return "" if raw is None else str(raw)
    sign, whole, frac, suffix = match.groups()
    number = Fraction(int(whole or "0")) + (Fraction(int(frac), 10 ** len(frac)) if frac else 0)
    if sign == "-":
        number = -number
    if suffix in _BINARY[1:]:
        fmt, value = "binary", number * 1024 ** _BINARY.index(suffix)
    elif suffix in _DECIMAL:
        fmt, value = "decimal", number * Fraction(10) ** _DECIMAL[suffix]
    elif suffix[:1] in ("e", "E"):
        fmt, value = "exponent", number * Fraction(10) ** int(suffix[1:])
    else:
        return str(raw)
    value = Fraction(math.ceil(value * 10 ** 9), 10 ** 9)  # Quantity keeps nano precision, rounding up
    if value == 0:
        return "0"
    if fmt == "binary" and (-1024 < value < 1024 or value.denominator != 1):
        fmt = "decimal"
    if fmt == "binary":
        n, exp = int(value), 0
        while abs(n) >= 1024 and n % 1024 == 0 and exp < len(_BINARY) - 1:
            n //= 1024
            exp += 1
        return f"{n}{_BINARY[exp]}"
    mantissa, exp = int(value * 10 ** 9), -9
    while abs(mantissa) >= 10 and mantissa % 10 == 0:
        mantissa //= 10
        exp += 1
    shift = exp % 3  # down to a multiple of 3, as AsCanonicalBytes does
    mantissa, exp = mantissa * 10 ** shift, exp - shift
    if fmt == "exponent" or exp not in _DECIMAL_SUFFIX:
        return f"{mantissa}" if exp == 0 else f"{mantissa}e{exp}"
    return f"{mantissa}{_DECIMAL_SUFFIX[exp]}"


def _access_modes(modes: Any) -> str:
    """core helper GetAccessModesAsString: RWO,ROX,RWX,RWOP in that order."""
    modes = modes if isinstance(modes, list) else []
    short = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
             ("ReadWriteOncePod", "RWOP"))
    return ",".join(abbr for mode, abbr in short if mode in modes)


def _storage_class(obj: Obj) -> str:
    annotations = _map(obj, "metadata", "annotations")
    if "volume.beta.kubernetes.io/storage-class" in annotations:
        return annotations["volume.beta.kubernetes.io/storage-class"]
    return _at(obj, "spec", "storageClassName", default="")


# ---------------------------------------------------------------- column definitions

def _doc(definition: str, field: str) -> str:
    """A field's description from the 1.32 schemas: what kube-apiserver takes from SwaggerDoc()."""
    try:
        return definitions()[definition]["properties"][field].get("description", "")
    except KeyError:
        return ""


_CORE = "io.k8s.api.core.v1."
_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"

# (name, type, description: literal text or (definition, field), priority, format)
_ColumnSpec = tuple[str, str, "str | tuple[str, str]", int, str]


def _col(name: str, description: str | tuple[str, str], *, kind: str = "string", priority: int = 0,
         fmt: str = "") -> _ColumnSpec:
    return (name, kind, description, priority, fmt)


_NAME = _col("Name", (_OBJECT_META, "name"), fmt="name")
_AGE = _col("Age", (_OBJECT_META, "creationTimestamp"))
_TEMPLATE_CONTAINERS = _col("Containers", "Names of each container in the template.", priority=1)
_TEMPLATE_IMAGES = _col("Images", "Images referenced by each container in the template.", priority=1)

_HPA = "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler"
_ENDPOINT_SLICE = "io.k8s.api.discovery.v1.EndpointSlice"
_RBAC = "rbac.authorization.k8s.io"
_ROLE_COLUMNS = (_NAME, _col("Created At", (_OBJECT_META, "creationTimestamp")))
_BINDING_COLUMNS = (
    _NAME,
    _col("Role", ("io.k8s.api.rbac.v1.RoleBinding", "roleRef")),
    _AGE,
    _col("Users", "Users in the roleBinding", priority=1),
    _col("Groups", "Groups in the roleBinding", priority=1),
    _col("ServiceAccounts", "ServiceAccounts in the roleBinding", priority=1),
)

_COLUMNS: dict[tuple[str, str], tuple[_ColumnSpec, ...]] = {
    ("", "Pod"): (
        _NAME,
        _col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
        _col("Status", "The aggregate status of the containers in this pod."),
        _col("Restarts", "The number of times the containers in this pod have been restarted and when the last "
                         "container in this pod has restarted."),
        _AGE,
        _col("IP", (_CORE + "PodStatus", "podIP"), priority=1),
        _col("Node", (_CORE + "PodSpec", "nodeName"), priority=1),
        _col("Nominated Node", (_CORE + "PodStatus", "nominatedNodeName"), priority=1),
        _col("Readiness Gates", (_CORE + "PodSpec", "readinessGates"), priority=1),
    ),
    ("apps", "Deployment"): (
        _NAME,
        _col("Ready", "Number of the pod with ready state"),
        _col("Up-to-date", ("io.k8s.api.apps.v1.DeploymentStatus", "updatedReplicas")),
        _col("Available", ("io.k8s.api.apps.v1.DeploymentStatus", "availableReplicas")),
        _AGE,
        _TEMPLATE_CONTAINERS,
        _TEMPLATE_IMAGES,
        _col("Selector", ("io.k8s.api.apps.v1.DeploymentSpec", "selector"), priority=1),
    ),
    ("apps", "ReplicaSet"): (
        _NAME,
        _col("Desired", ("io.k8s.api.apps.v1.ReplicaSetSpec", "replicas"), kind="integer"),
        _col("Current", ("io.k8s.api.apps.v1.ReplicaSetStatus", "replicas"), kind="integer"),
        _col("Ready", ("io.k8s.api.apps.v1.ReplicaSetStatus", "readyReplicas"), kind="integer"),
        _AGE,
        _TEMPLATE_CONTAINERS,
        _TEMPLATE_IMAGES,
        _col("Selector", ("io.k8s.api.apps.v1.ReplicaSetSpec", "selector"), priority=1),
    ),
    ("batch", "Job"): (
        _NAME,
        _col("Status", "Status of the job."),
        _col("Completions", ("io.k8s.api.batch.v1.JobStatus", "succeeded")),
        _col("Duration", "Time required to complete the job."),
        _AGE,
        _TEMPLATE_CONTAINERS,
        _TEMPLATE_IMAGES,
        _col("Selector", ("io.k8s.api.batch.v1.JobSpec", "selector"), priority=1),
    ),
    ("", "Service"): (
        _NAME,
        _col("Type", (_CORE + "ServiceSpec", "type")),
        _col("Cluster-IP", (_CORE + "ServiceSpec", "clusterIP")),
        _col("External-IP", (_CORE + "ServiceSpec", "externalIPs")),
        _col("Port(s)", (_CORE + "ServiceSpec", "ports")),
        _AGE,
        _col("Selector", (_CORE + "ServiceSpec", "selector"), priority=1),
    ),
    ("", "Node"): (
        _NAME,
        _col("Status", "The status of the node"),
        _col("Roles", "The roles of the node"),
        _AGE,
        _col("Version", (_CORE + "NodeSystemInfo", "kubeletVersion")),
        _col("Internal-IP", (_CORE + "NodeStatus", "addresses"), priority=1),
        _col("External-IP", (_CORE + "NodeStatus", "addresses"), priority=1),
        _col("OS-Image", (_CORE + "NodeSystemInfo", "osImage"), priority=1),
        _col("Kernel-Version", (_CORE + "NodeSystemInfo", "kernelVersion"), priority=1),
        _col("Container-Runtime", (_CORE + "NodeSystemInfo", "containerRuntimeVersion"), priority=1),
    ),
    ("", "Event"): (
        _col("Last Seen", (_CORE + "Event", "lastTimestamp")),
        _col("Type", (_CORE + "Event", "type")),
        _col("Reason", (_CORE + "Event", "reason")),
        _col("Object", (_CORE + "Event", "involvedObject")),
        _col("Subobject", (_CORE + "ObjectReference", "fieldPath"), priority=1),
        _col("Source", (_CORE + "Event", "source"), priority=1),
        _col("Message", (_CORE + "Event", "message")),
        _col("First Seen", (_CORE + "Event", "firstTimestamp"), priority=1),
        _col("Count", (_CORE + "Event", "count"), priority=1),
        _col("Name", (_OBJECT_META, "name"), priority=1, fmt="name"),
    ),
    ("", "Namespace"): (_NAME, _col("Status", "The status of the namespace"), _AGE),
    ("", "Secret"): (
        _NAME,
        _col("Type", (_CORE + "Secret", "type")),
        _col("Data", (_CORE + "Secret", "data")),
        _AGE,
    ),
    ("", "ServiceAccount"): (_NAME, _col("Secrets", (_CORE + "ServiceAccount", "secrets")), _AGE),
    ("", "ConfigMap"): (_NAME, _col("Data", (_CORE + "ConfigMap", "data")), _AGE),
    ("", "PersistentVolume"): (
        _NAME,
        _col("Capacity", (_CORE + "PersistentVolumeSpec", "capacity")),
        _col("Access Modes", (_CORE + "PersistentVolumeSpec", "accessModes")),
        _col("Reclaim Policy", (_CORE + "PersistentVolumeSpec", "persistentVolumeReclaimPolicy")),
        _col("Status", (_CORE + "PersistentVolumeStatus", "phase")),
        _col("Claim", (_CORE + "PersistentVolumeSpec", "claimRef")),
        _col("StorageClass", "StorageClass of the pv"),
        _col("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
        _col("Reason", (_CORE + "PersistentVolumeStatus", "reason")),
        _AGE,
        _col("VolumeMode", (_CORE + "PersistentVolumeSpec", "volumeMode"), priority=1),
    ),
    ("", "PersistentVolumeClaim"): (
        _NAME,
        _col("Status", (_CORE + "PersistentVolumeClaimStatus", "phase")),
        _col("Volume", (_CORE + "PersistentVolumeClaimSpec", "volumeName")),
        _col("Capacity", (_CORE + "PersistentVolumeClaimStatus", "capacity")),
        _col("Access Modes", (_CORE + "PersistentVolumeClaimStatus", "accessModes")),
        _col("StorageClass", "StorageClass of the pvc"),
        _col("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
        _AGE,
        _col("VolumeMode", (_CORE + "PersistentVolumeClaimSpec", "volumeMode"), priority=1),
    ),
    ("apps", "StatefulSet"): (
        _NAME,
        _col("Ready", "Number of the pod with ready state"),
        _AGE,
        _TEMPLATE_CONTAINERS,
        _TEMPLATE_IMAGES,
    ),
    ("apps", "ControllerRevision"): (
        _NAME,
        _col("Controller", "Controller of the object"),
        _col("Revision", ("io.k8s.api.apps.v1.ControllerRevision", "revision")),
        _AGE,
    ),
    ("autoscaling", "HorizontalPodAutoscaler"): (
        _NAME,
        _col("Reference", (_HPA + "Spec", "scaleTargetRef")),
        _col("Targets", (_HPA + "Spec", "metrics")),
        _col("MinPods", (_HPA + "Spec", "minReplicas")),
        _col("MaxPods", (_HPA + "Spec", "maxReplicas")),
        _col("Replicas", (_HPA + "Status", "currentReplicas")),
        _AGE,
    ),
    ("policy", "PodDisruptionBudget"): (
        _NAME,
        _col("Min Available", "The minimum number of pods that must be available."),
        _col("Max Unavailable", "The maximum number of pods that may be unavailable."),
        _col("Allowed Disruptions", "Calculated number of pods that may be disrupted at this time.", kind="integer"),
        _AGE,
    ),
    ("networking.k8s.io", "Ingress"): (
        _NAME,
        _col("Class", "The name of the IngressClass resource that should be used for this Ingress"),
        _col("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
        _col("Address", "Address is a list containing ingress points for the load-balancer"),
        _col("Ports", "Ports of TLS configurations that open"),
        _AGE,
    ),
    ("discovery.k8s.io", "EndpointSlice"): (
        _NAME,
        _col("AddressType", (_ENDPOINT_SLICE, "addressType")),
        _col("Ports", (_ENDPOINT_SLICE, "ports")),
        _col("Endpoints", (_ENDPOINT_SLICE, "endpoints")),
        _AGE,
    ),
    (_RBAC, "Role"): _ROLE_COLUMNS,
    (_RBAC, "ClusterRole"): _ROLE_COLUMNS,
    (_RBAC, "RoleBinding"): _BINDING_COLUMNS,
    (_RBAC, "ClusterRoleBinding"): _BINDING_COLUMNS,
}

# rest.NewDefaultTableConvertor: what kube-apiserver prints for a kind without a printer
_DEFAULT_COLUMNS: tuple[_ColumnSpec, ...] = (
    _NAME,
    _col("Created At", (_OBJECT_META, "creationTimestamp"), kind="date"),
)


def column_definitions(group: str, kind: str) -> list[dict[str, Any]]:
    """The Table's columnDefinitions for a kind (all of them; priority 1 is shown by `-o wide`)."""
    out = []
    for name, kind_, description, priority, fmt in _COLUMNS.get((group, kind), _DEFAULT_COLUMNS):
        text = description if isinstance(description, str) else _doc(*description)
        out.append({"name": name, "type": kind_, "format": fmt, "description": text, "priority": priority})
    return out


# ---------------------------------------------------------------- printers (one row's cells)

_POD_SUCCEEDED = [{"type": "Completed", "status": "True", "reason": "Succeeded",
                   "message": "The pod has completed successfully."}]
_POD_FAILED = [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]


def _restartable(container: Any) -> bool:
    """podutil.IsRestartableInitContainer: a sidecar (init container with restartPolicy Always)."""
    return isinstance(container, dict) and container.get("restartPolicy") == "Always"


def _later(current: datetime | None, candidate: Any) -> datetime | None:
    t = parse_time(candidate)
    if t is not None and (current is None or current < t):
        return t
    return current


def _pod(pod: Obj, now: datetime) -> tuple[list[Any], list[dict] | None]:
    """printPod: NAME READY STATUS RESTARTS AGE IP NODE NOMINATED-NODE READINESS-GATES."""
    spec, status = _map(pod, "spec"), _map(pod, "status")
    restarts = restartable_init_restarts = 0
    total = len(_list(spec, "containers"))
    ready = 0
    last_restart: datetime | None = None
    last_restartable_init_restart: datetime | None = None
    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    for c in _list(status, "conditions"):
        if c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    conditions = {"Succeeded": _POD_SUCCEEDED, "Failed": _POD_FAILED}.get(phase)

    init_specs = _list(spec, "initContainers")
    by_name = {c.get("name"): c for c in init_specs}
    total += sum(1 for c in init_specs if _restartable(c))

    initializing = False
    for i, cs in enumerate(_list(status, "initContainerStatuses")):
        restarts += int(cs.get("restartCount") or 0)
        finished = _at(cs, "lastState", "terminated", "finishedAt")
        if _at(cs, "lastState", "terminated") is not None:
            last_restart = _later(last_restart, finished)
        sidecar = _restartable(by_name.get(cs.get("name")))
        if sidecar:
            restartable_init_restarts += int(cs.get("restartCount") or 0)
            if _at(cs, "lastState", "terminated") is not None:
                last_restartable_init_restart = _later(last_restartable_init_restart, finished)
        terminated, waiting = _at(cs, "state", "terminated"), _at(cs, "state", "waiting")
        if terminated is not None and int(terminated.get("exitCode") or 0) == 0:
            continue
        if sidecar and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if terminated is not None:
            if not terminated.get("reason"):
                if terminated.get("signal"):
                    reason = f"Init:Signal:{terminated['signal']}"
                else:
                    reason = f"Init:ExitCode:{int(terminated.get('exitCode') or 0)}"
            else:
                reason = "Init:" + terminated["reason"]
        elif waiting is not None and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    initialized = any(c.get("type") == "Initialized" and c.get("status") == "True"
                      for c in _list(status, "conditions"))
    if not initializing or initialized:
        restarts = restartable_init_restarts
        last_restart = last_restartable_init_restart
        has_running = False
        for cs in reversed(_list(status, "containerStatuses")):
            restarts += int(cs.get("restartCount") or 0)
            if _at(cs, "lastState", "terminated") is not None:
                last_restart = _later(last_restart, _at(cs, "lastState", "terminated", "finishedAt"))
            terminated, waiting = _at(cs, "state", "terminated"), _at(cs, "state", "waiting")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated is not None and terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated is not None:
                if terminated.get("signal"):
                    reason = f"Signal:{terminated['signal']}"
                else:
                    reason = f"ExitCode:{int(terminated.get('exitCode') or 0)}"
            elif cs.get("ready") and _at(cs, "state", "running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            pod_ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                            for c in _list(status, "conditions"))
            reason = "Running" if pod_ready else "NotReady"

    deleting = _at(pod, "metadata", "deletionTimestamp") is not None
    if deleting and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    restarts_text = str(restarts)
    if restarts != 0 and last_restart is not None:
        restarts_text = f"{restarts} ({human_duration(now - last_restart)} ago)"

    pod_ips = _list(status, "podIPs")
    pod_ip = (pod_ips[0].get("ip") if pod_ips and isinstance(pod_ips[0], dict) else None) or status.get("podIP")
    gates = _list(spec, "readinessGates")
    readiness = "<none>"
    if gates:
        true = 0
        for gate in gates:
            for c in _list(status, "conditions"):
                if c.get("type") == gate.get("conditionType"):
                    true += c.get("status") == "True"
                    break
        readiness = f"{true}/{len(gates)}"
    cells = [_at(pod, "metadata", "name", default=""), f"{ready}/{total}", reason, restarts_text,
             _since(_at(pod, "metadata", "creationTimestamp"), now),
             pod_ip or "<none>", spec.get("nodeName") or "<none>", status.get("nominatedNodeName") or "<none>",
             readiness]
    return cells, conditions


def _deployment(obj: Obj, now: datetime) -> list[Any]:
    """printDeployment: NAME READY UP-TO-DATE AVAILABLE AGE CONTAINERS IMAGES SELECTOR."""
    status = _map(obj, "status")
    desired = int(_at(obj, "spec", "replicas", default=1))
    names, images = _containers(_at(obj, "spec", "template", "spec"))
    return [_at(obj, "metadata", "name", default=""), f"{int(status.get('readyReplicas') or 0)}/{desired}",
            int(status.get("updatedReplicas") or 0), int(status.get("availableReplicas") or 0),
            _since(_at(obj, "metadata", "creationTimestamp"), now),
            names, images, _selector_string(_at(obj, "spec", "selector"))]


def _replica_set(obj: Obj, now: datetime) -> list[Any]:
    """printReplicaSet: NAME DESIRED CURRENT READY AGE CONTAINERS IMAGES SELECTOR."""
    status = _map(obj, "status")
    names, images = _containers(_at(obj, "spec", "template", "spec"))
    return [_at(obj, "metadata", "name", default=""), int(_at(obj, "spec", "replicas", default=1)),
            int(status.get("replicas") or 0), int(status.get("readyReplicas") or 0),
            _since(_at(obj, "metadata", "creationTimestamp"), now),
            names, images, format_label_selector(_at(obj, "spec", "selector"))]


def job_status(obj: Obj) -> str:
    """printJob's STATUS (1.32): Complete, Failed, Terminating, Suspended, FailureTarget or Running.
    (1.32 has no SuccessCriteriaMet case: such a Job shows Running until Complete is added.)"""
    if _condition(obj, "Complete"):
        return "Complete"
    if _condition(obj, "Failed"):
        return "Failed"
    if _at(obj, "metadata", "deletionTimestamp") is not None:
        return "Terminating"
    if _condition(obj, "Suspended"):
        return "Suspended"
    if _condition(obj, "FailureTarget"):
        return "FailureTarget"
    return "Running"


def _job(obj: Obj, now: datetime) -> list[Any]:
    """printJob: NAME STATUS COMPLETIONS DURATION AGE CONTAINERS IMAGES SELECTOR."""
    spec, status = _map(obj, "spec"), _map(obj, "status")
    succeeded = int(status.get("succeeded") or 0)
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{int(spec['completions'])}"
    elif int(spec.get("parallelism") or 0) > 1:
        completions = f"{succeeded}/1 of {int(spec['parallelism'])}"
    else:
        completions = f"{succeeded}/1"
    start, end = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    duration = ""
    if start is not None:
        duration = human_duration((end or now) - start)
    names, images = _containers(_at(spec, "template", "spec"))
    return [_at(obj, "metadata", "name", default=""), job_status(obj), completions, duration,
            _since(_at(obj, "metadata", "creationTimestamp"), now),
            names, images, format_label_selector(spec.get("selector"))]


def _external_ip(svc: Obj) -> str:
    """printers.go getServiceExternalIP, wide (the server always prints wide: no clipping)."""
    spec = _map(svc, "spec")
    kind = spec.get("type") or "ClusterIP"
    external = [ip for ip in _list(spec, "externalIPs") if isinstance(ip, str)]
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if kind == "LoadBalancer":
        ingress = sorted({i.get("ip") or i.get("hostname") for i in _list(svc, "status", "loadBalancer", "ingress")
                          if isinstance(i, dict) and (i.get("ip") or i.get("hostname"))})
        if external:
            return ",".join(ingress + external)
        return ",".join(ingress) or "<pending>"
    if kind == "ExternalName":
        return spec.get("externalName") or ""
    return "<unknown>"


def _service(obj: Obj, now: datetime) -> list[Any]:
    """printService: NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE SELECTOR."""
    spec = _map(obj, "spec")
    cluster_ips = _list(spec, "clusterIPs")
    internal = (cluster_ips[0] if cluster_ips else spec.get("clusterIP")) or "<none>"
    ports = []
    for p in _list(spec, "ports"):
        protocol = p.get("protocol") or "TCP"
        node_port = int(p.get("nodePort") or 0)
        ports.append(f"{p.get('port')}:{node_port}/{protocol}" if node_port > 0 else f"{p.get('port')}/{protocol}")
    return [_at(obj, "metadata", "name", default=""), spec.get("type") or "ClusterIP", internal,
            _external_ip(obj), ",".join(ports) or "<none>",
            _since(_at(obj, "metadata", "creationTimestamp"), now), format_labels(spec.get("selector"))]


def _node(obj: Obj, now: datetime) -> list[Any]:
    """printNode: NAME STATUS ROLES AGE VERSION INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION CONTAINER-RUNTIME."""
    status = []
    ready = {c.get("type"): c for c in _list(obj, "status", "conditions")}.get("Ready")
    if ready is not None:
        status.append("Ready" if ready.get("status") == "True" else "NotReady")
    if not status:
        status.append("Unknown")
    if _at(obj, "spec", "unschedulable"):
        status.append("SchedulingDisabled")
    roles = set()
    for key, value in _map(obj, "metadata", "labels").items():
        if key.startswith("node-role.kubernetes.io/") and key[len("node-role.kubernetes.io/"):]:
            roles.add(key[len("node-role.kubernetes.io/"):])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    info = _map(obj, "status", "nodeInfo")

    def address(kind: str) -> str:
        for a in _list(obj, "status", "addresses"):
            if a.get("type") == kind:
                return a.get("address", "")
        return "<none>"

    return [_at(obj, "metadata", "name", default=""), ",".join(status), ",".join(sorted(roles)) or "<none>",
            _since(_at(obj, "metadata", "creationTimestamp"), now), info.get("kubeletVersion", ""),
            address("InternalIP"), address("ExternalIP"), info.get("osImage") or "<unknown>",
            info.get("kernelVersion") or "<unknown>", info.get("containerRuntimeVersion") or "<unknown>"]


def _event(obj: Obj, now: datetime) -> list[Any]:
    """printEvent, wide: LAST SEEN TYPE REASON OBJECT SUBOBJECT SOURCE MESSAGE FIRST SEEN COUNT NAME."""
    first = _since(obj.get("firstTimestamp"), now)
    if parse_time(obj.get("firstTimestamp")) is None:
        first = _since(obj.get("eventTime"), now)
    last = _since(obj.get("lastTimestamp"), now)
    if parse_time(obj.get("lastTimestamp")) is None:
        last = first
    count = int(obj.get("count") or 0)
    series = obj.get("series")
    if isinstance(series, dict):
        last = _since(series.get("lastObservedTime"), now)
        count = int(series.get("count") or 0)
    elif count == 0:
        count = 1
    involved = _map(obj, "involvedObject")
    target = str(involved.get("kind", "")).lower()
    if involved.get("name"):
        target = f"{target}/{involved['name']}"
    component = _at(obj, "source", "component") or obj.get("reportingComponent") or ""
    host = _at(obj, "source", "host") or obj.get("reportingInstance") or ""
    source = f"{component}, {host}" if host else component
    return [last, obj.get("type", ""), obj.get("reason", ""), target, involved.get("fieldPath", ""), source,
            str(obj.get("message", "")).strip(), first, count, _at(obj, "metadata", "name", default="")]


def _namespace(obj: Obj, now: datetime) -> list[Any]:
    """printNamespace: NAME STATUS AGE (the namespace strategy sets phase Active on create)."""
    return [_at(obj, "metadata", "name", default=""), _at(obj, "status", "phase", default="Active"),
            _since(_at(obj, "metadata", "creationTimestamp"), now)]


def _secret(obj: Obj, now: datetime) -> list[Any]:
    """printSecret: NAME TYPE DATA AGE."""
    return [_at(obj, "metadata", "name", default=""), obj.get("type") or "Opaque", len(_map(obj, "data")),
            _since(_at(obj, "metadata", "creationTimestamp"), now)]


def _service_account(obj: Obj, now: datetime) -> list[Any]:
    """printServiceAccount: NAME SECRETS AGE."""
    return [_at(obj, "metadata", "name", default=""), len(_list(obj, "secrets")),
            _since(_at(obj, "metadata", "creationTimestamp"), now)]


def _config_map(obj: Obj, now: datetime) -> list[Any]:
    """printConfigMap: NAME DATA AGE (data and binaryData keys)."""
    return [_at(obj, "metadata", "name", default=""), len(_map(obj, "data")) + len(_map(obj, "binaryData")),
            _since(_at(obj, "metadata", "creationTimestamp"), now)]


def _persistent_volume(obj: Obj, now: datetime) -> list[Any]:
    """printPersistentVolume: NAME CAPACITY ACCESS MODES RECLAIM POLICY STATUS CLAIM STORAGECLASS
    VOLUMEATTRIBUTESCLASS REASON AGE VOLUMEMODE."""
    spec = _map(obj, "spec")
    claim = ""
    if isinstance(spec.get("claimRef"), dict):
        claim = f"{spec['claimRef'].get('namespace', '')}/{spec['claimRef'].get('name', '')}"
    phase = _at(obj, "status", "phase", default="")
    if _at(obj, "metadata", "deletionTimestamp") is not None:
        phase = "Terminating"
    return [_at(obj, "metadata", "name", default=""), quantity_string(_at(spec, "capacity", "storage", default=0)),
            _access_modes(spec.get("accessModes")), spec.get("persistentVolumeReclaimPolicy", ""), phase, claim,
            _storage_class(obj), spec.get("volumeAttributesClassName") or "<unset>",
            _at(obj, "status", "reason", default=""), _since(_at(obj, "metadata", "creationTimestamp"), now),
            spec.get("volumeMode") or "<unset>"]


def _persistent_volume_claim(obj: Obj, now: datetime) -> list[Any]:
    """printPersistentVolumeClaim: NAME STATUS VOLUME CAPACITY ACCESS MODES STORAGECLASS
    VOLUMEATTRIBUTESCLASS AGE VOLUMEMODE (capacity and modes only once bound to a volume)."""
    spec, status = _map(obj, "spec"), _map(obj, "status")
    phase = status.get("phase", "")
    if _at(obj, "metadata", "deletionTimestamp") is not None:
        phase = "Terminating"
    capacity = modes = ""
    if spec.get("volumeName"):
        modes = _access_modes(status.get("accessModes"))
        capacity = quantity_string(_at(status, "capacity", "storage", default=0))
    return [_at(obj, "metadata", "name", default=""), phase, spec.get("volumeName", ""), capacity, modes,
            _storage_class(obj), spec.get("volumeAttributesClassName") or "<unset>",
            _since(_at(obj, "metadata", "creationTimestamp"), now), spec.get("volumeMode") or "<unset>"]


def _default(obj: Obj, now: datetime) -> list[Any]:
    """The default table convertor: name and creationTimestamp as RFC 3339 (Go's zero time if unset)."""
    created = parse_time(_at(obj, "metadata", "creationTimestamp"))
    stamp = created.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if created else "0001-01-01T00:00:00Z"
    return [_at(obj, "metadata", "name", default=""), stamp]


def _stateful_set(obj: Obj, now: datetime) -> list[Any]:
    """printStatefulSet: NAME READY AGE CONTAINERS IMAGES."""
    names, images = _containers(_at(obj, "spec", "template", "spec"))
    return [_at(obj, "metadata", "name", default=""),
            f"{int(_at(obj, 'status', 'readyReplicas', default=0))}/{int(_at(obj, 'spec', 'replicas', default=1))}",
            _since(_at(obj, "metadata", "creationTimestamp"), now), names, images]


def _controller_revision(obj: Obj, now: datetime) -> list[Any]:
    """printControllerRevision: NAME CONTROLLER REVISION AGE (controller as `kind.group/name`)."""
    controller = "<none>"
    for ref in _list(obj, "metadata", "ownerReferences"):
        if isinstance(ref, dict) and ref.get("controller"):
            api_version = str(ref.get("apiVersion") or "")
            group = api_version.split("/", 1)[0] if "/" in api_version else ""
            kind = str(ref.get("kind") or "")
            group_kind = f"{kind}.{group}" if group else kind
            controller = f"{group_kind.lower()}/{ref.get('name', '')}" if group_kind else ref.get("name", "")
            break
    return [_at(obj, "metadata", "name", default=""), controller, int(obj.get("revision") or 0),
            _since(_at(obj, "metadata", "creationTimestamp"), now)]


def _quantity_of(value: Any) -> str:
    return quantity_string(value) if value is not None else "<unknown>"


def _hpa_metrics(specs: list, statuses: list) -> str:
    """printers.go formatHPAMetrics: `cpu: <unknown>/80%`, at most two, then `+ N more...`."""
    if not specs:
        return "<none>"
    out = []
    for i, spec in enumerate(specs):
        spec = spec if isinstance(spec, dict) else {}
        kind = spec.get("type")
        status = statuses[i] if i < len(statuses) and isinstance(statuses[i], dict) else {}
        if kind == "External":
            target, current = _map(spec, "external", "target"), _map(status, "external", "current")
            if target.get("averageValue") is not None:
                cur = quantity_string(current["averageValue"]) if current.get("averageValue") is not None \
                    else "<unknown>"
                out.append(f"{cur}/{quantity_string(target['averageValue'])} (avg)")
            else:
                cur = _quantity_of(current.get("value")) if status.get("external") else "<unknown>"
                out.append(f"{cur}/{_quantity_of(target.get('value'))}")
        elif kind == "Pods":
            current = _map(status, "pods", "current")
            cur = _quantity_of(current.get("averageValue")) if status.get("pods") else "<unknown>"
            out.append(f"{cur}/{_quantity_of(_at(spec, 'pods', 'target', 'averageValue'))}")
        elif kind == "Object":
            target, current = _map(spec, "object", "target"), _map(status, "object", "current")
            if target.get("averageValue") is not None:
                cur = quantity_string(current["averageValue"]) if current.get("averageValue") is not None \
                    else "<unknown>"
                out.append(f"{cur}/{quantity_string(target['averageValue'])} (avg)")
            else:
                cur = _quantity_of(current.get("value")) if status.get("object") else "<unknown>"
                out.append(f"{cur}/{_quantity_of(target.get('value'))}")
        elif kind in ("Resource", "ContainerResource"):
            field = "resource" if kind == "Resource" else "containerResource"
            target, current = _map(spec, field, "target"), _map(status, field, "current")
            rname = _at(spec, field, "name", default="")
            if target.get("averageValue") is not None:
                cur = _quantity_of(current.get("averageValue")) if status.get(field) else "<unknown>"
                out.append(f"{rname}: {cur}/{quantity_string(target['averageValue'])}")
            else:
                cur = f"{int(current['averageUtilization'])}%" if current.get("averageUtilization") is not None \
                    else "<unknown>"
                want = f"{int(target['averageUtilization'])}%" if target.get("averageUtilization") is not None \
                    else "<auto>"
                out.append(f"{rname}: {cur}/{want}")
        else:
            out.append("<unknown type>")
    if len(out) > 2:
        return f"{', '.join(out[:2])} + {len(out) - 2} more..."
    return ", ".join(out)


def _horizontal_pod_autoscaler(obj: Obj, now: datetime) -> list[Any]:
    """printHorizontalPodAutoscaler: NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE."""
    spec, status = _map(obj, "spec"), _map(obj, "status")
    ref = _map(spec, "scaleTargetRef")
    low = spec.get("minReplicas")
    return [_at(obj, "metadata", "name", default=""), f"{ref.get('kind', '')}/{ref.get('name', '')}",
            _hpa_metrics(_list(spec, "metrics"), _list(status, "currentMetrics")),
            "<unset>" if low is None else str(int(low)), int(spec.get("maxReplicas") or 0),
            int(status.get("currentReplicas") or 0), _since(_at(obj, "metadata", "creationTimestamp"), now)]


def _pod_disruption_budget(obj: Obj, now: datetime) -> list[Any]:
    """printPodDisruptionBudget: NAME MIN AVAILABLE MAX UNAVAILABLE ALLOWED DISRUPTIONS AGE."""
    spec = _map(obj, "spec")
    low, high = spec.get("minAvailable"), spec.get("maxUnavailable")
    return [_at(obj, "metadata", "name", default=""), "N/A" if low is None else str(low),
            "N/A" if high is None else str(high), int(_at(obj, "status", "disruptionsAllowed", default=0)),
            _since(_at(obj, "metadata", "creationTimestamp"), now)]


def _ingress(obj: Obj, now: datetime) -> list[Any]:
    """printIngress: NAME CLASS HOSTS ADDRESS PORTS AGE."""
    spec = _map(obj, "spec")
    rules = [r for r in _list(spec, "rules") if isinstance(r, dict)]
    hosts: list[str] = []
    more = False
    for rule in rules:
        if len(hosts) == 3:
            more = True
        if not more and rule.get("host"):
            hosts.append(rule["host"])
    host_text = ",".join(hosts) or "*"
    if hosts and more:
        host_text = f"{host_text} + {len(rules) - 3} more..."
    addresses = sorted({i.get("ip") or i.get("hostname") for i in _list(obj, "status", "loadBalancer", "ingress")
                        if isinstance(i, dict) and (i.get("ip") or i.get("hostname"))})
    return [_at(obj, "metadata", "name", default=""), spec.get("ingressClassName") or "<none>", host_text,
            ",".join(addresses), "80, 443" if _list(spec, "tls") else "80",
            _since(_at(obj, "metadata", "creationTimestamp"), now)]


def _list_with_more(items: list[str], count: int, limit: int = 3) -> str:
    """listWithMoreString: the first `limit`, then " + N more..."; "<unset>" for none."""
    text = ",".join(items[:limit])
    if count > limit:
        return f"{text} + {count - limit} more..."
    return text or "<unset>"


def _endpoint_slice(obj: Obj, now: datetime) -> list[Any]:
    """printEndpointSlice: NAME ADDRESSTYPE PORTS ENDPOINTS AGE."""
    ports = []
    for port in _list(obj, "ports"):
        port = port if isinstance(port, dict) else {}
        ports.append(str(port["port"]) if port.get("port") is not None else
                     port["name"] if port.get("name") is not None else "*")
    addresses = [str(a) for ep in _list(obj, "endpoints") if isinstance(ep, dict) for a in _list(ep, "addresses")]
    return [_at(obj, "metadata", "name", default=""), _at(obj, "addressType", default=""),
            _list_with_more(ports, len(ports)), _list_with_more(addresses, len(addresses)),
            _since(_at(obj, "metadata", "creationTimestamp"), now)]


def _role(obj: Obj, now: datetime) -> list[Any]:
    """printRole / printClusterRole: NAME CREATED AT (RFC 3339, UTC)."""
    created = parse_time(_at(obj, "metadata", "creationTimestamp"))
    stamp = created.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if created else "0001-01-01T00:00:00Z"
    return [_at(obj, "metadata", "name", default=""), stamp]


def _role_binding(obj: Obj, now: datetime) -> list[Any]:
    """printRoleBinding / printClusterRoleBinding: NAME ROLE AGE USERS GROUPS SERVICEACCOUNTS."""
    ref = _map(obj, "roleRef")
    users, groups, accounts = [], [], []
    for subject in _list(obj, "subjects"):
        if not isinstance(subject, dict):
            continue
        kind, name = subject.get("kind"), subject.get("name", "")
        if kind == "ServiceAccount":
            accounts.append(f"{subject.get('namespace', '')}/{name}")
        elif kind == "User":
            users.append(name)
        elif kind == "Group":
            groups.append(name)
    return [_at(obj, "metadata", "name", default=""), f"{ref.get('kind', '')}/{ref.get('name', '')}",
            _since(_at(obj, "metadata", "creationTimestamp"), now), ", ".join(users), ", ".join(groups),
            ", ".join(accounts)]


_PRINTERS: dict[tuple[str, str], Callable[[Obj, datetime], list[Any]]] = {
    ("apps", "StatefulSet"): _stateful_set,
    ("apps", "ControllerRevision"): _controller_revision,
    ("autoscaling", "HorizontalPodAutoscaler"): _horizontal_pod_autoscaler,
    ("policy", "PodDisruptionBudget"): _pod_disruption_budget,
    ("networking.k8s.io", "Ingress"): _ingress,
    ("discovery.k8s.io", "EndpointSlice"): _endpoint_slice,
    (_RBAC, "Role"): _role,
    (_RBAC, "ClusterRole"): _role,
    (_RBAC, "RoleBinding"): _role_binding,
    (_RBAC, "ClusterRoleBinding"): _role_binding,
    ("apps", "Deployment"): _deployment,
    ("apps", "ReplicaSet"): _replica_set,
    ("batch", "Job"): _job,
    ("", "Service"): _service,
    ("", "Node"): _node,
    ("", "Event"): _event,
    ("", "Namespace"): _namespace,
    ("", "Secret"): _secret,
    ("", "ServiceAccount"): _service_account,
    ("", "ConfigMap"): _config_map,
    ("", "PersistentVolume"): _persistent_volume,
    ("", "PersistentVolumeClaim"): _persistent_volume_claim,
}


def row(group: str, kind: str, obj: Obj, now: datetime) -> dict[str, Any]:
    """One TableRow (cells, and conditions where kube-apiserver sets them), without `object`."""
    if (group, kind) == ("", "Pod"):
        cells, conditions = _pod(obj, now)
        out: dict[str, Any] = {"cells": cells}
        if conditions:
            out["conditions"] = [dict(c) for c in conditions]
        return out
    return {"cells": _PRINTERS.get((group, kind), _default)(obj, now)}


def _row_object(obj: Obj, include_object: str) -> dict[str, Any] | None:
    if include_object == "None":
        return None
    if include_object == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def table(resource: Resource | None, objects: list[Obj], *, resource_version: str,
          include_object: str = "Metadata", now: datetime | None = None, no_headers: bool = False,
          continue_token: str | None = None, remaining_item_count: int | None = None) -> dict[str, Any]:
    """A meta.k8s.io/v1 Table of `objects` (one for a GET, all for a LIST, one per watch event).

    `include_object` is the request's `includeObject`: "Metadata" (the default: each row's
    `object` is a PartialObjectMetadata), "Object" (the object itself) or "None" (no `object`);
    anything else is a ValueError (the server answers 400).  `no_headers` (TableOptions
    `noHeaders`, or watch events after the first) leaves the column definitions empty.
    `resource` None, or a kind without a printer, gets kube-apiserver's default table.
    """
    if include_object not in INCLUDE_OBJECT:
        raise ValueError(f"unrecognized includeObject value: {include_object!r}")
    now = now or datetime.now(timezone.utc)
    group = resource.group if resource is not None else ""
    kind = resource.kind if resource is not None else ""
    rows = []
    for obj in objects:
        r = row(group, kind, obj, now)
        embedded = _row_object(obj, include_object)
        if embedded is not None:
            r["object"] = embedded
        rows.append(r)
    metadata: dict[str, Any] = {"resourceVersion": str(resource_version)}
    if continue_token:
        metadata["continue"] = continue_token
    if remaining_item_count is not None:
        metadata["remainingItemCount"] = remaining_item_count
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": [] if no_headers else column_definitions(group, kind),
        "rows": rows,
    }
