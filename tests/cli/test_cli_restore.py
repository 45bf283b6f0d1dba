"""`brq restore` (PGO v4's flags mapped onto the request, the preview and the prompt, a refused preflight, --wait,
--dry-run) and `brq resume`, against the served API; the worker's part is played by threads writing the records."""
from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime, timezone
from typing import Callable

import pytest

from tasks.pgbackrest.info import parse_info
from tasks.pgbackrest.preflight import check
from tasks.state.records import FAILURE, RUNNING, SUCCESS, TaskRecord, new_id

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "unit", "pgbackrest", "fixtures")
with open(os.path.join(FIXTURES, "preflight_info.json")) as _f:
    INFO = parse_info(_f.read())  # repo1 (local): a full, an incr, a diff; repo2 (s3): a full and an incr
WAL_TIME = datetime(2026, 11, 26, 17, 27, 31, tzinfo=timezone.utc)
FULL, DIFF = "20261126-172712F", "20261126-172712F_20261126-172725D"
RESTORES = "/api/v1/namespaces/demo/clusters/{}/restores"
PROMPT = ("WARNING: restoring cluster {} deletes its primary and replaces its data (the old volume is kept). "
          "Proceed? (yes/no): ")


def preview_of(repo: int, **request) -> dict:
    """The preview task's result as the worker writes it (tasks/restore.py `preview`) for the fixture's catalogue."""
    return check(INFO, repo, wal_max_time=WAL_TIME, **request).to_json()


def worker(api, rt, kind: str, *changes: Callable, after_a_poll: bool = False) -> threading.Thread:
    """A worker in a thread: once the API made the task of `kind`, apply `changes` to its record in turn, each
    after one more poll of the task by the CLI (the first at once, unless `after_a_poll`)."""
    def work():
        deadline = time.monotonic() + 10
        while not (found := rt.tasks.list("demo", kind=kind)):
            assert time.monotonic() < deadline, f"no {kind} task was made"
            time.sleep(0.01)
        task_id = found[0].id
        for polls, change in enumerate(changes, start=1 if after_a_poll else 0):
            if polls:
                api.wait_seen(f"/api/v1/tasks/{task_id}", polls)
            rt.tasks.update(task_id, change)
    thread = threading.Thread(target=work)
    thread.start()
    return thread


def previewed(result: dict) -> Callable:
    return lambda r: (setattr(r, "state", SUCCESS), setattr(r, "phase", "done"), setattr(r, "result", result))


def preflight_passed(backup_set: str = DIFF) -> Callable:
    def change(r):
        r.state, r.phase = RUNNING, "pause-schedules"
        r.steps = [{"step": "preflight", "state": SUCCESS, "finished": time.time(), "backup_set": backup_set}]
    return change


def preflight_refused(reasons: list[dict]) -> Callable:
    def change(r):
        r.state = FAILURE
        r.error = {"code": None, "name": "PreflightFailed", "field": reasons[0]["field"],
                   "message": reasons[0]["message"], "reasons": reasons,
                   "action": "fix the request; nothing was changed"}
    return change


def only(rt, kind: str) -> TaskRecord:
    (task,) = rt.tasks.list("demo", kind=kind)
    return task


# -- what the API receives ---------------------------------------------------------------------------------------------

DEFAULTS = {"storage_type": "local", "target": {"type": "latest", "value": None}, "set": None,
            "target_action": "promote", "node_label": None, "options": [], "backup_after": False}


