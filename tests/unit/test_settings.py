"""tasks.settings: conf/ and the environment into frozen dataclasses; exact errors; secrets never shown."""
from __future__ import annotations

import dataclasses
import datetime
import json
import os
import pickle
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tasks.settings import (
    DEFAULT_CONF_DIR,
    ENVIRONMENT,
    ApiSettings,
    ImageSettings,
    JobSettings,
    KubernetesSettings,
    PodSettings,
    RedisSettings,
    S3Settings,
    Secret,
    Settings,
    SettingsError,
    StorageSettings,
    TaskSettings,
    VolumeSettings,
    load_settings,
    load_settings_from_environ,
    parse_storage_type,
)

KEY, KEY_SECRET = "AKIAEXAMPLEKEY123456", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
REDIS_PASSWORD = "redis-pass-5f1e"
CRUNCHY = "registry.developers.crunchydata.com/crunchydata/"

PGO_YAML = """\
Cluster:
  BackrestS3Bucket: bucket-1
  BackrestS3Endpoint: s3.example.test
  BackrestS3Region: eu-west-1
  BackrestS3URIStyle: host
  BackrestS3VerifyTLS: true
  BackrestStorageType: s3,local
PrimaryStorage: fast
BackrestStorage: big
Storage:
  fast: {AccessMode: ReadWriteOnce, Size: 5Gi, StorageClass: ssd}
  big: {AccessMode: ReadWriteMany, Size: 50G}
Images: {PostgreSQL: pg:15, PgBackRest: pgbr:2.47, JobRunner: brq:1}
Pods: {PostgresUID: 101, PostgresGID: 104}
Redis: {URL: "redis://:redis-pass-5f1e@redis.example.test:6379/2"}
Kubernetes: {Namespaces: [team-b, team-a, team-b]}
Tasks: {RecordTTLSeconds: 3600}
Jobs: {BackoffLimit: 1, ActiveDeadlineSeconds: 600}
API: {TokensFile: secret/tokens.json}
"""
CREDENTIALS_YAML = f"aws-s3-key: {KEY}\naws-s3-key-secret: {KEY_SECRET}\n"


def make_ca_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


CA_PEM = make_ca_pem()


