"""kubesim.protobuf: Kubernetes protobuf request bodies decode to the JSON the JSON API would have received.

Bodies are built with the small encoder below (field numbers as in k8s.io/api's generated.proto), except
the CAPTURED ones: bytes kubectl 1.32.4 sent, copied from its `-v=9` "Request Body" hex dump, for the
commands named beside them; their expected dicts are what `kubectl ... --dry-run=client -o json` prints.
"""
from __future__ import annotations

import base64

import pytest

from kubesim import errors, protobuf


# -- a tiny encoder ----------------------------------------------------------------------------------

def varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative ints are sent as 10-byte two's complement, as Go does
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def num(field: int, n: int) -> bytes:
    return varint(field << 3) + varint(n)


def raw(field: int, payload: bytes) -> bytes:
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def s(field: int, text: str) -> bytes:
    return raw(field, text.encode())


def m(field: int, *parts: bytes) -> bytes:
    return raw(field, b"".join(parts))


def entry(field: int, key: str, value: bytes) -> bytes:
    """One map<string, …> entry; `value` is the already-encoded field 2."""
    return m(field, s(1, key), value)


def envelope(api_version: str, kind: str, *parts: bytes) -> bytes:
    return protobuf.MAGIC + m(1, s(1, api_version), s(2, kind)) + m(2, *parts) + s(3, "") + s(4, "")


def meta(name: str, namespace: str = "", *more: bytes) -> bytes:
    """ObjectMeta as Go writes it: every non-pointer field, empty creationTimestamp included."""
    return m(1, s(1, name), s(2, ""), s(3, namespace), s(4, ""), s(5, ""), s(6, ""), num(7, 0), raw(8, b""), *more)


def ios_int(field: int, n: int) -> bytes:
    return m(field, num(1, 0), num(2, n), s(3, ""))


def ios_str(field: int, text: str) -> bytes:
    return m(field, num(1, 1), num(2, 0), s(3, text))


def qty(field: int, text: str) -> bytes:
    return m(field, s(1, text))


def decode(body: bytes, api_version: str = "v1", kind: str = "Pod") -> dict:
    return protobuf.decode(body, api_version=api_version, kind=kind)


# -- bodies kubectl sent -----------------------------------------------------------------------------

# kubectl create namespace capx
CAPTURED_NAMESPACE = ("6b3873000a0f0a02763112094e616d657370616365121c0a140a046361707812001a0022002a003200380042001200"
                      "1a020a001a002200")
# kubectl -n capns create deployment d2 --image=busybox --replicas=2 --port=8080 -- sleep 3600
CAPTURED_DEPLOYMENT = (
    "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412cb010a220a02643212001a056361706e7322002a0032003800"
    "42005a090a03617070120264321296010802120b0a090a03617070120264321a7d0a1b0a0012001a0022002a003200380042005a09"
    "0a0361707012026432125e12400a0762757379626f78120762757379626f781a05736c6565701a04333630302a00320b0a00100018"
    "903f22002a0042006a007200800100880100900100a201001a00320042004a0052005800600068008201008a01009a0100c2010022"
    "020a00280038001a0c0800100018002000280038001a002200")
# kubectl -n capns create token default --duration=10m --audience=api
CAPTURED_TOKEN = ("6b3873000a280a1861757468656e7469636174696f6e2e6b38732e696f2f7631120c546f6b656e5265717565737412220a"
                  "100a0012001a0022002a0032003800420012080a0361706920d8041a040a0012001a002200")
# kubectl -n capns create service nodeport svc2 --tcp=80:http
CAPTURED_SERVICE = (
    "6b3873000a0d0a02763112075365727669636512730a260a047376633212001a056361706e7322002a003200380042005a0b0a0361"
    "707012047376633212450a1e0a0738302d6874747012035443501850220a080110001a04687474702800120b0a0361707012047376"
    "63321a0022084e6f6465506f72743a00420052005a00600068001a020a001a002200")


