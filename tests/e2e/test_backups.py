"""End to end through the REST API: clusters on kubesim, real PostgreSQL and pgBackRest, S3 over TLS."""
from __future__ import annotations

import json
import time

import pytest

from tests.e2e.conftest import backup, create_cluster
from tests.support.stack import BUCKET


@pytest.mark.parametrize("storage_type", ["local", "s3", "local,s3"])
def test_full_then_incr_backups_appear_in_the_catalogue_of_each_repo(stack, storage_type):
    name = "pg-" + storage_type.replace(",", "-")
    create_cluster(stack, name, storage_type)
    stack.psql("demo", name, "create table t(i int); insert into t select generate_series(1, 100)")
    full = backup(stack, name, storage_type, "full")
    assert full["state"] == "SUCCESS", full
    stack.psql("demo", name, "insert into t select generate_series(101, 200)")
    incr = backup(stack, name, storage_type, "incr")
    assert incr["state"] == "SUCCESS", incr
    repos = storage_type.split(",")
    assert sorted(incr["result"]["repos"]) == sorted(repos)

    status, catalogue = stack.call("GET", f"/api/v1/namespaces/demo/clusters/{name}/backups")
    assert status == 200, catalogue
    assert sorted(catalogue["repos"]) == sorted(repos)
    for repo in repos:
        entry = catalogue["repos"][repo]
        assert [b["type"] for b in entry["backups"]] == ["full", "incr"]
        labels = [b["label"] for b in entry["backups"]]
        assert labels == [full["result"]["repos"][repo]["label"], incr["result"]["repos"][repo]["label"]]
        assert entry["backups"][1]["prior"] == labels[0]
        assert entry["recovery_window"]["earliest"] is not None
    status, cluster = stack.call("GET", f"/api/v1/namespaces/demo/clusters/{name}")
    assert {repo: cluster["last_backup"][repo]["type"] for repo in repos} == {repo: "incr" for repo in repos}
    if "s3" in repos:
        keys = stack.s3.list_keys(BUCKET, f"backrestrepo/{name}/")
        assert any(k.startswith(f"backrestrepo/{name}/backup/db/") for k in keys), keys[:20]
        assert any(k.startswith(f"backrestrepo/{name}/archive/db/") for k in keys), keys[:20]


def test_the_catalogue_comes_as_pgbackrests_own_text_on_request(stack):
    create_cluster(stack, "textual", "local")
    assert backup(stack, "textual", "local", "full")["state"] == "SUCCESS"
    status, body = stack.call("GET", "/api/v1/namespaces/demo/clusters/textual/backups?format=text")
    assert status == 200, body
    assert body["format"] == "text" and "stanza: db" in body["text"] and "full backup:" in body["text"]


def test_a_second_backup_while_one_runs_is_refused_with_409_naming_it(stack):
    create_cluster(stack, "busy", "local")
    status, first = stack.call("POST", "/api/v1/namespaces/demo/clusters/busy/backups", {"type": "full"})
    assert status == 202
    status, second = stack.call("POST", "/api/v1/namespaces/demo/clusters/busy/backups", {"type": "full"})
    assert status == 409 and second["error"]["details"]["task_id"] == first["task_id"]
    assert stack.wait_task(first["task_id"])["state"] == "SUCCESS"
    assert backup(stack, "busy", "local", "incr")["state"] == "SUCCESS"  # the lock went with the first


def test_s3_with_a_wrong_ca_fails_with_a_tls_error_and_nothing_else_breaks(stack):
    create_cluster(stack, "badca", "local,s3")
    # give the repo host a CA that did not sign the S3 endpoint's certificate, and restart it
    from tests.support.s3 import make_ca_and_cert
    import base64
    import os
    ca_path, _, _ = make_ca_and_cert(os.path.join(stack.directory, "wrong-ca"))
    with open(ca_path, "rb") as f:
        wrong = base64.b64encode(f.read()).decode()
    stack.kubesim.kubectl("-n", "demo", "patch", "secret", "badca-pgbackrest-certs", "-p",
                          json.dumps({"data": {"s3-ca.crt": wrong}}), check=True)
    stack.kubesim.kubectl("-n", "demo", "delete", "pod", "-l", "brq.io/cluster=badca,brq.io/role=repo-host",
                          check=True)
    stack.kubesim.kubectl("-n", "demo", "wait", "--for=condition=available", "deploy/badca-backrest-shared-repo",
                          "--timeout=60s", check=True)
    time.sleep(1)
    # pgBackRest retries a TLS failure for --io-timeout (60 s by default) per file: 3 s keeps the test short
    failed = backup(stack, "badca", "s3", "full", options=["--io-timeout=3"])
    assert failed["state"] == "FAILURE"
    assert failed["error"]["code"] == 95 and failed["error"]["name"] == "CryptoError", failed["error"]
    assert "unable to verify certificate" in failed["error"]["message"]
    assert failed["error"]["action"] == "call-human" and failed["error"]["repo"] == "s3"
    # nothing else breaks: the cluster's lock is free again, and other clusters back up as before
    status, again = stack.call("POST", "/api/v1/namespaces/demo/clusters/badca/backups", {"storage_type": "s3",
                                                                                          "options": ["--io-timeout=3"]})
    assert status == 202, again
    assert stack.wait_task(again["task_id"])["error"]["code"] == 95
    create_cluster(stack, "bystander", "local,s3")
    assert backup(stack, "bystander", "local,s3", "full")["state"] == "SUCCESS"


def test_cancelling_a_running_backup_deletes_its_job_and_ends_revoked(stack):
    create_cluster(stack, "cancelme", "local")
    stack.psql("demo", "cancelme", "create table big as select g, md5(g::text) from generate_series(1, 300000) g")
    status, body = stack.call("POST", "/api/v1/namespaces/demo/clusters/cancelme/backups", {"type": "full"})
    task_id = body["task_id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _, task = stack.call("GET", f"/api/v1/tasks/{task_id}")
        if task["jobs"]:
            break
        time.sleep(0.05)
    status, answer = stack.call("DELETE", f"/api/v1/tasks/{task_id}")
    if status == 409:  # it finished first: the machine was too fast for this test to mean anything
        pytest.skip("the backup finished before it could be cancelled")
    assert status == 202, answer
    task = stack.wait_task(task_id, timeout=60)
    assert task["state"] == "REVOKED", task
    jobs = stack.kubesim.kubectl("-n", "demo", "get", "jobs", "-l", f"brq.io/task={task_id}", "-o", "name",
                                 check=True).stdout.split()
    assert jobs == []
    assert backup(stack, "cancelme", "local", "full")["state"] == "SUCCESS"  # the lock was released
