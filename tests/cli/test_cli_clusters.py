"""`brq show cluster`: one cluster as a block, all of a namespace as a table."""
from __future__ import annotations

import json

from app.present import iso
from tasks.state.clusters import FAILED, ClusterRecord


def test_show_cluster_lists_the_namespaces_clusters_as_a_table(brq, api, rt, clusters):
    rt.clusters.update("demo", "c1", lambda c: c.last_backup.update(
        local={"label": "20261126-163212F", "type": "full", "finished": 1795710736.0, "task": "t1"}))
    created = {c.name: iso(c.created) for c in rt.clusters.list("demo")}
    result = brq("show", "cluster")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "CLUSTER  STORAGE TYPE  STATUS  LAST BACKUP                     CREATED\n"
        "-------  ------------  ------  ------------------------------  ------------------------\n"
        f"both     local,s3      ready   -                               {created['both']}\n"
        f"c1       local         ready   local: 20261126-163212F (full)  {created['c1']}\n")


def test_show_cluster_name_shows_status_why_and_last_backup_per_repo(brq, api, rt):
    rt.clusters.create(ClusterRecord(name="c4", namespace="demo", storage_types=["local", "s3"], status=FAILED,
                                     message="stanza-create failed", task_id="t0",
                                     last_backup={"s3": {"label": "L1", "type": "incr", "finished": 1795710736.0,
                                                         "task": "t2"}}))
    rec = rt.clusters.find("demo", "c4")
    result = brq("show", "cluster", "c4")
    assert result.stdout == f"""\
cluster: c4
namespace: demo
storage type: local,s3
status: failed
message: stanza-create failed
created: {iso(rec.created)}
task: t0
last backup (local): none
last backup (s3): L1 (incr), finished 2026-11-26T16:32:16.000Z, task t2
"""


def test_show_cluster_json_is_the_apis_answer(brq, api, rt, clusters):
    body = json.loads(brq("show", "cluster", "-o", "json").stdout)
    assert [c["name"] for c in body["items"]] == ["both", "c1"]
    assert brq("show", "cluster", "-n", "other", token="admin").stdout == "no clusters\n"
