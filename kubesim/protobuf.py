"""Kubernetes protobuf request bodies, decoded to the JSON dicts the JSON API would have received.

kubectl's imperative generators (`create namespace|configmap|secret|serviceaccount|deployment|job|
service|token|role|rolebinding|clusterrole|clusterrolebinding|poddisruptionbudget|ingress`) send
`Content-Type: application/vnd.kubernetes.protobuf` and do not fall back to JSON on a 415, so
kubesim reads that encoding on the way in (it still answers JSON, which kubectl accepts).

The envelope is the 4-byte magic `k8s\\x00` and a `runtime.Unknown` message: typeMeta{apiVersion=1,
kind=2}=1, raw=2 (the object's own message), contentEncoding=3, contentType=4.  The object is read
with a wire-format reader written here (no protobuf package) and a table of message schemas,
`SCHEMAS`, whose field numbers are copied from the `generated.proto` files of k8s.io/api (core/v1,
apps/v1, batch/v1, authentication/v1, autoscaling/v1, rbac/v1, policy/v1, networking/v1) and
k8s.io/apimachinery (meta/v1, runtime, util/intstr, api/resource).  Each message is a dict
{field number: "jsonName:type"}, where type is

    (none)  string             int    int32/int64 (varint)    bool     bytes (→ base64 string)
    time    metav1.Time        mtime  metav1.MicroTime        ios      intstr.IntOrString
    qty     resource.Quantity  Name   another message of the table
    [T]     repeated T         {T}    map<string, T>          *T       a pointer: keep zero values

and the json name `...` inlines the message's fields into its parent (Go's `json:",inline"`, as
`LocalObjectReference` in key selectors, `ProbeHandler` in `Probe`, `VolumeSource` in `Volume`).

The Go marshaller writes every non-pointer field, so scalars equal to their zero value ("", 0,
false, IntOrString 0) are dropped the way `omitempty` drops them in JSON, unless marked `*`;
messages always appear (an empty one as {}, as Go's JSON writes `"status": {}`), and an empty Time
as None (Go: `"creationTimestamp": null`).  Unknown field numbers are skipped; a malformed body
raises `errors.BadRequest`; a kind missing from the table raises `errors.UnsupportedMediaType`.
"""
from __future__ import annotations

import base64
import datetime as _dt
from typing import Any, Iterator, NamedTuple

from . import errors

MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
VARINT, I64, LEN, I32 = 0, 1, 2, 5
SCALARS = ("str", "int", "bool", "bytes", "time", "mtime", "ios", "qty")

_META = "metadata:ObjectMeta"
_LOR = "...:LocalObjectReference"

