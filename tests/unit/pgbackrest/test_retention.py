"""Retention per repo (`repoN-retention-*`) in the repo host's pgbackrest.conf: whole texts, and refusals."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from tasks.pgbackrest.config import (S3Repo, ClusterConfig, Retention, RetentionError, repo_host_conf,
                                     retention_by_repo)

MINIO = S3Repo("backups", "localhost", "us-east-1", port=9443, uri_style="path")


def repo_lines(cfg: ClusterConfig) -> list[str]:
    return [line for line in repo_host_conf(cfg).splitlines() if "-retention-" in line]


def test_without_retention_every_repo_keeps_every_backup():
    cfg = ClusterConfig("hippo", "pgo", "local,s3", MINIO)
    assert repo_lines(cfg) == ["repo1-retention-full=9999999", "repo2-retention-full=9999999"]


def test_each_repo_gets_its_own_settings_and_the_others_keep_everything():
    cfg = ClusterConfig("hippo", "pgo", "local,s3", MINIO, retention=retention_by_repo({
        "s3": {"full": 14, "full_type": "time", "diff": 3, "archive": 2, "archive_type": "diff"}}))
    assert repo_lines(cfg) == [
        "repo1-retention-full=9999999",
        "repo2-retention-archive=2", "repo2-retention-archive-type=diff", "repo2-retention-diff=3",
        "repo2-retention-full=14", "repo2-retention-full-type=time"]


def test_a_repo_with_only_diff_retention_still_keeps_every_full():
    cfg = ClusterConfig("demo", "demo", "local", retention=retention_by_repo({"local": {"diff": 2}}))
    assert repo_lines(cfg) == ["repo1-retention-diff=2", "repo1-retention-full=9999999"]


@pytest.mark.parametrize("data, key, words", [
    ({"full": 0}, "full", "0 is not a whole number from 1 to 9999999"),
    ({"full": 10000000}, "full", "10000000 is not"),
    ({"diff": "3"}, "diff", "'3' is not a whole number"),
    ({"archive": True}, "archive", "True is not"),
    ({"full": 2, "full_type": "weeks"}, "full_type", "'weeks' is not one of count, time"),
    ({"full_type": "time"}, "full_type", "needs repo-retention-full"),
    ({"archive_type": "incr"}, "archive", "required with repo-retention-archive-type=incr"),
    ({"archive_type": "diff"}, "archive", "or repo-retention-diff is required"),
    ({"archive_type": "all"}, "archive_type", "'all' is not one of full, diff, incr"),
    ({"forever": 1}, "forever", "is not a retention setting"),
])
def test_settings_pgbackrest_would_refuse_or_that_keep_wal_forever_are_refused(data, key, words):
    with pytest.raises(RetentionError) as err:
        Retention.from_json(data)
    assert err.value.key == key and words in str(err.value)
    assert str(err.value).startswith(f"repo-retention-{key.replace('_', '-')}: ")


def test_retention_for_a_repo_the_cluster_lacks_is_refused():
    with pytest.raises(ValueError, match="retention for repo2"):
        ClusterConfig("demo", "demo", "local", retention=retention_by_repo({"s3": {"full": 1}}))
    with pytest.raises(ValueError, match="'gcs' is not a storage type"):
        retention_by_repo({"gcs": {"full": 1}})


def test_the_api_shape_round_trips():
    data = {"full": 7, "full_type": "count", "archive": 3, "archive_type": "incr"}
    assert Retention.from_json(data).to_json() == data


@pytest.mark.skipif(shutil.which("pgbackrest") is None, reason="pgbackrest is not installed")
def test_pgbackrest_reads_the_settings_without_an_option_error(tmp_path):
    cfg = ClusterConfig("demo", "demo", "local", repo1_path=str(tmp_path / "repo"), retention=retention_by_repo(
        {"local": {"full": 7, "full_type": "time", "diff": 3, "archive": 2, "archive_type": "incr"}}))
    conf = tmp_path / "pgbackrest.conf"
    conf.write_text(repo_host_conf(cfg))
    done = subprocess.run(["pgbackrest", f"--config={conf}", "--stanza=db", "--log-level-console=warn", "expire"],
                          capture_output=True, text=True, timeout=30)
    out = done.stdout + done.stderr
    assert "[031]" not in out and "[032]" not in out and "retention" not in out, out
    assert "[055]" in out  # it got as far as looking for the (absent) backup.info