@pytest.fixture
def conf(tmp_path, monkeypatch):
    """A conf/ directory in a fresh working directory (so errors read `conf/pgo.yaml: …`)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conf").mkdir()
    write("pgo.yaml", PGO_YAML)
    write("aws-s3-credentials.yaml", CREDENTIALS_YAML)
    write("aws-s3-ca.crt", "# our CA\n" + CA_PEM)
    return "conf"


def write(name: str, text: str) -> None:
    with open(os.path.join("conf", name), "w", encoding="utf-8") as handle:
        handle.write(text)


def error_of(environ=None, conf_dir="conf") -> str:
    with pytest.raises(SettingsError) as info:
        load_settings(conf_dir, environ or {})
    return str(info.value)


EXPECTED = Settings(
    conf_dir="conf",
    s3=S3Settings(bucket="bucket-1", endpoint="s3.example.test", port=443, region="eu-west-1", uri_style="host",
                  verify_tls=True, ca_file="conf/aws-s3-ca.crt", ca_pem=CA_PEM, key=Secret(KEY),
                  key_secret=Secret(KEY_SECRET)),
    storage=StorageSettings(default_type="local,s3",
                            primary=VolumeSettings(size="5Gi", access_mode="ReadWriteOnce", storage_class="ssd"),
                            repo=VolumeSettings(size="50G", access_mode="ReadWriteMany", storage_class="")),
    images=ImageSettings(postgresql="pg:15", pgbackrest="pgbr:2.47", job_runner="brq:1"),
    pods=PodSettings(postgres_uid=101, postgres_gid=104),
    redis=RedisSettings(url=Secret(f"redis://:{REDIS_PASSWORD}@redis.example.test:6379/2"),
                        url_redacted="redis://:***@redis.example.test:6379/2"),
    kubernetes=KubernetesSettings(namespaces=("team-a", "team-b")),
    tasks=TaskSettings(record_ttl_seconds=3600),
    jobs=JobSettings(backoff_limit=1, active_deadline_seconds=600),
    api=ApiSettings(tokens_file="conf/secret/tokens.json"),
)


# --- whole values -----------------------------------------------------------------------------------


def test_a_full_conf_directory_loads_into_the_whole_expected_settings(conf):
    assert load_settings(conf, {}) == EXPECTED


def test_the_shipped_conf_directory_is_the_local_stack_with_no_custom_ca_yet():
    assert load_settings(DEFAULT_CONF_DIR, {}) == Settings(
        conf_dir=DEFAULT_CONF_DIR,
        s3=S3Settings(bucket="backrest-queue-local", endpoint="localhost", port=9443, region="us-east-1",
                      uri_style="path", verify_tls=True, ca_file=os.path.join(DEFAULT_CONF_DIR, "aws-s3-ca.crt"),
                      ca_pem="", key=Secret("LOCALTESTKEY00000000"),
                      key_secret=Secret("local-test-secret/not-for-production/0000")),
        storage=StorageSettings(default_type="local",
                                primary=VolumeSettings(size="1Gi", access_mode="ReadWriteOnce", storage_class=""),
                                repo=VolumeSettings(size="2Gi", access_mode="ReadWriteOnce", storage_class="")),
        images=ImageSettings(postgresql=CRUNCHY + "crunchy-postgres:ubi8-15.4-0",
                             pgbackrest=CRUNCHY + "crunchy-pgbackrest:ubi8-2.47-0", job_runner="backrest-queue:0.1.0"),
        pods=PodSettings(postgres_uid=26, postgres_gid=26),
        redis=RedisSettings(url=Secret("redis://localhost:6379/0"), url_redacted="redis://localhost:6379/0"),
        kubernetes=KubernetesSettings(namespaces=("demo",)),
        tasks=TaskSettings(record_ttl_seconds=604800),
        jobs=JobSettings(backoff_limit=0, active_deadline_seconds=21600),
        api=ApiSettings(tokens_file=os.path.join(DEFAULT_CONF_DIR, "tokens.yaml")),
    )


def test_a_pgo_v4_file_loads_with_the_keys_of_features_we_lack_ignored(conf):
    write("pgo.yaml", """\
BasicAuth: "true"
Cluster:
  CCPImagePrefix: registry.developers.crunchydata.com/crunchydata
  CCPImageTag: centos8-13.2-4.6.2
  Port: 5432
  User: testuser
  Replicas: 0
  BackrestPort: 2022
  BackrestS3Bucket:
  BackrestS3Endpoint:
  BackrestS3Region:
  BackrestS3URIStyle:
  BackrestS3VerifyTLS: true
  DisableAutofail: false
  DefaultInstanceMemory: 128Mi
PrimaryStorage: default
WALStorage:
BackupStorage: default
ReplicaStorage: default
BackrestStorage: default
Storage:
  default:
    AccessMode: ReadWriteOnce
    Size: 1G
    StorageType: dynamic
Pgo:
  Audit: false
  PGOImageTag: centos8-4.6.2
