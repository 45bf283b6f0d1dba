"""Real pods: volumes, secrets, env, in-cluster API access, Job failure modes, scheduling."""
from __future__ import annotations

import os
import textwrap

from kubernetes_asyncio import client

from tests.support.waiting import condition, eventually

BOX = "busybox:1.36"


def pod(name: str, command: list[str], *, restart: str = "Never", volumes=None, mounts=None, env=None,
        security=None, node_selector=None) -> dict:
    container = {"name": "main", "image": BOX, "command": command}
    if mounts:
        container["volumeMounts"] = mounts
    if env:
        container["env"] = env
    spec = {"restartPolicy": restart, "containers": [container]}
    if volumes:
        spec["volumes"] = volumes
    if security:
        spec["securityContext"] = security
    if node_selector:
        spec["nodeSelector"] = node_selector
    return {"metadata": {"name": name}, "spec": spec}


async def finished(core: client.CoreV1Api, name: str, ns: str, timeout: float = 30.0):
    return await eventually(lambda: core.read_namespaced_pod(name, ns),
                            lambda p: p.status.phase in ("Succeeded", "Failed"), timeout=timeout,
                            what=f"pod {name} finished")


async def logs(core: client.CoreV1Api, name: str, ns: str) -> str:
    return await core.read_namespaced_pod_log(name, ns)


async def test_a_later_pod_reads_what_an_earlier_pod_wrote_on_the_same_claim(api, namespace):
    core = client.CoreV1Api(api)
    await core.create_namespaced_persistent_volume_claim(namespace, {"metadata": {"name": "shared"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    vol = [{"name": "v", "persistentVolumeClaim": {"claimName": "shared"}}]
    mnt = [{"name": "v", "mountPath": "/data"}]
    await core.create_namespaced_pod(namespace, pod("writer", ["sh", "-c", "echo from-writer > /data/f"],
                                                    volumes=vol, mounts=mnt))
    assert (await finished(core, "writer", namespace)).status.phase == "Succeeded"
    await core.create_namespaced_pod(namespace, pod("reader", ["cat", "/data/f"], volumes=vol, mounts=mnt))
    assert (await finished(core, "reader", namespace)).status.phase == "Succeeded"
    assert await logs(core, "reader", namespace) == "from-writer\n"


async def test_a_secret_mounted_with_items_and_default_mode_has_those_files_and_modes(api, namespace):
    core = client.CoreV1Api(api)
    await core.create_namespaced_secret(namespace, {"metadata": {"name": "tls"}, "stringData": {
        "key": "KEY", "cert": "CERT", "unused": "x"}})
    vol = [{"name": "tls", "secret": {"secretName": "tls", "defaultMode": 0o600, "items": [
        {"key": "key", "path": "private/server.key"}, {"key": "cert", "path": "server.crt", "mode": 0o644}]}}]
    script = "find /tls -type f | sort | xargs stat -c '%n %a %U'; cat /tls/private/server.key"
    await core.create_namespaced_pod(namespace, pod("s", ["sh", "-c", script], volumes=vol,
                                                    mounts=[{"name": "tls", "mountPath": "/tls"}]))
    assert (await finished(core, "s", namespace)).status.phase == "Succeeded"
    assert await logs(core, "s", namespace) == "/tls/private/server.key 600 root\n/tls/server.crt 644 root\nKEY"


async def test_env_from_secret_key_ref_field_ref_and_config_map(api, namespace):
    core = client.CoreV1Api(api)
    await core.create_namespaced_secret(namespace, {"metadata": {"name": "creds"}, "stringData": {"pw": "s3cret"}})
    await core.create_namespaced_config_map(namespace, {"metadata": {"name": "cfg"}, "data": {"MODE": "fast"}})
    env = [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "pw"}}},
           {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
           {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
           {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
           {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "MODE"}}},
           {"name": "BOTH", "value": "$(POD)-$(MODE)"}]
    await core.create_namespaced_pod(namespace, pod("e", ["sh", "-c", 'echo "$PW $POD $NS $IP $MODE $BOTH"'],
                                                    env=env))
    done = await finished(core, "e", namespace)
    assert await logs(core, "e", namespace) == f"s3cret e {namespace} {done.status.pod_ip} fast e-fast\n"
    assert done.status.pod_ip.startswith("127.")


async def test_a_missing_secret_keeps_the_container_waiting_until_it_exists(api, namespace):
    core = client.CoreV1Api(api)
    env = [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "later", "key": "pw"}}}]
    await core.create_namespaced_pod(namespace, pod("w", ["sh", "-c", "echo $PW"], env=env))
    waiting = await eventually(lambda: core.read_namespaced_pod("w", namespace),
                               lambda p: p.status.container_statuses and
                               p.status.container_statuses[0].state.waiting is not None and
                               p.status.container_statuses[0].state.waiting.reason == "CreateContainerConfigError")
    assert waiting.status.container_statuses[0].state.waiting.message == 'secret "later" not found'
    await core.create_namespaced_secret(namespace, {"metadata": {"name": "later"}, "stringData": {"pw": "now"}})
    assert (await finished(core, "w", namespace)).status.phase == "Succeeded"
    assert await logs(core, "w", namespace) == "now\n"


