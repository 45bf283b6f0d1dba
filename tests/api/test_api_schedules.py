"""`/api/v1/namespaces/{ns}/schedules` on a real Redis: every bad input answers its code and field and
writes nothing; good ones write the schedule and its RedBeat entry; GET shows runs, skips and next run."""
from __future__ import annotations

import pytest

from tasks.schedules.firing import fire
from tasks.schedules.store import ScheduleStore
from tasks.state import keys
from tasks.state.clusters import READY, ClusterRecord
from tasks.state.records import SUCCESS

URL = "/api/v1/namespaces/demo/schedules"
GOOD = {"name": "nightly", "cluster": "c1", "schedule": "0 1 * * *", "backup_type": "full"}


@pytest.fixture(autouse=True)
def ready_clusters(rt):
    rt.clusters.create(ClusterRecord(name="c1", namespace="demo", storage_types=["local"], status=READY))
    rt.clusters.create(ClusterRecord(name="both", namespace="demo", storage_types=["local", "s3"], status=READY))


def err(resp) -> dict:
    body = resp.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == resp.status_code, body
    return body["error"]


def nothing_written(rt) -> bool:
    return not rt.redis.keys("brq:schedule*") and not rt.redis.keys("brq:beat*")


def test_a_schedule_is_created_with_201_its_next_run_and_a_redbeat_entry(as_, rt):
    resp = as_("admin").post(URL, json={**GOOD, "options": ["--start-fast"], "storage_type": "local"})
    assert resp.status_code == 201, resp.get_json()
    assert resp.headers["Location"] == f"{URL}/nightly"
    body = resp.get_json()
    assert {k: body[k] for k in ("name", "cluster", "schedule", "timezone", "backup_type", "storage_type", "options",
                                 "paused", "last_run", "last_task")} == {
        "name": "nightly", "cluster": "c1", "schedule": "0 1 * * *", "timezone": "UTC", "backup_type": "full",
        "storage_type": "local", "options": ["--start-fast"], "paused": False, "last_run": None, "last_task": None}
    assert body["next_run"].endswith("T01:00:00.000Z")
    assert rt.redis.zscore(keys.beat_schedule(), keys.beat_entry("demo", "nightly")) is not None


@pytest.mark.parametrize("body, code, field, words", [
    ({**GOOD, "schedule": "0 25 * * *"}, 422, "schedule", "hour field (2nd of 5) '25': 25 is out of range 0-23"),
    ({**GOOD, "schedule": "* * * *"}, 422, "schedule", "4 fields"),
    ({**GOOD, "schedule": "*/0 * * * * *"}, 422, "schedule", "step '0'"),
    ({**GOOD, "schedule": "0 0 31 2 *"}, 422, "schedule", "never fires"),
    ({**GOOD, "timezone": "Mars/Olympus"}, 422, "timezone", "unknown time zone"),
    ({**GOOD, "backup_type": "weekly"}, 422, "backup_type", "Must be one of: full, diff, incr."),
    ({k: v for k, v in GOOD.items() if k != "backup_type"}, 422, "backup_type", "Missing data"),
    ({k: v for k, v in GOOD.items() if k != "schedule"}, 422, "schedule", "Missing data"),
    ({**GOOD, "storage_type": "gcs"}, 422, "storage_type", "must be one of"),
    ({**GOOD, "storage_type": "s3"}, 422, "storage_type", "storage type s3 is not one of the cluster's (local)"),
    ({**GOOD, "options": ["--repo1-path=/x"]}, 422, "options[0]", "owned by the service"),
    ({**GOOD, "options": ["--start-fast", "--frobnicate"]}, 422, "options[1]", "unknown"),
    ({**GOOD, "options": ["--type=incr"]}, 422, "options", "conflicts"),
    ({**GOOD, "name": "Bad_Name"}, 422, "name", "DNS label"),
    ({**GOOD, "paused": "maybe"}, 422, "paused", "Not a valid boolean"),
    ({**GOOD, "every": "day"}, 422, "every", "Unknown field"),
    ({**GOOD, "cluster": "nope"}, 404, "cluster", "cluster 'nope' not found"),
])
def test_bad_schedules_answer_their_code_naming_the_field_and_write_nothing(as_, rt, body, code, field, words):
    resp = as_("admin").post(URL, json=body)
    assert resp.status_code == code, resp.get_json()
    e = err(resp)
    assert e.get("field") == field and words in e["message"], e
    assert nothing_written(rt)


