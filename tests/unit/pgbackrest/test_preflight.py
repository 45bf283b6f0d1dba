"""tasks.pgbackrest.preflight: a restore request decided against real pgBackRest 2.45 info and repo-ls output.

The `preflight_*` fixtures come from `fixtures/generate.py preflight`: repo1 (posix) holds a full, an
incr and a diff backup, repo2 (S3 through moto) a full and an incr; `preflight_restores.json` records
which set a real `pgbackrest restore` picked for targets around each backup's stop.
"""
from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from tasks.pgbackrest.info import parse_info
from tasks.pgbackrest.preflight import (
    ArchivedWal,
    Preview,
    Reason,
    Window,
    archived_wal,
    backup_set_for,
    check,
    current_archive_id,
    newest_wal,
    newest_wal_time,
    repo_ls_argv,
)
from tasks.pgbackrest.targets import RestoreTarget

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
FULL, INCR, DIFF = "20261126-172712F", "20261126-172712F_20261126-172719I", "20261126-172712F_20261126-172725D"
FULL2, INCR2 = "20261126-172721F", "20261126-172721F_20261126-172728I"


def fixture(name: str) -> str:
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


def at(minute: int, second: int, microsecond: int = 0) -> datetime:
    return datetime(2026, 11, 26, 17, minute, second, microsecond, tzinfo=timezone.utc)


INFO = parse_info(fixture("preflight_info.json"))
LS1, LS2 = fixture("preflight_repo_ls_repo1.json"), fixture("preflight_repo_ls_repo2.json")
RESTORES = json.loads(fixture("preflight_restores.json"))
WAL_TIME = at(27, 31)  # segment 0C, the newest, archived to both repos in that second
WINDOW1 = Window(earliest=at(27, 15), latest=WAL_TIME, latest_backup=at(27, 27),
                 wal_min="000000010000000000000001", wal_max="00000001000000000000000C")
WINDOW2 = replace(WINDOW1, earliest=at(27, 23), latest_backup=at(27, 29))
SEGMENTS = [  # (segment, size, archived at), from repo-ls of both repos
    ("01", "0192a506060cb0c09854ec71f46a674d5f7ea621", 1129762, at(27, 12)),
    ("02", "70b4cf95404210be1524353f7935b27b64b7367c", 32938, at(27, 13)),
    ("03", "1786548f3123f048d21405cc0f1a8dedbc0afa19", 679, at(27, 15)),
    ("04", "53d7a02747881f3fb73252058d6ebae4488af90a", 731, at(27, 19)),
    ("05", "5d396fa02dca910ce9aaaf465bc4de2727ca60fb", 676, at(27, 20)),
    ("06", "6a7c2a813661ed1a0782f61c1b3262853e40102e", 741, at(27, 21)),
    ("07", "cc9d922bf10169df415bf38dc4d06029364c3864", 605, at(27, 23)),
    ("08", "f807d8f7b1a46841eaf1c2d0f858cc38898c1966", 738, at(27, 26)),
    ("09", "928cdfa4eedf9452462a28318199afa4f642b733", 677, at(27, 27)),
    ("0A", "d2f647050afbef61515f21bc7aa886a71c97549d", 741, at(27, 28)),
    ("0B", "96cf961d796e492c2dbdf3a8456bb7601ae43594", 605, at(27, 29)),
    ("0C", "f635b25f464a599e1df839c39b4855d0a4dfbcbe", 719, at(27, 31)),
]
ALL_WAL = tuple(ArchivedWal("15-1", f"0000000100000000000000{n}",
                            f"15-1/0000000100000000/0000000100000000000000{n}-{sha}.zst", size, time)
                for n, sha, size, time in SEGMENTS)


def with_backups_flagged(labels: set[str]):
    """The preflight info with `error: true` (page checksum errors) on these backups."""
    data = json.loads(fixture("preflight_info.json"))
    for backup in data[0]["backup"]:
        backup["error"] = backup["label"] in labels
    return parse_info(data)