""")
    settings = load_settings(conf, {"BRQ_NAMESPACES": "pgouser1"})
    default = VolumeSettings(size="1G", access_mode="ReadWriteOnce", storage_class="")
    assert settings.s3 == S3Settings(bucket="", endpoint="", port=443, region="", uri_style="host", verify_tls=True,
                                     ca_file="conf/aws-s3-ca.crt", ca_pem="", key=Secret(KEY),
                                     key_secret=Secret(KEY_SECRET))
    assert not settings.s3.configured
    assert settings.storage == StorageSettings(default_type="local", primary=default, repo=default)
    assert settings.kubernetes.namespaces == ("pgouser1",)


def test_an_empty_pgo_file_and_no_credentials_file_give_the_defaults(conf):
    write("pgo.yaml", "")
    os.remove("conf/aws-s3-credentials.yaml")
    settings = load_settings(conf, {"BRQ_NAMESPACES": "demo"})
    assert dataclasses.replace(settings, s3=None, storage=None, kubernetes=None) == Settings(
        conf_dir="conf", s3=None, storage=None, kubernetes=None,
        images=ImageSettings(postgresql=CRUNCHY + "crunchy-postgres:ubi8-15.4-0",
                             pgbackrest=CRUNCHY + "crunchy-pgbackrest:ubi8-2.47-0", job_runner="backrest-queue:0.1.0"),
        pods=PodSettings(postgres_uid=26, postgres_gid=26),
        redis=RedisSettings(url=Secret("redis://localhost:6379/0"), url_redacted="redis://localhost:6379/0"),
        tasks=TaskSettings(record_ttl_seconds=604800),
        jobs=JobSettings(backoff_limit=0, active_deadline_seconds=21600),
        api=ApiSettings(tokens_file="conf/tokens.yaml"))
    assert settings.s3 == S3Settings(bucket="", endpoint="", port=443, region="", uri_style="host", verify_tls=True,
                                     ca_file="conf/aws-s3-ca.crt", ca_pem="", key=Secret(""), key_secret=Secret(""))
    assert settings.storage == StorageSettings(
        default_type="local", primary=VolumeSettings(size="1Gi", access_mode="ReadWriteOnce", storage_class=""),
        repo=VolumeSettings(size="2Gi", access_mode="ReadWriteOnce", storage_class=""))


def test_settings_are_frozen(conf):
    settings = load_settings(conf, {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.s3.bucket = "other"  # type: ignore[misc]


# --- environment ------------------------------------------------------------------------------------

ENVIRON = {
    "BRQ_S3_BUCKET": "env-bucket", "BRQ_S3_ENDPOINT": "localhost:9000", "BRQ_S3_REGION": "us-east-2",
    "BRQ_S3_URI_STYLE": "path", "BRQ_S3_VERIFY_TLS": "false", "BRQ_STORAGE_TYPE": "s3",
    "BRQ_S3_KEY": "ENVKEY", "BRQ_S3_KEY_SECRET": "ENVSECRET", "BRQ_S3_CA_FILE": "elsewhere/ca.pem",
    "BRQ_IMAGE_POSTGRESQL": "p:1", "BRQ_IMAGE_PGBACKREST": "b:1", "BRQ_IMAGE_JOB_RUNNER": "j:1",
    "BRQ_PG_UID": "1001", "BRQ_PG_GID": "1002", "BRQ_REDIS_URL": "redis://127.0.0.1:7000/5",
    "BRQ_NAMESPACES": " demo , prod ,", "BRQ_TASK_TTL_SECONDS": "120", "BRQ_JOB_BACKOFF_LIMIT": "3",
    "BRQ_JOB_DEADLINE_SECONDS": "60", "BRQ_TOKENS_FILE": "run/tokens.yaml",
}


def test_every_environment_variable_overrides_its_key(conf):
    os.mkdir("elsewhere")
    with open("elsewhere/ca.pem", "w") as handle:
        handle.write(CA_PEM)
    assert load_settings(conf, ENVIRON) == Settings(
        conf_dir="conf",
        s3=S3Settings(bucket="env-bucket", endpoint="localhost", port=9000, region="us-east-2", uri_style="path",
                      verify_tls=False, ca_file="elsewhere/ca.pem", ca_pem=CA_PEM, key=Secret("ENVKEY"),
                      key_secret=Secret("ENVSECRET")),
        storage=dataclasses.replace(EXPECTED.storage, default_type="s3"),
        images=ImageSettings(postgresql="p:1", pgbackrest="b:1", job_runner="j:1"),
        pods=PodSettings(postgres_uid=1001, postgres_gid=1002),
        redis=RedisSettings(url=Secret("redis://127.0.0.1:7000/5"), url_redacted="redis://127.0.0.1:7000/5"),
        kubernetes=KubernetesSettings(namespaces=("demo", "prod")),
        tasks=TaskSettings(record_ttl_seconds=120),
        jobs=JobSettings(backoff_limit=3, active_deadline_seconds=60),
        api=ApiSettings(tokens_file="run/tokens.yaml"),
    )


def test_the_environment_list_is_the_one_the_conf_readme_documents():
    with open(os.path.join(DEFAULT_CONF_DIR, "README.md"), encoding="utf-8") as handle:
        section = handle.read().split("## Environment variables", 1)[1].split("\n## ", 1)[0]
    assert set(re.findall(r"`(BRQ_[A-Z0-9_]+)`", section)) == {var.name for var in ENVIRONMENT} | {"BRQ_CONF_DIR"}


def test_brq_conf_dir_chooses_the_directory(conf):
    assert load_settings_from_environ({"BRQ_CONF_DIR": "conf"}) == EXPECTED
    assert load_settings_from_environ({"BRQ_NAMESPACES": "x"}).conf_dir == DEFAULT_CONF_DIR


@pytest.mark.parametrize("name, value, expected", [
    ("BRQ_S3_URI_STYLE", "virtual", "environment: BRQ_S3_URI_STYLE: must be one of: host, path"),
    ("BRQ_S3_VERIFY_TLS", "maybe", "environment: BRQ_S3_VERIFY_TLS: must be true or false"),
    ("BRQ_PG_UID", "postgres", "environment: BRQ_PG_UID: must be an integer"),
    ("BRQ_PG_GID", "0", "environment: BRQ_PG_GID: must be at least 1"),
    ("BRQ_NAMESPACES", "demo,Prod", "environment: BRQ_NAMESPACES: must be a DNS label (a-z, 0-9, '-'; at most 63)"),
    ("BRQ_NAMESPACES", "", "environment: BRQ_NAMESPACES: must name at least one namespace"),
    ("BRQ_STORAGE_TYPE", "gcs", "environment: BRQ_STORAGE_TYPE: must be one of: 'local', 's3', 'local,s3'"),
    ("BRQ_S3_BUCKET", "", "environment: BRQ_S3_BUCKET: is required when Cluster.BackrestStorageType includes s3"),
    ("BRQ_S3_KEY", "", "environment: BRQ_S3_KEY: is required when Cluster.BackrestS3Bucket is set"),
    ("BRQ_S3_ENDPOINT", "127.0.0.1:9000", "environment: BRQ_S3_ENDPOINT: must be a DNS name that the certificate "
                                          "names when Cluster.BackrestS3VerifyTLS is true (pgBackRest does not verify "
                                          "IP addresses)"),
    ("BRQ_S3_CA_FILE", "missing.pem", "missing.pem (BRQ_S3_CA_FILE): file not found (needed when "
                                      "Cluster.BackrestS3VerifyTLS is true)"),
    ("BRQ_REDIS_URL", "http://redis", "environment: BRQ_REDIS_URL: must be a redis://, rediss://, unix:// or "
                                      "sentinel:// URL"),
])
def test_a_bad_environment_value_is_named_by_its_variable(conf, name, value, expected):
    assert error_of({name: value}) == expected


def test_an_empty_bucket_from_the_environment_disables_s3_when_the_default_type_is_local(conf):
    settings = load_settings(conf, {"BRQ_S3_BUCKET": "", "BRQ_STORAGE_TYPE": "local"})
    assert (settings.s3.configured, settings.s3.bucket, settings.storage.default_type) == (False, "", "local")


# --- bad files: the exact error ---------------------------------------------------------------------


def replaced(old: str, new: str) -> str:
    assert old in PGO_YAML
    return PGO_YAML.replace(old, new)


@pytest.mark.parametrize("pgo_yaml, expected", [
    (replaced("URIStyle: host", "URIStyle: virtual"), "Cluster.BackrestS3URIStyle: must be one of: host, path"),
    (replaced("VerifyTLS: true", "VerifyTLS: sometimes"), "Cluster.BackrestS3VerifyTLS: must be true or false"),
    (replaced("StorageType: s3,local", "StorageType: local,nfs"),
     "Cluster.BackrestStorageType: must be one of: 'local', 's3', 'local,s3'"),
    (replaced("StorageType: s3,local", "StorageType: s3,s3"),
     "Cluster.BackrestStorageType: must be one of: 'local', 's3', 'local,s3'"),
    (replaced("BackrestS3Bucket:", "BackrestS3Bucke:"), "Cluster.BackrestS3Bucke: unknown key"),
    (replaced("BackrestS3Region: eu-west-1", "BackrestS3Region: 1"), "Cluster.BackrestS3Region: must be a string"),
    (replaced("BackrestS3Region: eu-west-1", "BackrestS3Region:"),
     "Cluster.BackrestS3Region: is required when Cluster.BackrestS3Bucket is set"),
    (replaced("s3.example.test", "https://s3.example.test"),
     "Cluster.BackrestS3Endpoint: must be a host name, optionally with :port, without a scheme or path"),
    (replaced("s3.example.test", "s3.example.test:70000"),
     "Cluster.BackrestS3Endpoint: must be a host name, optionally with :port, without a scheme or path"),
    ("Cluster: [1]\nKubernetes: {Namespaces: [a]}\n", "Cluster: must be a mapping"),
    (replaced("Size: 5Gi", "Size: lots"),
     "Storage.fast.Size: must be a positive Kubernetes quantity such as 1Gi or 500M"),
    (replaced("Size: 5Gi", "Size: 0Gi"),
     "Storage.fast.Size: must be a positive Kubernetes quantity such as 1Gi or 500M"),
    (replaced("AccessMode: ReadWriteOnce, Size: 5Gi, ", ""), "Storage.fast.Size: is required"),
    (replaced("AccessMode: ReadWriteMany", "AccessMode: RWX"),
     "Storage.big.AccessMode: must be one of: ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod"),
    (replaced("PrimaryStorage: fast", "PrimaryStorage: slow"),
     "PrimaryStorage: names no Storage entry: 'slow' (entries: big, fast)"),
    (replaced("Images: {PostgreSQL: pg:15", "Images: {PostgreSQL: 'pg 15'"),
     "Images.PostgreSQL: must be an image name without spaces"),
    (replaced("PostgresUID: 101", "PostgresUID: 2.5"), "Pods.PostgresUID: must be an integer"),
    (replaced("PostgresUID: 101", "PostgresUID: true"), "Pods.PostgresUID: must be an integer"),
    (replaced("PostgresUID: 101", "PostgresUID: 0"), "Pods.PostgresUID: must be at least 1"),
    (replaced("redis://:redis-pass-5f1e@", "http://"),
     "Redis.URL: must be a redis://, rediss://, unix:// or sentinel:// URL"),
    (replaced("[team-b, team-a, team-b]", "[team-a, Team_B]"),
     "Kubernetes.Namespaces[1]: must be a DNS label (a-z, 0-9, '-'; at most 63)"),
    (replaced("[team-b, team-a, team-b]", "[]"), "Kubernetes.Namespaces: must name at least one namespace"),
    (replaced("[team-b, team-a, team-b]", "team-a"), "Kubernetes.Namespaces: must be a list"),
    (replaced("Kubernetes: {Namespaces: [team-b, team-a, team-b]}", ""), "Kubernetes.Namespaces: is required"),
    (replaced("RecordTTLSeconds: 3600", "RecordTTLSeconds: 5"), "Tasks.RecordTTLSeconds: must be at least 60"),
    (replaced("BackoffLimit: 1", "BackoffLimit: -1"), "Jobs.BackoffLimit: must be at least 0"),
    (replaced("ActiveDeadlineSeconds: 600", "ActiveDeadlineSeconds: 0"),
     "Jobs.ActiveDeadlineSeconds: must be at least 1"),
    (replaced("TokensFile: secret/tokens.json", "TokensFile: ''"), "API.TokensFile: must be a path"),
])
def test_a_bad_value_in_pgo_yaml_names_the_file_the_key_and_the_reason(conf, pgo_yaml, expected):
    write("pgo.yaml", pgo_yaml)
    assert error_of() == f"conf/pgo.yaml: {expected}"


def test_an_ip_endpoint_is_accepted_when_tls_is_not_verified(conf):
    write("pgo.yaml", replaced("s3.example.test", "127.0.0.1:9000").replace("VerifyTLS: true", "VerifyTLS: false"))
    assert (load_settings(conf, {}).s3.endpoint, load_settings(conf, {}).s3.port) == ("127.0.0.1", 9000)


def test_s3_in_the_default_storage_type_needs_a_bucket(conf):
    write("pgo.yaml", replaced("BackrestS3Bucket: bucket-1", "BackrestS3Bucket:"))
    assert error_of() == ("conf/pgo.yaml: Cluster.BackrestS3Bucket: is required when Cluster.BackrestStorageType "
                          "includes s3")


def test_every_fault_is_listed_at_once_in_key_order(conf):
    write("pgo.yaml", replaced("URIStyle: host", "URIStyle: virtual").replace("PostgresGID: 104", "PostgresGID: x")
          .replace("Extra", "").replace("API: {", "Bogus: 1\nAPI: {"))
    with pytest.raises(SettingsError) as info:
        load_settings(conf, {})
    assert info.value.problems == ("conf/pgo.yaml: Bogus: unknown key",
                                   "conf/pgo.yaml: Cluster.BackrestS3URIStyle: must be one of: host, path",
                                   "conf/pgo.yaml: Pods.PostgresGID: must be an integer")


@pytest.mark.parametrize("text, expected", [
    ("Cluster: [unclosed\n", "conf/pgo.yaml: not valid YAML: expected ',' or ']', but got '<stream end>' at line 2 "
                             "column 1"),
    ("- a\n- b\n", "conf/pgo.yaml: must be a mapping of keys"),
])
def test_a_pgo_yaml_that_is_not_a_mapping_of_keys_is_refused(conf, text, expected):
    write("pgo.yaml", text)
    assert error_of() == expected


def test_a_missing_pgo_yaml_is_refused(conf):
    os.remove("conf/pgo.yaml")
    assert error_of() == "conf/pgo.yaml: file not found"


@pytest.mark.parametrize("text, expected", [
    (f"aws-s3-key: 5\naws-s3-key-secret: {KEY_SECRET}\n", "aws-s3-key: must be a string"),
    (f"aws-s3-key: {KEY}\n", "aws-s3-key-secret: is required when Cluster.BackrestS3Bucket is set"),
    (f"{CREDENTIALS_YAML}aws-s3-token: x\n", "aws-s3-token: unknown key"),
])
def test_a_bad_credentials_file_names_the_file_the_key_and_the_reason(conf, text, expected):
    write("aws-s3-credentials.yaml", text)
    assert error_of() == f"conf/aws-s3-credentials.yaml: {expected}"


@pytest.mark.parametrize("text, expected", [
    ("# nothing yet\nnot a certificate\n", "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"),
    ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
     "certificate 1 is not a valid PEM certificate"),
])
def test_a_bad_ca_file_names_the_file_and_the_reason(conf, text, expected):
    write("aws-s3-ca.crt", CA_PEM + text if "BEGIN" in text else text)
    expected = expected.replace("certificate 1", "certificate 2")
    assert error_of() == f"conf/aws-s3-ca.crt: {expected}"


def test_a_ca_file_of_comments_only_means_the_system_trust_store(conf):
    write("aws-s3-ca.crt", "# placeholder\n\n")
    assert load_settings(conf, {}).s3.ca_pem == ""


def test_a_missing_ca_file_is_refused_only_when_tls_is_verified(conf):
    os.remove("conf/aws-s3-ca.crt")
    assert error_of() == "conf/aws-s3-ca.crt: file not found (needed when Cluster.BackrestS3VerifyTLS is true)"
    assert load_settings(conf, {"BRQ_S3_VERIFY_TLS": "false"}).s3.ca_pem == ""


# --- storage types ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("local", "local"), ("s3", "s3"), ("local,s3", "local,s3"), ("s3,local", "local,s3"), (" s3 , local ", "local,s3"),
])
def test_storage_types_are_normalized(text, expected):
    assert parse_storage_type(text) == expected


@pytest.mark.parametrize("text", ["", "nfs", "local,", "local,local", "S3", "local,s3,gcs", None])
def test_any_other_storage_type_is_refused_naming_the_allowed_ones(text):
    with pytest.raises(ValueError) as info:
        parse_storage_type(text)
    assert str(info.value) == "must be one of: 'local', 's3', 'local,s3'"


# --- secrets ----------------------------------------------------------------------------------------

SECRETS = (KEY, KEY_SECRET, REDIS_PASSWORD)


def test_no_secret_appears_in_the_repr_or_str_of_the_settings(conf):
    settings = load_settings(conf, {})
    for text in (repr(settings), str(settings), repr(settings.s3), f"{settings.redis}"):
        assert not [secret for secret in SECRETS if secret in text]
    assert "key=***, key_secret=***" in repr(settings.s3)


def test_the_public_view_is_every_setting_but_the_secrets_as_json(conf):
    view = load_settings(conf, {}).public_view()
    assert not [secret for secret in SECRETS if secret in json.dumps(view)]
    assert view == {
        "conf_dir": "conf",
        "s3": {"bucket": "bucket-1", "endpoint": "s3.example.test", "port": 443, "region": "eu-west-1",
               "uri_style": "host", "verify_tls": True, "ca_file": "conf/aws-s3-ca.crt"},
        "storage": {"default_type": "local,s3",
                    "primary": {"size": "5Gi", "access_mode": "ReadWriteOnce", "storage_class": "ssd"},
                    "repo": {"size": "50G", "access_mode": "ReadWriteMany", "storage_class": ""}},
        "images": {"postgresql": "pg:15", "pgbackrest": "pgbr:2.47", "job_runner": "brq:1"},
        "pods": {"postgres_uid": 101, "postgres_gid": 104},
        "redis": {"url_redacted": "redis://:***@redis.example.test:6379/2"},
        "kubernetes": {"namespaces": ["team-a", "team-b"]},
        "tasks": {"record_ttl_seconds": 3600},
        "jobs": {"backoff_limit": 1, "active_deadline_seconds": 600},
        "api": {"tokens_file": "conf/secret/tokens.json"},
    }


def test_a_secret_shows_stars_and_reveals_its_value_only_when_asked():
    secret = Secret("hunter2")
    assert (repr(secret), str(secret), f"{secret}", "%s" % secret) == ("***", "***", "***", "***")
    assert secret.reveal() == "hunter2"
    assert secret == Secret("hunter2") and secret != Secret("hunter3") and secret != "hunter2"
    assert bool(secret) and not Secret("")


def test_a_secret_refuses_to_be_pickled_or_serialized():
    with pytest.raises(TypeError):
        pickle.dumps(Secret("hunter2"))
    with pytest.raises(TypeError):
        json.dumps({"key": Secret("hunter2")})


def test_an_error_never_quotes_a_secret_value(conf):
    write("aws-s3-credentials.yaml", f"aws-s3-key: {KEY}\naws-s3-key-secret: [{KEY_SECRET}]\n")
    assert error_of() == "conf/aws-s3-credentials.yaml: aws-s3-key-secret: must be a string"
