"""`brq create|show|delete|pause|resume schedule` against the real API on a real Redis (PGO v4's flags)."""
from __future__ import annotations

import json

import pytest

from tasks.schedules.firing import fire
from tasks.schedules.store import ScheduleStore

PGO = ["--schedule=0 1 * * *", "--schedule-type=pgbackrest", "--pgbackrest-backup-type=full"]


@pytest.fixture
def admin(brq, clusters):
    return lambda *args: brq(*args, token="admin")


def test_pgo_v4s_create_schedule_names_the_schedule_after_the_cluster_and_type(admin, rt):
    result = admin("create", "schedule", "both", *PGO, "--pgbackrest-storage-type=s3", "--schedule-opts=--start-fast")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("created schedule both-pgbackrest-full for cluster both in namespace demo\n"
                                    "cron: 0 1 * * * (UTC), next run: ")
    s = ScheduleStore(rt.redis).get("demo", "both-pgbackrest-full")
    assert (s.cluster, s.cron, s.backup_type, s.storage_type, s.options) == ("both", "0 1 * * *", "full", "s3",
                                                                           ["--start-fast"])


def test_with_cluster_the_argument_is_the_schedules_name_and_six_fields_work(admin, rt):
    result = admin("create", "schedule", "every-ten", "--cluster=c1", "--schedule=*/10 * * * * *",
                   "--pgbackrest-backup-type=incr", "--timezone=Europe/Paris", "--paused", "-o", "json")
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert (body["name"], body["cluster"], body["schedule"], body["paused"]) == ("every-ten", "c1",
                                                                                "*/10 * * * * *", True)


@pytest.mark.parametrize("args, words, code", [
    (["--schedule=0 25 * * *", "--pgbackrest-backup-type=full"], "error 422 (schedule): the hour field", 1),
    ([*PGO, "--pgbackrest-storage-type=s3"], "error 422 (storage_type): storage type s3 is not one of", 1),
    ([*PGO, "--schedule-opts=--repo1-path=/x"], "error 422 (options[0])", 1),
    (["--schedule=0 1 * * *", "--schedule-type=policy", "--pgbackrest-backup-type=full"], "pgBackRest backups only",
     2),
    (["--schedule=0 1 * * *"], "Missing option '--pgbackrest-backup-type'", 2),
])
def test_refusals_say_which_field_and_why(admin, rt, args, words, code):
    result = admin("create", "schedule", "c1", *args)
    assert result.exit_code == code and words in result.stderr, result.stderr
    assert ScheduleStore(rt.redis).list("demo") == []


def test_create_for_an_unknown_cluster_and_a_duplicate_are_refused(admin):
    assert "error 404 (cluster): cluster 'nope' not found" in admin("create", "schedule", "nope", *PGO).stderr
    admin("create", "schedule", "c1", *PGO)
    result = admin("create", "schedule", "c1", *PGO)
    assert result.exit_code == 1 and "error 409 (name): schedule 'c1-pgbackrest-full' already exists" in result.stderr


def test_show_schedule_lists_one_and_a_clusters_schedules(admin, rt):
    admin("create", "schedule", "c1", *PGO)
    admin("create", "schedule", "hourly", "--cluster=both", "--schedule=@hourly", "--pgbackrest-backup-type=incr")
    listing = admin("show", "schedule")
    assert listing.exit_code == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["SCHEDULE", "CLUSTER", "CRON", "TZ", "TYPE", "STORAGE", "PAUSED", "NEXT", "RUN",
                                "LAST", "RUN"]
    assert [line.split()[0] for line in lines[2:]] == ["c1-pgbackrest-full", "hourly"]
    assert [line.split()[0] for line in admin("show", "schedule", "--selector=name=both").stdout.splitlines()[2:]] \
        == ["hourly"]
    # PGO v4: `show schedule CLUSTER` lists the cluster's schedules when no schedule has that name
    assert [line.split()[0] for line in admin("show", "schedule", "both").stdout.splitlines()[2:]] == ["hourly"]
    assert "no schedule 'zzz'" in admin("show", "schedule", "zzz").stderr
    assert "only name=<cluster>" in admin("show", "schedule", "--selector=env=test").stderr


def test_show_one_schedule_has_its_runs_and_skips(admin, rt):
    admin("create", "schedule", "c1", *PGO)
    store = ScheduleStore(rt.redis)
    s = store.get("demo", "c1-pgbackrest-full")
    slot = 1_900_000_000
    ran = fire(tasks=rt.tasks, clusters=rt.clusters, schedules=store, send=lambda *a: None, namespace="demo",
               name=s.name, uid=s.uid, slot=slot, now=slot + 1)
    fire(tasks=rt.tasks, clusters=rt.clusters, schedules=store, send=lambda *a: None, namespace="demo",
         name=s.name, uid=s.uid, slot=slot + 86400, now=slot + 86401)
    out = admin("show", "schedule", "c1-pgbackrest-full").stdout
    assert "cron: 0 1 * * * (UTC)\n" in out and "paused: no\n" in out
    assert f"last task: {ran.task_id} PENDING\n" in out
    assert "runs: 1, skipped: 1 (busy 1)\n" in out
    assert "2030-03-18T17:46:40.000Z  skipped" in out and f"backup {ran.task_id} was running" in out
    assert f"2030-03-17T17:46:40.000Z  run      {ran.task_id}  PENDING" in out


def test_pause_resume_and_delete(admin, rt):
    admin("create", "schedule", "c1", *PGO)
    assert admin("pause", "schedule", "c1-pgbackrest-full").stdout == \
        "schedule c1-pgbackrest-full paused; next run: -\n"
    assert ScheduleStore(rt.redis).get("demo", "c1-pgbackrest-full").paused
    resumed = admin("resume", "schedule", "c1-pgbackrest-full")
    assert resumed.exit_code == 0 and resumed.stdout.startswith("schedule c1-pgbackrest-full resumed; next run: 20")
    assert admin("delete", "schedule", "c1-pgbackrest-full").stdout == \
        "deleted schedule c1-pgbackrest-full in namespace demo\n"
    assert ScheduleStore(rt.redis).list("demo") == []
    gone = admin("delete", "schedule", "c1-pgbackrest-full")
    assert gone.exit_code == 1 and "error 404" in gone.stderr


def test_delete_by_selector_deletes_a_clusters_schedules(admin, rt):
    admin("create", "schedule", "c1", *PGO)
    admin("create", "schedule", "c1", "--schedule=@hourly", "--pgbackrest-backup-type=incr")
    admin("create", "schedule", "both", *PGO)
    result = admin("delete", "schedule", "--selector=name=c1", "--no-prompt")
    assert result.stdout.splitlines() == ["deleted schedule c1-pgbackrest-full in namespace demo",
                                          "deleted schedule c1-pgbackrest-incr in namespace demo"]
    assert [s.name for s in ScheduleStore(rt.redis).list("demo")] == ["both-pgbackrest-full"]


def test_resume_still_resumes_a_restore_and_help_names_both(brq):
    assert "resume schedule NAME" in brq("resume", "--help").stdout
    result = brq("resume", "c1", "no-such-task", token="admin")
    assert result.exit_code == 1 and "error 404" in result.stderr