# -- repo-ls ----------------------------------------------------------------------------------------------------------

def test_repo_ls_argv_is_read_only_and_names_the_stanza_archive():
    assert repo_ls_argv(1) == ["pgbackrest", "--config=/etc/pgbackrest/pgbackrest.conf", "--stanza=db", "--repo=1",
                               "--output=json", "--recurse", "repo-ls", "archive/db"]
    assert repo_ls_argv(2, config="/x.conf") == ["pgbackrest", "--config=/x.conf", "--stanza=db", "--repo=2",
                                                 "--output=json", "--recurse", "repo-ls", "archive/db"]
    with pytest.raises(ValueError):
        repo_ls_argv(3)


@pytest.mark.parametrize("listing", [LS1, LS2], ids=["posix", "s3"])
def test_archived_wal_lists_whole_segments_of_the_real_listing(listing):
    # left out: archive.info(.copy), the three `.backup` files, the paths
    assert archived_wal(listing) == ALL_WAL
    assert archived_wal(json.loads(listing), "15-1") == ALL_WAL
    assert archived_wal(listing, "14-1") == ()


def test_newest_wal_of_the_current_database_in_each_repo():
    assert current_archive_id(INFO, 1) == current_archive_id(INFO, 2) == "15-1"
    assert newest_wal(LS1, INFO, 1) == newest_wal(LS2, INFO, 2) == ALL_WAL[-1]
    assert newest_wal_time(LS1, INFO, 1) == newest_wal_time(LS2, INFO, 2) == WAL_TIME


def test_newest_wal_leaves_out_partial_history_backup_files_and_other_archive_ids():
    listing = json.loads(LS1)
    later = {"type": "file", "size": 100, "time": 1795714999}
    listing["15-1/00000002.history-0123456789abcdef0123456789abcdef01234567.zst"] = later
    listing["15-1/0000000100000000/00000001000000000000000D.partial-"
            "0123456789abcdef0123456789abcdef01234567.zst"] = later
    listing["15-1/0000000100000000/00000001000000000000000D.00000028.backup"] = later
    listing["14-1/0000000100000000/0000000100000000000000FF-0123456789abcdef0123456789abcdef01234567.gz"] = later
    assert newest_wal_time(listing, INFO, 1) == WAL_TIME
    assert archived_wal(listing)[0] == ArchivedWal(
        "14-1", "0000000100000000000000FF",
        "14-1/0000000100000000/0000000100000000000000FF-0123456789abcdef0123456789abcdef01234567.gz", 100,
        datetime(2026, 11, 26, 17, 43, 19, tzinfo=timezone.utc))
    # an uncompressed segment has no extension
    listing["15-1/0000000100000000/00000001000000000000000D-0123456789abcdef0123456789abcdef01234567"] = later
    assert newest_wal(listing, INFO, 1).segment == "00000001000000000000000D"


def test_newest_wal_time_none_without_archive_or_segments():
    empty = parse_info(fixture("info_no_backups.json"))
    assert newest_wal_time('{".": {"type": "path"}}', empty, 1) is None
    assert newest_wal_time(LS1, parse_info(fixture("info_repo_error.json")), 1) is None  # info lists no archive


@pytest.mark.parametrize("listing", ["not json", "[]", '{"15-1/0000000100000000/000000010000000000000001-'
                                                   '0192a506060cb0c09854ec71f46a674d5f7ea621.zst": {"type": "file"}}'])
def test_archived_wal_refuses_what_is_not_repo_ls_json(listing):
    with pytest.raises(ValueError, match="not pgBackRest repo-ls JSON"):
        archived_wal(listing)


# -- the set pgBackRest picks ------------------------------------------------------------------------------------------

def test_the_restores_were_run_with_2_45():
    assert RESTORES["pgbackrest"] == "pgBackRest 2.45"
    assert len(RESTORES["cases"]) == 42


