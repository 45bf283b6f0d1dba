"""Server-side printing (`kubesim.tables`) against kube-apiserver 1.32's printers.go."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from kubesim import resources, tables

NOW = datetime(2026, 11, 26, 16, 0, 0, tzinfo=timezone.utc)


def ago(seconds: float) -> str:
    return (NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(name: str, seconds_ago: float = 600, **extra) -> dict:
    return {"name": name, "namespace": "default", "uid": f"uid-{name}", "resourceVersion": "5",
            "creationTimestamp": ago(seconds_ago), **extra}


def cells(resource, obj) -> list:
    return tables.table(resource, [obj], resource_version="1", now=NOW)["rows"][0]["cells"]


def pod(name="web-1", *, phase="Running", statuses=(), init_specs=(), init_statuses=(), conditions=(),
        seconds_ago=600, status_reason=None, **metadata) -> dict:
    obj = {
        "kind": "Pod", "apiVersion": "v1", "metadata": meta(name, seconds_ago, **metadata),
        "spec": {"containers": [{"name": s["name"], "image": "busybox"} for s in statuses] or
                 [{"name": "main", "image": "busybox"}],
                 "initContainers": list(init_specs), "nodeName": "kubesim"},
        "status": {"phase": phase, "podIP": "127.0.1.2", "podIPs": [{"ip": "127.0.1.2"}],
                   "conditions": list(conditions), "containerStatuses": list(statuses),
                   "initContainerStatuses": list(init_statuses)},
    }
    if status_reason:
        obj["status"]["reason"] = status_reason
    return obj


def running(name="main", restarts=0, ready=True, **extra) -> dict:
    return {"name": name, "ready": ready, "restartCount": restarts, "state": {"running": {"startedAt": ago(60)}},
            **extra}


def terminated(name="main", exit_code=0, reason=None, restarts=0, **extra) -> dict:
    state = {"exitCode": exit_code, "finishedAt": ago(30)}
    if reason:
        state["reason"] = reason
    return {"name": name, "ready": False, "restartCount": restarts, "state": {"terminated": state}, **extra}


def waiting(reason, name="main", restarts=0, **extra) -> dict:
    return {"name": name, "ready": False, "restartCount": restarts, "state": {"waiting": {"reason": reason}},
            **extra}


READY = {"type": "Ready", "status": "True"}
NAME_DOC = ("Name must be unique within a namespace. Is required when creating resources, although some resources "
            "may allow a client to request the generation of an appropriate name automatically. Name is primarily "
            "intended for creation idempotence and configuration definition. Cannot be updated. More info: "
            "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")


# ------------------------------------------------------------------ whole tables

def test_a_running_pod_is_a_whole_table_with_partial_object_metadata_and_the_lists_resource_version():
    obj = pod(statuses=[running(restarts=2, lastState={"terminated": {"exitCode": 1, "finishedAt": ago(5)}})],
              conditions=[READY])
    got = tables.table(resources.PODS, [obj], resource_version="42", now=NOW)
    assert got == {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": "42"},
        "columnDefinitions": [
            {"name": "Name", "type": "string", "format": "name", "description": NAME_DOC, "priority": 0},
            {"name": "Ready", "type": "string", "format": "",
             "description": "The aggregate readiness state of this pod for accepting traffic.", "priority": 0},
            {"name": "Status", "type": "string", "format": "",
             "description": "The aggregate status of the containers in this pod.", "priority": 0},
            {"name": "Restarts", "type": "string", "format": "",
             "description": "The number of times the containers in this pod have been restarted and when the "
                            "last container in this pod has restarted.", "priority": 0},
            {"name": "Age", "type": "string", "format": "", "priority": 0,
             "description": got["columnDefinitions"][4]["description"]},
            {"name": "IP", "type": "string", "format": "", "priority": 1,
             "description": got["columnDefinitions"][5]["description"]},
            {"name": "Node", "type": "string", "format": "", "priority": 1,
             "description": got["columnDefinitions"][6]["description"]},
            {"name": "Nominated Node", "type": "string", "format": "", "priority": 1,
             "description": got["columnDefinitions"][7]["description"]},
            {"name": "Readiness Gates", "type": "string", "format": "", "priority": 1,
             "description": got["columnDefinitions"][8]["description"]},
        ],
        "rows": [{
            "cells": ["web-1", "1/1", "Running", "2 (5s ago)", "10m", "127.0.1.2", "kubesim", "<none>", "<none>"],
            "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]},
        }],
    }
    assert got["columnDefinitions"][4]["description"].startswith("CreationTimestamp is a timestamp")
    assert got["columnDefinitions"][5]["description"].startswith("podIP address allocated to the pod")


def test_a_completed_job_is_complete_with_its_completions_and_how_long_it_took():
    job = {
        "kind": "Job", "apiVersion": "batch/v1", "metadata": meta("backup", 400),
        "spec": {"completions": 1, "parallelism": 1,
                 "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}},
                 "template": {"spec": {"containers": [{"name": "pgbackrest", "image": "pgbackrest:2.45"}],
                                       "restartPolicy": "Never"}}},
        "status": {"succeeded": 1, "startTime": ago(399), "completionTime": ago(392),
                   "conditions": [{"type": "SuccessCriteriaMet", "status": "True"},
                                  {"type": "Complete", "status": "True"}]},
    }
    got = tables.table(resources.JOBS, [job], resource_version="7", include_object="None", now=NOW)
    assert [(c["name"], c["priority"]) for c in got["columnDefinitions"]] == [
        ("Name", 0), ("Status", 0), ("Completions", 0), ("Duration", 0), ("Age", 0),
        ("Containers", 1), ("Images", 1), ("Selector", 1)]
    assert got["rows"] == [{"cells": ["backup", "Complete", "1/1", "7s", "6m40s", "pgbackrest", "pgbackrest:2.45",
                                      "batch.kubernetes.io/controller-uid=u1"]}]
    assert got["metadata"] == {"resourceVersion": "7"}


def test_a_failed_job_is_failed_and_its_duration_runs_on_without_a_completion_time():
    job = {
        "kind": "Job", "apiVersion": "batch/v1", "metadata": meta("restore", 200),
        "spec": {"completions": 1, "backoffLimit": 0,
                 "selector": {"matchLabels": {"job-name": "restore"}},
                 "template": {"spec": {"containers": [{"name": "main", "image": "busybox"}]}}},
        "status": {"failed": 1, "startTime": ago(199),
                   "conditions": [{"type": "FailureTarget", "status": "True"},
                                  {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]},
    }
    assert cells(resources.JOBS, job) == ["restore", "Failed", "0/1", "3m19s", "3m20s", "main", "busybox",
                                          "job-name=restore"]


def test_a_deployment_with_one_of_one_ready_shows_one_slash_one():
    deployment = {
        "kind": "Deployment", "apiVersion": "apps/v1", "metadata": meta("web", 3 * 3600),
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web", "tier": "front"}},
                 "template": {"metadata": {"labels": {"app": "web", "tier": "front"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.27"},
                                                      {"name": "log", "image": "busybox"}]}}},
        "status": {"replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1},
    }
    got = tables.table(resources.DEPLOYMENTS, [deployment], resource_version="9", include_object="Object", now=NOW)
    assert [c["name"] for c in got["columnDefinitions"]] == [
        "Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"]
    assert [c["type"] for c in got["columnDefinitions"]] == ["string"] * 8
    assert got["rows"] == [{"cells": ["web", "1/1", 1, 1, "3h", "web,log", "nginx:1.27,busybox",
                                      "app=web,tier=front"],
                            "object": deployment}]


def test_a_service_shows_its_type_cluster_ip_ports_and_selector():
    service = {
        "kind": "Service", "apiVersion": "v1", "metadata": meta("db", 5 * 86400),
        "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                 "ports": [{"name": "pg", "port": 5432, "protocol": "TCP", "targetPort": 5432},
                           {"name": "tls", "port": 8432, "targetPort": 8432}],
                 "selector": {"app": "db", "role": "primary"}},
    }
    got = tables.table(resources.SERVICES, [service], resource_version="3", now=NOW)
    assert [(c["name"], c["priority"]) for c in got["columnDefinitions"]] == [
        ("Name", 0), ("Type", 0), ("Cluster-IP", 0), ("External-IP", 0), ("Port(s)", 0), ("Age", 0),
        ("Selector", 1)]
    assert got["rows"][0]["cells"] == ["db", "ClusterIP", "10.96.0.10", "<none>", "5432/TCP,8432/TCP", "5d",
                                       "app=db,role=primary"]


# ------------------------------------------------------------------ pod status as kubectl shows it

@pytest.mark.parametrize(("obj", "status", "ready"), [
    (pod(phase="Pending", statuses=[waiting("ContainerCreating")]), "ContainerCreating", "0/1"),
    (pod(phase="Pending", statuses=[]), "Pending", "0/1"),
    (pod(statuses=[running()], conditions=[READY]), "Running", "1/1"),
    (pod(statuses=[running(ready=False)]), "Running", "0/1"),
    (pod(phase="Succeeded", statuses=[terminated(reason="Completed")]), "Completed", "0/1"),
    (pod(phase="Failed", statuses=[terminated(exit_code=2, reason="Error")]), "Error", "0/1"),
    (pod(phase="Failed", statuses=[terminated(exit_code=3)]), "ExitCode:3", "0/1"),
    (pod(phase="Failed", statuses=[terminated(exit_code=137, signal=9)]), "ExitCode:137", "0/1"),
    (pod(statuses=[waiting("CrashLoopBackOff", restarts=4)]), "CrashLoopBackOff", "0/1"),
    (pod(statuses=[running()], deletionTimestamp=ago(1)), "Terminating", "1/1"),
    (pod(phase="Succeeded", statuses=[terminated(reason="Completed")], deletionTimestamp=ago(1)), "Completed",
     "0/1"),
    (pod(phase="Failed", status_reason="Evicted", statuses=[terminated(exit_code=137, reason="Error")]), "Error",
     "0/1"),
    (pod(phase="Failed", status_reason="DeadlineExceeded", statuses=[]), "DeadlineExceeded", "0/1"),
    (pod(phase="Pending", statuses=[waiting("PodInitializing")], init_specs=[{"name": "init"}],
         init_statuses=[running("init", ready=False)]), "Init:0/1", "0/1"),
    (pod(phase="Pending", statuses=[waiting("PodInitializing")], init_specs=[{"name": "a"}, {"name": "b"}],
         init_statuses=[terminated("a", reason="Completed"), running("b", ready=False)]), "Init:1/2", "0/1"),
    (pod(phase="Pending", statuses=[waiting("PodInitializing")], init_specs=[{"name": "init"}],
         init_statuses=[terminated("init", exit_code=1, reason="Error")]), "Init:Error", "0/1"),
    (pod(phase="Pending", statuses=[waiting("PodInitializing")], init_specs=[{"name": "init"}],
         init_statuses=[terminated("init", exit_code=4)]), "Init:ExitCode:4", "0/1"),
    (pod(phase="Pending", statuses=[waiting("PodInitializing")], init_specs=[{"name": "init"}],
         init_statuses=[waiting("CrashLoopBackOff", "init")]), "Init:CrashLoopBackOff", "0/1"),
    (pod(statuses=[running("a"), terminated("b", reason="Completed")], conditions=[READY]), "Running", "1/2"),
    (pod(statuses=[running("a"), terminated("b", reason="Completed")]), "NotReady", "1/2"),
    (pod(phase="Pending", statuses=[], conditions=[{"type": "PodScheduled", "status": "False",
                                                     "reason": "SchedulingGated"}]), "SchedulingGated", "0/1"),
    (pod(statuses=[running()], deletionTimestamp=ago(1), status_reason="NodeLost"), "Unknown", "1/1"),
])
def test_a_pods_status_column_reads_as_kubectl_shows_it(obj, status, ready):
    got = cells(resources.PODS, obj)
    assert (got[2], got[1]) == (status, ready)


def test_a_sidecar_init_container_counts_among_the_containers_and_its_restarts():
    obj = pod(statuses=[running("main")], conditions=[READY, {"type": "Initialized", "status": "True"}],
              init_specs=[{"name": "proxy", "restartPolicy": "Always"}],
              init_statuses=[running("proxy", restarts=3, started=True,
                                     lastState={"terminated": {"exitCode": 1, "finishedAt": ago(90)}})])
    assert cells(resources.PODS, obj)[1:4] == ["2/2", "Running", "3 (90s ago)"]


def test_restarts_show_when_the_last_container_restarted_and_stay_bare_without_a_finish_time():
    restarted = pod(statuses=[running(restarts=5, lastState={"terminated": {"exitCode": 1, "finishedAt": ago(184)}})])
    unknown = pod(statuses=[running(restarts=5, lastState={"terminated": {"exitCode": 1}})])
    assert cells(resources.PODS, restarted)[3] == "5 (3m4s ago)"
    assert cells(resources.PODS, unknown)[3] == "5"


def test_a_finished_pods_row_carries_the_completed_condition_the_server_sets():
    ok = tables.table(resources.PODS, [pod(phase="Succeeded", statuses=[terminated(reason="Completed")])],
                      resource_version="1", now=NOW)["rows"][0]
    failed = tables.table(resources.PODS, [pod(phase="Failed", statuses=[terminated(1, reason="Error")])],
                          resource_version="1", now=NOW)["rows"][0]
    running_row = tables.table(resources.PODS, [pod(statuses=[running()])], resource_version="1", now=NOW)["rows"][0]
    assert ok["conditions"] == [{"type": "Completed", "status": "True", "reason": "Succeeded",
                                 "message": "The pod has completed successfully."}]
    assert failed["conditions"] == [{"type": "Completed", "status": "True", "reason": "Failed",
                                     "message": "The pod failed."}]
    assert "conditions" not in running_row


def test_the_wide_pod_columns_show_readiness_gates_and_none_for_what_is_missing():
    obj = pod(phase="Pending", statuses=[])
    obj["spec"].pop("nodeName")
    obj["status"].pop("podIP")
    obj["status"].pop("podIPs")
    assert cells(resources.PODS, obj)[5:] == ["<none>", "<none>", "<none>", "<none>"]
    gated = pod(statuses=[running()], conditions=[{"type": "example.com/lb", "status": "True"}])
    gated["spec"]["readinessGates"] = [{"conditionType": "example.com/lb"}, {"conditionType": "example.com/dns"}]
    assert cells(resources.PODS, gated)[8] == "1/2"


# ------------------------------------------------------------------ jobs

def job(conditions=(), **spec) -> dict:
    return {"kind": "Job", "apiVersion": "batch/v1", "metadata": meta("j", 60),
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}, **spec},
            "status": {"conditions": list(conditions)}}


@pytest.mark.parametrize(("conditions", "deleting", "status"), [
    ([], False, "Running"),
    ([{"type": "Suspended", "status": "True"}], False, "Suspended"),
    ([{"type": "Suspended", "status": "False"}], False, "Running"),
    ([{"type": "FailureTarget", "status": "True"}], False, "FailureTarget"),
    ([{"type": "SuccessCriteriaMet", "status": "True"}], False, "Running"),
    ([{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}], False, "Complete"),
    ([{"type": "FailureTarget", "status": "True"}, {"type": "Failed", "status": "True"}], False, "Failed"),
    ([], True, "Terminating"),
    ([{"type": "Complete", "status": "True"}], True, "Complete"),
    ([{"type": "Suspended", "status": "True"}], True, "Terminating"),
])
def test_a_jobs_status_follows_its_conditions_in_the_order_kubernetes_1_32_checks_them(conditions, deleting,
                                                                                      status):
    obj = job(conditions)
    if deleting:
        obj["metadata"]["deletionTimestamp"] = ago(1)
    assert tables.job_status(obj) == status
    assert cells(resources.JOBS, obj)[1] == status


def test_a_jobs_completions_read_from_completions_or_parallelism_and_no_start_leaves_duration_empty():
    assert cells(resources.JOBS, job(completions=3))[2:4] == ["0/3", ""]
    assert cells(resources.JOBS, job(parallelism=4))[2] == "0/1 of 4"
    assert cells(resources.JOBS, job())[2] == "0/1"
    assert cells(resources.JOBS, job())[7] == "<none>"


# ------------------------------------------------------------------ the other kinds

def test_a_replica_set_shows_desired_current_and_ready_as_integers():
    rs = {"kind": "ReplicaSet", "apiVersion": "apps/v1", "metadata": meta("web-7d4b9c", 60),
          "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "7d4b9c"}},
                   "template": {"spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
          "status": {"replicas": 2, "readyReplicas": 1}}
    got = tables.table(resources.REPLICASETS, [rs], resource_version="1", now=NOW)
    assert [c["type"] for c in got["columnDefinitions"][1:4]] == ["integer"] * 3
    assert got["rows"][0]["cells"] == ["web-7d4b9c", 2, 2, 1, "60s", "web", "nginx",
                                       "app=web,pod-template-hash=7d4b9c"]


def test_a_deployment_defaults_to_one_replica_and_prints_an_empty_selector_as_nothing():
    deployment = {"kind": "Deployment", "apiVersion": "apps/v1", "metadata": meta("d", 30),
                  "spec": {"template": {"spec": {"containers": []}}}, "status": {}}
    assert cells(resources.DEPLOYMENTS, deployment) == ["d", "0/1", 0, 0, "30s", "", "", ""]


def test_label_selectors_print_their_expressions_sorted_by_key():
    selector = {"matchLabels": {"tier": "db"},
                "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]},
                                     {"key": "zone", "operator": "NotIn", "values": ["b", "a"]},
                                     {"key": "canary", "operator": "DoesNotExist"},
                                     {"key": "app", "operator": "Exists"}]}
    assert tables.format_label_selector(selector) == "app,!canary,env in (dev,prod),tier=db,zone notin (a,b)"
    assert tables.format_label_selector({}) == "<none>"
    assert tables.format_label_selector(None) == "<none>"
    assert tables.format_label_selector({"matchExpressions": [{"key": "a", "operator": "In"}]}) == "<error>"


def test_services_of_every_type_show_their_external_address():
    def service(kind, **spec):
        return {"kind": "Service", "apiVersion": "v1", "metadata": meta("s"),
                "spec": {"type": kind, "clusterIPs": ["10.0.0.1"], **spec}, "status": spec.pop("status", {})}

    node_port = service("NodePort", ports=[{"port": 80, "nodePort": 30080, "protocol": "TCP"}])
    balancer = service("LoadBalancer", ports=[{"port": 443, "protocol": "TCP"}])
    balancer["status"] = {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}, {"hostname": "lb.example.com"}]}}
    pending = service("LoadBalancer")
    external_name = service("ExternalName", externalName="db.example.com", clusterIPs=[])
    headless = service("ClusterIP", clusterIPs=["None"], externalIPs=["192.0.2.1"])
    untyped = {"kind": "Service", "apiVersion": "v1", "metadata": meta("u"), "spec": {"clusterIP": "10.0.0.2"}}
    assert cells(resources.SERVICES, node_port)[1:5] == ["NodePort", "10.0.0.1", "<none>", "80:30080/TCP"]
    assert cells(resources.SERVICES, balancer)[3] == "203.0.113.9,lb.example.com"
    assert cells(resources.SERVICES, pending)[3:5] == ["<pending>", "<none>"]
    assert cells(resources.SERVICES, external_name)[1:4] == ["ExternalName", "<none>", "db.example.com"]
    assert cells(resources.SERVICES, headless)[2:4] == ["None", "192.0.2.1"]
    assert cells(resources.SERVICES, untyped)[1:5] == ["ClusterIP", "10.0.0.2", "<none>", "<none>"]
    assert cells(resources.SERVICES, untyped)[6] == "<none>"


def test_a_bound_claim_shows_its_volume_capacity_and_access_modes():
    pvc = {"kind": "PersistentVolumeClaim", "apiVersion": "v1", "metadata": meta("data", 7200),
           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1536Mi"}},
                    "volumeName": "pvc-1", "storageClassName": "local", "volumeMode": "Filesystem"},
           "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce", "ReadWriteOncePod"],
                      "capacity": {"storage": "1.5Gi"}}}
    pending = {"kind": "PersistentVolumeClaim", "apiVersion": "v1", "metadata": meta("new", 5),
               "spec": {"accessModes": ["ReadWriteOnce"]}, "status": {"phase": "Pending"}}
    got = tables.table(resources.PVCS, [pvc, pending], resource_version="1", now=NOW)
    assert [c["name"] for c in got["columnDefinitions"]] == [
        "Name", "Status", "Volume", "Capacity", "Access Modes", "StorageClass", "VolumeAttributesClass", "Age",
        "VolumeMode"]
    assert [r["cells"] for r in got["rows"]] == [
        ["data", "Bound", "pvc-1", "1536Mi", "RWO,RWOP", "local", "<unset>", "120m", "Filesystem"],
        ["new", "Pending", "", "", "", "", "<unset>", "5s", "<unset>"],
    ]


def test_a_persistent_volume_shows_its_claim_and_reclaim_policy():
    pv = {"kind": "PersistentVolume", "apiVersion": "v1", "metadata": {"name": "pvc-1", "creationTimestamp": ago(60)},
          "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"],
                   "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "local",
                   "claimRef": {"namespace": "default", "name": "data"}},
          "status": {"phase": "Bound"}}
    assert cells(resources.PVS, pv) == ["pvc-1", "10Gi", "RWO", "Delete", "Bound", "default/data", "local",
                                        "<unset>", "", "60s", "<unset>"]


def test_config_maps_secrets_and_service_accounts_count_their_entries():
    cm = {"kind": "ConfigMap", "apiVersion": "v1", "metadata": meta("cfg", 90), "data": {"a": "1"},
          "binaryData": {"b": "AA=="}}
    secret = {"kind": "Secret", "apiVersion": "v1", "metadata": meta("tls", 90), "type": "kubernetes.io/tls",
              "data": {"tls.crt": "", "tls.key": ""}}
    untyped_secret = {"kind": "Secret", "apiVersion": "v1", "metadata": meta("s", 90)}
    sa = {"kind": "ServiceAccount", "apiVersion": "v1", "metadata": meta("default", 90),
          "secrets": [{"name": "default-token"}]}
    assert cells(resources.CONFIGMAPS, cm) == ["cfg", 2, "90s"]
    assert cells(resources.SECRETS, secret) == ["tls", "kubernetes.io/tls", 2, "90s"]
    assert cells(resources.SECRETS, untyped_secret) == ["s", "Opaque", 0, "90s"]
    assert cells(resources.SERVICEACCOUNTS, sa) == ["default", 1, "90s"]


def test_a_namespace_and_a_node_show_their_status():
    ns = {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "dev", "creationTimestamp": ago(86400 * 3)},
          "status": {"phase": "Terminating"}}
    node = {"kind": "Node", "apiVersion": "v1",
            "metadata": {"name": "kubesim", "creationTimestamp": ago(3600),
                         "labels": {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "worker",
                                    "node-role.kubernetes.io/": ""}},
            "spec": {"unschedulable": True},
            "status": {"conditions": [{"type": "MemoryPressure", "status": "False"},
                                      {"type": "Ready", "status": "False"}],
                       "addresses": [{"type": "Hostname", "address": "kubesim"},
                                     {"type": "InternalIP", "address": "127.0.0.1"}],
                       "nodeInfo": {"kubeletVersion": "v1.32.0", "osImage": "Debian GNU/Linux 12"}}}
    assert cells(resources.NAMESPACES, ns) == ["dev", "Terminating", "3d"]
    assert cells(resources.NODES, node) == ["kubesim", "NotReady,SchedulingDisabled", "control-plane,worker", "60m",
                                            "v1.32.0", "127.0.0.1", "<none>", "Debian GNU/Linux 12", "<unknown>",
                                            "<unknown>"]
    bare = {"kind": "Node", "apiVersion": "v1", "metadata": {"name": "n"}}
    assert cells(resources.NODES, bare)[1:4] == ["Unknown", "<none>", "<unknown>"]


def test_an_event_prints_the_wide_columns_in_the_order_of_its_column_definitions():
    event = {"kind": "Event", "apiVersion": "v1", "metadata": meta("web-1.17a", 120),
             "involvedObject": {"kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{web}"},
             "reason": "BackOff", "message": "Back-off restarting failed container\n", "type": "Warning",
             "count": 4, "firstTimestamp": ago(600), "lastTimestamp": ago(12),
             "source": {"component": "kubelet", "host": "kubesim"}}
    got = tables.table(resources.EVENTS, [event], resource_version="1", now=NOW)
    assert [(c["name"], c["priority"]) for c in got["columnDefinitions"]] == [
        ("Last Seen", 0), ("Type", 0), ("Reason", 0), ("Object", 0), ("Subobject", 1), ("Source", 1),
        ("Message", 0), ("First Seen", 1), ("Count", 1), ("Name", 1)]
    assert got["rows"][0]["cells"] == ["12s", "Warning", "BackOff", "pod/web-1", "spec.containers{web}",
                                       "kubelet, kubesim", "Back-off restarting failed container", "10m", 4,
                                       "web-1.17a"]


def test_a_new_style_event_uses_its_event_time_series_and_reporting_controller():
    event = {"kind": "Event", "apiVersion": "v1", "metadata": meta("e", 60), "involvedObject": {"kind": "Node"},
             "eventTime": "2026-11-26T15:59:00.123456Z", "reportingComponent": "kubesim-controller",
             "series": {"count": 7, "lastObservedTime": "2026-11-26T15:59:50.000000Z"}}
    assert cells(resources.EVENTS, event) == ["10s", "", "", "node", "", "kubesim-controller", "", "59s", 7, "e"]
    single = {"kind": "Event", "apiVersion": "v1", "metadata": meta("f"),
              "involvedObject": {"kind": "Pod", "name": "p"}, "firstTimestamp": ago(5)}
    assert cells(resources.EVENTS, single)[0] == "5s"
    assert cells(resources.EVENTS, single)[8] == 1


def test_a_kind_without_a_printer_gets_the_default_name_and_created_at_table():
    thing = {"metadata": {"name": "x", "creationTimestamp": "2026-11-26T15:38:48.5+01:00"}}
    got = tables.table(None, [thing], resource_version="1", now=NOW)
    assert [(c["name"], c["type"], c["format"]) for c in got["columnDefinitions"]] == [
        ("Name", "string", "name"), ("Created At", "date", "")]
    assert got["rows"][0]["cells"] == ["x", "2026-11-26T14:38:48Z"]
    assert tables.table(None, [{"metadata": {"name": "y"}}], resource_version="1")["rows"][0]["cells"] == [
        "y", "0001-01-01T00:00:00Z"]


# ------------------------------------------------------------------ statefulsets, autoscaling, policy, networking, rbac

def test_a_stateful_set_shows_ready_of_desired_and_a_revision_its_controller():
    sts = {"metadata": meta("redis", 90), "spec": {"replicas": 3, "template": {"spec": {"containers": [
        {"name": "redis", "image": "redis:7"}]}}}, "status": {"replicas": 3, "readyReplicas": 2}}
    assert cells(resources.STATEFULSETS, sts) == ["redis", "2/3", "90s", "redis", "redis:7"]
    assert [c["name"] for c in tables.column_definitions("apps", "StatefulSet")] == [
        "Name", "Ready", "Age", "Containers", "Images"]
    revision = {"metadata": meta("redis-6c5d", 30, ownerReferences=[
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "redis", "uid": "u", "controller": True}]),
        "revision": 2}
    assert cells(resources.CONTROLLERREVISIONS, revision) == ["redis-6c5d", "statefulset.apps/redis", 2, "30s"]
    orphan = {"metadata": meta("x-1", 30), "revision": 1}
    assert cells(resources.CONTROLLERREVISIONS, orphan)[1] == "<none>"


def test_an_hpa_shows_its_reference_targets_and_bounds_as_kubectl_prints_them():
    cpu = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                      "averageUtilization": 80}}}
    mem = {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue",
                                                                         "averageValue": "1536Mi"}}}
    pods = {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue",
                                                                          "averageValue": "10"}}}
    hpa = {"metadata": meta("worker", 120), "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "worker"},
        "minReplicas": 2, "maxReplicas": 10, "metrics": [cpu, mem, pods]},
        "status": {"currentReplicas": 3, "desiredReplicas": 3,
                   "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {
                       "averageUtilization": 41, "averageValue": "120m"}}}]}}
    assert cells(resources.HPAS, hpa) == ["worker", "Deployment/worker",
                                          "cpu: 41%/80%, memory: <unknown>/1536Mi + 1 more...", "2", 10, 3, "2m"]
    bare = {"metadata": meta("b", 5), "spec": {"scaleTargetRef": {"kind": "StatefulSet", "name": "s"},
                                               "maxReplicas": 1}}
    assert cells(resources.HPAS, bare) == ["b", "StatefulSet/s", "<none>", "<unset>", 1, 0, "5s"]


def test_a_pdb_shows_its_bounds_or_na_and_the_allowed_disruptions():
    pdb = {"metadata": meta("api", 60), "spec": {"minAvailable": 1}, "status": {"disruptionsAllowed": 1}}
    assert cells(resources.PDBS, pdb) == ["api", "1", "N/A", 1, "60s"]
    pdb = {"metadata": meta("w", 60), "spec": {"maxUnavailable": "25%"}}
    assert cells(resources.PDBS, pdb) == ["w", "N/A", "25%", 0, "60s"]
    assert tables.column_definitions("policy", "PodDisruptionBudget")[3]["type"] == "integer"


def test_an_ingress_shows_class_hosts_address_and_ports():
    rules = [{"host": f"h{i}.example.com"} for i in range(5)]
    ing = {"metadata": meta("web", 60), "spec": {"ingressClassName": "nginx", "rules": rules, "tls": [{}]},
           "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.2"}, {"hostname": "lb.example.com"}]}}}
    assert cells(resources.INGRESSES, ing) == [
        "web", "nginx", "h0.example.com,h1.example.com,h2.example.com + 2 more...", "10.0.0.2,lb.example.com",
        "80, 443", "60s"]
    bare = {"metadata": meta("any", 60), "spec": {"defaultBackend": {"service": {"name": "web"}}}}
    assert cells(resources.INGRESSES, bare) == ["any", "<none>", "*", "", "80", "60s"]


def test_roles_show_when_they_were_made_and_bindings_whom_they_bind():
    role = {"metadata": meta("reader", 60), "rules": []}
    assert cells(resources.ROLES, role) == ["reader", "2026-11-26T15:59:00Z"]
    assert cells(resources.CLUSTERROLES, role) == ["reader", "2026-11-26T15:59:00Z"]
    binding = {"metadata": meta("reader", 60), "roleRef": {"kind": "ClusterRole", "name": "view"},
               "subjects": [{"kind": "User", "name": "alice"}, {"kind": "User", "name": "bob"},
                            {"kind": "Group", "name": "devs"},
                            {"kind": "ServiceAccount", "name": "brq", "namespace": "queue"}]}
    assert cells(resources.ROLEBINDINGS, binding) == ["reader", "ClusterRole/view", "60s", "alice, bob", "devs",
                                                      "queue/brq"]
    assert [c["priority"] for c in tables.column_definitions("rbac.authorization.k8s.io", "ClusterRoleBinding")] == [
        0, 0, 0, 1, 1, 1]


# ------------------------------------------------------------------ the Table envelope

def test_include_object_none_leaves_rows_without_objects_and_an_unknown_value_is_refused():
    got = tables.table(resources.CONFIGMAPS, [{"metadata": meta("a")}], resource_version="1", include_object="None",
                       now=NOW)
    assert "object" not in got["rows"][0]
    with pytest.raises(ValueError, match="includeObject"):
        tables.table(resources.CONFIGMAPS, [], resource_version="1", include_object="Everything")


def test_an_empty_list_has_columns_and_no_rows_and_no_headers_drops_the_columns():
    empty = tables.table(resources.PODS, [], resource_version="17")
    assert empty["rows"] == [] and len(empty["columnDefinitions"]) == 9
    assert empty["metadata"] == {"resourceVersion": "17"}
    headless = tables.table(resources.PODS, [pod()], resource_version="18", no_headers=True, now=NOW)
    assert headless["columnDefinitions"] == [] and len(headless["rows"]) == 1


def test_a_paged_list_table_carries_continue_and_remaining_item_count():
    got = tables.table(resources.PODS, [], resource_version="5", continue_token="abc", remaining_item_count=3)
    assert got["metadata"] == {"resourceVersion": "5", "continue": "abc", "remainingItemCount": 3}


def test_every_served_kind_has_column_definitions_with_the_fields_kubectl_reads():
    for r in resources.RESOURCES:
        columns = tables.column_definitions(r.group, r.kind)
        assert columns[0]["name"] in ("Name", "Last Seen")
        for c in columns:
            assert set(c) == {"name", "type", "format", "description", "priority"}
            assert c["priority"] in (0, 1) and c["description"], (r.kind, c)
        row = tables.table(r, [{"metadata": meta("x")}], resource_version="1", now=NOW)["rows"][0]
        assert len(row["cells"]) == len(columns), r.kind


# ------------------------------------------------------------------ durations and quantities

@pytest.mark.parametrize(("seconds", "text"), [
    (-5, "<invalid>"), (-1.5, "0s"), (0, "0s"), (1, "1s"), (70, "70s"), (119, "119s"), (120, "2m"),
    (190, "3m10s"), (600, "10m"), (70 * 60, "70m"), (3 * 3600 - 1, "179m"), (3 * 3600, "3h"),
    (5 * 3600 + 4 * 60, "5h4m"), (47 * 3600, "47h"), (49 * 3600, "2d1h"), ((8 * 24 + 2) * 3600, "8d"),
    (367 * 24 * 3600, "367d"), ((365 * 2 * 24 + 25) * 3600, "2y1d"), ((365 * 8 * 24 + 2) * 3600, "8y"),
])
def test_human_duration_matches_apimachinery(seconds, text):
    assert tables.human_duration(timedelta(seconds=seconds)) == text


@pytest.mark.parametrize(("given", "canonical"), [
    ("1Gi", "1Gi"), ("1.5Gi", "1536Mi"), ("1024Mi", "1Gi"), ("1000Mi", "1000Mi"), ("512", "512"),
    ("2048", "2048"), ("1000", "1k"), ("0.5", "500m"), ("0.1", "100m"), ("100M", "100M"), ("1e3", "1e3"),
    ("1500e3", "1500e3"), ("0", "0"), ("0Gi", "0"), (5, "5"), ("1.5", "1500m"), ("1Ki", "1Ki"), ("0.5Ki", "512"),
    ("not a quantity", "not a quantity"),
])
def test_quantities_print_in_their_canonical_form(given, canonical):
    assert tables.quantity_string(given) == canonical


def test_timestamps_parse_with_or_without_fractions_and_bad_ones_are_none():
    assert tables.parse_time("2026-11-26T15:38:48Z") == datetime(2026, 11, 26, 15, 38, 48, tzinfo=timezone.utc)
    assert tables.parse_time("2026-11-26T15:38:48.123456Z").microsecond == 123456
    assert tables.parse_time("yesterday") is None and tables.parse_time(None) is None