SCHEMAS: dict[str, dict[int, str]] = {
    # k8s.io/apimachinery pkg/apis/meta/v1
    "ObjectMeta": {1: "name", 2: "generateName", 3: "namespace", 4: "selfLink", 5: "uid", 6: "resourceVersion",
                   7: "generation:int", 8: "creationTimestamp:time", 9: "deletionTimestamp:time",
                   10: "deletionGracePeriodSeconds:*int", 11: "labels:{str}", 12: "annotations:{str}",
                   13: "ownerReferences:[OwnerReference]", 14: "finalizers:[str]"},  # managedFields=17 skipped
    "OwnerReference": {5: "apiVersion", 1: "kind", 3: "name", 4: "uid", 6: "controller:*bool",
                       7: "blockOwnerDeletion:*bool"},
    "LabelSelector": {1: "matchLabels:{str}", 2: "matchExpressions:[LabelSelectorRequirement]"},
    "LabelSelectorRequirement": {1: "key", 2: "operator", 3: "values:[str]"},
    # k8s.io/api core/v1: the kinds kubectl creates
    "Namespace": {1: _META, 2: "spec:NamespaceSpec", 3: "status:NamespaceStatus"},
    "NamespaceSpec": {1: "finalizers:[str]"},
    "NamespaceStatus": {1: "phase"},  # conditions=2 skipped
    "ConfigMap": {1: _META, 2: "data:{str}", 3: "binaryData:{bytes}", 4: "immutable:*bool"},
    "Secret": {1: _META, 2: "data:{bytes}", 3: "type", 4: "stringData:{str}", 5: "immutable:*bool"},
    "ServiceAccount": {1: _META, 2: "secrets:[ObjectReference]", 3: "imagePullSecrets:[LocalObjectReference]",
                       4: "automountServiceAccountToken:*bool"},
    "ObjectReference": {1: "kind", 2: "namespace", 3: "name", 4: "uid", 5: "apiVersion", 6: "resourceVersion",
                        7: "fieldPath"},
    "LocalObjectReference": {1: "name"},
    "Service": {1: _META, 2: "spec:ServiceSpec", 3: "status:ServiceStatus"},
    "ServiceSpec": {1: "ports:[ServicePort]", 2: "selector:{str}", 3: "clusterIP", 4: "type", 5: "externalIPs:[str]",
                    7: "sessionAffinity", 8: "loadBalancerIP", 9: "loadBalancerSourceRanges:[str]",
                    10: "externalName", 11: "externalTrafficPolicy", 12: "healthCheckNodePort:int",
                    13: "publishNotReadyAddresses:bool", 14: "sessionAffinityConfig:SessionAffinityConfig",
                    17: "ipFamilyPolicy:*str", 18: "clusterIPs:[str]", 19: "ipFamilies:[str]",
                    20: "allocateLoadBalancerNodePorts:*bool", 21: "loadBalancerClass:*str",
                    22: "internalTrafficPolicy:*str", 23: "trafficDistribution:*str"},
    "ServicePort": {1: "name", 2: "protocol", 3: "port:int", 4: "targetPort:ios", 5: "nodePort:int",
                    6: "appProtocol:*str"},
    "SessionAffinityConfig": {1: "clientIP:ClientIPConfig"},
    "ClientIPConfig": {1: "timeoutSeconds:*int"},
    "ServiceStatus": {1: "loadBalancer:LoadBalancerStatus"},  # conditions=2 skipped
    "LoadBalancerStatus": {1: "ingress:[LoadBalancerIngress]"},
    "LoadBalancerIngress": {1: "ip", 2: "hostname", 3: "ipMode:*str"},  # ports=4 skipped
    "PersistentVolumeClaim": {1: _META, 2: "spec:PersistentVolumeClaimSpec", 3: "status:PersistentVolumeClaimStatus"},
    "PersistentVolumeClaimSpec": {1: "accessModes:[str]", 2: "resources:VolumeResourceRequirements",
                                  3: "volumeName", 4: "selector:LabelSelector", 5: "storageClassName:*str",
                                  6: "volumeMode:*str", 9: "volumeAttributesClassName:*str"},
    "PersistentVolumeClaimStatus": {1: "phase", 2: "accessModes:[str]", 3: "capacity:{qty}"},
    "VolumeResourceRequirements": {1: "limits:{qty}", 2: "requests:{qty}"},
    "Event": {1: _META, 2: "involvedObject:ObjectReference", 3: "reason", 4: "message", 5: "source:EventSource",
              6: "firstTimestamp:time", 7: "lastTimestamp:time", 8: "count:int", 9: "type", 10: "eventTime:mtime",
              11: "series:EventSeries", 12: "action", 13: "related:ObjectReference", 14: "reportingComponent",
              15: "reportingInstance"},
    "EventSource": {1: "component", 2: "host"},
    "EventSeries": {1: "count:int", 2: "lastObservedTime:mtime"},
    # pods and their templates
    "Pod": {1: _META, 2: "spec:PodSpec", 3: "status:PodStatus"},
    "PodStatus": {1: "phase", 3: "message", 4: "reason", 5: "hostIP", 6: "podIP", 9: "qosClass"},  # partial
    "PodTemplateSpec": {1: _META, 2: "spec:PodSpec"},
    "PodSpec": {1: "volumes:[Volume]", 2: "containers:[Container]", 3: "restartPolicy",
                4: "terminationGracePeriodSeconds:*int", 5: "activeDeadlineSeconds:*int", 6: "dnsPolicy",
                7: "nodeSelector:{str}", 8: "serviceAccountName", 9: "serviceAccount", 10: "nodeName",
                11: "hostNetwork:bool", 12: "hostPID:bool", 13: "hostIPC:bool",
                14: "securityContext:PodSecurityContext", 15: "imagePullSecrets:[LocalObjectReference]",
                16: "hostname", 17: "subdomain", 18: "affinity:Affinity",
                19: "schedulerName", 20: "initContainers:[Container]", 21: "automountServiceAccountToken:*bool",
                22: "tolerations:[Toleration]", 23: "hostAliases:[HostAlias]", 24: "priorityClassName",
                25: "priority:*int", 26: "dnsConfig:PodDNSConfig", 27: "shareProcessNamespace:*bool",
                28: "readinessGates:[PodReadinessGate]", 29: "runtimeClassName:*str", 30: "enableServiceLinks:*bool",
                31: "preemptionPolicy:*str", 32: "overhead:{qty}",
                33: "topologySpreadConstraints:[TopologySpreadConstraint]", 35: "setHostnameAsFQDN:*bool",
                36: "os:PodOS", 37: "hostUsers:*bool", 38: "schedulingGates:[PodSchedulingGate]",
                40: "resources:ResourceRequirements", 41: "hostnameOverride:*str"},  # 34, 39, 42 skipped
    "Container": {1: "name", 2: "image", 3: "command:[str]", 4: "args:[str]", 5: "workingDir",
                  6: "ports:[ContainerPort]", 7: "env:[EnvVar]", 8: "resources:ResourceRequirements",
                  9: "volumeMounts:[VolumeMount]", 10: "livenessProbe:Probe", 11: "readinessProbe:Probe",
                  12: "lifecycle:Lifecycle", 13: "terminationMessagePath", 14: "imagePullPolicy",
                  15: "securityContext:SecurityContext", 16: "stdin:bool", 17: "stdinOnce:bool", 18: "tty:bool",
                  19: "envFrom:[EnvFromSource]", 20: "terminationMessagePolicy", 21: "volumeDevices:[VolumeDevice]",
                  22: "startupProbe:Probe", 23: "resizePolicy:[ContainerResizePolicy]", 24: "restartPolicy:*str"},
    "ContainerPort": {1: "name", 2: "hostPort:int", 3: "containerPort:int", 4: "protocol", 5: "hostIP"},
    "ContainerResizePolicy": {1: "resourceName", 2: "restartPolicy"},
    "VolumeDevice": {1: "name", 2: "devicePath"},
    "EnvVar": {1: "name", 2: "value", 3: "valueFrom:EnvVarSource"},
    "EnvVarSource": {1: "fieldRef:ObjectFieldSelector", 2: "resourceFieldRef:ResourceFieldSelector",
                     3: "configMapKeyRef:ConfigMapKeySelector", 4: "secretKeyRef:SecretKeySelector",
                     5: "fileKeyRef:FileKeySelector"},
    "ObjectFieldSelector": {1: "apiVersion", 2: "fieldPath"},
    "ResourceFieldSelector": {1: "containerName", 2: "resource", 3: "divisor:qty"},
    "ConfigMapKeySelector": {1: _LOR, 2: "key", 3: "optional:*bool"},
    "SecretKeySelector": {1: _LOR, 2: "key", 3: "optional:*bool"},
    "FileKeySelector": {1: "volumeName", 2: "path", 3: "key", 4: "optional:*bool"},
    "EnvFromSource": {1: "prefix", 2: "configMapRef:ConfigMapEnvSource", 3: "secretRef:SecretEnvSource"},
    "ConfigMapEnvSource": {1: _LOR, 2: "optional:*bool"},
    "SecretEnvSource": {1: _LOR, 2: "optional:*bool"},
    "ResourceRequirements": {1: "limits:{qty}", 2: "requests:{qty}", 3: "claims:[ResourceClaim]"},
    "ResourceClaim": {1: "name", 2: "request"},
    "VolumeMount": {1: "name", 2: "readOnly:bool", 3: "mountPath", 4: "subPath", 5: "mountPropagation:*str",
                    6: "subPathExpr", 7: "recursiveReadOnly:*str"},
    "Probe": {1: "...:ProbeHandler", 2: "initialDelaySeconds:int", 3: "timeoutSeconds:int", 4: "periodSeconds:int",
              5: "successThreshold:int", 6: "failureThreshold:int", 7: "terminationGracePeriodSeconds:*int"},
    "ProbeHandler": {1: "exec:ExecAction", 2: "httpGet:HTTPGetAction", 3: "tcpSocket:TCPSocketAction",
                     4: "grpc:GRPCAction"},
    "ExecAction": {1: "command:[str]"},
    "HTTPGetAction": {1: "path", 2: "port:ios", 3: "host", 4: "scheme", 5: "httpHeaders:[HTTPHeader]"},
    "HTTPHeader": {1: "name", 2: "value"},
    "TCPSocketAction": {1: "port:ios", 2: "host"},
    "GRPCAction": {1: "port:int", 2: "service:*str"},
    "Lifecycle": {1: "postStart:LifecycleHandler", 2: "preStop:LifecycleHandler", 3: "stopSignal:*str"},
    "LifecycleHandler": {1: "exec:ExecAction", 2: "httpGet:HTTPGetAction", 3: "tcpSocket:TCPSocketAction",
                         4: "sleep:SleepAction"},
    "SleepAction": {1: "seconds:int"},
    "SecurityContext": {1: "capabilities:Capabilities", 2: "privileged:*bool", 3: "seLinuxOptions:SELinuxOptions",
                        4: "runAsUser:*int", 5: "runAsNonRoot:*bool", 6: "readOnlyRootFilesystem:*bool",
                        7: "allowPrivilegeEscalation:*bool", 8: "runAsGroup:*int", 9: "procMount:*str",
                        11: "seccompProfile:SeccompProfile"},  # windowsOptions=10, appArmorProfile=12 skipped
    "PodSecurityContext": {1: "seLinuxOptions:SELinuxOptions", 2: "runAsUser:*int", 3: "runAsNonRoot:*bool",
                           4: "supplementalGroups:[int]", 5: "fsGroup:*int", 6: "runAsGroup:*int",
                           7: "sysctls:[Sysctl]", 9: "fsGroupChangePolicy:*str", 10: "seccompProfile:SeccompProfile",
                           12: "supplementalGroupsPolicy:*str", 13: "seLinuxChangePolicy:*str"},
    "Capabilities": {1: "add:[str]", 2: "drop:[str]"},
    "SELinuxOptions": {1: "user", 2: "role", 3: "type", 4: "level"},
    "SeccompProfile": {1: "type", 2: "localhostProfile:*str"},
    "Sysctl": {1: "name", 2: "value"},
    "Volume": {1: "name", 2: "...:VolumeSource"},
    "VolumeSource": {1: "hostPath:HostPathVolumeSource", 2: "emptyDir:EmptyDirVolumeSource",
                     6: "secret:SecretVolumeSource", 7: "nfs:NFSVolumeSource",
                     10: "persistentVolumeClaim:PersistentVolumeClaimVolumeSource",
                     16: "downwardAPI:DownwardAPIVolumeSource", 19: "configMap:ConfigMapVolumeSource",
                     26: "projected:ProjectedVolumeSource", 28: "csi:CSIVolumeSource",
                     29: "ephemeral:EphemeralVolumeSource", 30: "image:ImageVolumeSource"},  # cloud disks skipped
    "HostPathVolumeSource": {1: "path", 2: "type:*str"},
    "EmptyDirVolumeSource": {1: "medium", 2: "sizeLimit:*qty"},
    "SecretVolumeSource": {1: "secretName", 2: "items:[KeyToPath]", 3: "defaultMode:*int", 4: "optional:*bool"},
    "ConfigMapVolumeSource": {1: _LOR, 2: "items:[KeyToPath]", 3: "defaultMode:*int", 4: "optional:*bool"},
    "KeyToPath": {1: "key", 2: "path", 3: "mode:*int"},
    "NFSVolumeSource": {1: "server", 2: "path", 3: "readOnly:bool"},
    "PersistentVolumeClaimVolumeSource": {1: "claimName", 2: "readOnly:bool"},
    "DownwardAPIVolumeSource": {1: "items:[DownwardAPIVolumeFile]", 2: "defaultMode:*int"},
    "DownwardAPIVolumeFile": {1: "path", 2: "fieldRef:ObjectFieldSelector", 3: "resourceFieldRef:ResourceFieldSelector",
                              4: "mode:*int"},
    "ProjectedVolumeSource": {1: "sources:[VolumeProjection]", 2: "defaultMode:*int"},
    "VolumeProjection": {1: "secret:SecretProjection", 2: "downwardAPI:DownwardAPIProjection",
                         3: "configMap:ConfigMapProjection", 4: "serviceAccountToken:ServiceAccountTokenProjection"},
    "SecretProjection": {1: _LOR, 2: "items:[KeyToPath]", 4: "optional:*bool"},
    "ConfigMapProjection": {1: _LOR, 2: "items:[KeyToPath]", 4: "optional:*bool"},
    "DownwardAPIProjection": {1: "items:[DownwardAPIVolumeFile]"},
    "ServiceAccountTokenProjection": {1: "audience", 2: "expirationSeconds:*int", 3: "path"},
    "CSIVolumeSource": {1: "driver", 2: "readOnly:*bool", 3: "fsType:*str", 4: "volumeAttributes:{str}",
                        5: "nodePublishSecretRef:LocalObjectReference"},
    "EphemeralVolumeSource": {1: "volumeClaimTemplate:PersistentVolumeClaimTemplate"},
    "PersistentVolumeClaimTemplate": {1: _META, 2: "spec:PersistentVolumeClaimSpec"},
    "ImageVolumeSource": {1: "reference", 2: "pullPolicy"},
    # scheduling (PodAntiAffinity has PodAffinity's fields and numbers)
    "Affinity": {1: "nodeAffinity:NodeAffinity", 2: "podAffinity:PodAffinity", 3: "podAntiAffinity:PodAffinity"},
    "NodeAffinity": {1: "requiredDuringSchedulingIgnoredDuringExecution:NodeSelector",
                     2: "preferredDuringSchedulingIgnoredDuringExecution:[PreferredSchedulingTerm]"},
    "NodeSelector": {1: "nodeSelectorTerms:[NodeSelectorTerm]"},
    "NodeSelectorTerm": {1: "matchExpressions:[NodeSelectorRequirement]", 2: "matchFields:[NodeSelectorRequirement]"},
    "NodeSelectorRequirement": {1: "key", 2: "operator", 3: "values:[str]"},
    "PreferredSchedulingTerm": {1: "weight:int", 2: "preference:NodeSelectorTerm"},
    "PodAffinity": {1: "requiredDuringSchedulingIgnoredDuringExecution:[PodAffinityTerm]",
                    2: "preferredDuringSchedulingIgnoredDuringExecution:[WeightedPodAffinityTerm]"},
    "PodAffinityTerm": {1: "labelSelector:LabelSelector", 2: "namespaces:[str]", 3: "topologyKey",
                        4: "namespaceSelector:LabelSelector", 5: "matchLabelKeys:[str]", 6: "mismatchLabelKeys:[str]"},
    "WeightedPodAffinityTerm": {1: "weight:int", 2: "podAffinityTerm:PodAffinityTerm"},
    "Toleration": {1: "key", 2: "operator", 3: "value", 4: "effect", 5: "tolerationSeconds:*int"},
    "TopologySpreadConstraint": {1: "maxSkew:int", 2: "topologyKey", 3: "whenUnsatisfiable",
                                 4: "labelSelector:LabelSelector", 5: "minDomains:*int", 6: "nodeAffinityPolicy:*str",
                                 7: "nodeTaintsPolicy:*str", 8: "matchLabelKeys:[str]"},
    "HostAlias": {1: "ip", 2: "hostnames:[str]"},
    "PodDNSConfig": {1: "nameservers:[str]", 2: "searches:[str]", 3: "options:[PodDNSConfigOption]"},
    "PodDNSConfigOption": {1: "name", 2: "value:*str"},
    "PodReadinessGate": {1: "conditionType"},
    "PodSchedulingGate": {1: "name"},
    "PodOS": {1: "name"},
    # apps/v1
    "Deployment": {1: _META, 2: "spec:DeploymentSpec", 3: "status:DeploymentStatus"},
    "DeploymentSpec": {1: "replicas:*int", 2: "selector:LabelSelector", 3: "template:PodTemplateSpec",
                       4: "strategy:DeploymentStrategy", 5: "minReadySeconds:int", 6: "revisionHistoryLimit:*int",
                       7: "paused:bool", 9: "progressDeadlineSeconds:*int", 10: "podReplacementPolicy:*str"},
    "DeploymentStrategy": {1: "type", 2: "rollingUpdate:RollingUpdateDeployment"},
    "RollingUpdateDeployment": {1: "maxUnavailable:*ios", 2: "maxSurge:*ios"},
    "DeploymentStatus": {1: "observedGeneration:int", 2: "replicas:int", 3: "updatedReplicas:int",
                         4: "availableReplicas:int", 5: "unavailableReplicas:int", 7: "readyReplicas:int",
                         8: "collisionCount:*int", 9: "terminatingReplicas:*int"},  # conditions=6 skipped
    "ReplicaSet": {1: _META, 2: "spec:ReplicaSetSpec", 3: "status:ReplicaSetStatus"},
    "ReplicaSetSpec": {1: "replicas:*int", 2: "selector:LabelSelector", 3: "template:PodTemplateSpec",
                       4: "minReadySeconds:int"},
    "ReplicaSetStatus": {1: "replicas:int", 2: "fullyLabeledReplicas:int", 3: "observedGeneration:int",
                         4: "readyReplicas:int", 5: "availableReplicas:int"},
    # batch/v1
    "Job": {1: _META, 2: "spec:JobSpec", 3: "status:JobStatus"},
    "JobSpec": {1: "parallelism:*int", 2: "completions:*int", 3: "activeDeadlineSeconds:*int",
                4: "selector:LabelSelector", 5: "manualSelector:*bool", 6: "template:PodTemplateSpec",
                7: "backoffLimit:*int", 8: "ttlSecondsAfterFinished:*int", 9: "completionMode:*str",
                10: "suspend:*bool", 11: "podFailurePolicy:PodFailurePolicy", 12: "backoffLimitPerIndex:*int",
                13: "maxFailedIndexes:*int", 14: "podReplacementPolicy:*str", 15: "managedBy:*str",
                16: "successPolicy:SuccessPolicy"},
    "JobStatus": {2: "startTime:time", 3: "completionTime:time", 4: "active:int", 5: "succeeded:int",
                  6: "failed:int", 9: "ready:*int", 11: "terminating:*int"},  # conditions=1 etc. skipped
    "PodFailurePolicy": {1: "rules:[PodFailurePolicyRule]"},
    "PodFailurePolicyRule": {1: "action", 2: "onExitCodes:PodFailurePolicyOnExitCodesRequirement",
                             3: "onPodConditions:[PodFailurePolicyOnPodConditionsPattern]"},
    "PodFailurePolicyOnExitCodesRequirement": {1: "containerName:*str", 2: "operator", 3: "values:[int]"},
    "PodFailurePolicyOnPodConditionsPattern": {1: "type", 2: "status"},
    "SuccessPolicy": {1: "rules:[SuccessPolicyRule]"},
    "SuccessPolicyRule": {1: "succeededIndexes:*str", 2: "succeededCount:*int"},
    # authentication/v1 (BoundObjectReference's proto names are aPIVersion, uID)
    "TokenRequest": {1: _META, 2: "spec:TokenRequestSpec", 3: "status:TokenRequestStatus"},
    "TokenRequestSpec": {1: "audiences:[str]", 3: "boundObjectRef:BoundObjectReference", 4: "expirationSeconds:*int"},
    "BoundObjectReference": {1: "kind", 2: "apiVersion", 3: "name", 4: "uid"},
    "TokenRequestStatus": {1: "token", 2: "expirationTimestamp:time"},
    # rbac.authorization.k8s.io/v1 (`create role|clusterrole|rolebinding|clusterrolebinding`)
    "Role": {1: _META, 2: "rules:[PolicyRule]"},
    "ClusterRole": {1: _META, 2: "rules:[PolicyRule]", 3: "aggregationRule:AggregationRule"},
    "PolicyRule": {1: "verbs:[str]", 2: "apiGroups:[str]", 3: "resources:[str]", 4: "resourceNames:[str]",
                   5: "nonResourceURLs:[str]"},
    "AggregationRule": {1: "clusterRoleSelectors:[LabelSelector]"},
    "RoleBinding": {1: _META, 2: "subjects:[Subject]", 3: "roleRef:RoleRef"},
    "ClusterRoleBinding": {1: _META, 2: "subjects:[Subject]", 3: "roleRef:RoleRef"},
    "Subject": {1: "kind", 2: "apiGroup", 3: "name", 4: "namespace"},
    "RoleRef": {1: "apiGroup", 2: "kind", 3: "name"},
    # policy/v1 (`create poddisruptionbudget`)
    "PodDisruptionBudget": {1: _META, 2: "spec:PodDisruptionBudgetSpec", 3: "status:PodDisruptionBudgetStatus"},
    "PodDisruptionBudgetSpec": {1: "minAvailable:*ios", 2: "selector:LabelSelector", 3: "maxUnavailable:*ios",
                                4: "unhealthyPodEvictionPolicy:*str"},
    "PodDisruptionBudgetStatus": {1: "observedGeneration:int", 2: "disruptedPods:{time}", 3: "disruptionsAllowed:*int",
                                  4: "currentHealthy:*int", 5: "desiredHealthy:*int", 6: "expectedPods:*int",
                                  7: "conditions:[Condition]"},
    "Condition": {1: "type", 2: "status", 3: "observedGeneration:int", 4: "lastTransitionTime:time", 5: "reason",
                  6: "message"},
    # networking.k8s.io/v1 (`create ingress`)
    "Ingress": {1: _META, 2: "spec:IngressSpec", 3: "status:IngressStatus"},
    "IngressStatus": {1: "loadBalancer:IngressLoadBalancerStatus"},
    "IngressLoadBalancerStatus": {1: "ingress:[IngressLoadBalancerIngress]"},
    "IngressLoadBalancerIngress": {1: "ip", 2: "hostname", 4: "ports:[IngressPortStatus]"},
    "IngressPortStatus": {1: "port:int", 2: "protocol", 3: "error:*str"},
    "IngressSpec": {1: "defaultBackend:IngressBackend", 2: "tls:[IngressTLS]", 3: "rules:[IngressRule]",
                    4: "ingressClassName:*str"},
    "IngressBackend": {3: "resource:TypedLocalObjectReference", 4: "service:IngressServiceBackend"},
    "TypedLocalObjectReference": {1: "apiGroup:*str", 2: "kind", 3: "name"},
    "IngressServiceBackend": {1: "name", 2: "port:ServiceBackendPort"},
    "ServiceBackendPort": {1: "name", 2: "number:int"},
    "IngressTLS": {1: "hosts:[str]", 2: "secretName"},
    "IngressRule": {1: "host", 2: "...:IngressRuleValue"},
    "IngressRuleValue": {1: "http:HTTPIngressRuleValue"},
    "HTTPIngressRuleValue": {1: "paths:[HTTPIngressPath]"},
    "HTTPIngressPath": {1: "path", 2: "backend:IngressBackend", 3: "pathType:*str"},
    # autoscaling/v1; Go's ScaleSpec.replicas is a plain int32, kept at 0 here so `scale --replicas=0` says 0
    "Scale": {1: _META, 2: "spec:ScaleSpec", 3: "status:ScaleStatus"},
    "ScaleSpec": {1: "replicas:*int"},
    "ScaleStatus": {1: "replicas:int", 2: "selector"},
}