@pytest.mark.parametrize("case", RESTORES["cases"],
                         ids=[f"repo{c['repo']}-{c['type']}-{c['target']}-{c['set']}" for c in RESTORES["cases"]])
def test_backup_set_for_matches_the_set_a_real_restore_picked(case):
    backups = INFO.repo(case["repo"]).backups
    chosen = backup_set_for(backups, RestoreTarget(case["type"], case["target"]), case["set"])
    assert (chosen.label if chosen else None) == case["chosen"]
    # pgBackRest either picked it (and stopped at the non-empty directory) or found none ([075])
    assert case["exit"] == (40 if case["chosen"] else 75)
    assert check(INFO, case["repo"], target_type=case["type"], target_value=case["target"], set=case["set"],
                 wal_max_time=WAL_TIME).backup_set == case["chosen"]


def test_backup_set_for_time_compares_whole_seconds_strictly():
    backups = INFO.repo(1).backups  # FULL stopped at 17:27:15, INCR at 17:27:20, DIFF at 17:27:27
    assert backup_set_for(backups, RestoreTarget("time", "2026-11-26 17:27:15.999999+00")) is None
    assert backup_set_for(backups, RestoreTarget("time", "2026-11-26 17:27:16+00")).label == FULL
    assert backup_set_for(backups, RestoreTarget("time", "2026-11-26 18:27:20.9+01:00")).label == FULL
    assert backup_set_for(backups, RestoreTarget("time", "2026-11-26 17:27:21Z")).label == INCR
    assert backup_set_for(backups, RestoreTarget("time", "2030-01-01 00:00:00+00")).label == DIFF
    assert backup_set_for((), RestoreTarget()) is None


def test_backup_set_for_lsn_stops_at_a_backup_without_stop_lsn():
    full, incr, diff = INFO.repo(1).backups
    old = replace(incr, lsn_stop=None)
    assert backup_set_for((full, old, diff), RestoreTarget("lsn", "0/9000100")).label == DIFF
    assert backup_set_for((full, old, diff), RestoreTarget("lsn", "0/50000FF")) is None  # as pgBackRest: no auto-select
    assert backup_set_for((full, incr, diff), RestoreTarget("lsn", "0/50000FF")).label == FULL


# -- the whole preview -------------------------------------------------------------------------------------------------

def test_time_target_between_two_backups_whole_preview():
    preview = check(INFO, 1, target_type="time", target_value="2026-11-26 17:27:17+00", target_action="promote",
                    options=["--delta"], wal_max_time=WAL_TIME, now=at(30, 0))
    target = RestoreTarget("time", "2026-11-26 17:27:17+00")
    assert preview == Preview(
        ok=True, repo=1, storage_type="local", target=target, backup_set=FULL, backup=INFO.repo(1).backup(FULL),
        window=WINDOW1, reasons=(), warnings=(),
        argv_options=("--delta", "--target-action=promote", "--target=2026-11-26 17:27:17.000000+00", "--type=time"))
    assert preview.to_json() == {
        "ok": True, "repo": 1, "storage_type": "local",
        "target": {"type": "time", "value": "2026-11-26 17:27:17.000000+00"},
        "backup_set": FULL, "backup": INFO.repo(1).backup(FULL).to_json(),
        "window": {"earliest": "2026-11-26T17:27:15+00:00", "latest": "2026-11-26T17:27:31+00:00",
                   "latest_backup": "2026-11-26T17:27:27+00:00", "wal_min": "000000010000000000000001",
                   "wal_max": "00000001000000000000000C"},
        "reasons": [], "warnings": [],
        "argv_options": ["--delta", "--target-action=promote", "--target=2026-11-26 17:27:17.000000+00",
                         "--type=time"]}
    json.dumps(preview.to_json())