# kubectl -n capns create role pr2 --verb=get --resource=pods
CAPTURED_ROLE = ("6b3873000a240a1c726261632e617574686f72697a6174696f6e2e6b38732e696f2f76311204526f6c6512290a180a03"
                 "70723212001a056361706e7322002a00320038004200120d0a0367657412001a04706f64731a002200")
# kubectl -n capns create rolebinding rb --role=pr --serviceaccount=capns:default --user=alice
CAPTURED_ROLEBINDING = (
    "6b3873000a2b0a1c726261632e617574686f72697a6174696f6e2e6b38732e696f2f7631120b526f6c6542696e64696e671290010a17"
    "0a02726212001a056361706e7322002a00320038004200122a0a04557365721219726261632e617574686f72697a6174696f6e2e6b38"
    "732e696f1a05616c696365220012220a0e536572766963654163636f756e7412001a0764656661756c7422056361706e731a250a1972"
    "6261632e617574686f72697a6174696f6e2e6b38732e696f1204526f6c651a0270721a002200")
# kubectl -n capns create pdb web --selector=app=web --min-available=50%
CAPTURED_PDB = ("6b3873000a200a09706f6c6963792f76311213506f6444697372757074696f6e42756467657412410a180a0377656212001a05"
                "6361706e7322002a0032003800420012190a09080110001a03353025120c0a0a0a0361707012037765621a0a08001800200028"
                "0030001a002200")
# kubectl -n capns create ingress web --class=nginx --rule=web.example.com/api*=web:8080,tls=web-tls
CAPTURED_INGRESS = (
    "6b3873000a1f0a146e6574776f726b696e672e6b38732e696f2f76311207496e6772657373127a0a180a0377656212001a056361706e"
    "7322002a00320038004200125a121a0a0f7765622e6578616d706c652e636f6d12077765622d746c731a350a0f7765622e6578616d70"
    "6c652e636f6d12220a200a1e0a042f617069120e220c0a0377656212050a0010903f1a0650726566697822056e67696e781a020a001a"
    "002200")


def test_kubectl_create_role_and_rolebinding():
    md = {"creationTimestamp": None, "namespace": "capns"}
    assert decode(bytes.fromhex(CAPTURED_ROLE), "rbac.authorization.k8s.io/v1", "Role") == {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "pr2", **md},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}
    assert decode(bytes.fromhex(CAPTURED_ROLEBINDING), "rbac.authorization.k8s.io/v1", "RoleBinding") == {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "rb", **md},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pr"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"},
                     {"kind": "ServiceAccount", "name": "default", "namespace": "capns"}]}


def test_kubectl_create_pdb_and_ingress():
    md = {"name": "web", "namespace": "capns", "creationTimestamp": None}
    assert decode(bytes.fromhex(CAPTURED_PDB), "policy/v1", "PodDisruptionBudget") == {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": md,
        "spec": {"minAvailable": "50%", "selector": {"matchLabels": {"app": "web"}}},
        "status": {"currentHealthy": 0, "desiredHealthy": 0, "disruptionsAllowed": 0, "expectedPods": 0}}
    assert decode(bytes.fromhex(CAPTURED_INGRESS), "networking.k8s.io/v1", "Ingress") == {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": md,
        "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["web.example.com"], "secretName": "web-tls"}],
                 "rules": [{"host": "web.example.com", "http": {"paths": [{
                     "path": "/api", "pathType": "Prefix",
                     "backend": {"service": {"name": "web", "port": {"number": 8080}}}}]}}]},
        "status": {"loadBalancer": {}}}


def test_kubectl_create_namespace():
    assert decode(bytes.fromhex(CAPTURED_NAMESPACE), kind="Namespace") == {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "capx", "creationTimestamp": None},
        "spec": {}, "status": {}}