async def test_a_pod_in_the_cluster_lists_pods_with_kubernetes_asyncio(api, namespace):
    batch = client.BatchV1Api(api)
    script = textwrap.dedent("""
        import asyncio, os
        from kubernetes_asyncio import client, config
        async def main():
            config.load_incluster_config()
            async with client.ApiClient() as api:
                pods = await client.CoreV1Api(api).list_namespaced_pod(os.environ["NS"])
                print(sorted(p.metadata.name.split("-")[0] for p in pods.items))
        asyncio.run(main())
    """)
    job = {"metadata": {"name": "incluster"}, "spec": {"backoffLimit": 0, "template": {"spec": {
        "restartPolicy": "Never", "containers": [{
            "name": "py", "image": "backrest-queue:dev", "command": ["python", "-c", script],
            "env": [{"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}]}]}}}}
    await batch.create_namespaced_job(namespace, job)
    done = await eventually(lambda: batch.read_namespaced_job("incluster", namespace),
                            lambda j: condition(j, "Complete") or condition(j, "Failed"), timeout=60)
    core = client.CoreV1Api(api)
    pods = await core.list_namespaced_pod(namespace, label_selector="job-name=incluster")
    out = await logs(core, pods.items[0].metadata.name, namespace)
    assert condition(done, "Complete") is not None, out
    assert out == "['incluster']\n"


async def test_a_job_failing_with_backoff_limit_one_fails_after_two_pods(api, namespace):
    batch = client.BatchV1Api(api)
    await batch.create_namespaced_job(namespace, {"metadata": {"name": "bad"}, "spec": {
        "backoffLimit": 1, "template": {"spec": pod("x", ["sh", "-c", "exit 1"])["spec"]}}})
    job = await eventually(lambda: batch.read_namespaced_job("bad", namespace),
                           lambda j: condition(j, "Failed") is not None, what="job failed")
    failed = condition(job, "Failed")
    assert (failed.status, failed.reason, failed.message) == ("True", "BackoffLimitExceeded",
                                                              "Job has reached the specified backoff limit")
    assert condition(job, "FailureTarget").reason == "BackoffLimitExceeded"
    assert (job.status.failed, job.status.succeeded, job.status.active) == (2, 0, 0)
    pods = await client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector="job-name=bad")
    assert [p.status.phase for p in pods.items] == ["Failed", "Failed"]


async def test_active_deadline_kills_a_long_pod_and_fails_the_job(api, namespace):
    batch = client.BatchV1Api(api)
    core = client.CoreV1Api(api)
    await batch.create_namespaced_job(namespace, {"metadata": {"name": "slow"}, "spec": {
        "activeDeadlineSeconds": 1, "template": {"spec": pod("x", ["sleep", "300"])["spec"]}}})
    job = await eventually(lambda: batch.read_namespaced_job("slow", namespace),
                           lambda j: condition(j, "Failed") is not None, what="job failed", timeout=40)
    failed = condition(job, "Failed")
    assert (failed.reason, failed.message) == ("DeadlineExceeded", "Job was active longer than specified deadline")
    assert await _sleepers(core, namespace, "slow") == []


async def _sleepers(core: client.CoreV1Api, namespace: str, job: str) -> list[str]:
    """Names of the job's pods still present (terminating pods included)."""
    pods = await core.list_namespaced_pod(namespace, label_selector=f"job-name={job}")
    return [p.metadata.name for p in pods.items]


def _processes_with(marker: str) -> list[int]:
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    out.append(int(pid))
        except OSError:
            pass
    return out


async def test_deleting_a_job_with_foreground_propagation_kills_its_running_pod(api, namespace):
    batch = client.BatchV1Api(api)
    core = client.CoreV1Api(api)
    marker = "713.125"  # a sleep nobody else runs
    # the pod ignores SIGTERM, so it lives out its 2 s grace period and is then killed
    spec = pod("x", ["sh", "-c", f"trap '' TERM; sleep {marker}"])["spec"]
    spec["terminationGracePeriodSeconds"] = 2
    await batch.create_namespaced_job(namespace, {"metadata": {"name": "fg"}, "spec": {"template": {"spec": spec}}})
    await eventually(lambda: core.list_namespaced_pod(namespace, label_selector="job-name=fg"),
                     lambda ps: ps.items and ps.items[0].status.phase == "Running")
    assert _processes_with(marker)  # the shell and its sleep
    await batch.delete_namespaced_job("fg", namespace, propagation_policy="Foreground")
    kept = await batch.read_namespaced_job("fg", namespace)
    assert kept.metadata.deletion_timestamp is not None and "foregroundDeletion" in kept.metadata.finalizers
    await eventually(lambda: _gone(batch.read_namespaced_job("fg", namespace)), bool, what="job removed")
    assert _processes_with(marker) == []
    assert await _sleepers(core, namespace, "fg") == []


async def _gone(coro) -> bool:
    try:
        await coro
    except client.exceptions.ApiException as exc:
        return exc.status == 404
    return False


async def test_deleting_a_job_without_propagation_orphans_its_pods_with_a_warning(api, namespace):
    batch = client.BatchV1Api(api)
    core = client.CoreV1Api(api)
    await batch.create_namespaced_job(namespace, {"metadata": {"name": "orph"}, "spec": {
        "template": {"spec": pod("x", ["true"])["spec"]}}})
    await eventually(lambda: batch.read_namespaced_job("orph", namespace), lambda j: condition(j, "Complete"))
    await batch.delete_namespaced_job("orph", namespace)
    await eventually(lambda: _gone(batch.read_namespaced_job("orph", namespace)), bool, what="job removed")
    pods = await core.list_namespaced_pod(namespace, label_selector="job-name=orph")
    assert [p.metadata.owner_references for p in pods.items] == [None]


async def test_a_node_selector_that_no_node_has_keeps_the_pod_pending(api, namespace):
    core = client.CoreV1Api(api)
    await core.create_namespaced_pod(namespace, pod("nowhere", ["true"], node_selector={"disktype": "hdd"}))
    await core.create_namespaced_pod(namespace, pod("here", ["true"], node_selector={"disktype": "ssd"}))
    assert (await finished(core, "here", namespace)).status.phase == "Succeeded"
    stuck = await eventually(lambda: core.read_namespaced_pod("nowhere", namespace),
                             lambda p: condition(p, "PodScheduled") is not None)
    scheduled = condition(stuck, "PodScheduled")
    assert (stuck.status.phase, scheduled.status, scheduled.reason) == ("Pending", "False", "Unschedulable")
    assert "didn't match Pod's node affinity/selector" in scheduled.message


async def test_a_crashing_container_restarts_with_backoff_and_counts_restarts(api, namespace):
    core = client.CoreV1Api(api)
    await core.create_namespaced_pod(namespace, pod("crash", ["sh", "-c", "echo boom; exit 2"], restart="Always"))
    crashed = await eventually(lambda: core.read_namespaced_pod("crash", namespace),
                               lambda p: p.status.container_statuses and
                               p.status.container_statuses[0].restart_count >= 2, timeout=30)
    last = crashed.status.container_statuses[0].last_state.terminated
    assert (last.exit_code, last.reason) == (2, "Error")
    previous = await core.read_namespaced_pod_log("crash", namespace, previous=True)
    assert previous == "boom\n"


async def test_a_pod_running_as_postgres_writes_its_claim_with_fs_group(api, namespace):
    core = client.CoreV1Api(api)
    await core.create_namespaced_persistent_volume_claim(namespace, {"metadata": {"name": "pg"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    await core.create_namespaced_pod(namespace, pod(
        "owner", ["sh", "-c", "mkdir /data/pg && stat -c '%U %G %a' /data/pg && id -un"],
        volumes=[{"name": "v", "persistentVolumeClaim": {"claimName": "pg"}}],
        mounts=[{"name": "v", "mountPath": "/data"}], security={"runAsUser": 101, "fsGroup": 104}))
    assert (await finished(core, "owner", namespace)).status.phase == "Succeeded"
    assert await logs(core, "owner", namespace) == "postgres postgres 2755\npostgres\n"


async def test_init_containers_run_in_order_before_the_main_container(api, namespace):
    core = client.CoreV1Api(api)
    body = pod("init", ["cat", "/work/order"], volumes=[{"name": "w", "emptyDir": {}}],
               mounts=[{"name": "w", "mountPath": "/work"}])
    body["spec"]["initContainers"] = [
        {"name": f"i{n}", "image": BOX, "command": ["sh", "-c", f"echo i{n} >> /work/order"],
         "volumeMounts": [{"name": "w", "mountPath": "/work"}]} for n in (1, 2)]
    await core.create_namespaced_pod(namespace, body)
    done = await finished(core, "init", namespace)
    assert done.status.phase == "Succeeded"
    assert [s.state.terminated.exit_code for s in done.status.init_container_statuses] == [0, 0]
    assert await logs(core, "init", namespace) == "i1\ni2\n"


async def test_services_resolve_to_a_ready_pod_through_etc_hosts(api, namespace):
    core = client.CoreV1Api(api)
    apps = client.AppsV1Api(api)
    await apps.create_namespaced_deployment(namespace, {"metadata": {"name": "srv"}, "spec": {
        "selector": {"matchLabels": {"app": "srv"}},
        "template": {"metadata": {"labels": {"app": "srv"}}, "spec": {"containers": [{
            "name": "main", "image": BOX, "command": ["sleep", "3600"]}]}}}})
    await core.create_namespaced_service(namespace, {"metadata": {"name": "srv"}, "spec": {
        "selector": {"app": "srv"}, "ports": [{"port": 80}]}})
    ready = await eventually(lambda: core.list_namespaced_pod(namespace, label_selector="app=srv"),
                             lambda ps: ps.items and condition(ps.items[0], "Ready") and
                             condition(ps.items[0], "Ready").status == "True")
    ip = ready.items[0].status.pod_ip
    await core.create_namespaced_pod(namespace, pod("client", ["sh", "-c", "grep -w srv /etc/hosts"]))
    await finished(core, "client", namespace)
    line = (await logs(core, "client", namespace)).strip()
    assert line == f"{ip}\tsrv srv.{namespace} srv.{namespace}.svc srv.{namespace}.svc.cluster.local"