@pytest.mark.parametrize("flags, expected", [
    ([], {}),
    (["--pgbackrest-storage-type=s3", "--pitr-target=2026-11-26 10:00:00+00", "--backup-opts=--type=time"],
     {"storage_type": "s3", "target": {"type": "time", "value": "2026-11-26 10:00:00+00"}}),
    ([f"--backup-opts=--type=immediate --set={FULL} --delta"],
     {"target": {"type": "immediate", "value": None}, "set": FULL, "options": ["--delta"]}),
    (["--backup-opts=--type=xid --target-action=pause --db-include=app", "--pitr-target=1234",
      "--node-label=zone=a", "--backup-after"],
     {"target": {"type": "xid", "value": "1234"}, "target_action": "pause", "options": ["--db-include=app"],
      "node_label": "zone=a", "backup_after": True}),
    (["--backup-opts=--type=lsn --target=0/3000028 --target-timeline=current"],
     {"target": {"type": "lsn", "value": "0/3000028"}, "options": ["--target-timeline=current"]}),
    (["--backup-opts=--type=default --delta"], {"options": ["--delta"]}),
    (["--backup-opts=--type=name", "--pitr-target=before-upgrade", "--pgbackrest-storage-type=local"],
     {"target": {"type": "name", "value": "before-upgrade"}}),
], ids=["nothing", "pgo-pitr-s3", "immediate-set", "xid-pause-label-after", "lsn-target-in-opts", "default", "name"])
def test_pgo_flags_reach_the_restore_task_as_its_fields(brq, api, rt, clusters, flags, expected):
    # --timeout=1.1: the API holds the request 0.1 s for the preflight, which no worker runs here
    result = brq("--timeout=1.1", "restore", "both", "--no-prompt", *flags, token="admin")
    task = only(rt, "restore")
    assert (result.exit_code, result.stderr) == (0, "")
    assert api.get(f"/api/v1/tasks/{task.id}")["params"] == {**DEFAULTS, **expected}
    assert result.stdout.splitlines()[1:] == [f"task: {task.id}", f"follow it with: brq show task {task.id} --wait"]
    assert not [p for p in api.seen if p.endswith("/preview")]  # --no-prompt: no preview asked


def test_the_started_line_says_what_the_api_took(brq, api, rt, clusters):
    result = brq("--timeout=1.1", "restore", "c1", "--no-prompt", "--pitr-target=2026-11-26 10:00:00+00",
                 "--backup-opts=--type=time --target-action=pause", token="admin")
    assert result.stdout.splitlines()[0] == ("restore of cluster c1 in namespace demo started: storage type local, "
                                             "target time 2026-11-26 10:00:00+00, then pause")


@pytest.mark.parametrize("flags, message", [
    (["--backup-opts=--type=time"],
     "--type=time in --backup-opts needs --pitr-target: a time with its zone, e.g. "
     "--pitr-target='2026-11-26 10:00:00+00'"),
    (["--backup-opts=--type=lsn --delta"], "--type=lsn in --backup-opts needs --pitr-target: an LSN"),
    (["--pitr-target=2026-11-26 10:00:00+00"],
     "--pitr-target needs a target type: add --type=time (or name, xid, lsn) to --backup-opts"),
    (["--pitr-target=x", "--backup-opts=--type=immediate"], "--type=immediate takes no --pitr-target"),
    (["--backup-opts=--type=preserve"], "--type=preserve is not a restore target type here"),
    (["--backup-opts=--type=time --type=xid", "--pitr-target=1"], "--type has 2 different values (time, xid)"),
    (["--backup-opts=--type time", "--pitr-target=1"], "write --type=VALUE, in one word"),
    (["--backup-opts=--type=xid --target=2", "--pitr-target=1"], "--pitr-target='1' and --target='2' in --backup-opts"
                                                                 " differ"),
], ids=["time-without-target", "lsn-without-target", "target-without-type", "immediate-with-target", "preserve",
        "two-types", "split-type", "two-targets"])
def test_what_the_cli_can_tell_is_a_usage_error_before_any_request(brq, api, rt, clusters, flags, message):
    result = brq("restore", "c1", *flags, token="admin")
    assert result.exit_code == 2 and message in " ".join(result.stderr.split())
    assert api.seen == [] and rt.tasks.list("demo") == []


# -- the preview and the prompt ----------------------------------------------------------------------------------------

