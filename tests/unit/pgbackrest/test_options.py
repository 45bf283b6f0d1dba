"""tasks.pgbackrest.options: the allowlist of user options, per command, with typed values."""
from __future__ import annotations

import pytest

from tasks.pgbackrest.options import OptionError, normalize, size_bytes, size_text, value_of, without


def refusal(command: str, options, **kw) -> tuple[str, str]:
    with pytest.raises(OptionError) as info:
        normalize(command, options, **kw)
    assert str(info.value) == f"{info.value.option}: {info.value.reason}"
    return info.value.option, info.value.reason


def test_the_issues_example_comes_out_sorted_in_canonical_form():
    assert normalize("backup", ["--type=full", "--start-fast", "--compress-type=zst", "--process-max=4",
                                "--annotation=source=api"]) == [
        "--annotation=source=api", "--compress-type=zst", "--process-max=4", "--start-fast", "--type=full"]


def test_booleans_are_read_in_every_spelling_pgbackrest_accepts():
    assert normalize("backup", ["--start-fast=y", "--archive-copy", "--archive-check=n", "--no-resume",
                                "--backup-standby=y", "--no-checksum-page", "--delta"]) == [
        "--archive-copy", "--backup-standby", "--delta", "--no-archive-check", "--no-checksum-page", "--no-resume",
        "--start-fast"]


def test_repeated_items_are_kept_once_and_repeatable_options_keep_every_value():
    assert normalize("restore", ["--delta", "--db-include=app", "--delta", "--db-include=billing",
                                 "--db-include=app", "--db-exclude=16384"]) == [
        "--db-exclude=16384", "--db-include=app", "--db-include=billing", "--delta"]


def test_normalizing_twice_changes_nothing():
    once = normalize("backup", ["--buffer-size=1mb", "--archive-timeout=060.50", "--no-start-fast",
                                "--annotation=a=b=c", "--compress-level=03"])
    assert once == ["--annotation=a=b=c", "--archive-timeout=60.5", "--buffer-size=1MiB", "--compress-level=3",
                    "--no-start-fast"]
    assert normalize("backup", once) == once


def test_no_options_at_all_are_an_empty_list():
    assert normalize("backup", None) == []
    assert normalize("expire", ()) == []