def test_latest_from_s3_uses_the_newest_backup_and_the_target_may_come_through_options():
    preview = check(INFO, 2, options=["--type=default"], wal_max_time=WAL_TIME)
    assert preview == Preview(ok=True, repo=2, storage_type="s3", target=RestoreTarget(), backup_set=INCR2,
                              backup=INFO.repo(2).backup(INCR2), window=WINDOW2, reasons=(), warnings=(),
                              argv_options=("--type=default",))


def test_immediate_with_a_set_is_that_set_and_needs_no_window():
    preview = check(INFO, 1, RestoreTarget("immediate"), set=FULL, target_action="promote")
    assert (preview.ok, preview.backup_set, preview.reasons, preview.warnings) == (True, FULL, (), ())
    assert preview.argv_options == ("--set=" + FULL, "--target-action=promote", "--type=immediate")


def test_set_and_time_target_after_its_end():
    preview = check(INFO, 1, target_type="time", target_value="2026-11-26 17:27:28+00", set=INCR,
                    wal_max_time=WAL_TIME)
    assert (preview.ok, preview.backup_set, preview.reasons) == (True, INCR, ())


def test_real_restores_to_the_previewed_targets():
    """The three restores generate.py ran to the end and started: what the preview says of each."""
    between, after_wal, before_set = RESTORES["started"]
    preview = check(INFO, 1, target_type="time", target_value=between["target"], wal_max_time=WAL_TIME)
    assert (preview.ok, preview.backup_set) == (True, between["chosen"]) == (True, FULL)
    assert between["rows"] == "A,B"  # rows A, full backup, rows B, the target, rows C…
    # a target after the newest archived segment: pgBackRest restored, PostgreSQL could not reach it
    preview = check(INFO, 1, target_type="time", target_value=after_wal["target"], wal_max_time=WAL_TIME)
    assert [r.code for r in preview.reasons] == ["target-after-window"]
    assert not after_wal["promoted"]
    assert after_wal["log"][-1].endswith("FATAL:  recovery ended before configured recovery target was reached")
    # a target before the given set's end: PostgreSQL silently stopped at the set's end, not at the target
    preview = check(INFO, 1, target_type="time", target_value=before_set["target"], set=before_set["set"],
                    wal_max_time=WAL_TIME)
    assert [r.code for r in preview.reasons] == ["target-before-set"]
    assert (before_set["promoted"], before_set["rows"]) == (True, "A,B,C,D")


# -- each reason -------------------------------------------------------------------------------------------------------

def test_no_backup():
    preview = check(parse_info(fixture("info_no_backups.json")), 1)
    assert preview == Preview(
        ok=False, repo=1, storage_type="local", target=RestoreTarget(), backup_set=None, backup=None,
        window=Window(None, None, None, None, None),
        reasons=(Reason("no-backup", "storage_type", "repo1 (local) has no backup to restore from: take a backup "
                                                     "to local first"),),
        warnings=(), argv_options=None)


def test_no_usable_backup_when_every_backup_has_checksum_errors():
    preview = check(with_backups_flagged({FULL2, INCR2}), 2, wal_max_time=WAL_TIME)
    assert preview.reasons == (Reason("no-backup", "storage_type", "repo2 (s3) has no usable backup: every backup in "
                                      f"it ({INCR2}, {FULL2}) found page checksum errors; take a new full backup"),)
    assert preview.window == replace(WINDOW2, earliest=None, latest_backup=None)


def test_repo_error_quotes_pgbackrest():
    preview = check(parse_info(fixture("info_repo_error.json")), 1, target_type="time",
                    target_value="2026-11-26 17:27:17+00")
    assert preview.reasons == (Reason(
        "repo-error", "storage_type",
        "pgBackRest cannot read repo1 (local): [CryptoError] unable to verify certificate presented by "
        "'demo-backrest-shared-repo.fixture.svc:59409': [19] self-signed certificate in certificate chain "
        "(check the CA and certs)"),)
    assert (preview.ok, preview.backup_set, preview.argv_options) == (False, None, None)