TIME_PREVIEW_TEXT = """\
cluster: c1
namespace: demo
storage type: local (repo1)
target: time 2026-11-26 17:27:20.000000+00, then promote
backup set: 20261126-172712F (full, ended 2026-11-26 17:27:15+00:00)
recovery window: after 2026-11-26 17:27:15+00:00 (end of the oldest backup) to 2026-11-26 17:27:31+00:00 \
(newest WAL 00000001000000000000000C archived)
checked when the restore is sent: options --delta
restorable: yes
"""


@pytest.mark.parametrize("answer", ["no\n", "\n", "yess\n", "n\n", ""], ids=["no", "empty", "typo", "n", "eof"])
def test_anything_but_yes_cancels_and_sends_nothing(brq, api, rt, clusters, answer):
    thread = worker(api, rt, "restore-preview", previewed(preview_of(1, target_type="time",
                                                                     target_value="2026-11-26 17:27:20+00")))
    result = brq("restore", "c1", "--pitr-target=2026-11-26 17:27:20+00", "--backup-opts=--type=time --delta",
                 token="admin", input=answer)
    thread.join()
    assert (result.exit_code, result.stdout) == (1, "")
    cancelled = "brq: restore cancelled\n" if answer else \
        "brq: restore cancelled (no answer; --no-prompt restores without asking)\n"
    assert result.stderr == TIME_PREVIEW_TEXT + PROMPT.format("c1") + (answer or "\n") + cancelled
    assert rt.tasks.list("demo", kind="restore") == [] and RESTORES.format("c1") not in api.seen
    preview = only(rt, "restore-preview")
    assert preview.params == {"storage_type": "local", "target": {"type": "time", "value": "2026-11-26 17:27:20+00"},
                              "set": None, "target_action": "promote", "options": []}


@pytest.mark.parametrize("answer", ["yes", "y", "YES"])
def test_yes_shows_the_preview_then_starts_the_restore(brq, api, rt, clusters, answer):
    previewing = worker(api, rt, "restore-preview", previewed(preview_of(2)))
    restoring = worker(api, rt, "restore", preflight_passed())
    result = brq("restore", "both", "--pgbackrest-storage-type=s3", token="admin", input=answer + "\n")
    previewing.join()
    restoring.join()
    task = only(rt, "restore")
    assert (result.exit_code, result.stderr) == (0, """\
cluster: both
namespace: demo
storage type: s3 (repo2)
target: latest (the end of the archived WAL)
backup set: 20261126-172721F_20261126-172728I (incr, ended 2026-11-26 17:27:29+00:00)
recovery window: after 2026-11-26 17:27:23+00:00 (end of the oldest backup) to 2026-11-26 17:27:31+00:00 \
(newest WAL 00000001000000000000000C archived)
restorable: yes
""" + PROMPT.format("both") + answer + "\n")
    assert result.stdout == (f"restore of cluster both in namespace demo started: storage type s3, "
                             f"target latest (the end of the archived WAL)\n"
                             f"task: {task.id}\nfollow it with: brq show task {task.id} --wait\n")
    assert task.params["storage_type"] == "s3" and task.phase == "pause-schedules"


def test_a_preview_the_api_did_not_decide_in_time_is_followed(brq, api, rt, clusters):
    thread = worker(api, rt, "restore-preview", previewed(preview_of(1, target_type="time",
                                                                     target_value="2026-11-26 17:27:20+00")),
                    after_a_poll=True)
    result = brq("--timeout=1.5", "restore", "c1", "--pitr-target=2026-11-26 17:27:20+00",
                 "--backup-opts=--type=time --delta", token="admin", input="no\n")
    thread.join()
    assert result.stderr.startswith(TIME_PREVIEW_TEXT + PROMPT.format("c1"))
    assert f"/api/v1/tasks/{only(rt, 'restore-preview').id}" in api.seen