def test_kubectl_create_deployment():
    assert decode(bytes.fromhex(CAPTURED_DEPLOYMENT), "apps/v1", "Deployment") == {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d2", "namespace": "capns", "creationTimestamp": None, "labels": {"app": "d2"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "d2"}},
                 "template": {"metadata": {"creationTimestamp": None, "labels": {"app": "d2"}},
                              "spec": {"containers": [{"name": "busybox", "image": "busybox",
                                                       "command": ["sleep", "3600"],
                                                       "ports": [{"containerPort": 8080}], "resources": {}}]}},
                 "strategy": {}},
        "status": {}}


def test_kubectl_create_token():
    assert decode(bytes.fromhex(CAPTURED_TOKEN), "authentication.k8s.io/v1", "TokenRequest") == {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "metadata": {"creationTimestamp": None},
        "spec": {"audiences": ["api"], "expirationSeconds": 600}, "status": {"expirationTimestamp": None}}


def test_kubectl_create_service_with_a_named_target_port():
    assert decode(bytes.fromhex(CAPTURED_SERVICE), kind="Service") == {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "svc2", "namespace": "capns", "creationTimestamp": None, "labels": {"app": "svc2"}},
        "spec": {"ports": [{"name": "80-http", "protocol": "TCP", "port": 80, "targetPort": "http"}],
                 "selector": {"app": "svc2"}, "type": "NodePort"},
        "status": {"loadBalancer": {}}}


# -- built bodies ------------------------------------------------------------------------------------

def test_secret_bytes_become_base64_and_string_data_stays_text():
    body = envelope("v1", "Secret", meta("s", "ns"),
                    entry(2, "pw", raw(2, b"x")), entry(2, "bin", raw(2, b"\x00\xff")), entry(2, "empty", raw(2, b"")),
                    s(3, "Opaque"), entry(4, "plain", s(2, "text")), num(5, 0))
    assert decode(body, kind="Secret") == {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns", "creationTimestamp": None},
        "data": {"pw": base64.b64encode(b"x").decode(), "bin": "AP8=", "empty": ""},
        "type": "Opaque", "stringData": {"plain": "text"}, "immutable": False}


def test_configmap_data_binary_data_and_immutable():
    body = envelope("v1", "ConfigMap", meta("c"), entry(2, "a", s(2, "b")), entry(2, "b", b""),
                    entry(3, "blob", raw(2, b"\x01\x02")), num(4, 1))
    assert decode(body, kind="ConfigMap") == {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "creationTimestamp": None},
        "data": {"a": "b", "b": ""}, "binaryData": {"blob": "AQI="}, "immutable": True}


def test_metadata_labels_annotations_owner_references_finalizers_and_times():
    body = envelope("v1", "ConfigMap", m(1, s(1, ""), s(2, "gen-"), s(3, "ns"), raw(8, num(1, 1700000000)),
                                         m(9, num(1, 0), num(2, 5)), num(10, 0),
                                         entry(11, "app", s(2, "web")), entry(11, "tier", s(2, "")),
                                         entry(12, "note", s(2, "hi")),
                                         m(13, s(1, "Deployment"), s(3, "web"), s(4, "uid-1"), s(5, "apps/v1"),
                                           num(6, 1), num(7, 0)),
                                         s(14, "a/b"), s(14, "c/d")))
    assert decode(body, kind="ConfigMap")["metadata"] == {
        "generateName": "gen-", "namespace": "ns", "creationTimestamp": "2023-11-14T22:13:20Z",
        "deletionTimestamp": "1970-01-01T00:00:00Z", "deletionGracePeriodSeconds": 0,
        "labels": {"app": "web", "tier": ""}, "annotations": {"note": "hi"},
        "ownerReferences": [{"kind": "Deployment", "name": "web", "uid": "uid-1", "apiVersion": "apps/v1",
                             "controller": True, "blockOwnerDeletion": False}],
        "finalizers": ["a/b", "c/d"]}


