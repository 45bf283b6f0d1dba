"""tasks.pgbackrest.commands: argv lists for pgBackRest, and storage types → repos."""
from __future__ import annotations

import pytest

from tasks.pgbackrest import commands
from tasks.pgbackrest.options import OptionError
from tasks.pgbackrest.targets import RestoreTarget

HEAD = ["pgbackrest", "--config=/etc/pgbackrest/pgbackrest.conf", "--stanza=db"]


@pytest.mark.parametrize("value, types, repos", [
    ("local", ("local",), (1,)),
    ("s3", ("s3",), (2,)),
    ("local,s3", ("local", "s3"), (1, 2)),
    ("s3,local", ("local", "s3"), (1, 2)),
])
def test_a_storage_type_names_its_repos_local_first(value, types, repos):
    assert (commands.storage_types(value), commands.repos_for(value)) == (types, repos)


@pytest.mark.parametrize("value", ["", "gcs", "local,local", "local, s3", "LOCAL", "local,s3,", None])
def test_an_unknown_storage_type_is_refused_naming_the_allowed_values(value):
    with pytest.raises(ValueError) as info:
        commands.repos_for(value)
    assert str(info.value) == f"storage type {value!r} is not one of local, s3, local,s3"


def test_a_restore_reads_exactly_one_repo():
    assert (commands.repo_for("local"), commands.repo_for("s3")) == (1, 2)
    with pytest.raises(ValueError) as info:
        commands.repo_for("local,s3")
    assert str(info.value) == "storage type 'local,s3' names 2 repositories; a restore reads one: local or s3"


def test_repo_numbers_map_back_to_storage_types():
    assert (commands.storage_type_of(1), commands.storage_type_of(2)) == ("local", "s3")
    with pytest.raises(ValueError) as info:
        commands.storage_type_of(3)
    assert str(info.value) == "repo 3 is not one of 1, 2"


def test_a_backup_command_names_the_repo_the_type_and_the_checked_options():
    assert commands.backup(2, "full", ["--start-fast", "--annotation=source=api", "--process-max=4"]) == [
        *HEAD, "--repo=2", "--annotation=source=api", "--process-max=4", "--start-fast", "--type=full", "backup"]


def test_a_backup_type_given_only_in_options_is_used_once():
    assert commands.backup(1, None, ["--type=diff"]) == [*HEAD, "--repo=1", "--type=diff", "backup"]
    assert commands.backup(1) == [*HEAD, "--repo=1", "--type=incr", "backup"]


def test_a_backup_with_injected_options_is_never_built():
    for options in (["--type=full; rm -rf /"], ["--repo1-path=/x"], ["--config=/etc/passwd"]):
        with pytest.raises(OptionError):
            commands.backup(1, "full", options)
    with pytest.raises(OptionError) as info:
        commands.backup(1, "incr", ["--type=full"])
    assert str(info.value) == "--type: --type=full conflicts with the request's type 'incr'"


def test_a_backup_to_a_repo_that_is_neither_local_nor_s3_is_refused():
    with pytest.raises(ValueError):
        commands.backup(3, "full")


def test_info_is_json_for_all_repos_by_default_or_text_for_one():
    assert commands.info() == [*HEAD, "--output=json", "info"]
    assert commands.info(2, "text", ["--set=20261126-163220F"]) == [
        *HEAD, "--repo=2", "--output=text", "--set=20261126-163220F", "info"]
    with pytest.raises(ValueError) as info:
        commands.info(1, "yaml")
    assert str(info.value) == "output 'yaml' is not one of json, text"


def test_a_point_in_time_restore_is_one_argv_item_per_option():
    assert commands.restore(1, RestoreTarget("time", "2026-11-26 10:00:00+00"), None, "promote", ["--delta"],
                            "/pgdata/demo-restored") == [
        *HEAD, "--repo=1", "--pg1-path=/pgdata/demo-restored", "--delta", "--target-action=promote",
        "--target=2026-11-26 10:00:00.000000+00", "--type=time", "restore"]


def test_a_restore_of_a_set_to_its_end():
    assert commands.restore(2, RestoreTarget("immediate"), "20261126-163220F") == [
        *HEAD, "--repo=2", "--set=20261126-163220F", "--type=immediate", "restore"]


def test_a_restore_in_pgo_v4_style_takes_the_type_from_options():
    assert commands.restore(1, None, options=["--type=time", "--target=2026-11-26 10:00:00+00"]) == [
        *HEAD, "--repo=1", "--target=2026-11-26 10:00:00.000000+00", "--type=time", "restore"]


def test_stanza_create_is_for_every_repo_and_check_for_one_when_named():
    assert commands.stanza_create() == [*HEAD, "stanza-create"]  # 2.45: "option 'repo' not valid for stanza-create"
    assert commands.check(repo=1) == [*HEAD, "--repo=1", "check"]


def test_expire_takes_its_own_options():
    assert commands.expire(1, ["--dry-run"]) == [*HEAD, "--repo=1", "--dry-run", "expire"]


def test_archive_push_and_get_leave_the_placeholders_to_postgresql():
    assert commands.archive_push() == [*HEAD, "archive-push", "%p"]
    assert commands.archive_get() == [*HEAD, "archive-get", "%f", "%p"]


def test_archive_command_is_quoted_for_the_shell_postgresql_runs_it_in():
    assert commands.archive_command() == "pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=db " \
                                         "archive-push %p"
    assert commands.archive_command(config="/etc/my conf/x.conf'") == \
        "pgbackrest '--config=/etc/my conf/x.conf'\"'\"'' --stanza=db archive-push %p"


def test_the_tls_server_command_reads_the_same_config():
    assert commands.server() == ["pgbackrest", "--config=/etc/pgbackrest/pgbackrest.conf", "server"]
    assert commands.server(config="/tmp/x.conf") == ["pgbackrest", "--config=/tmp/x.conf", "server"]