def test_a_refusing_preview_is_shown_with_its_reasons_and_nothing_is_asked(brq, api, rt, clusters):
    thread = worker(api, rt, "restore-preview", previewed(preview_of(2, target_type="time",
                                                                     target_value="2026-11-26 17:00:00+00",
                                                                     set=DIFF)))
    result = brq("restore", "both", "--pgbackrest-storage-type=s3", "--pitr-target=2026-11-26 17:00:00+00",
                 f"--backup-opts=--type=time --set={DIFF}", token="admin", input="yes\n")
    thread.join()
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"""\
cluster: both
namespace: demo
storage type: s3 (repo2)
target: time 2026-11-26 17:00:00.000000+00, then promote
backup set: none
recovery window: after 2026-11-26 17:27:23+00:00 (end of the oldest backup) to 2026-11-26 17:27:31+00:00 \
(newest WAL 00000001000000000000000C archived)
restorable: no
reasons:
    set: backup set {DIFF} is not in repo2 (s3); it is in repo1 (local): restore from there; its sets: \
20261126-172721F_20261126-172728I, 20261126-172721F
brq: cluster both cannot be restored as asked, for the reasons above: nothing was started
"""
    assert rt.tasks.list("demo", kind="restore") == []
    assert only(rt, "restore-preview").params["set"] == DIFF


def test_dry_run_prints_the_preview_and_exits_by_it(brq, api, rt, clusters):
    thread = worker(api, rt, "restore-preview", previewed(preview_of(1, target_type="time",
                                                                     target_value="2026-11-26 17:27:20+00")))
    result = brq("restore", "c1", "--pitr-target=2026-11-26 17:27:20+00", "--backup-opts=--type=time --delta",
                 "--dry-run")
    thread.join()
    assert (result.exit_code, result.stdout, result.stderr) == (0, TIME_PREVIEW_TEXT, "")
    assert rt.tasks.list("demo", kind="restore") == []  # the operator token may preview: ShowBackup


def test_dry_run_json_is_the_apis_answer_and_a_refusal_exits_1(brq, api, rt, clusters):
    thread = worker(api, rt, "restore-preview", previewed(preview_of(1, target_type="time",
                                                                     target_value="2026-11-26 18:00:00+00")))
    result = brq("restore", "c1", "--pitr-target=2026-11-26 18:00:00+00", "--backup-opts=--type=time",
                 "--dry-run", "-o", "json")
    thread.join()
    body = json.loads(result.stdout)
    assert (result.exit_code, body["ok"], body["cluster"], body["task_id"]) == (1, False, "c1",
                                                                               only(rt, "restore-preview").id)
    assert [r["code"] for r in body["reasons"]] == ["target-after-window"]


def test_a_failed_preview_says_why(brq, api, rt, clusters):
    error = {"code": None, "name": "Unavailable", "message": "pgbackrest info failed (49): unable to connect"}
    thread = worker(api, rt, "restore-preview",
                    lambda r: (setattr(r, "state", FAILURE), setattr(r, "error", error)))
    result = brq("restore", "c1", token="admin")
    thread.join()
    task_id = only(rt, "restore-preview").id
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (f"brq: error 502: the preview failed: pgbackrest info failed (49): unable to connect\n"
                             f"brq: see the task with: brq show task {task_id}\n")


# -- the API's refusals ------------------------------------------------------------------------------------------------

def test_a_refused_preflight_is_its_422_with_every_reason(brq, api, rt, clusters):
    reasons = (preview_of(1, target_type="time", target_value="2026-11-26 17:00:00+00")["reasons"]
               + preview_of(1, target_type="immediate", set="20261126-999999F")["reasons"])
    thread = worker(api, rt, "restore", preflight_refused(reasons))
    result = brq("restore", "c1", "--no-prompt", "--pitr-target=2026-11-26 17:00:00+00",
                 "--backup-opts=--type=time --set=20261126-999999F", token="admin")
    thread.join()
    task = only(rt, "restore")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "brq: error 422 (target.value): target time 2026-11-26 17:00:00+00 is before the recovery window of repo1 "
        "(local), which starts after 2026-11-26 17:27:15+00, the end of its oldest backup (20261126-172712F): "
        "pgBackRest restores a time from a backup that ended in an earlier second, so the earliest target is "
        "2026-11-26 17:27:16+00\n"
        "brq:   set: backup set 20261126-999999F is not in repo1 (local); its sets: 20261126-172712F_20261126-172725D, "
        "20261126-172712F_20261126-172719I, 20261126-172712F\n"
        f"brq: see the task with: brq show task {task.id}\n")