@pytest.mark.parametrize("options, option, reason", [
    (["--type=full; rm -rf /"], "--type", "invalid value 'full; rm -rf /': expected one of full, diff, incr"),
    (["--repo1-path=/x"], "--repo1-path", "owned by the service"),
    (["--config=/etc/passwd"], "--config", "owned by the service"),
    (["--frobnicate"], "--frobnicate", "unknown option for backup"),
    (["--stanza=other"], "--stanza", "owned by the service"),
    (["--repo=2"], "--repo", "owned by the service"),
    (["--repo-path=/x"], "--repo-path", "owned by the service"),
    (["--no-repo1-bundle"], "--no-repo1-bundle", "owned by the service"),
    (["--pg1-path=/var/lib/postgresql"], "--pg1-path", "owned by the service"),
    (["--pg-host=evil"], "--pg-host", "owned by the service"),
    (["--config-include-path=/tmp"], "--config-include-path", "owned by the service"),
    (["--lock-path=/tmp"], "--lock-path", "owned by the service"),
    (["--log-path=/tmp"], "--log-path", "owned by the service"),
    (["--log-level-console=trace"], "--log-level-console", "owned by the service"),
    (["--tls-server-address=0.0.0.0"], "--tls-server-address", "owned by the service"),
    (["--cmd=/bin/sh"], "--cmd", "owned by the service"),
    (["--archive-async"], "--archive-async", "owned by the service"),
    (["--exclude=base"], "--exclude", "not accepted: a backup leaving out files is not restorable as a whole"),
    (["--online=n"], "--online",
     "not accepted: offline backups need PostgreSQL stopped, which the service does not do"),
    (["--target=x"], "--target", "not accepted for backup (only for restore)"),
    (["--dry-run"], "--dry-run", "not accepted for backup (only for expire)"),
    (["--type"], "--type", "--type needs a value: --type=…"),
    (["--no-type"], "--no-type", "--type is not a boolean"),
    (["--no-start-fast=y"], "--no-start-fast", "takes no value"),
    (["--start-fast=yes"], "--start-fast", "invalid value 'yes': expected y or n (or --no-start-fast)"),
    (["--reset-start-fast"], "--reset-start-fast", "--reset- forms are not accepted"),
    (["--start-fast", "--no-start-fast"], "--start-fast", "both --start-fast and --no-start-fast given"),
    (["--type=full", "--type=incr"], "--type", "given twice with different values"),
    (["--process-max=0"], "--process-max", "invalid value '0': expected an integer from 1 to 999"),
    (["--process-max=1000"], "--process-max", "invalid value '1000': expected an integer from 1 to 999"),
    (["--process-max=2.5"], "--process-max", "invalid value '2.5': expected an integer from 1 to 999"),
    (["--buffer-size=3MiB"], "--buffer-size", "invalid value '3MiB': expected one of 16KiB, 32KiB, 64KiB, 128KiB, "
                                              "256KiB, 512KiB, 1MiB, 2MiB, 4MiB, 8MiB, 16MiB"),
    (["--buffer-size=lots"], "--buffer-size", "invalid value 'lots': expected a size such as 1MiB"),
    (["--archive-timeout=0.05"], "--archive-timeout", "invalid value '0.05': expected seconds from 0.1 to 86400"),
    (["--io-timeout=7200"], "--io-timeout", "invalid value '7200': expected seconds from 0.1 to 3600"),
    (["--compress-type=xz"], "--compress-type", "invalid value 'xz': expected one of none, bz2, gz, lz4, zst"),
    (["--compress-level=20"], "--compress-level", "invalid value 20: compress-type zst takes 1 to 19"),
    (["--compress-type=gz", "--compress-level=12"], "--compress-level", "invalid value 12: compress-type gz takes 1 "
                                                                         "to 9"),
    (["--compress-type=none", "--compress-level=1"], "--compress-level", "has no effect with compress-type none"),
    (["--annotation=novalue"], "--annotation", "invalid value 'novalue': expected key=value (key: letters, digits, "
                                               "'_', '.', '-'; value: up to 256 printable ASCII characters)"),
    (["--annotation=a=1", "--annotation=a=2"], "--annotation", "key 'a' given twice with different values"),
    (["--annotation=a=line\nbreak"], "--annotation", "invalid value: control characters"),
    (["-t", "full"], "-t", "not an option: give each as --name or --name=value"),
    (["full"], "full", "not an option: give each as --name or --name=value"),
    (["--Type=full"], "--Type=full", "not an option name: lowercase letters, digits and '-'"),
    (["--type=full --start-fast"], "--type", "invalid value 'full --start-fast': expected one of full, diff, incr"),
    ([7], "7", "options are strings such as --type=full"),
    ("--type=full", "options", 'must be a list of strings such as ["--type=full"]'),
])
def test_a_backup_option_is_refused_naming_the_option_and_why(options, option, reason):
    assert refusal("backup", options) == (option, reason)


def test_a_long_refused_value_is_quoted_back_cut():
    option, reason = refusal("backup", ["--type=" + "x" * 100])
    assert (option, reason) == ("--type", f"invalid value '{'x' * 60}…': expected one of full, diff, incr")


def test_compress_level_is_checked_against_the_clusters_default_type_when_options_name_none():
    assert normalize("backup", ["--compress-level=12"], compress_type="lz4") == ["--compress-level=12"]
    assert refusal("backup", ["--compress-level=12"], compress_type="gz") == (
        "--compress-level", "invalid value 12: compress-type gz takes 1 to 9")


def test_restore_takes_its_own_allowlist():
    assert normalize("restore", ["--type=time", "--target=2026-11-26 10:00:00+00", "--target-action=promote",
                                 "--target-exclusive", "--target-timeline=latest", "--set=20261126-163212F",
                                 "--archive-mode=off", "--process-max=2", "--buffer-size=4MiB"]) == [
        "--archive-mode=off", "--buffer-size=4MiB", "--process-max=2", "--set=20261126-163212F",
        "--target-action=promote", "--target-exclusive", "--target-timeline=latest",
        "--target=2026-11-26 10:00:00+00", "--type=time"]