def test_micro_time_keeps_microseconds():
    body = envelope("v1", "Event", meta("e", "ns"), s(3, "Started"), m(10, num(1, 1700000000), num(2, 123456789)),
                    m(11, num(1, 2), m(2, num(1, 1700000001))), raw(6, b""))
    assert decode(body, kind="Event") == {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "e", "namespace": "ns", "creationTimestamp": None},
        "reason": "Started", "eventTime": "2023-11-14T22:13:20.123456Z",
        "series": {"count": 2, "lastObservedTime": "2023-11-14T22:13:21.000000Z"}, "firstTimestamp": None}


def test_service_ports_int_or_string_and_zero_target_port():
    body = envelope("v1", "Service", meta("svc"),
                    m(2, m(1, s(1, "web"), s(2, "TCP"), num(3, 80), ios_int(4, 8080), num(5, 30080)),
                      m(1, s(1, "admin"), s(2, "TCP"), num(3, 81), ios_str(4, "admin"), num(5, 0)),
                      m(1, s(1, ""), s(2, "UDP"), num(3, 53), ios_int(4, 0)),
                      entry(2, "app", s(2, "web")), s(3, "None"), s(4, "ClusterIP"), s(7, "ClientIP"),
                      m(14, m(1, num(1, 600))), s(18, "None"), s(19, "IPv4"), s(17, "SingleStack")),
                    m(3, m(1)))
    assert decode(body, kind="Service")["spec"] == {
        "ports": [{"name": "web", "protocol": "TCP", "port": 80, "targetPort": 8080, "nodePort": 30080},
                  {"name": "admin", "protocol": "TCP", "port": 81, "targetPort": "admin"},
                  {"protocol": "UDP", "port": 53}],
        "selector": {"app": "web"}, "clusterIP": "None", "type": "ClusterIP", "sessionAffinity": "ClientIP",
        "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 600}}, "clusterIPs": ["None"],
        "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack"}


CONTAINER = (
    s(1, "app"), s(2, "busybox"), s(3, "sh"), s(3, "-c"), s(4, "echo $(A)"), s(5, "/work"),
    m(6, s(1, "http"), num(3, 8080), s(4, "TCP")),
    m(7, s(1, "A"), s(2, "1")),
    m(7, s(1, "PW"), m(3, m(4, m(1, s(1, "creds")), s(2, "pw"), num(3, 1)))),
    m(7, s(1, "IP"), m(3, m(1, s(1, "v1"), s(2, "status.podIP")))),
    m(7, s(1, "CPU"), m(3, m(2, s(1, ""), s(2, "limits.cpu"), qty(3, "1m")))),
    m(8, entry(1, "memory", qty(2, "128Mi")), entry(2, "cpu", qty(2, "100m"))),
    m(9, s(1, "data"), num(2, 1), s(3, "/data"), s(4, "sub")),
    m(10, m(1, m(3, ios_int(1, 5432), s(2, ""))), num(2, 0), num(3, 1), num(4, 10), num(5, 1), num(6, 3)),
    m(11, m(1, m(1, s(1, "pg_isready")), m(2, s(1, "/ready"), ios_str(2, "http"), s(4, "HTTP"),
                                          m(5, s(1, "X-A"), s(2, "b")))), num(4, 2), num(7, 0)),
    s(13, "/dev/termination-log"), s(14, "IfNotPresent"),
    m(15, m(1, s(2, "ALL")), num(2, 0), num(4, 0), num(5, 0), num(7, 0), m(11, s(1, "RuntimeDefault"))),
    num(16, 1), num(17, 0), num(18, 1),
    m(19, s(1, "CFG_"), m(2, m(1, s(1, "settings")), num(2, 1))),
    m(19, m(3, m(1, s(1, "creds")))),
    s(20, "File"),
)