def test_a_preflight_refused_because_a_backup_runs_is_409_and_points_at_the_restore(brq, api, rt, clusters):
    reason = {"code": "backup-running", "field": None, "message": "a backup or expire of this cluster is running "
              "(pgBackRest holds the stanza's backup lock): restore when it has ended"}
    thread = worker(api, rt, "restore", preflight_refused([reason]))
    result = brq("restore", "c1", "--no-prompt", token="admin")
    thread.join()
    assert result.exit_code == 1
    assert result.stderr == (f"brq: error 409: {reason['message']}\n"
                             f"brq: see the task with: brq show task {only(rt, 'restore').id}\n")


def test_local_s3_is_refused_by_the_preview_before_any_question(brq, api, rt, clusters):
    result = brq("restore", "both", "--pgbackrest-storage-type=local,s3", token="admin", input="yes\n")
    assert (result.exit_code, result.stderr) == (
        1, "brq: error 400 (storage_type): a restore reads one repository: storage_type must be local or s3\n")
    assert rt.tasks.list("demo") == []


def test_a_token_without_the_restore_role_is_403(brq, api, rt, clusters):
    result = brq("restore", "c1", "--no-prompt")
    assert (result.exit_code, result.stderr) == (1, "brq: error 403: token 'operator' lacks the Restore role\n")


# -- --wait ------------------------------------------------------------------------------------------------------------

def _restored(paused: bool, backup_task: str | None) -> Callable:
    def change(r):
        r.state, r.phase = SUCCESS, "done"
        r.result = {"storage_type": "local", "backup_set": FULL, "target": r.params["target"],
                    "target_action": r.params["target_action"], "paused": paused, "old_pvc": "c1",
                    "new_pvc": f"c1-pgdata-{r.id[:8]}", "backup_task": backup_task}
    return change


def _at(phase: str) -> Callable:
    return lambda r: (setattr(r, "phase", phase), r.steps.append({"step": "new-pvc", "state": SUCCESS,
                                                                  "pvc": f"c1-pgdata-{r.id[:8]}", "old_pvc": "c1"}))


def test_wait_shows_each_step_and_on_success_the_volumes_the_set_and_how_to_resume(brq, api, rt, clusters):
    thread = worker(api, rt, "restore", preflight_passed(FULL), _at("restore-job"), _restored(True, "b-123"))
    result = brq("restore", "c1", "--no-prompt", "--wait", "--pitr-target=2026-11-26 17:27:20+00",
                 "--backup-opts=--type=time --target-action=pause", "--backup-after", token="admin")
    thread.join()
    task_id = only(rt, "restore").id
    assert result.exit_code == 0
    assert result.stderr == (f"restore of cluster c1 in namespace demo started: storage type local, "
                             f"target time 2026-11-26 17:27:20+00, then pause\ntask: {task_id}\n"
                             f"RUNNING pause-schedules\nRUNNING restore-job\nSUCCESS done\n")
    assert result.stdout == f"""\
restore of cluster c1 in namespace demo: SUCCESS
task: {task_id}
storage type: local
backup set: {FULL}
target: time 2026-11-26 17:27:20+00, then pause
new PVC: c1-pgdata-{task_id[:8]}
old PVC: c1 (kept: delete it once it is no longer needed)
WAL replay: paused at the target: check the data, then resume it with: brq resume c1 {task_id} -n demo
backup after: task b-123 (follow it with: brq show task b-123 --wait)
"""


