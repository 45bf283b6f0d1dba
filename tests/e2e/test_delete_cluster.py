"""Deleting a cluster through the REST API: its schedules, pods, services, config and PGDATA go; the local
repository volume stays (unless asked); the cluster is gone from the API."""
from __future__ import annotations

from tests.e2e.conftest import backup, create_cluster


def objects_of(stack, name: str, kinds: str) -> list[str]:
    return stack.kubesim.kubectl("-n", "demo", "get", kinds, "-l", f"brq.io/cluster={name}", "-o", "name",
                                 check=True).stdout.split()


def test_a_deleted_cluster_leaves_only_its_repository_volume_and_no_schedule(stack):
    create_cluster(stack, "doomed", "local")
    assert backup(stack, "doomed", "local", "full")["state"] == "SUCCESS"
    status, body = stack.call("POST", "/api/v1/namespaces/demo/schedules", {
        "name": "doomed-nightly", "cluster": "doomed", "schedule": "0 1 * * *", "backup_type": "full"})
    assert status == 201, body
    status, answer = stack.call("DELETE", "/api/v1/namespaces/demo/clusters/doomed")
    assert status == 202, answer
    done = stack.wait_task(answer["task_id"], timeout=120)
    assert done["state"] == "SUCCESS", done
    assert done["result"]["kept"] == {"PersistentVolumeClaim": ["doomed-pgbr-repo"]}
    assert "doomed" in done["result"]["deleted"]["PersistentVolumeClaim"]
    assert objects_of(stack, "doomed", "deployments,replicasets,pods,services,configmaps,secrets,jobs") == []
    assert objects_of(stack, "doomed", "pvc") == ["persistentvolumeclaim/doomed-pgbr-repo"]
    assert stack.call("GET", "/api/v1/namespaces/demo/clusters/doomed")[0] == 404
    assert stack.call("GET", "/api/v1/namespaces/demo/schedules/doomed-nightly")[0] == 404
    # the lock went with the task, and the record with the cluster: deleting again is 404
    assert stack.call("DELETE", "/api/v1/namespaces/demo/clusters/doomed")[0] == 404