def test_pod_spec_containers_env_probes_resources_and_security():
    body = envelope("v1", "Pod", meta("p", "ns"), m(2,
        m(1, s(1, "cfg"), m(2, m(19, m(1, s(1, "settings")), m(2, s(1, "a"), s(2, "a.conf"), num(3, 0o400)),
                                 num(3, 0o644)))),
        m(1, s(1, "sec"), m(2, m(6, s(1, "creds"), num(4, 0)))),
        m(1, s(1, "tmp"), m(2, m(2, s(1, "Memory"), qty(2, "64Mi")))),
        m(1, s(1, "data"), m(2, m(10, s(1, "pgdata"), num(2, 0)))),
        m(1, s(1, "tok"), m(2, m(26, m(1, m(4, s(1, "api"), num(2, 3600), s(3, "token"))),
                                  m(1, m(2, m(1, s(1, "ns"), m(2, s(2, "metadata.namespace"))))), num(2, 0o444)))),
        m(1, s(1, "host"), m(2, m(1, s(1, "/srv"), s(2, "")))),
        m(2, *CONTAINER),
        s(3, "Always"), num(4, 0), num(5, 600), s(6, "ClusterFirst"), entry(7, "disktype", s(2, "ssd")),
        s(8, "runner"), s(9, "runner"), s(10, ""), num(11, 0),
        m(14, num(2, 0), num(3, 0), num(4, 1000), num(4, 2000), num(5, 1000), m(7, s(1, "net.x"), s(2, "1"))),
        m(15, s(1, "regcred")), s(16, "h"), s(17, "sub"),
        m(18, m(1, m(1, m(1, m(1, s(1, "kubesim.io/zone"), s(2, "In"), s(3, "a"))))),
              m(3, m(2, num(1, 50), m(2, m(1, entry(1, "app", s(2, "db"))), s(3, "kubernetes.io/hostname"))))),
        s(19, "default-scheduler"),
        m(20, s(1, "init"), s(2, "busybox"), s(3, "true")),
        num(21, 0),
        m(22, s(1, "k"), s(2, "Exists"), s(4, "NoExecute"), num(5, 30)),
        m(23, s(1, "10.0.0.1"), s(2, "db")),
        num(30, 1),
    ))
    spec = decode(body)["spec"]
    assert spec["volumes"] == [
        {"name": "cfg", "configMap": {"name": "settings", "items": [{"key": "a", "path": "a.conf", "mode": 0o400}],
                                      "defaultMode": 0o644}},
        {"name": "sec", "secret": {"secretName": "creds", "optional": False}},
        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
        {"name": "data", "persistentVolumeClaim": {"claimName": "pgdata"}},
        {"name": "tok", "projected": {"sources": [
            {"serviceAccountToken": {"audience": "api", "expirationSeconds": 3600, "path": "token"}},
            {"downwardAPI": {"items": [{"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}}]}}],
            "defaultMode": 0o444}},
        {"name": "host", "hostPath": {"path": "/srv", "type": ""}}]
    assert spec["containers"] == [{
        "name": "app", "image": "busybox", "command": ["sh", "-c"], "args": ["echo $(A)"], "workingDir": "/work",
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "env": [{"name": "A", "value": "1"},
                {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "pw", "optional": True}}},
                {"name": "IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}},
                {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}}],
        "resources": {"limits": {"memory": "128Mi"}, "requests": {"cpu": "100m"}},
        "volumeMounts": [{"name": "data", "readOnly": True, "mountPath": "/data", "subPath": "sub"}],
        "livenessProbe": {"tcpSocket": {"port": 5432}, "timeoutSeconds": 1, "periodSeconds": 10,
                          "successThreshold": 1, "failureThreshold": 3},
        "readinessProbe": {"exec": {"command": ["pg_isready"]},
                           "httpGet": {"path": "/ready", "port": "http", "scheme": "HTTP",
                                       "httpHeaders": [{"name": "X-A", "value": "b"}]},
                           "periodSeconds": 2, "terminationGracePeriodSeconds": 0},
        "terminationMessagePath": "/dev/termination-log", "imagePullPolicy": "IfNotPresent",
        "securityContext": {"capabilities": {"drop": ["ALL"]}, "privileged": False, "runAsUser": 0,
                            "runAsNonRoot": False, "allowPrivilegeEscalation": False,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "stdin": True, "tty": True,
        "envFrom": [{"prefix": "CFG_", "configMapRef": {"name": "settings", "optional": True}},
                    {"secretRef": {"name": "creds"}}],
        "terminationMessagePolicy": "File"}]
    del spec["volumes"], spec["containers"]
    assert spec == {
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 0, "activeDeadlineSeconds": 600,
        "dnsPolicy": "ClusterFirst", "nodeSelector": {"disktype": "ssd"}, "serviceAccountName": "runner",
        "serviceAccount": "runner",
        "securityContext": {"runAsUser": 0, "runAsNonRoot": False, "supplementalGroups": [1000, 2000],
                            "fsGroup": 1000, "sysctls": [{"name": "net.x", "value": "1"}]},
        "imagePullSecrets": [{"name": "regcred"}], "hostname": "h", "subdomain": "sub",
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                         {"matchExpressions": [{"key": "kubesim.io/zone", "operator": "In", "values": ["a"]}]}]}},
                     "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                         {"weight": 50, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "db"}},
                                                            "topologyKey": "kubernetes.io/hostname"}}]}},
        "schedulerName": "default-scheduler",
        "initContainers": [{"name": "init", "image": "busybox", "command": ["true"]}],
        "automountServiceAccountToken": False,
        "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}],
        "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["db"]}], "enableServiceLinks": True}


