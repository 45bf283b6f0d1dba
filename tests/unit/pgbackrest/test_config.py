"""tasks.pgbackrest.config: pgbackrest.conf of the primary, the repo host and a restore pod, as whole texts."""
from __future__ import annotations

import dataclasses

import pytest

from tasks.pgbackrest.config import (
    ClusterConfig,
    S3Repo,
    Tuning,
    primary_conf,
    render,
    repo_host_conf,
    restore_conf,
)

LOCAL = ClusterConfig("demo", "demo", "local")
MINIO = S3Repo("backups", "localhost", "us-east-1", port=9443, uri_style="path", verify_tls=True,
               ca_file="/pgbackrest/certs/s3-ca.crt")
BOTH = ClusterConfig("hippo", "pgo", "local,s3", MINIO)

CLIENT_TO_REPO_HOST = """\
repo{n}-host=hippo-backrest-shared-repo.pgo.svc
repo{n}-host-ca-file=/pgbackrest/certs/ca.crt
repo{n}-host-cert-file=/pgbackrest/certs/server.crt
repo{n}-host-config=/etc/pgbackrest/pgbackrest.conf
repo{n}-host-key-file=/pgbackrest/certs/server.key
repo{n}-host-port=8432
repo{n}-host-type=tls
"""
SERVER = """\
tls-server-auth={client}=db
tls-server-ca-file=/pgbackrest/certs/ca.crt
tls-server-cert-file=/pgbackrest/certs/server.crt
tls-server-key-file=/pgbackrest/certs/server.key
tls-server-port=8432
"""
REPO_HOST_COMMANDS = """\
[global:backup]
log-level-console=info
start-fast=y

[global:check]
log-level-console=info

[global:expire]
log-level-console=info

[global:stanza-create]
log-level-console=info

"""


def test_the_primary_of_a_local_cluster_archives_to_repo1_on_the_repo_host_and_serves_it_pgdata():
    assert primary_conf(LOCAL) == """\
[global]
compress-type=zst
log-level-file=off
log-path=/tmp
process-max=2
repo1-host=demo-backrest-shared-repo.demo.svc
repo1-host-ca-file=/pgbackrest/certs/ca.crt
repo1-host-cert-file=/pgbackrest/certs/server.crt
repo1-host-config=/etc/pgbackrest/pgbackrest.conf
repo1-host-key-file=/pgbackrest/certs/server.key
repo1-host-port=8432
repo1-host-type=tls
tls-server-auth=demo-backrest-shared-repo=db
tls-server-ca-file=/pgbackrest/certs/ca.crt
tls-server-cert-file=/pgbackrest/certs/server.crt
tls-server-key-file=/pgbackrest/certs/server.key
tls-server-port=8432

[db]
pg1-path=/pgdata/demo
pg1-port=5432
pg1-socket-path=/pgsock
"""


def test_the_repo_host_of_a_local_cluster_holds_repo1_and_reaches_the_primary_over_tls():
    assert repo_host_conf(LOCAL) == """\
[global]
compress-type=zst
log-level-file=off
log-path=/tmp
process-max=2
repo1-path=/pgbackrest/repo1
repo1-retention-full=9999999
repo1-type=posix
tls-server-auth=demo=db
tls-server-ca-file=/pgbackrest/certs/ca.crt
tls-server-cert-file=/pgbackrest/certs/server.crt
tls-server-key-file=/pgbackrest/certs/server.key
tls-server-port=8432

""" + REPO_HOST_COMMANDS + """\
[db]
pg1-host=demo.demo.svc
pg1-host-ca-file=/pgbackrest/certs/ca.crt
pg1-host-cert-file=/pgbackrest/certs/server.crt
pg1-host-config=/etc/pgbackrest/pgbackrest.conf
pg1-host-key-file=/pgbackrest/certs/server.key
pg1-host-port=8432
pg1-host-type=tls
pg1-path=/pgdata/demo
pg1-port=5432
pg1-socket-path=/pgsock
"""


def test_the_primary_of_a_local_and_s3_cluster_archives_to_both_repos_through_the_repo_host():
    assert primary_conf(BOTH) == (
        "[global]\ncompress-type=zst\nlog-level-file=off\nlog-path=/tmp\nprocess-max=2\n"
        + CLIENT_TO_REPO_HOST.format(n=1) + CLIENT_TO_REPO_HOST.format(n=2)
        + SERVER.format(client="hippo-backrest-shared-repo")
        + "\n[db]\npg1-path=/pgdata/hippo\npg1-port=5432\npg1-socket-path=/pgsock\n")


def test_the_repo_host_of_a_local_and_s3_cluster_holds_the_bucket_path_per_cluster_and_no_keys():
    text = repo_host_conf(BOTH)
    assert text == """\
[global]
compress-type=zst
log-level-file=off
log-path=/tmp
process-max=2
repo1-path=/pgbackrest/repo1
repo1-retention-full=9999999
repo1-type=posix
repo2-bundle=y
repo2-path=/backrestrepo/hippo
repo2-retention-full=9999999
repo2-s3-bucket=backups
repo2-s3-endpoint=localhost
repo2-s3-region=us-east-1
repo2-s3-uri-style=path
repo2-storage-ca-file=/pgbackrest/certs/s3-ca.crt
repo2-storage-port=9443
repo2-storage-verify-tls=y
repo2-type=s3
""" + SERVER.format(client="hippo") + "\n" + REPO_HOST_COMMANDS + """\
[db]
pg1-host=hippo.pgo.svc
pg1-host-ca-file=/pgbackrest/certs/ca.crt
pg1-host-cert-file=/pgbackrest/certs/server.crt
pg1-host-config=/etc/pgbackrest/pgbackrest.conf
pg1-host-key-file=/pgbackrest/certs/server.key
pg1-host-port=8432
pg1-host-type=tls
pg1-path=/pgdata/hippo
pg1-port=5432
pg1-socket-path=/pgsock
"""
    assert "s3-key" not in text