def test_repo_missing_from_info_and_other_repo_statuses():
    preview = check(parse_info(fixture("info_repo1.json")), 2)
    assert preview.reasons == (Reason("repo-error", "storage_type", "pgBackRest's info does not list repo2 (s3): "
                                                                    "is s3 one of the cluster's storage types?"),)
    data = json.loads(fixture("info_no_backups.json"))
    data[0]["repo"][0]["status"] = {"code": 1, "message": "missing stanza path"}
    assert check(parse_info(data), 1).reasons == (
        Reason("repo-error", "storage_type", "pgBackRest cannot read repo1 (local): status 1: missing stanza path"),)


def test_backup_running():
    preview = check(parse_info(fixture("info_backup_running.json")), 1)
    assert preview.reasons == (Reason("backup-running", None, "a backup or expire of this cluster is running "
                                      "(pgBackRest holds the stanza's backup lock): restore when it has ended"),)


def test_set_not_found_names_the_repo_that_has_it():
    preview = check(INFO, 1, set=FULL2)
    assert preview.reasons == (Reason("set-not-found", "set", f"backup set {FULL2} is not in repo1 (local); it is in "
                                      f"repo2 (s3): restore from there; its sets: {DIFF}, {INCR}, {FULL}"),)
    assert (preview.backup_set, preview.argv_options) == (None, None)
    preview = check(INFO, 2, options=["--delta", "--set=20010101-000000F"])
    assert preview.reasons == (Reason("set-not-found", "options[1]", "backup set 20010101-000000F is not in repo2 "
                                      f"(s3); its sets: {INCR2}, {FULL2}"),)


def test_time_target_before_the_window():
    for value in ("2001-01-01 00:00:00+00", "2026-11-26 17:27:15+00", "2026-11-26 17:27:15.999999+00"):
        preview = check(INFO, 1, target_type="time", target_value=value, wal_max_time=WAL_TIME)
        assert preview.reasons == (Reason(
            "target-before-window", "target.value",
            f"target time {value} is before the recovery window of repo1 (local), which starts after "
            f"2026-11-26 17:27:15+00, the end of its oldest backup ({FULL}): pgBackRest restores a time from a backup "
            "that ended in an earlier second, so the earliest target is 2026-11-26 17:27:16+00"),)
        assert (preview.ok, preview.backup_set, preview.window) == (False, None, WINDOW1)


def test_time_target_before_the_window_given_as_option():
    preview = check(INFO, 2, options=["--type=time", "--target=2026-11-26 17:27:23+00"])
    assert [(r.code, r.field) for r in preview.reasons] == [("target-before-window", "options[1]")]


def test_time_target_before_the_given_set():
    preview = check(INFO, 1, target_type="time", target_value="2026-11-26 17:27:20+00", set=INCR,
                    wal_max_time=WAL_TIME)
    assert preview.reasons == (Reason(
        "target-before-set", "target.value",
        f"target time 2026-11-26 17:27:20+00 is not after the end of backup set {INCR} (2026-11-26 17:27:20+00): "
        "recovery cannot stop before that backup is consistent; choose a target from 2026-11-26 17:27:21+00, "
        f"or restore set {FULL} (or no set: pgBackRest then picks it)"),)
    assert preview.backup_set == INCR
    preview = check(INFO, 1, target_type="time", target_value="2026-11-26 17:27:10+00", set=FULL)
    assert preview.reasons[0].message.endswith("choose a target from 2026-11-26 17:27:16+00")


def test_time_target_after_the_newest_archived_wal():
    preview = check(INFO, 2, target_type="time", target_value="2026-11-26 17:27:32+00", wal_max_time=WAL_TIME)
    assert preview.reasons == (Reason(
        "target-after-window", "target.value",
        "target time 2026-11-26 17:27:32+00 is after the recovery window of repo2 (s3), which ends at "
        "2026-11-26 17:27:31+00, when its newest WAL segment (00000001000000000000000C) was archived: recovery "
        "would end before reaching the target and the restored PostgreSQL would not start; choose an earlier time, "
        "or target latest, or wait until the WAL past the target is archived"),)
    assert preview.backup_set == INCR2
    # within the second the segment was archived: not provably unreachable
    assert check(INFO, 2, target_type="time", target_value="2026-11-26 17:27:31.9+00", wal_max_time=WAL_TIME).ok