class _Field(NamedTuple):
    name: str  # "..." to inline
    kind: str  # one of SCALARS or a message name
    repeated: bool
    map: bool
    keep_zero: bool


def _parse(spec: str) -> _Field:
    name, _, typ = spec.partition(":")
    repeated, is_map = typ.startswith("["), typ.startswith("{")
    typ = typ.strip("[]{}")
    keep = typ.startswith("*")
    return _Field(name, typ.lstrip("*") or "str", repeated, is_map, keep)


_TABLE: dict[str, dict[int, _Field]] = {msg: {n: _parse(spec) for n, spec in specs.items()}
                                        for msg, specs in SCHEMAS.items()}


class _Malformed(Exception):
    pass


# -- the wire format ---------------------------------------------------------------------------------

def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise _Malformed("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result & 0xFFFF_FFFF_FFFF_FFFF, pos
        shift += 7
        if shift > 63:
            raise _Malformed("varint longer than 10 bytes")


def fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of each field of a message; value is an int, or bytes for LEN."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise _Malformed("field number 0")
        if wire == VARINT:
            value, pos = _varint(buf, pos)
        elif wire in (I64, I32):
            size = 8 if wire == I64 else 4
            if pos + size > end:
                raise _Malformed("truncated fixed-width field")
            value, pos = int.from_bytes(buf[pos:pos + size], "little"), pos + size
        elif wire == LEN:
            size, pos = _varint(buf, pos)
            if pos + size > end:
                raise _Malformed(f"field {number} runs past the end of its message")
            value, pos = bytes(buf[pos:pos + size]), pos + size
        else:
            raise _Malformed(f"unsupported wire type {wire} for field {number}")
        yield number, wire, value


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


_EPOCH = _dt.datetime(1970, 1, 1)


def _timestamp(raw: bytes, micro: bool) -> str | None:
    """metav1.Time / MicroTime {seconds=1, nanos=2}; an empty message is the zero time (JSON null)."""
    if not raw:
        return None
    seconds = nanos = 0
    for number, wire, value in fields(raw):
        if wire == VARINT and number == 1:
            seconds = _signed(value)
        elif wire == VARINT and number == 2:
            nanos = _signed(value)
    try:
        t = _EPOCH + _dt.timedelta(seconds=seconds, microseconds=nanos // 1000 if micro else 0)
    except OverflowError:
        raise _Malformed(f"timestamp {seconds} out of range") from None
    return t.isoformat(timespec="microseconds" if micro else "seconds") + "Z"


def _int_or_string(raw: bytes) -> int | str:
    kind, int_val, str_val = 0, 0, ""
    for number, wire, value in fields(raw):
        if number == 1 and wire == VARINT:
            kind = value
        elif number == 2 and wire == VARINT:
            int_val = _signed(value)
        elif number == 3 and wire == LEN:
            str_val = _text(value)
    return str_val if kind == 1 else int_val


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Malformed("a string field is not UTF-8") from None


def _scalar(kind: str, wire: int, value: Any) -> Any:
    if kind in ("int", "bool"):
        if wire != VARINT:
            raise _Malformed(f"{kind} field with wire type {wire}")
        return _signed(value) if kind == "int" else value != 0
    if wire != LEN:
        raise _Malformed(f"{kind} field with wire type {wire}")
    if kind == "str":
        return _text(value)
    if kind == "bytes":
        return base64.b64encode(value).decode("ascii")
    if kind in ("time", "mtime"):
        return _timestamp(value, kind == "mtime")
    if kind == "ios":
        return _int_or_string(value)
    if kind == "qty":
        return next((_text(v) for n, w, v in fields(value) if n == 1 and w == LEN), "")
    return _message(value, kind)


def _values(f: _Field, wire: int, value: Any) -> list[Any]:
    """The value(s) one occurrence of a field carries: packed repeated numbers arrive as one LEN field."""
    if f.repeated and f.kind in ("int", "bool") and wire == LEN:
        out, pos = [], 0
        while pos < len(value):
            v, pos = _varint(value, pos)
            out.append(_scalar(f.kind, VARINT, v))
        return out
    return [_scalar(f.kind, wire, value)]


def _map_entry(f: _Field, wire: int, raw: Any) -> tuple[str, Any]:
    if wire != LEN:
        raise _Malformed(f"map entry of {f.name} with wire type {wire}")
    key, val = "", None
    for number, w, v in fields(raw):
        if number == 1:
            key = _scalar("str", w, v)
        elif number == 2:
            val = _scalar(f.kind, w, v)
    if val is None:
        val = {} if f.kind in _TABLE else ("" if f.kind in ("str", "bytes", "qty") else 0)
    return key, val


def _message(raw: bytes, name: str) -> dict[str, Any]:
    schema = _TABLE[name]
    out: dict[str, Any] = {}
    for number, wire, value in fields(raw):
        f = schema.get(number)
        if f is None:
            continue  # a field this table does not know (newer API, status detail): skipped
        if f.map:
            k, v = _map_entry(f, wire, value)
            out.setdefault(f.name, {})[k] = v
        elif f.repeated:
            out.setdefault(f.name, []).extend(_values(f, wire, value))
        elif f.name == "...":
            if wire != LEN:
                raise _Malformed(f"inline {f.kind} with wire type {wire}")
            out.update(_message(value, f.kind))
        else:
            v = _scalar(f.kind, wire, value)
            if f.keep_zero or f.kind in _TABLE or v not in ("", 0, False):  # note: False == 0
                out[f.name] = v
            else:
                out.pop(f.name, None)
    return out


# -- the envelope ------------------------------------------------------------------------------------

def unwrap(body: bytes) -> tuple[str, str, bytes]:
    """(apiVersion, kind, raw object bytes) of a `k8s\\x00` + runtime.Unknown body; BadRequest if malformed."""
    if not body.startswith(MAGIC):
        raise errors.BadRequest("the body of the request is not a Kubernetes protobuf message (no k8s\\x00 prefix)")
    api_version = kind = encoding = ""
    raw = b""
    try:
        for number, wire, value in fields(body[len(MAGIC):]):
            if wire != LEN:
                continue
            if number == 1:
                for n, w, v in fields(value):
                    if w == LEN and n in (1, 2):
                        if n == 1:
                            api_version = _text(v)
                        else:
                            kind = _text(v)
            elif number == 2:
                raw = value
            elif number == 3:
                encoding = _text(value)
    except _Malformed as exc:
        raise errors.BadRequest(f"the body of the request could not be decoded as protobuf: {exc}") from None
    if encoding:
        raise errors.BadRequest(f"protobuf contentEncoding {encoding!r} is not supported")
    return api_version, kind, raw


def decode(body: bytes, *, api_version: str, kind: str) -> dict[str, Any]:
    """The object a protobuf request body carries, as the JSON API would have received it.

    `api_version`/`kind` are what the endpoint expects; the envelope's own typeMeta wins when it names
    a kind of the table.  BadRequest for a malformed body, UnsupportedMediaType for a kind not covered.
    """
    sent_version, sent_kind, raw = unwrap(body)
    if sent_kind in _TABLE:
        api_version, kind = sent_version or api_version, sent_kind
    if kind not in _TABLE:
        raise errors.UnsupportedMediaType(f"kubesim cannot decode {kind} from {CONTENT_TYPE}; send application/json")
    try:
        obj = _message(raw, kind)
    except _Malformed as exc:
        raise errors.BadRequest(f"the body of the request could not be decoded as a protobuf {kind}: {exc}") from None
    return {"apiVersion": api_version, "kind": kind, **obj}