def test_wait_after_a_promoted_restore_without_a_backup_suggests_one(brq, api, rt, clusters):
    thread = worker(api, rt, "restore", preflight_passed(FULL), _restored(False, None))
    result = brq("restore", "c1", "--no-prompt", "--wait", token="admin")
    thread.join()
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-2:] == [
        "WAL replay: finished, the primary promoted",
        "backup after: none (pgBackRest advises one: brq backup c1 -n demo --backup-opts=--type=full)"]


def test_wait_on_a_failed_restore_prints_the_task_with_its_steps_and_exits_1(brq, api, rt, clusters):
    error = {"code": 31, "name": "OptionInvalidError", "message": "invalid --db-include", "action": "then POST the "
             "restore again: it resumes where this one stopped. The old data is kept on PVC c1"}
    thread = worker(api, rt, "restore", preflight_passed(FULL),
                    lambda r: (setattr(r, "state", FAILURE), setattr(r, "phase", "restore-job"),
                               setattr(r, "error", error)))
    result = brq("restore", "c1", "--no-prompt", "--wait", "--backup-opts=--db-include=nope", token="admin")
    thread.join()
    assert result.exit_code == 1
    assert result.stderr.endswith("RUNNING pause-schedules\nFAILURE restore-job\n")
    assert "steps:\n    preflight: SUCCESS (backup_set 20261126-172712F)\n" in result.stdout
    assert result.stdout.endswith("error: OptionInvalidError (exit code 31): invalid --db-include\n"
                                  "    action: then POST the restore again: it resumes where this one stopped. The old "
                                  "data is kept on PVC c1\n")


def test_show_task_lists_a_refused_preflights_reasons_one_a_line(brq, api, rt, clusters):
    reasons = preview_of(1, target_type="immediate", set="20261126-999999F")["reasons"]
    thread = worker(api, rt, "restore", preflight_refused(reasons))
    brq("restore", "c1", "--no-prompt", token="admin")
    thread.join()
    out = brq("show", "task", only(rt, "restore").id).stdout
    assert out.endswith("    action: fix the request; nothing was changed\n"
                        "    field: set\n"
                        "    reasons:\n"
                        "        set: backup set 20261126-999999F is not in repo1 (local); its sets: "
                        "20261126-172712F_20261126-172725D, 20261126-172712F_20261126-172719I, 20261126-172712F\n")


# -- resume ------------------------------------------------------------------------------------------------------------

def _finished_restore(rt, paused: bool) -> str:
    rec = TaskRecord(id=new_id(), kind="restore", namespace="demo", cluster="c1", state=SUCCESS, phase="done",
                     params={"storage_type": "local", "target": {"type": "time", "value": "2026-11-26 17:27:20+00"},
                             "target_action": "pause" if paused else "promote"},
                     result={"paused": paused, "old_pvc": "c1", "new_pvc": "c1-pgdata-x", "backup_task": None})
    rt.tasks.create(rec, lock=False)
    return rec.id


def test_resume_starts_the_resume_of_a_paused_restore(brq, api, rt, clusters):
    restore_id = _finished_restore(rt, paused=True)
    result = brq("resume", "c1", restore_id, token="admin")
    task = only(rt, "resume")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (f"resume of WAL replay requested for cluster c1 in namespace demo (restore {restore_id})\n"
                             f"task: {task.id}\nfollow it with: brq show task {task.id} --wait\n")
    assert (task.cluster, task.params) == ("c1", {"restore": restore_id})


def test_resume_of_a_restore_that_did_not_pause_is_409(brq, api, rt, clusters):
    restore_id = _finished_restore(rt, paused=False)
    result = brq("resume", "c1", restore_id, token="admin")
    assert (result.exit_code, result.stderr) == (
        1, f"brq: error 409: restore {restore_id!r} did not leave the primary paused\n")


def test_resume_of_another_clusters_restore_is_404(brq, api, rt, clusters):
    restore_id = _finished_restore(rt, paused=True)
    result = brq("resume", "both", restore_id, token="admin")
    assert (result.exit_code, result.stderr) == (
        1, f"brq: error 404: restore {restore_id!r} of cluster 'both' not found\n")
