"""The job-runner's reading of a command's end from pgBackRest's own log, for an exec stream lost before its status."""
from __future__ import annotations

from tasks.jobrunner import logged_outcome

BACKUP = ["pgbackrest", "--config=/etc/pgbackrest/pgbackrest.conf", "--stanza=db", "--repo=1", "--type=full", "backup"]
LOG = (b"2026-11-27 03:46:32.982 P00   INFO: backup command begin 2.45: --repo=1 --type=full\n"
       b"2026-11-27 03:46:36.144 P00   INFO: new backup label = 20261127-034633F\n"
       b"2026-11-27 03:46:36.160 P00   INFO: backup command end: completed successfully (3180ms)\n"
       b"2026-11-27 03:46:36.160 P00   INFO: expire command begin 2.45: --repo=1\n"
       b"2026-11-27 03:46:36.162 P00   INFO: expire command end: completed successfully (2ms)\n")


def test_a_logged_successful_end_is_exit_0():
    assert logged_outcome(LOG, BACKUP) == 0


def test_a_logged_abort_is_its_exception_code():
    aborted = LOG.split(b"expire")[0].replace(b"completed successfully (3180ms)", b"aborted with exception [050]")
    aborted = aborted.rsplit(b"\n", 1)[0] + b"\n"   # no expire after a failed backup
    assert logged_outcome(aborted, BACKUP) == 50


def test_the_expire_a_backup_runs_after_itself_decides_when_it_ended_and_is_unknown_while_it_runs():
    expire_failed = LOG.replace(b"expire command end: completed successfully (2ms)",
                                b"expire command end: aborted with exception [031]")
    assert logged_outcome(expire_failed, BACKUP) == 31
    expiring = LOG.rsplit(b"\n", 2)[0] + b"\n"   # the expire began, its end was not seen
    assert logged_outcome(expiring, BACKUP) is None


def test_no_end_of_the_command_run_is_unknown():
    begun = LOG.split(b"\n")[0] + b"\n"
    assert logged_outcome(begun, BACKUP) is None
    assert logged_outcome(b"", BACKUP) is None
    # another command's end says nothing of this one's (the expire a backup runs is not the backup)
    assert logged_outcome(LOG.split(b"\n", 3)[3], BACKUP) is None
    assert logged_outcome(LOG, ["pgbackrest", "--output=text", "info"]) is None