def test_an_s3_only_cluster_with_other_tuning_and_no_verification_has_only_repo2():
    cfg = ClusterConfig("hippo", "pgo", "s3", S3Repo("b", "s3.amazonaws.com", "eu-west-1", verify_tls=False),
                        tuning=Tuning(compress_type="lz4", compress_level=1, process_max=4, s3_bundle=False,
                                      start_fast=False), retention_full=2)
    assert repo_host_conf(cfg).split("\n\n")[0:2] == ["""\
[global]
compress-level=1
compress-type=lz4
log-level-file=off
log-path=/tmp
process-max=4
repo2-path=/backrestrepo/hippo
repo2-retention-full=2
repo2-s3-bucket=b
repo2-s3-endpoint=s3.amazonaws.com
repo2-s3-region=eu-west-1
repo2-s3-uri-style=host
repo2-storage-port=443
repo2-storage-verify-tls=n
repo2-type=s3
""" + SERVER.format(client="hippo").rstrip("\n"), "[global:backup]\nlog-level-console=info"]
    assert "repo1" not in primary_conf(cfg)


def test_a_restore_pod_reads_one_repo_through_the_repo_host_into_the_new_data_path():
    assert restore_conf(BOTH, 2, "/pgdata/hippo-restored") == (
        "[global]\ncompress-type=zst\nlog-level-file=off\nlog-path=/tmp\nprocess-max=2\n"
        + CLIENT_TO_REPO_HOST.format(n=2)
        + "\n[global:restore]\nlog-level-console=info\n\n[db]\npg1-path=/pgdata/hippo-restored\n")


def test_after_a_restore_the_repo_host_is_pointed_at_the_new_data_path():
    moved = repo_host_conf(dataclasses.replace(LOCAL, pg_path="/pgdata/demo-restored"))
    assert moved == repo_host_conf(LOCAL).replace("pg1-path=/pgdata/demo\n", "pg1-path=/pgdata/demo-restored\n")


def test_a_restore_pod_cannot_read_a_repo_the_cluster_does_not_have():
    with pytest.raises(ValueError) as info:
        restore_conf(LOCAL, 2)
    assert str(info.value) == "repo 2 is not one of cluster 'demo''s (local)"


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "Demo"}, "cluster name 'Demo' must be a DNS label of at most 42 characters (its repo host's "
                       "Service name adds 21)"),
    ({"name": "a" * 43}, f"cluster name '{'a' * 43}' must be a DNS label of at most 42 characters (its repo "
                         "host's Service name adds 21)"),
    ({"namespace": "my_ns"}, "namespace 'my_ns' is not a DNS label"),
    ({"storage_type": "s3"}, "storage type 's3' needs S3 settings"),
    ({"storage_type": "nfs"}, "storage type 'nfs' is not one of local, s3, local,s3"),
])
def test_a_cluster_config_is_checked_when_made(kwargs, message):
    with pytest.raises(ValueError) as info:
        dataclasses.replace(LOCAL, **kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize("kwargs, message", [
    ({"endpoint": "https://s3.amazonaws.com"}, "endpoint 'https://s3.amazonaws.com' is not a host name (give the "
                                               "port apart)"),
    ({"endpoint": "localhost:9000"}, "endpoint 'localhost:9000' is not a host name (give the port apart)"),
    ({"uri_style": "virtual"}, "uri_style 'virtual' is not one of host, path"),
    ({"port": 0}, "port 0 is not from 1 to 65535"),
])
def test_s3_settings_are_checked_when_made(kwargs, message):
    with pytest.raises(ValueError) as info:
        dataclasses.replace(MINIO, **kwargs)
    assert str(info.value) == message


def test_no_value_can_add_a_line_to_the_file():
    cfg = dataclasses.replace(BOTH, s3=dataclasses.replace(MINIO, ca_file="/x\nrepo2-s3-key=stolen"))
    with pytest.raises(ValueError) as info:
        repo_host_conf(cfg)
    assert str(info.value) == "cannot write repo2-storage-ca-file='/x\\nrepo2-s3-key=stolen' into pgbackrest.conf"


def test_render_orders_global_then_commands_by_name_then_the_stanza_and_leaves_out_empty_sections():
    assert render([("b", "2"), ("a", "1"), ("a", "0")], {"restore": [("z", "1")], "backup": [], "archive-push": [
        ("y", "1")]}, [("pg1-path", "/p")]) == (
        "[global]\na=0\na=1\nb=2\n\n[global:archive-push]\ny=1\n\n[global:restore]\nz=1\n\n[db]\npg1-path=/p\n")


def test_names_and_hosts_are_the_services_dns_names():
    assert (BOTH.primary_service, BOTH.repo_host_service, BOTH.host(BOTH.repo_host_service), BOTH.repos) == (
        "hippo", "hippo-backrest-shared-repo", "hippo-backrest-shared-repo.pgo.svc", (1, 2))
