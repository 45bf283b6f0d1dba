"""tasks.pgbackrest.targets: backup types and restore targets from a request's fields and its options."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tasks.pgbackrest.options import OptionError
from tasks.pgbackrest.targets import (
    RestoreTarget,
    check_label,
    effective_backup_type,
    format_target_time,
    parse_target_time,
    restore_options,
    restore_target,
)


def refusal(fn, *args) -> tuple[str, str]:
    with pytest.raises(OptionError) as info:
        fn(*args)
    return info.value.option, info.value.reason


@pytest.mark.parametrize("options, requested, expected", [
    ([], None, "incr"),
    (None, "full", "full"),
    (["--type=diff"], None, "diff"),
    (["--type=full", "--start-fast"], "full", "full"),
])
def test_the_backup_type_comes_from_the_request_or_the_options_or_defaults_to_incr(options, requested, expected):
    assert effective_backup_type(options, requested) == expected


def test_a_backup_type_in_options_that_differs_from_the_requests_is_a_conflict():
    assert refusal(effective_backup_type, ["--type=full"], "incr") == (
        "--type", "--type=full conflicts with the request's type 'incr'")


def test_a_requested_backup_type_must_be_one_of_pgbackrests():
    assert refusal(effective_backup_type, [], "differential") == (
        "type", "invalid value 'differential': expected one of full, diff, incr")


def test_the_default_backup_type_can_be_chosen_by_the_caller():
    assert effective_backup_type([], None, default="full") == "full"


@pytest.mark.parametrize("text, expected", [
    ("2026-11-26 10:00:00+00", datetime(2026, 11, 26, 10, 0, tzinfo=timezone.utc)),
    ("2026-11-26T10:00:00Z", datetime(2026, 11, 26, 10, 0, tzinfo=timezone.utc)),
    ("2026-11-26 11:30:00.25+01:30", datetime(2026, 11, 26, 10, 0, 0, 250000, tzinfo=timezone.utc)),
    ("2026-11-26 05:00:00-0500", datetime(2026, 11, 26, 10, 0, tzinfo=timezone.utc)),
])
def test_a_target_time_with_its_zone_is_read_as_utc(text, expected):
    assert parse_target_time(text) == expected


@pytest.mark.parametrize("text", ["2026-11-26 10:00:00", "2026-11-26", "2026-W48-4 10:00:00+00", "yesterday",
                                  "2026-11-26 10:00:00+00; rm -rf /", "2026-02-30 10:00:00+00"])
def test_a_target_time_without_a_zone_or_not_a_time_is_refused(text):
    with pytest.raises(ValueError):
        parse_target_time(text)


def test_a_target_time_is_written_as_pgbackrest_and_postgresql_read_it():
    assert format_target_time(datetime(2026, 11, 26, 11, 0, tzinfo=timezone.utc).astimezone()) == \
        "2026-11-26 11:00:00.000000+00"


@pytest.mark.parametrize("target, argv", [
    (RestoreTarget(), ["--type=default"]),
    (RestoreTarget("immediate"), ["--type=immediate"]),
    (RestoreTarget("time", "2026-11-26T10:00:00.5+01:00"), ["--target=2026-11-26 09:00:00.500000+00", "--type=time"]),
    (RestoreTarget("name", "before-upgrade"), ["--target=before-upgrade", "--type=name"]),
    (RestoreTarget("xid", "0042"), ["--target=42", "--type=xid"]),
    (RestoreTarget("lsn", "0/3000abc"), ["--target=0/3000ABC", "--type=lsn"]),
])
def test_a_restore_target_becomes_pgbackrests_type_and_target(target, argv):
    assert target.argv() == argv


def test_a_time_target_knows_its_time():
    assert RestoreTarget("time", "2026-11-26 10:00:00+00").time == datetime(2026, 11, 26, 10, tzinfo=timezone.utc)
    assert RestoreTarget("latest").time is None


@pytest.mark.parametrize("kind, value, option, reason", [
    ("earliest", None, "target.type", "invalid value 'earliest': expected one of latest, immediate, time, name, "
                                      "xid, lsn"),
    ("time", None, "target.value", "required for target type time"),
    ("latest", "2026-11-26 10:00:00+00", "target.value", "not allowed for target type latest"),
    ("time", "2026-11-26 10:00:00", "target.value", "invalid value '2026-11-26 10:00:00': expected a time such as "
                                                    "'2026-11-26 10:00:00+00' (with its zone)"),
    ("name", "a name", "target.value", "invalid value 'a name': expected a restore point name (letters, digits, "
                                       "'_.:-', up to 63)"),
    ("xid", "-1", "target.value", "invalid value '-1': expected a transaction id (a positive integer)"),
    ("lsn", "3000028", "target.value", "invalid value '3000028': expected an LSN such as 0/3000028"),
])
def test_a_bad_restore_target_is_refused_naming_the_field(kind, value, option, reason):
    assert refusal(RestoreTarget, kind, value) == (option, reason)


@pytest.mark.parametrize("options, kind, value, expected", [
    ([], None, None, RestoreTarget("latest")),
    (["--type=default"], "latest", None, RestoreTarget("latest")),
    (["--type=time", "--target=2026-11-26 10:00:00+00"], None, None,
     RestoreTarget("time", "2026-11-26 10:00:00.000000+00")),
    (["--type=time"], None, "2026-11-26 11:00:00+01", RestoreTarget("time", "2026-11-26 10:00:00.000000+00")),
    (["--target=2026-11-26 10:00:00Z"], "time", "2026-11-26 10:00:00+00",
     RestoreTarget("time", "2026-11-26 10:00:00.000000+00")),
    (["--type=immediate"], None, None, RestoreTarget("immediate")),
])
def test_the_restore_target_combines_the_requests_fields_with_the_options_when_they_agree(options, kind, value,
                                                                                         expected):
    assert restore_target(options, kind, value) == expected


@pytest.mark.parametrize("options, kind, value, option, reason", [
    (["--type=xid"], "time", "2026-11-26 10:00:00+00", "--type",
     "--type=xid conflicts with the request's target type 'time'"),
    (["--type=time", "--target=2026-11-26 10:00:00+00"], None, "2026-11-26 10:00:01+00", "--target",
     "--target=2026-11-26 10:00:00+00 conflicts with the request's target '2026-11-26 10:00:01+00'"),
    (["--type=standby"], None, None, "--type", "--type=standby is not supported: a restore here makes a new primary"),
    (["--type=preserve"], None, None, "--type", "--type=preserve is not supported: a restore here makes a new "
                                                "primary"),
    (["--type=time"], None, None, "--target", "required for target type time"),
    (["--target=2026-11-26 10:00:00+00"], None, None, "--target",
     "not valid with target type latest (a value needs type time, name, xid or lsn)"),
    (["--type=lsn", "--target=yesterday"], None, None, "--target",
     "invalid value 'yesterday': expected an LSN such as 0/3000028"),
])
def test_a_restore_target_that_conflicts_or_is_incomplete_is_refused(options, kind, value, option, reason):
    assert refusal(restore_target, options, kind, value) == (option, reason)


def test_a_restores_argv_holds_target_set_and_action_once_each():
    assert restore_options(["--delta", "--type=time", "--set=20261126-163212F"],
                           RestoreTarget("time", "2026-11-26 10:00:00+00"), "20261126-163212F", "pause") == [
        "--delta", "--set=20261126-163212F", "--target-action=pause", "--target=2026-11-26 10:00:00.000000+00",
        "--type=time"]


def test_a_latest_restore_with_only_options_is_type_default():
    assert restore_options(["--db-include=app", "--archive-mode=off", "--target-timeline=current"]) == [
        "--archive-mode=off", "--db-include=app", "--target-timeline=current", "--type=default"]


@pytest.mark.parametrize("args, option, reason", [
    ((["--set=20261126-163212F"], None, "20261126-163220F"), "--set",
     "--set=20261126-163212F conflicts with the request's set '20261126-163220F'"),
    (([], None, "latest"), "set", "invalid value 'latest': expected a backup label "
                                  "YYYYMMDD-HHMMSSF[_YYYYMMDD-HHMMSS{D|I}]"),
    (([], RestoreTarget("immediate"), None, "resume"), "target_action",
     "invalid value 'resume': expected one of pause, promote, shutdown"),
    ((["--target-action=pause"], RestoreTarget("immediate"), None, "promote"), "--target-action",
     "--target-action=pause conflicts with the request's target_action 'promote'"),
    (([], None, None, "promote"), "--target-action", "needs a target: with latest, recovery ends at the end of the "
                                                     "WAL"),
    ((["--target-exclusive"], RestoreTarget("name", "p1")), "--target-exclusive",
     "only with target type time, xid or lsn, not name"),
    ((["--target-timeline=latest"], RestoreTarget("immediate")), "--target-timeline",
     "not valid with target type immediate"),
])
def test_restore_options_pgbackrest_would_refuse_are_refused_before_any_job_runs(args, option, reason):
    assert refusal(restore_options, *args) == (option, reason)


def test_a_backup_label_is_checked():
    assert check_label("20261126-163212F_20261126-163225D") == "20261126-163212F_20261126-163225D"
    assert refusal(check_label, "../../etc") == ("set", "invalid value '../../etc': expected a backup label "
                                                        "YYYYMMDD-HHMMSSF[_YYYYMMDD-HHMMSS{D|I}]")