def test_job_keeps_explicit_zeros_and_packed_exit_codes():
    body = envelope("batch/v1", "Job", meta("j", "ns"), m(2,
        num(1, 1), num(2, 1), num(3, 60), num(7, 0), num(8, 0), num(10, 0),
        m(11, m(1, s(1, "FailJob"), m(2, s(1, "main"), s(2, "In"), raw(3, varint(42) + varint(43)), num(3, 44))),
              m(1, s(1, "Ignore"), m(3, s(1, "DisruptionTarget"), s(2, "True")))),
        m(6, meta(""), m(2, m(2, s(1, "main"), s(2, "busybox"), s(3, "true")), s(3, "Never")))),
        m(3))
    assert decode(body, "batch/v1", "Job")["spec"] == {
        "parallelism": 1, "completions": 1, "activeDeadlineSeconds": 60, "backoffLimit": 0,
        "ttlSecondsAfterFinished": 0, "suspend": False,
        "podFailurePolicy": {"rules": [
            {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [42, 43, 44]}},
            {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]},
        "template": {"metadata": {"creationTimestamp": None},
                     "spec": {"containers": [{"name": "main", "image": "busybox", "command": ["true"]}],
                              "restartPolicy": "Never"}}}


def test_deployment_strategy_and_int_or_string_pointers():
    body = envelope("apps/v1", "Deployment", meta("d"), m(2, num(1, 0), m(4, s(1, "RollingUpdate"),
                                                                     m(2, ios_int(1, 0), ios_str(2, "25%"))),
                                                          num(6, 0), num(9, 600)))
    assert decode(body, "apps/v1", "Deployment")["spec"] == {
        "replicas": 0, "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
        "revisionHistoryLimit": 0, "progressDeadlineSeconds": 600}


def test_scale_to_zero_says_zero():
    body = envelope("autoscaling/v1", "Scale", meta("d", "ns"), m(2, num(1, 0)), m(3, num(1, 3), s(2, "app=d")))
    assert decode(body, "autoscaling/v1", "Scale") == {
        "apiVersion": "autoscaling/v1", "kind": "Scale",
        "metadata": {"name": "d", "namespace": "ns", "creationTimestamp": None},
        "spec": {"replicas": 0}, "status": {"replicas": 3, "selector": "app=d"}}


