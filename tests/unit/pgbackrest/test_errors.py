"""tasks.pgbackrest.errors: exit codes → named errors that say what to do; stderr parsing (real fixtures)."""
from __future__ import annotations

import os

import pytest

from tasks.pgbackrest.errors import (
    CODES,
    CallHuman,
    FixRequest,
    ParsedError,
    PgBackRestError,
    RetryLater,
    error_for,
    error_named,
    parse_error,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture(name: str) -> str:
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


def test_a_held_lock_from_a_real_second_backup_is_retry_later_with_its_hint():
    error = error_for(50, fixture("stderr_lock_acquire.txt"))
    assert type(error) is RetryLater
    assert error.to_json() == {
        "code": 50, "name": "LockAcquireError",
        "message": "unable to acquire lock on file '/tmp/pgbackrest/db-backup.lock': Resource temporarily "
                   "unavailable\nHINT: is another pgBackRest process running?",
        "meaning": "another pgBackRest command holds the stanza's lock", "todo": "retry when it ends",
        "action": "retry"}


def test_an_unverifiable_certificate_from_a_real_restore_calls_a_human():
    error = error_for(95, fixture("stderr_tls_verify.txt"))
    assert type(error) is CallHuman
    assert (error.code, error.name, error.message, error.todo) == (
        95, "CryptoError", "unable to verify certificate presented by 'demo-backrest-shared-repo.fixture.svc:59409': "
                           "[19] self-signed certificate in certificate chain", "check the CA and certs")


def test_a_real_restore_of_a_set_that_does_not_exist_is_the_requests_fault():
    error = error_for(75, fixture("stderr_backup_set_invalid.txt"))
    assert type(error) is FixRequest
    assert str(error) == "[075] BackupSetInvalidError: backup set 20200101-000000F is not valid"


def test_an_error_line_in_a_log_file_is_found_among_info_lines():
    log = ("2026-11-26 16:16:37.094 P00   INFO: restore command begin 2.45: --stanza=db\n"
           "2026-11-26 16:16:37.094 P00  ERROR: [038]: unable to restore while PostgreSQL is running\n"
           "                                    HINT: presence of 'postmaster.pid' indicates PostgreSQL is running.\n"
           "2026-11-26 16:16:37.095 P00   INFO: restore command end: aborted with exception [038]\n")
    assert parse_error(log) == ParsedError(
        38, "PgRunningError", "unable to restore while PostgreSQL is running\n"
                              "HINT: presence of 'postmaster.pid' indicates PostgreSQL is running.")


def test_output_without_an_error_line_parses_to_nothing():
    assert parse_error("WARN: option 'repo1-retention-full' is not set\n") is None
    assert parse_error("") is None


def test_a_successful_command_is_no_error():
    assert error_for(0, "anything") is None


def test_a_failure_without_an_error_line_keeps_its_exit_code_and_output():
    error = error_for(137, "Killed\n")
    assert (type(error), error.code, error.name, error.message, error.meaning) == (
        CallHuman, 137, "Error137", "Killed", "an error pgBackRest 2.45 does not define")


def test_the_code_on_the_error_line_wins_over_the_exit_code():
    assert error_for(1, "ERROR: [056]: unable to connect to 'dbname=postgres'").code == 56


@pytest.mark.parametrize("code, cls", [
    (49, RetryLater), (50, RetryLater), (56, RetryLater), (82, RetryLater), (101, RetryLater), (39, RetryLater),
    (29, FixRequest), (31, FixRequest), (32, FixRequest), (37, FixRequest), (75, FixRequest), (80, FixRequest),
    (25, CallHuman), (28, CallHuman), (41, CallHuman), (45, CallHuman), (46, CallHuman), (55, CallHuman),
    (62, CallHuman), (72, CallHuman), (87, CallHuman), (95, CallHuman), (96, CallHuman), (103, CallHuman),
])
def test_each_class_of_failure_maps_to_what_the_service_does(code, cls):
    error = error_for(code, "")
    assert type(error) is cls and isinstance(error, PgBackRestError)
    assert error.action == {RetryLater: "retry", FixRequest: "fix-request", CallHuman: "call-human"}[cls]


def test_the_table_is_pgbackrests_own_names_for_its_codes():
    assert {code: row[0] for code, row in CODES.items() if code in (25, 28, 29, 37, 39, 41, 45, 46, 49, 50, 55, 56,
                                                                     62, 72, 75, 82, 87, 95, 96, 103)} == {
        25: "AssertError", 28: "FileInvalidError", 29: "FormatError", 37: "OptionRequiredError",
        39: "ProtocolError", 41: "FileOpenError", 45: "ArchiveDuplicateError", 46: "VersionNotSupportedError",
        49: "HostConnectError", 50: "LockAcquireError", 55: "FileMissingError", 56: "DbConnectError",
        62: "StopError", 72: "HostInvalidError", 75: "BackupSetInvalidError", 82: "ArchiveTimeoutError",
        87: "ArchiveDisabledError", 95: "CryptoError", 96: "ParamInvalidError", 103: "RepoInvalidError"}
    assert len(CODES) == 70 and all(row[3] in ("retry", "fix-request", "call-human") for row in CODES.values())


def test_an_error_named_in_info_output_gets_its_code():
    error = error_named("CryptoError", "unable to verify certificate")
    assert (type(error), error.code, str(error)) == (CallHuman, 95, "[095] CryptoError: unable to verify certificate")
    assert error_named("NoSuchError").code == 125
