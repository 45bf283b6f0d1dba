"""tasks.pgbackrest.info: real `pgbackrest info --output=json` (2.45) parsed into a catalogue per repo."""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import pytest

from tasks.pgbackrest.errors import CallHuman
from tasks.pgbackrest.info import (
    Backup,
    Catalogue,
    Database,
    Progress,
    RecoveryWindow,
    RepoCatalogue,
    WalArchive,
    parse_info,
    parse_lock_file,
    parse_text_progress,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
SYSTEM_ID = 7712518852089044616
DB = (Database(1, SYSTEM_ID, "15"),)
WAL_1_TO_9 = (WalArchive("15-1", 1, "000000010000000000000001", "000000010000000000000009"),)
FULL, INCR, DIFF = "20261126-163212F", "20261126-163212F_20261126-163217I", "20261126-163212F_20261126-163225D"
FULL2 = "20261126-163220F"


def fixture(name: str) -> str:
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


def at(hour: int, minute: int, second: int) -> datetime:
    return datetime(2026, 11, 26, hour, minute, second, tzinfo=timezone.utc)


def wal(n: int) -> str:
    return f"0000000100000000000000{n:02X}"


REPO1_BACKUPS = (
    Backup(label=FULL, type="full", repo=1, prior=None, reference=(), start=at(16, 32, 12), stop=at(16, 32, 16),
           database_size=23222071, database_delta=23222071, repo_size=2827939, repo_delta=2827939,
           wal_start=wal(3), wal_stop=wal(3), lsn_start="0/3000028", lsn_stop="0/3000100", db_id=1,
           annotations={"kind": "first", "source": "fixture"}),
    Backup(label=INCR, type="incr", repo=1, prior=FULL, reference=(FULL,), start=at(16, 32, 17), stop=at(16, 32, 19),
           database_size=23222070, database_delta=672009, repo_size=2828005, repo_delta=44792,
           wal_start=wal(5), wal_stop=wal(5), lsn_start="0/5000028", lsn_stop="0/5000100", db_id=1),
    Backup(label=DIFF, type="diff", repo=1, prior=FULL, reference=(FULL,), start=at(16, 32, 25), stop=at(16, 32, 26),
           database_size=23222071, database_delta=672010, repo_size=2828034, repo_delta=44821,
           wal_start=wal(9), wal_stop=wal(9), lsn_start="0/9000028", lsn_stop="0/9000100", db_id=1),
)
REPO2_BACKUPS = (
    Backup(label=FULL2, type="full", repo=2, prior=None, reference=(), start=at(16, 32, 20), stop=at(16, 32, 24),
           database_size=23222069, database_delta=23222069, repo_size=2827999, repo_delta=2827999,
           wal_start=wal(6), wal_stop=wal(7), lsn_start="0/6000028", lsn_stop="0/7000050", db_id=1),
)


def test_two_repos_are_told_apart_by_repo_key_with_every_backup_field():
    assert parse_info(fixture("info_two_repos.json")) == Catalogue(
        stanza="db", status_code=0, status_message="ok", lock=Progress(held=False),
        repos=(RepoCatalogue(repo=1, storage_type="local", status_code=0, status_message="ok",
                             backups=REPO1_BACKUPS, archives=WAL_1_TO_9, databases=DB),
               RepoCatalogue(repo=2, storage_type="s3", status_code=0, status_message="ok",
                             backups=REPO2_BACKUPS, archives=WAL_1_TO_9, databases=DB)))


def test_info_of_one_repo_is_that_repo_alone():
    catalogue = parse_info(fixture("info_repo1.json"))
    assert [r.repo for r in catalogue.repos] == [1]
    assert catalogue.repo(1) == parse_info(fixture("info_two_repos.json")).repo(1)
    assert catalogue.repo(2) is None


def test_the_system_id_beyond_2_to_the_53_stays_exact_and_is_a_string_for_api_clients():
    catalogue = parse_info(fixture("info_two_repos.json"))
    assert catalogue.repo(1).databases[0].system_id == SYSTEM_ID and int(float(SYSTEM_ID)) != SYSTEM_ID
    assert json.loads(json.dumps(catalogue.to_json()))["repos"][0]["databases"] == [
        {"db_id": 1, "system_id": "7712518852089044616", "version": "15"}]


def test_the_recovery_window_runs_from_the_oldest_backups_end_to_the_newest_and_names_the_wal_range():
    catalogue = parse_info(fixture("info_two_repos.json"))
    assert catalogue.repo(1).window == RecoveryWindow(earliest=at(16, 32, 16), latest_backup=at(16, 32, 26),
                                                      wal_min=wal(1), wal_max=wal(9))
    assert catalogue.repo(2).window == RecoveryWindow(earliest=at(16, 32, 24), latest_backup=at(16, 32, 24),
                                                      wal_min=wal(1), wal_max=wal(9))


@pytest.mark.parametrize("moment, latest, reason", [
    (at(16, 32, 15), None, "before the end of the oldest backup (2026-11-26T16:32:16+00:00)"),
    (at(16, 32, 16), None, None),
    (at(16, 32, 26), None, None),
    (at(16, 40, 0), None, "after the newest restorable time known (2026-11-26T16:32:26+00:00)"),
    (at(16, 40, 0), at(16, 45, 0), None),
    (at(16, 50, 0), at(16, 45, 0), "after the newest restorable time known (2026-11-26T16:45:00+00:00)"),
])
def test_a_target_time_is_checked_against_the_window_with_an_upper_bound_from_elsewhere(moment, latest, reason):
    assert parse_info(fixture("info_two_repos.json")).repo(1).window.why_not(moment, latest=latest) == reason


def test_backups_are_found_by_label_in_their_own_repo_only():
    catalogue = parse_info(fixture("info_two_repos.json"))
    assert catalogue.repo(1).backup(INCR) == REPO1_BACKUPS[1]
    assert catalogue.repo(1).backup(FULL2) is None


def test_a_stanza_just_created_has_no_backups_and_an_empty_window():
    catalogue = parse_info(fixture("info_no_backups.json"))
    assert catalogue.to_json() == {
        "stanza": "db", "status": {"code": 2, "message": "no valid backups"},
        "backup_lock": {"held": False, "size": None, "size_complete": None, "percent": None},
        "repos": [{"repo": n, "storage_type": kind,
                   "status": {"code": 2, "message": "no valid backups", "error": None}, "backups": [],
                   "archives": [{"archive_id": "15-1", "db_id": 1, "min": None, "max": None}],
                   "databases": [{"db_id": 1, "system_id": "7712518852089044616", "version": "15"}],
                   "recovery_window": {"earliest": None, "latest_backup": None, "wal_min": None, "wal_max": None}}
                  for n, kind in ((1, "local"), (2, "s3"))]}
    assert catalogue.repo(1).window.why_not(at(16, 0, 0)) == "the repository has no backup"


def test_a_backup_in_json_form_is_what_the_api_answers():
    assert REPO1_BACKUPS[1].to_json() == {
        "label": INCR, "type": "incr", "repo": 1, "prior": FULL, "reference": [FULL],
        "start": "2026-11-26T16:32:17+00:00", "stop": "2026-11-26T16:32:19+00:00", "database_size": 23222070,
        "database_delta": 672009, "repo_size": 2828005, "repo_delta": 44792, "wal_start": wal(5),
        "wal_stop": wal(5), "lsn_start": "0/5000028", "lsn_stop": "0/5000100", "db_id": 1, "annotations": {},
        "error": False}


def test_a_repo_info_could_not_read_carries_pgbackrests_error():
    repo = parse_info(fixture("info_repo_error.json")).repo(1)
    message = ("unable to verify certificate presented by 'demo-backrest-shared-repo.fixture.svc:59409': "
               "[19] self-signed certificate in certificate chain")
    assert (repo.status_code, repo.backups, repo.window.earliest) == (99, (), None)
    assert type(repo.error) is CallHuman and (repo.error.code, repo.error.message) == (95, message)
    assert repo.to_json()["status"] == {
        "code": 99, "message": f"[CryptoError] {message}",
        "error": {"code": 95, "name": "CryptoError", "message": message,
                  "meaning": "TLS or encryption failed (e.g. unable to verify certificate)",
                  "todo": "check the CA and certs", "action": "call-human"}}


def test_while_a_backup_runs_2_45_says_only_that_the_lock_is_held():
    catalogue = parse_info(fixture("info_backup_running.json"))
    assert catalogue.lock == Progress(held=True) and catalogue.lock.percent is None
    assert catalogue.repo(1).backups == REPO1_BACKUPS and catalogue.repo(2).window.wal_max == wal(0x19)


def test_2_45_progress_is_read_from_the_text_info_or_the_lock_file():
    assert parse_text_progress(fixture("info_backup_running.txt")) == 85.08
    assert parse_lock_file(fixture("backup_lock.json")) == 85.08
    assert parse_text_progress(fixture("info_two_repos.txt")) is None
    assert parse_lock_file('{"execId":"1-a","pid":1}') is None
    assert parse_lock_file("") is None


def test_newer_pgbackrest_sizes_in_the_lock_give_bytes_and_percent():
    data = json.loads(fixture("info_backup_running.json"))
    data[0]["status"]["lock"]["backup"].update({"size": 109792819251, "size-cplt": 75161927680})
    assert parse_info(data).lock.to_json() == {"held": True, "size": 109792819251, "size_complete": 75161927680,
                                               "percent": 68.46}


@pytest.mark.parametrize("text, message", [
    ("not json", "not pgBackRest info JSON: JSONDecodeError: Expecting value: line 1 column 1 (char 0)"),
    ('{"name": "db"}', "not pgBackRest info JSON: AttributeError: 'str' object has no attribute 'get'"),
    ("[]", "stanza 'db' is not in the info output"),
    ('[{"name": "db", "backup": [{"label": "x"}]}]', "not pgBackRest info JSON: KeyError: 'info'"),
])
def test_output_that_is_not_info_json_is_a_value_error_saying_so(text, message):
    with pytest.raises(ValueError) as info:
        parse_info(text)
    assert str(info.value) == message


def test_another_stanza_can_be_asked_for():
    with pytest.raises(ValueError) as info:
        parse_info(fixture("info_two_repos.json"), stanza="other")
    assert str(info.value) == "stanza 'other' is not in the info output"