def test_token_request_bound_object_reference():
    body = envelope("authentication.k8s.io/v1", "TokenRequest", meta(""),
                    m(2, s(1, "a"), s(1, "b"), m(3, s(1, "Pod"), s(2, "v1"), s(3, "p"), s(4, "u")), num(4, 3600)))
    assert decode(body, kind="TokenRequest")["spec"] == {
        "audiences": ["a", "b"], "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p", "uid": "u"},
        "expirationSeconds": 3600}


def test_negative_numbers():
    body = envelope("v1", "Pod", meta("p"), m(2, m(2, s(1, "c"), m(15, num(4, -1), num(8, -5)))))
    assert decode(body)["spec"]["containers"][0]["securityContext"] == {"runAsUser": -1, "runAsGroup": -5}


def test_unknown_fields_are_skipped_at_every_level():
    junk = num(99, 7) + s(98, "x") + varint(97 << 3 | 1) + bytes(8) + varint(96 << 3 | 5) + bytes(4) + m(95, num(1, 1))
    plain = envelope("v1", "ConfigMap", meta("c"), entry(2, "a", s(2, "b")))
    noisy = protobuf.MAGIC + m(1, s(1, "v1"), s(2, "ConfigMap"), junk) + m(2, m(1, s(1, "c"), raw(8, b""), junk),
                                                                           junk, entry(2, "a", s(2, "b"))) + junk
    assert decode(noisy, kind="ConfigMap") == decode(plain, kind="ConfigMap") == {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "creationTimestamp": None},
        "data": {"a": "b"}}


def test_the_envelope_type_wins_and_arguments_fill_in_a_missing_one():
    body = protobuf.MAGIC + m(2, m(1, s(1, "ns1")))
    assert decode(body, "v1", "Namespace") == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns1"}}
    sa = envelope("v1", "ServiceAccount", meta("sa"), num(4, 0))
    assert decode(sa, "v1", "Secret")["kind"] == "ServiceAccount"


@pytest.mark.parametrize("body", [
    b"",
    b"{\"kind\": \"Pod\"}",
    protobuf.MAGIC + b"\x0a",                                    # a length that never comes
    protobuf.MAGIC + b"\x12\x05abc",                             # raw runs past the end
    protobuf.MAGIC + b"\x12\x02\x0a\x09",                        # metadata runs past the end of raw
    protobuf.MAGIC + b"\x12\x03\x0b\x00\x00",                    # wire type 3 (groups)
    protobuf.MAGIC + b"\x12\x01\x80",                            # truncated varint
    protobuf.MAGIC + b"\x12\x0b" + b"\x08" + b"\xff" * 10,       # varint longer than 10 bytes
    protobuf.MAGIC + m(2, m(1, raw(1, b"\xff\xfe"))),            # a name that is not UTF-8
    protobuf.MAGIC + m(2, num(1, 5)),                            # metadata as a number
    protobuf.MAGIC + m(2, m(2, num(2, 1), s(1, "x"))),           # containers' items as numbers
    protobuf.MAGIC + m(2, m(2, m(2, s(16, "yes")))),             # a bool as a string
    protobuf.MAGIC + m(1, s(2, "Pod")) + m(2) + s(3, "gzip"),    # an encoding kubesim does not know
])
def test_malformed_bodies_are_bad_requests(body):
    with pytest.raises(errors.BadRequest):
        decode(body)


def test_a_kind_outside_the_table_is_unsupported():
    with pytest.raises(errors.UnsupportedMediaType):
        decode(envelope("batch/v1", "CronJob", meta("cj")), "batch/v1", "CronJob")


def test_every_message_the_table_names_is_in_the_table():
    for message, fields in protobuf.SCHEMAS.items():
        for number, spec in fields.items():
            typ = spec.partition(":")[2].strip("[]{}").lstrip("*") or "str"
            assert typ in protobuf.SCALARS or typ in protobuf.SCHEMAS, (message, number, spec)