def test_a_duplicate_name_is_409_and_the_first_schedule_is_kept(as_, rt):
    assert as_("admin").post(URL, json=GOOD).status_code == 201
    resp = as_("admin").post(URL, json={**GOOD, "schedule": "*/5 * * * * *"})
    assert resp.status_code == 409 and err(resp)["field"] == "name" and err(resp)["reason"] == "AlreadyExists"
    assert as_("admin").get(f"{URL}/nightly").get_json()["schedule"] == "0 1 * * *"


def test_roles_and_namespaces_are_enforced(as_, rt):
    assert as_("operator").post(URL, json=GOOD).status_code == 403  # lacks CreateSchedule
    assert as_("viewer").get(URL).status_code == 403  # lacks ShowSchedule
    assert as_("other").post(URL, json=GOOD).status_code == 403  # demo is not its namespace
    assert as_("admin").post("/api/v1/namespaces/elsewhere/schedules", json=GOOD).status_code == 404
    assert nothing_written(rt)


def test_list_filters_by_cluster_and_get_one_404s_when_unknown(as_):
    as_("admin").post(URL, json=GOOD)
    as_("admin").post(URL, json={**GOOD, "name": "s3-hourly", "cluster": "both", "storage_type": "s3",
                                 "schedule": "@hourly", "backup_type": "incr"})
    assert [s["name"] for s in as_("admin").get(URL).get_json()["items"]] == ["nightly", "s3-hourly"]
    assert [s["name"] for s in as_("admin").get(f"{URL}?cluster=both").get_json()["items"]] == ["s3-hourly"]
    resp = as_("admin").get(f"{URL}/nope")
    assert resp.status_code == 404 and "schedule 'nope' not found" in err(resp)["message"]


def test_get_one_shows_runs_with_task_states_skips_with_reasons_and_counts(as_, rt):
    as_("admin").post(URL, json={**GOOD, "schedule": "*/10 * * * * *"})
    schedules = ScheduleStore(rt.redis)
    s = schedules.get("demo", "nightly")
    sent = []
    slot = 1_900_000_000
    ran = fire(tasks=rt.tasks, clusters=rt.clusters, schedules=schedules, send=lambda *a: sent.append(a),
               namespace="demo", name="nightly", uid=s.uid, slot=slot, now=slot + 0.1)
    fire(tasks=rt.tasks, clusters=rt.clusters, schedules=schedules, send=lambda *a: None, namespace="demo",
         name="nightly", uid=s.uid, slot=slot + 10, now=slot + 10.1)  # the first still holds the lock
    body = as_("admin").get(f"{URL}/nightly?runs=5").get_json()
    assert [(r["slot"], r["outcome"], r["task_id"], r["state"], r["reason"]) for r in body["runs"]] == [
        ("2030-03-17T17:46:50.000Z", "skipped", None, None, "busy"),
        ("2030-03-17T17:46:40.000Z", "run", ran.task_id, "PENDING", None)]
    assert f"backup {ran.task_id} was running" in body["runs"][0]["message"]
    assert body["last_run"]["outcome"] == "skipped"
    assert (body["last_task"]["id"], body["last_task"]["state"]) == (ran.task_id, "PENDING")
    assert body["counts"] == {"runs": 1, "skipped": 1, "skipped_by_reason": {"busy": 1}}
    rt.tasks.update(ran.task_id, lambda r: setattr(r, "state", SUCCESS))
    assert as_("admin").get(f"{URL}/nightly").get_json()["last_task"]["state"] == SUCCESS


