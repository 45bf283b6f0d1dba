"""`brq show backup`: the API's 200, its 202 followed to the end, a failed info, and PGO v4's text layout."""
from __future__ import annotations

import json
import os
import threading
import time

import yaml

from cli.catalogue import catalogue_text, size
from tasks.pgbackrest.info import parse_info
from tasks.state.records import FAILURE, SUCCESS

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "unit", "pgbackrest", "fixtures")

TWO_REPOS_TEXT = """\
cluster: both
storage type: local

stanza: db
    status: ok
    recovery window: 2026-11-26 16:32:16+00:00 (end of the oldest backup) to WAL 000000010000000000000009

    db (current)
        wal archive min/max (15-1): 000000010000000000000001/000000010000000000000009

        full backup: 20261126-163212F
            timestamp start/stop: 2026-11-26 16:32:12+00:00 / 2026-11-26 16:32:16+00:00
            wal start/stop: 000000010000000000000003 / 000000010000000000000003
            database size: 22.1MiB, backup size: 22.1MiB
            repository size: 2.7MiB, repository backup size: 2.7MiB
            backup reference list:
            annotations: kind=first, source=fixture

        incr backup: 20261126-163212F_20261126-163217I
            timestamp start/stop: 2026-11-26 16:32:17+00:00 / 2026-11-26 16:32:19+00:00
            wal start/stop: 000000010000000000000005 / 000000010000000000000005
            database size: 22.1MiB, backup size: 656.3KiB
            repository size: 2.7MiB, repository backup size: 43.7KiB
            backup reference list: 20261126-163212F

        diff backup: 20261126-163212F_20261126-163225D
            timestamp start/stop: 2026-11-26 16:32:25+00:00 / 2026-11-26 16:32:26+00:00
            wal start/stop: 000000010000000000000009 / 000000010000000000000009
            database size: 22.1MiB, backup size: 656.3KiB
            repository size: 2.7MiB, repository backup size: 43.8KiB
            backup reference list: 20261126-163212F

cluster: both
storage type: s3

stanza: db
    status: ok
    recovery window: 2026-11-26 16:32:24+00:00 (end of the oldest backup) to WAL 000000010000000000000009

    db (current)
        wal archive min/max (15-1): 000000010000000000000001/000000010000000000000009

        full backup: 20261126-163220F
            timestamp start/stop: 2026-11-26 16:32:20+00:00 / 2026-11-26 16:32:24+00:00
            wal start/stop: 000000010000000000000006 / 000000010000000000000007
            database size: 22.1MiB, backup size: 22.1MiB
            repository size: 2.7MiB, repository backup size: 2.7MiB
            backup reference list:
"""


def info_result(fixture: str, repos: dict[str, int]) -> dict:
    """The info task's result as the worker writes it (tasks/steps.py `run_info`) for a pgBackRest JSON fixture."""
    with open(os.path.join(FIXTURES, fixture)) as f:
        catalogue = parse_info(f.read())
    by_repo = {r.repo: r for r in catalogue.repos}
    return {"format": "json", "stanza": catalogue.stanza,
            "status": {"code": catalogue.status_code, "message": catalogue.status_message},
            "backup_lock": catalogue.lock.to_json(),
            "repos": {name: (by_repo[n].to_json() if n in by_repo else None) for name, n in repos.items()}}


def finish_info(api, rt, *, result=None, error=None, after_a_poll: bool = False) -> threading.Thread:
    """A worker in a thread: once the API made the info task (and, if asked, the CLI polled it), end it."""
    def work():
        deadline = time.monotonic() + 10
        while not (found := rt.tasks.list("demo", kind="info")):
            assert time.monotonic() < deadline, "no info task was made"
            time.sleep(0.01)
        task_id = found[0].id
        if after_a_poll:
            api.wait_seen(f"/api/v1/tasks/{task_id}")
        rt.tasks.update(task_id, lambda r: (setattr(r, "state", FAILURE if error else SUCCESS),
                                            setattr(r, "phase", "done"), setattr(r, "result", result),
                                            setattr(r, "error", error)))
    thread = threading.Thread(target=work)
    thread.start()
    return thread


def test_the_text_layout_is_pgo_v4s_per_repo_with_the_recovery_window():
    assert catalogue_text({"cluster": "both", **info_result("info_two_repos.json", {"local": 1, "s3": 2})}) + "\n" \
        == TWO_REPOS_TEXT