def test_time_target_without_the_wal_time_is_warned_about_or_refused_in_the_future():
    preview = check(INFO, 1, target_type="time", target_value="2026-11-26 17:27:40+00", now=at(28, 0))
    assert (preview.ok, preview.backup_set, preview.reasons) == (True, DIFF, ())
    assert preview.warnings == (Reason(
        "wal-time-unknown", "target.value",
        "the time of the newest archived WAL in repo1 (local) is not known, so target time 2026-11-26 17:27:40+00 is "
        "not checked against the end of the recovery window: if no WAL past it is archived (newest segment: "
        "00000001000000000000000C), recovery ends before reaching it and the restored PostgreSQL does not start"),)
    assert preview.window.latest is None
    preview = check(INFO, 1, target_type="time", target_value="2026-11-26 17:30:00+00", now=at(28, 0))
    assert preview.reasons == (Reason("target-after-window", "target.value", "target time 2026-11-26 17:30:00+00 is "
                                      "in the future (now: 2026-11-26 17:28:00+00)"),)


def test_lsn_targets():
    preview = check(INFO, 1, target_type="lsn", target_value="0/30000ff")
    assert preview.reasons == (Reason(
        "target-before-window", "target.value",
        "target LSN 0/30000FF is before the recovery window of repo1 (local): no backup in it ended at or before that "
        f"LSN (the oldest, {FULL}, ended at 0/3000100)"),)
    preview = check(INFO, 1, target_type="lsn", target_value="0/5000FFF", set=DIFF)
    assert preview.reasons == (Reason(
        "target-before-set", "target.value",
        f"target LSN 0/5000FFF is before the end of backup set {DIFF} (LSN 0/9000100): recovery cannot stop before "
        f"that backup is consistent; choose an LSN from 0/9000100, or restore set {INCR} (or no set: pgBackRest then "
        "picks it)"),)
    preview = check(INFO, 1, target_type="lsn", target_value="0/9000100", set=DIFF, target_action="pause")
    assert (preview.ok, preview.backup_set) == (True, DIFF)
    assert preview.warnings == (Reason(
        "target-not-checkable", "target.value",
        "target LSN 0/9000100 is checked against the start of the recovery window only: unless WAL up to it is "
        "archived (newest segment: 00000001000000000000000C), recovery ends before reaching it and the restored "
        "PostgreSQL does not start"),)


@pytest.mark.parametrize("kind, value, what", [
    ("name", "before-upgrade", "restore point 'before-upgrade' was created"),
    ("xid", "731", "transaction 731 committed"),
])
def test_name_and_xid_targets_cannot_be_checked(kind, value, what):
    preview = check(INFO, 2, target_type=kind, target_value=value, wal_max_time=WAL_TIME)
    assert (preview.ok, preview.backup_set, preview.reasons) == (True, INCR2, ())
    assert preview.warnings == (Reason(
        "target-not-checkable", "target.value",
        f"a {kind} target cannot be checked before the restore: unless the {what} after the end of backup set "
        f"{INCR2} (2026-11-26 17:27:29+00) and its WAL is archived, recovery ends without reaching it and the "
        "restored PostgreSQL does not start"),)


