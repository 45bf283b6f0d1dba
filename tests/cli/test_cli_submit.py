"""`brq create cluster` and `brq backup` against the served API: what they send, what they print, how they fail."""
from __future__ import annotations

import json


def only_task(rt, **filters):
    (task,) = rt.tasks.list("demo", **filters)
    return task


def test_create_cluster_prints_the_task_and_how_to_follow_it(brq, api, rt):
    result = brq("create", "cluster", "c2", "--pgbackrest-storage-type=local,s3", "-n", "demo")
    task = only_task(rt)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (f"creating cluster c2 in namespace demo (storage type local,s3)\n"
                             f"task: {task.id}\n"
                             f"follow it with: brq show task {task.id} --wait\n")
    assert (task.kind, task.cluster, task.params) == ("create-cluster", "c2", {"storage_type": "local,s3"})


def test_create_cluster_without_a_storage_type_takes_the_services_default(brq, api, rt):
    result = brq("create", "cluster", "c3", "-o", "json")
    body = json.loads(result.stdout)
    assert result.exit_code == 0 and body["task"]["params"] == {"storage_type": "local"}
    assert body["task_id"] == only_task(rt).id


def test_backup_opts_reach_the_task_as_options_split_like_a_shell_without_one(brq, api, rt, clusters):
    result = brq("backup", "both", "--backup-type=pgbackrest", "--pgbackrest-storage-type=s3",
                 "--backup-opts=--type=full --start-fast --annotation='why=before upgrade; rm -rf /'")
    task_id = only_task(rt).id
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (f"backup of cluster both in namespace demo submitted: type full, storage type s3\n"
                             f"task: {task_id}\n"
                             f"follow it with: brq show task {task_id} --wait\n")
    params = api.get(f"/api/v1/tasks/{task_id}")["params"]
    assert params["options"] == ["--type=full", "--start-fast", "--annotation=why=before upgrade; rm -rf /"]
    assert (params["type"], params["repos"]) == ("full", ["s3"])


def test_a_backup_without_opts_sends_no_type_and_the_api_takes_incr_to_local(brq, api, rt, clusters):
    result = brq("backup", "both", "-o", "json")
    params = api.get(f"/api/v1/tasks/{json.loads(result.stdout)['task_id']}")["params"]
    assert (params["type"], params["repos"], params["options"]) == ("incr", ["local"], [])


def test_the_verbs_namespace_wins_over_the_global_one(brq, api, rt, clusters):
    result = brq("-n", "demo", "show", "cluster", "c1", "-n", "other", token="admin")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "brq: error 404: cluster 'c1' not found in namespace 'other'\n"


def test_an_option_the_service_owns_is_refused_naming_the_option_and_creates_nothing(brq, api, rt, clusters):
    result = brq("backup", "c1", "--backup-opts=--start-fast --repo1-path=/x")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "brq: error 422 (options[1]): --repo1-path: owned by the service\n"
    assert rt.tasks.list("demo") == []


def test_every_invalid_field_is_listed_the_first_one_in_the_error_line(brq, api, rt):
    result = brq("create", "cluster", "Bad_Name", "--pgbackrest-storage-type=gcs")
    assert result.exit_code == 1
    assert result.stderr == ("brq: error 422 (name): must be a DNS label: lower-case letters, digits and '-', "
                             "starting with a letter\n"
                             "brq:   pgbackrest_storage_type: must be one of: local, s3, local,s3\n")


def test_a_second_backup_while_one_runs_is_refused_naming_the_running_task(brq, api, rt, clusters):
    first = json.loads(brq("backup", "c1", "-o", "json").stdout)["task_id"]
    result = brq("backup", "c1", "--backup-opts=--type=incr")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (f"brq: error 409: cluster 'c1' is busy with task {first}\n"
                             f"brq: follow it with: brq show task {first} --wait\n")
    assert [t.id for t in rt.tasks.list("demo")] == [first]


def test_pgdump_backups_are_refused_before_asking_the_api(brq, api, rt, clusters):
    result = brq("backup", "c1", "--backup-type=pgdump")
    assert result.exit_code == 2
    assert "Invalid value for '--backup-type': pgdump is not supported: backrest-queue makes pgBackRest backups " \
           "only" in result.stderr
    assert rt.tasks.list("demo") == [] and api.seen == []


def test_two_different_types_in_backup_opts_are_refused_before_asking_the_api(brq, api, rt, clusters):
    result = brq("backup", "c1", "--backup-opts=--type=full --type=incr")
    assert result.exit_code == 2 and "--type has 2 different values (full, incr); give one" in result.stderr
    assert api.seen == []


def test_unbalanced_quotes_in_backup_opts_are_a_usage_error(brq, api, clusters):
    result = brq("backup", "c1", "--backup-opts=--annotation='why=x")
    assert result.exit_code == 2 and "No closing quotation" in result.stderr and api.seen == []


def test_an_unknown_token_is_401_and_the_token_is_never_printed(brq, api, clusters):
    secret = "not-a-real-token-0123456789"
    result = brq("backup", "c1", token=None, env={"BRQ_TOKEN": secret})
    assert (result.exit_code, result.stderr) == (1, "brq: error 401: the bearer token is not valid\n")
    assert secret not in result.output


def test_a_token_lacking_the_role_is_403(brq, api, clusters):
    result = brq("backup", "c1", token="viewer")
    assert (result.exit_code, result.stderr) == (1, "brq: error 403: token 'viewer' lacks the CreateBackup role\n")