def test_patching_options_keeps_the_next_run_and_patching_the_cron_moves_it(as_, rt):
    first = as_("admin").post(URL, json=GOOD).get_json()
    resp = as_("admin").patch(f"{URL}/nightly", json={"options": ["--start-fast"], "backup_type": "diff"})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert (body["options"], body["backup_type"], body["next_run"]) == (["--start-fast"], "diff", first["next_run"])
    body = as_("admin").patch(f"{URL}/nightly", json={"schedule": "30 2 * * *", "timezone": "Europe/Paris"}).get_json()
    assert body["schedule"] == "30 2 * * *" and body["next_run"] != first["next_run"]


def test_pause_and_resume(as_, rt):
    as_("admin").post(URL, json=GOOD)
    body = as_("admin").patch(f"{URL}/nightly", json={"paused": True}).get_json()
    assert body["paused"] is True and body["next_run"] is None
    assert rt.redis.zscore(keys.beat_schedule(), keys.beat_entry("demo", "nightly")) == -1
    assert as_("admin").patch(f"{URL}/nightly", json={"paused": False}).get_json()["next_run"] is not None


@pytest.mark.parametrize("body, field", [
    ({"schedule": "bad"}, "schedule"), ({"timezone": "Nowhere/Land"}, "timezone"),
    ({"storage_type": "s3"}, "storage_type"), ({"options": ["--config=/x"]}, "options[0]"),
    ({"options": ["--type=diff"]}, "options"), ({"cluster": "both"}, "cluster"), ({"name": "x"}, "name"),
])
def test_bad_patches_are_422_naming_the_field_and_change_nothing(as_, rt, body, field):
    as_("admin").post(URL, json=GOOD)
    before = ScheduleStore(rt.redis).get("demo", "nightly")
    resp = as_("admin").patch(f"{URL}/nightly", json=body)
    assert resp.status_code == 422 and err(resp)["field"] == field, resp.get_json()
    assert ScheduleStore(rt.redis).get("demo", "nightly") == before


def test_patching_or_deleting_an_unknown_schedule_is_404(as_):
    assert as_("admin").patch(f"{URL}/nope", json={"paused": True}).status_code == 404
    assert as_("admin").delete(f"{URL}/nope").status_code == 404


def test_delete_removes_the_schedule_and_its_entry(as_, rt):
    as_("admin").post(URL, json=GOOD)
    assert as_("operator").delete(f"{URL}/nightly").status_code == 403
    resp = as_("admin").delete(f"{URL}/nightly")
    assert resp.status_code == 204 and resp.data == b""
    assert nothing_written(rt)
    assert as_("admin").post(URL, json=GOOD).status_code == 201  # the name is free again


def test_a_schedule_starts_the_backup_task_a_rest_request_would(as_, rt):
    as_("admin").post(URL, json={**GOOD, "options": ["--start-fast"]})
    s = ScheduleStore(rt.redis).get("demo", "nightly")
    outcome = fire(tasks=rt.tasks, clusters=rt.clusters, schedules=ScheduleStore(rt.redis), send=lambda *a: None,
                   namespace="demo", name="nightly", uid=s.uid, slot=1_900_000_000, now=1_900_000_000.5)
    scheduled = rt.tasks.get(outcome.task_id)
    rt.tasks.update(scheduled.id, lambda r: setattr(r, "state", SUCCESS))
    resp = as_("admin").post("/api/v1/namespaces/demo/clusters/c1/backups",
                             json={"type": "full", "options": ["--start-fast"]})
    manual = rt.tasks.get(resp.get_json()["task_id"])
    assert scheduled.params == manual.params and scheduled.kind == manual.kind
    assert (scheduled.origin, manual.origin) == ("schedule:nightly", "api")