@pytest.mark.parametrize("options, option, reason", [
    (["--type=full"], "--type", "invalid value 'full': expected one of default, immediate, name, time, xid, lsn, "
                                "preserve, standby"),
    (["--recovery-option=restore_command=sh -c x"], "--recovery-option",
     "not accepted: could set restore_command, which PostgreSQL runs through a shell"),
    (["--tablespace-map=ts=/etc"], "--tablespace-map", "not accepted: paths in the restored pod are the service's"),
    (["--link-all"], "--link-all", "not accepted: paths in the restored pod are the service's"),
    (["--force"], "--force", "not accepted: the service decides when to force"),
    (["--start-fast"], "--start-fast", "not accepted for restore (only for backup)"),
    (["--set=latest"], "--set", "invalid value 'latest': expected a backup label "
                                "YYYYMMDD-HHMMSSF[_YYYYMMDD-HHMMSS{D|I}]"),
    (["--set=20261126-163212F_20261126-163217F"], "--set", "invalid value '20261126-163212F_20261126-163217F': "
                                                           "expected a backup label "
                                                           "YYYYMMDD-HHMMSSF[_YYYYMMDD-HHMMSS{D|I}]"),
    (["--target-timeline=0"], "--target-timeline", "invalid value '0': expected an integer from 1 to 4294967295"),
    (["--target-timeline=newest"], "--target-timeline", "invalid value 'newest': expected an integer from 1 to "
                                                        "4294967295"),
    (["--archive-mode=on"], "--archive-mode", "invalid value 'on': expected one of preserve, off"),
    (["--target-action=continue"], "--target-action", "invalid value 'continue': expected one of pause, promote, "
                                                      "shutdown"),
    (["--target=x'; drop table t"], "--target", "invalid value \"x'; drop table t\": expected a recovery target "
                                                "(letters, digits, ' _.:/+-')"),
    (["--db-include=app;rm"], "--db-include", "invalid value 'app;rm': expected a database name or OID"),
    (["--pg1-path=/pgdata/other"], "--pg1-path", "owned by the service"),
])
def test_a_restore_option_is_refused_naming_the_option_and_why(options, option, reason):
    assert refusal("restore", options) == (option, reason)


def test_info_takes_a_set_and_a_type_filter_but_not_the_output_format():
    assert normalize("info", ["--type=full", "--set=20261126-163212F"]) == ["--set=20261126-163212F", "--type=full"]
    assert refusal("info", ["--output=text"]) == ("--output", "owned by the service")
    assert refusal("info", ["--start-fast"]) == ("--start-fast", "not accepted for info (only for backup)")


def test_expire_takes_a_set_and_dry_run_and_no_retention_settings():
    assert normalize("expire", ["--dry-run", "--set=20261126-163212F"]) == ["--dry-run", "--set=20261126-163212F"]
    assert refusal("expire", ["--repo1-retention-full=1"]) == ("--repo1-retention-full", "owned by the service")


def test_options_are_checked_only_for_the_commands_that_have_an_allowlist():
    with pytest.raises(ValueError) as info:
        normalize("stanza-delete", [])
    assert str(info.value) == "options are checked for backup, restore, info, expire, not 'stanza-delete'"


def test_sizes_are_binary_and_written_in_the_largest_exact_unit():
    assert [size_bytes(v) for v in ("16384", "16k", "16KB", "16kib", "1MiB", "2g")] == [
        16384, 16384, 16384, 16384, 1048576, 2147483648]
    assert [size_text(n) for n in (1000, 16384, 1048576, 3 << 30)] == ["1000", "16KiB", "1MiB", "3GiB"]


def test_values_can_be_read_back_and_options_left_out_of_normalized_argv():
    argv = ["--delta", "--no-archive-check", "--set=20261126-163212F", "--type=time"]
    assert [value_of(argv, n) for n in ("delta", "archive-check", "set", "type", "target")] == [
        "y", "n", "20261126-163212F", "time", None]
    assert without(argv, "type", "archive-check") == ["--delta", "--set=20261126-163212F"]
