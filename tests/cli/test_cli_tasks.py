"""`brq show task [--wait]`, `brq show tasks` and `brq cancel`, with tasks moved through TaskStore as a worker would."""
from __future__ import annotations

import json
import threading
import time

from app.present import iso
from tasks.state.records import FAILURE, RUNNING, SUCCESS


def submit_backup(brq, cluster: str = "c1", opts: str = "--type=full --start-fast") -> str:
    return json.loads(brq("backup", cluster, f"--backup-opts={opts}", "-o", "json").stdout)["task_id"]


def succeed(rt, task_id: str) -> None:
    def change(r):
        r.state, r.phase, r.progress = SUCCESS, "done", None
        r.jobs = [f"backup-{task_id}-local"]
        r.steps = [{"repo": "local", "job": f"backup-{task_id}-local", "state": SUCCESS, "label": "20261126-163212F"}]
        r.result = {"type": "full", "repos": {"local": {"state": SUCCESS, "label": "20261126-163212F",
                                                        "exit_code": 0, "error": None}}}
    rt.tasks.update(task_id, change)


def test_show_task_prints_a_finished_backup_whole(brq, api, rt, clusters):
    task_id = submit_backup(brq)
    succeed(rt, task_id)
    rec = rt.tasks.get(task_id)
    result = brq("show", "task", task_id)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == f"""\
task: {task_id}
kind: backup
namespace: demo
cluster: c1
state: SUCCESS
phase: done
created: {iso(rec.created)}
started: -
finished: {iso(rec.finished)}
params:
    cluster_storage_type: local
    effective_options: --start-fast, --type=full
    options: --type=full, --start-fast
    repos: local
    type: full
jobs: backup-{task_id}-local
steps:
    local: SUCCESS 20261126-163212F (job backup-{task_id}-local)
result:
    local: SUCCESS 20261126-163212F
    type: full
"""


def test_show_task_prints_a_failure_with_what_to_do(brq, api, rt, clusters):
    task_id = submit_backup(brq)
    rt.tasks.update(task_id, lambda r: (setattr(r, "state", FAILURE), setattr(r, "phase", "done"), setattr(
        r, "error", {"code": 50, "name": "LockAcquireError", "message": "unable to acquire lock", "repo": "local",
                     "meaning": "another pgBackRest command holds the lock", "todo": "retry when it ended",
                     "action": "retry"})))
    out = brq("show", "task", task_id).stdout
    assert out.endswith("error: LockAcquireError (exit code 50): unable to acquire lock\n"
                        "    action: retry\n"
                        "    meaning: another pgBackRest command holds the lock\n"
                        "    repo: local\n"
                        "    what to do: retry when it ended\n")


def test_show_task_wait_shows_progress_lines_and_exits_0_on_success(brq, api, rt, clusters):
    task_id = submit_backup(brq)
    path = f"/api/v1/tasks/{task_id}"

    def worker():  # moves the task on after each poll the CLI makes, as a worker would between them
        api.wait_seen(path, 1)
        rt.tasks.update(task_id, lambda r: (setattr(r, "state", RUNNING), setattr(r, "phase", "backup to local"),
                                            setattr(r, "progress", {"percent": 40.0})))
        api.wait_seen(path, 2)
        succeed(rt, task_id)
    thread = threading.Thread(target=worker)
    thread.start()
    result = brq("show", "task", task_id, "--wait")
    thread.join()
    assert result.exit_code == 0
    assert result.stderr == "PENDING queued\nRUNNING backup to local 40%\nSUCCESS done\n"
    assert result.stdout.startswith(f"task: {task_id}\nkind: backup\n") and "state: SUCCESS\n" in result.stdout


def test_show_task_wait_exits_1_when_the_task_failed_and_json_keeps_stderr_quiet(brq, api, rt, clusters):
    task_id = submit_backup(brq)
    rt.tasks.update(task_id, lambda r: setattr(r, "state", FAILURE))
    result = brq("show", "task", task_id, "--wait", "-o", "json")
    assert (result.exit_code, result.stderr) == (1, "")
    assert json.loads(result.stdout)["state"] == "FAILURE"


def test_show_task_wait_gives_up_after_max_wait(brq, api, rt, clusters):
    task_id = submit_backup(brq)
    result = brq("show", "task", task_id, "--wait", "--max-wait=0")
    assert result.exit_code == 1
    assert result.stderr == (f"PENDING queued\nbrq: task {task_id} is still PENDING (queued) after 0 s\n"
                             f"brq: follow it with: brq show task {task_id} --wait\n")


def test_an_unknown_task_is_404(brq, api):
    result = brq("show", "task", "nope")
    assert (result.exit_code, result.stderr) == (1, "brq: error 404: task 'nope' not found\n")


def test_cancel_of_a_pending_task_is_accepted_and_recorded(brq, api, rt, clusters):
    task_id = submit_backup(brq)
    result = brq("cancel", task_id)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (f"cancel requested for task {task_id} (backup of demo/c1)\n"
                             f"task: {task_id}\n"
                             f"follow it with: brq show task {task_id} --wait\n")
    assert rt.tasks.get(task_id).cancel_requested


def test_cancel_of_a_finished_task_is_409(brq, api, rt, clusters):
    task_id = submit_backup(brq)
    succeed(rt, task_id)
    result = brq("cancel", task_id)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"brq: error 409: task '{task_id}' already finished (SUCCESS)\n"


def test_show_tasks_lists_the_namespaces_tasks_newest_first_filtered(brq, api, rt, clusters):
    first = submit_backup(brq, "c1")
    second = submit_backup(brq, "both")
    succeed(rt, first)
    rows = brq("show", "tasks").stdout.splitlines()
    assert rows[0].split() == ["TASK", "KIND", "CLUSTER", "STATE", "PHASE", "PROGRESS", "CREATED"]
    assert [row.split()[:5] for row in rows[2:]] == [[second, "backup", "both", "PENDING", "queued"],
                                                     [first, "backup", "c1", "SUCCESS", "done"]]
    only = brq("show", "tasks", "--state=success", "--cluster=c1").stdout.splitlines()
    assert [row.split()[0] for row in only[2:]] == [first]
    assert brq("show", "tasks", "--cluster=nothing").stdout == "no tasks\n"


def test_backup_wait_says_what_started_follows_it_and_exits_by_its_state(brq, api, rt, clusters):
    def worker():
        deadline = time.monotonic() + 10
        while not (found := rt.tasks.list("demo", kind="backup")):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        api.wait_seen(f"/api/v1/tasks/{found[0].id}")
        rt.tasks.update(found[0].id, lambda r: (setattr(r, "state", FAILURE), setattr(r, "phase", "done")))
    thread = threading.Thread(target=worker)
    thread.start()
    result = brq("backup", "c1", "--backup-opts=--type=full", "--wait")
    thread.join()
    task_id = rt.tasks.list("demo")[0].id
    assert result.exit_code == 1
    assert result.stderr == (f"backup of cluster c1 in namespace demo submitted: type full, storage type local\n"
                             f"task: {task_id}\nPENDING queued\nFAILURE done\n")
    assert "state: FAILURE\n" in result.stdout