def test_sizes_are_written_as_pgo_v4_wrote_them():
    assert [size(n) for n in (0, 1000, 1001, 23222071, 44792, 3 * 1024**4)] == \
        ["0.0B", "1000.0B", "1.0KiB", "22.1MiB", "43.7KiB", "3.0TiB"]


def test_a_repo_pgbackrest_cannot_read_shows_the_error_and_what_to_do():
    text = catalogue_text({"cluster": "both", **info_result("info_repo_error.json", {"local": 1, "s3": 2})})
    assert text.splitlines()[4:8] == [
        "    status: error",
        "    error: CryptoError: unable to verify certificate presented by 'demo-backrest-shared-repo.fixture.svc:"
        "59409': [19] self-signed certificate in certificate chain",
        "    what to do: check the CA and certs", ""]
    assert text.endswith("stanza: db\n    status: no information (pgBackRest said nothing about this repository)")


def test_a_running_backup_shows_in_the_status_line_as_pgbackrest_words_it():
    text = catalogue_text({"cluster": "both", **info_result("info_backup_running.json", {"local": 1})})
    assert "\n    status: ok (backup/expire running)\n" in text


def test_show_backup_prints_the_catalogue_the_api_answered_at_once(brq, api, rt, clusters):
    thread = finish_info(api, rt, result=info_result("info_two_repos.json", {"local": 1, "s3": 2}))
    result = brq("show", "backup", "both")
    thread.join()
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == TWO_REPOS_TEXT
    assert not [p for p in api.seen if p.startswith("/api/v1/tasks/")]  # a 200: nothing to poll


def test_show_backup_follows_the_info_task_when_the_api_answers_202(brq, api, rt, clusters):
    thread = finish_info(api, rt, result=info_result("info_two_repos.json", {"s3": 2}), after_a_poll=True)
    result = brq("--timeout=1.5", "show", "backup", "both", "--pgbackrest-storage-type=s3", "-o", "json")
    thread.join()
    assert (result.exit_code, result.stderr) == (0, "")
    body = json.loads(result.stdout)
    (task,) = rt.tasks.list("demo", kind="info")
    assert (body["cluster"], body["namespace"], body["task_id"], list(body["repos"])) == ("both", "demo", task.id,
                                                                                        ["s3"])
    assert task.params == {"repos": ["s3"], "format": "json"}
    assert [b["label"] for b in body["repos"]["s3"]["backups"]] == ["20261126-163220F"]


def test_show_backup_yaml_is_the_same_answer_as_json(brq, api, rt, clusters):
    thread = finish_info(api, rt, result=info_result("info_repo1.json", {"local": 1}))
    result = brq("show", "backup", "c1", "-o", "yaml")
    thread.join()
    body = yaml.safe_load(result.stdout)
    assert (body["cluster"], list(body["repos"]), body["format"]) == ("c1", ["local"], "json")


def test_show_backup_o_pgbackrest_prints_pgbackrests_own_text(brq, api, rt, clusters):
    with open(os.path.join(FIXTURES, "info_two_repos.txt")) as f:
        text = f.read()
    thread = finish_info(api, rt, result={"format": "text", "text": text})
    result = brq("show", "backup", "both", "-o", "pgbackrest")
    thread.join()
    assert (result.exit_code, result.stdout) == (0, text.rstrip("\n") + "\n")
    assert rt.tasks.list("demo", kind="info")[0].params["format"] == "text"


def test_a_failed_info_after_a_202_says_why_and_exits_1(brq, api, rt, clusters):
    thread = finish_info(api, rt, error={"code": 49, "name": "HostConnectError", "message": "unable to connect"},
                         after_a_poll=True)
    result = brq("--timeout=1", "show", "backup", "c1")
    thread.join()
    task_id = rt.tasks.list("demo", kind="info")[0].id
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (f"brq: pgbackrest info failed: unable to connect\n"
                             f"brq: see the task with: brq show task {task_id}\n")


def test_a_failed_info_within_the_apis_wait_is_its_502(brq, api, rt, clusters):
    thread = finish_info(api, rt, error={"code": 49, "name": "HostConnectError", "message": "unable to connect"})
    result = brq("show", "backup", "c1")
    thread.join()
    task_id = rt.tasks.list("demo", kind="info")[0].id
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (f"brq: error 502: pgbackrest info failed: unable to connect\n"
                             f"brq: see the task with: brq show task {task_id}\n")