@pytest.mark.parametrize("kwargs, reason", [
    ({"target_type": "time", "target_value": "2026-11-26 17:27:17"},
     Reason("bad-target", "target.value", "invalid value '2026-11-26 17:27:17': expected a time such as "
                                          "'2026-11-26 10:00:00+00' (with its zone)")),
    ({"target_type": "when"},
     Reason("bad-target", "target.type", "invalid value 'when': expected one of latest, immediate, time, name, "
                                         "xid, lsn")),
    ({"target_type": "time", "target_value": "2026-11-26 17:27:17+00", "options": ["--delta", "--type=xid"]},
     Reason("bad-target", "options[1]", "--type: --type=xid conflicts with the request's target type 'time'")),
    ({"options": ["--delta", "--bogus"]},
     Reason("bad-option", "options[1]", "--bogus: unknown option for restore")),
    ({"options": ["--delta", "--no-delta"]},
     Reason("bad-option", "options[1]", "--delta: both --delta and --no-delta given")),
    ({"options": "--delta"},
     Reason("bad-option", "options", "must be a list of strings such as [\"--type=full\"]")),
    ({"target_action": "promote"},
     Reason("bad-option", "target_action", "--target-action: needs a target: with latest, recovery ends at the end "
                                           "of the WAL")),
    ({"target_type": "immediate", "target_action": "explode"},
     Reason("bad-option", "target_action", "invalid value 'explode': expected one of pause, promote, shutdown")),
    ({"set": "latest"},
     Reason("bad-option", "set", "invalid value 'latest': expected a backup label "
                                 "YYYYMMDD-HHMMSSF[_YYYYMMDD-HHMMSS{D|I}]")),
    ({"set": FULL, "options": [f"--set={INCR}"]},
     Reason("bad-option", "options[0]", f"--set: --set={INCR} conflicts with the request's set '{FULL}'")),
])
def test_bad_requests(kwargs, reason):
    preview = check(INFO, 1, wal_max_time=WAL_TIME, **kwargs)
    assert (preview.ok, preview.reasons, preview.argv_options) == (False, (reason,), None)


def test_every_reason_is_reported_not_only_the_first():
    preview = check(parse_info(fixture("info_backup_running.json")), 1, target_type="time",
                    target_value="2026-11-26 17:27:17", options=["--bogus"])
    assert [(r.code, r.field) for r in preview.reasons] == [
        ("backup-running", None), ("bad-option", "options[0]"), ("bad-target", "target.value")]


def test_a_backup_with_checksum_errors_chosen_by_pgbackrest_is_refused_a_given_one_warned_about():
    info = with_backups_flagged({INCR})
    preview = check(info, 1, target_type="time", target_value="2026-11-26 17:27:22+00", wal_max_time=WAL_TIME)
    assert preview.reasons == (Reason(
        "backup-has-errors", "set", f"backup set {INCR}, which pgBackRest would restore for this target, found page "
        f"checksum errors when it was taken: give set {FULL} (the newest clean one before it)"),)
    assert preview.backup_set == INCR
    preview = check(info, 1, target_type="time", target_value="2026-11-26 17:27:22+00", set=INCR,
                    wal_max_time=WAL_TIME)
    assert (preview.ok, preview.warnings) == (True, (Reason(
        "set-has-errors", "set", f"backup set {INCR} found page checksum errors when it was taken: the restored "
        "database has the same damaged pages"),))
    assert check(with_backups_flagged({FULL}), 1).window.earliest == at(27, 20)


def test_a_restore_target_object_is_taken_as_is():
    target = RestoreTarget("time", "2026-11-26T18:27:21+01:00")
    preview = check(INFO, 1, target, wal_max_time=WAL_TIME)
    assert (preview.ok, preview.target, preview.backup_set) == (True, target, INCR)
    assert preview.target.value == "2026-11-26 17:27:21.000000+00"


def test_now_is_only_used_without_wal_time():
    kwargs = dict(target_type="time", target_value="2026-11-26 17:27:30+00", wal_max_time=WAL_TIME)
    assert check(INFO, 1, now=at(27, 0), **kwargs) == check(INFO, 1, **kwargs)
    assert check(INFO, 1, now=at(27, 30) + timedelta(microseconds=1), **kwargs).ok
