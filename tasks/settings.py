"""Settings: loaded once from `conf/` and the environment into frozen dataclasses, then passed explicitly.

Files (in the conf directory): `pgo.yaml` (PGO v4's keys where they exist, ours beside them),
`aws-s3-credentials.yaml` (`aws-s3-key`, `aws-s3-key-secret`), `aws-s3-ca.crt` (CA bundle for the S3
endpoint). Every `BRQ_*` variable in `ENVIRONMENT` overrides one key. A bad value stops start-up with a
`SettingsError` naming the file (or variable), the key and the reason. Secrets are `Secret`s: they print as
`***` and are left out of `Settings.public_view()`. See `conf/README.md` for the files and variables.
"""
from __future__ import annotations

import dataclasses
import hmac
import ipaddress
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urlsplit, urlunsplit

import yaml
from cryptography import x509
from marshmallow import Schema, ValidationError, fields, missing, pre_load, validate

DEFAULT_CONF_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "conf")
PGO_FILE, CREDENTIALS_FILE, CA_FILE = "pgo.yaml", "aws-s3-credentials.yaml", "aws-s3-ca.crt"
STORAGE_TYPES = ("local", "s3", "local,s3")
URI_STYLES = ("host", "path")
ACCESS_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
_PUBLIC = "public"  # field metadata key: False keeps a (non-secret) field out of public_view()


class SettingsError(Exception):
    """The configuration cannot be used; `problems` holds one `source: key: reason` line per fault."""

    def __init__(self, problems: list[str]):
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class Secret:
    """A value that must never be shown: `repr`/`str`/format give `***`; `.reveal()` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "***"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self):
        raise TypeError("a Secret is not serialized (pickle, task results); pass its source, not its value")


def parse_storage_type(text: str) -> str:
    """`local`, `s3` or `local,s3` (`s3,local` normalized); ValueError naming the allowed values otherwise."""
    parts = [part.strip() for part in text.split(",")] if isinstance(text, str) else []
    normalized = ",".join(sorted(parts))  # "local" sorts before "s3"
    if len(set(parts)) != len(parts) or normalized not in STORAGE_TYPES:
        raise ValueError("must be one of: 'local', 's3', 'local,s3'")
    return normalized


# --- the settings tree ------------------------------------------------------------------------------


@dataclass(frozen=True)
class S3Settings:
    """The S3 repository (pgBackRest repo2), one bucket for every cluster, as in PGO v4."""

    bucket: str
    """`Cluster.BackrestS3Bucket`; empty means S3 is not configured (clusters cannot use `s3`)."""
    endpoint: str
    """Host name from `Cluster.BackrestS3Endpoint` (`host` or `host:port`); a DNS name when TLS is verified."""
    port: int
    """Port from `Cluster.BackrestS3Endpoint` (pgBackRest's `repo2-storage-port`); 443 when not given."""
    region: str
    """`Cluster.BackrestS3Region` (pgBackRest's `repo2-s3-region`)."""
    uri_style: str
    """`Cluster.BackrestS3URIStyle`: `host` (bucket in the host name) or `path` (needed for `localhost`)."""
    verify_tls: bool
    """`Cluster.BackrestS3VerifyTLS` (pgBackRest's `repo2-storage-verify-tls`)."""
    ca_file: str
    """Path of the CA bundle trusted for the endpoint (`conf/aws-s3-ca.crt`)."""
    ca_pem: str = field(repr=False, metadata={_PUBLIC: False})
    """The certificates read from `ca_file` (PEM); empty: none there, the system's trust store is used."""
    key: Secret
    """`aws-s3-key` of `aws-s3-credentials.yaml`."""
    key_secret: Secret
    """`aws-s3-key-secret` of `aws-s3-credentials.yaml`."""

    @property
    def configured(self) -> bool:
        """True when clusters may use S3 (a bucket is set; the rest is then checked at load)."""
        return bool(self.bucket)


@dataclass(frozen=True)
class VolumeSettings:
    """One PVC's spec, from a PGO v4 `Storage.<name>` entry."""

    size: str
    """`Size`: a Kubernetes quantity (`1Gi`, `500M`)."""
    access_mode: str
    """`AccessMode`: one of `ACCESS_MODES`."""
    storage_class: str
    """`StorageClass`; empty: the cluster's default class."""


@dataclass(frozen=True)
class StorageSettings:
    """Repository storage types and PVC specs for new clusters."""

    default_type: str
    """`Cluster.BackrestStorageType`: `local`, `s3` or `local,s3`, for clusters created without one."""
    primary: VolumeSettings
    """PGDATA PVC `<cluster>`: the `Storage` entry that `PrimaryStorage` names."""
    repo: VolumeSettings
    """repo1 PVC `<cluster>-pgbr-repo`: the `Storage` entry that `BackrestStorage` names."""


@dataclass(frozen=True)
class ImageSettings:
    """Container images of the pods and Jobs the service creates (kubesim runs host binaries instead)."""

    postgresql: str
    """`Images.PostgreSQL`: the primary's `database` container."""
    pgbackrest: str
    """`Images.PgBackRest`: `pgbackrest server` in the primary and repo-host pods, restore Jobs."""
    job_runner: str
    """`Images.JobRunner`: this package's image, run by backup Jobs as `job-runner`."""


@dataclass(frozen=True)
class PodSettings:
    """Security context of the PostgreSQL and pgBackRest containers."""

    postgres_uid: int
    """`Pods.PostgresUID`: OS user PostgreSQL and pgBackRest run as (26 in Crunchy's images)."""
    postgres_gid: int
    """`Pods.PostgresGID`: its group, also the pods' `fsGroup`."""


@dataclass(frozen=True)
class RedisSettings:
    """Celery broker and result backend, task records, locks, RedBeat schedules."""

    url: Secret
    """`Redis.URL` (`redis://`, `rediss://`, `unix://` or `sentinel://`); a Secret as it may hold a password."""
    url_redacted: str
    """The same URL with any password shown as `***`, for logs and `public_view()`."""


@dataclass(frozen=True)
class KubernetesSettings:
    """Where the service works; the Kubernetes API itself is found through the kubeconfig."""

    namespaces: tuple[str, ...]
    """`Kubernetes.Namespaces`: the namespaces whose clusters the service manages (sorted, unique)."""


@dataclass(frozen=True)
class TaskSettings:
    """Task records in Redis."""

    record_ttl_seconds: int
    """`Tasks.RecordTTLSeconds`: how long a finished task's record is kept and listable."""


@dataclass(frozen=True)
class JobSettings:
    """Defaults of the Kubernetes Jobs that run `job-runner` (backups) and restores."""

    backoff_limit: int
    """`Jobs.BackoffLimit`: pod retries before the Job fails (0: a failure is reported, not retried)."""
    active_deadline_seconds: int
    """`Jobs.ActiveDeadlineSeconds`: a Job running longer is stopped and its task fails."""


@dataclass(frozen=True)
class ApiSettings:
    """The REST API."""

    tokens_file: str
    """`API.TokensFile`: bearer tokens (hashed) with roles and namespaces; relative to the conf directory."""


@dataclass(frozen=True)
class Settings:
    """Everything the processes need, loaded once by `load_settings`."""

    conf_dir: str
    """The directory the files were read from."""
    s3: S3Settings
    storage: StorageSettings
    images: ImageSettings
    pods: PodSettings
    redis: RedisSettings
    kubernetes: KubernetesSettings
    tasks: TaskSettings
    jobs: JobSettings
    api: ApiSettings

    def public_view(self) -> dict[str, Any]:
        """A JSON-safe dict of every setting but the secrets (for `GET /api/v1/config`)."""
        return _public(self)


def _public(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _public(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.metadata.get(_PUBLIC, True) and not isinstance(getattr(value, f.name), Secret)}
    if isinstance(value, (tuple, list, frozenset, set)):
        return [_public(item) for item in value]
    return value


# --- the file schemas -------------------------------------------------------------------------------

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")  # \Z: Regexp validators match()
_QUANTITY = re.compile(r"(?P<number>[0-9]+(\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?")
_ENDPOINT = re.compile(r"(?P<host>[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?)(:(?P<port>[0-9]{1,5}))?")


def _redis_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix", "sentinel") or not (parts.netloc or parts.path):
        raise ValidationError("must be a redis://, rediss://, unix:// or sentinel:// URL")


def _redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


class _Int(fields.Field):
    """An integer, also from a string of digits (environment); never from a bool or a fraction."""

    default_error_messages = {"invalid": "must be an integer"}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?[0-9]+\s*", value):
            return int(value)
        raise self.make_error("invalid")


def _str(key: str, default: str | None = "", check=None) -> fields.String:
    """A string key; `default=None` makes it required."""
    return fields.String(data_key=key, validate=check, required=default is None,
                         load_default=default if default is not None else missing,
                         error_messages={"invalid": "must be a string", "required": "is required"})


def _int(key: str, default: int, minimum: int) -> _Int:
    at_least = validate.Range(min=minimum, error="must be at least {min}")
    return _Int(data_key=key, load_default=default, validate=at_least)


def _one_of(choices) -> validate.OneOf:
    return validate.OneOf(choices, error="must be one of: {choices}")


def _storage_type(value: str) -> None:
    try:
        parse_storage_type(value)
    except ValueError as error:
        raise ValidationError(str(error)) from None


def _quantity(value: str) -> None:
    match = _QUANTITY.fullmatch(value)
    if not match or float(match["number"]) == 0:
        raise ValidationError("must be a positive Kubernetes quantity such as 1Gi or 500M")


class _Section(Schema):
    """A mapping of keys; blank keys (`Key:` in YAML) take their default; `IGNORED` PGO v4 keys are dropped."""

    error_messages = {"unknown": "unknown key", "type": "must be a mapping"}
    IGNORED: frozenset[str] = frozenset()
    SECTIONS: tuple[str, ...] = ()  # nested sections that default to {} (so their own defaults apply)

    @pre_load
    def _defaults(self, data, **kwargs):
        if not isinstance(data, dict):
            return data
        given = {key: value for key, value in data.items() if value is not None and key not in self.IGNORED}
        return {**{key: {} for key in self.SECTIONS}, **given}


class _ClusterSchema(_Section):
    IGNORED = frozenset((  # PGO v4 `Cluster` keys for features this service does not have
        "ArchiveMode", "ArchiveTimeout", "Autofail", "AutofailReplaceReplica", "Backrest", "BackrestPort",
        "BackrestGCSBucket", "BackrestGCSEndpoint", "BackrestGCSKeyType", "Badger", "CCPImagePrefix", "CCPImageTag",
        "Database", "DefaultBackrestMemory", "DefaultExporterMemory", "DefaultInstanceMemory", "DefaultPgBouncerMemory",
        "DisableAutofail", "DisableFSGroup", "DisableReplicaStartFailReinit", "ExporterPort", "LogMinDurationStatement",
        "LogStatement", "Metrics", "PasswordAgeDays", "PasswordLength", "PGBadgerPort", "PodAntiAffinity",
        "PodAntiAffinityPgBackRest", "PodAntiAffinityPgBouncer", "Policies", "Port", "PrimaryNodeLabel", "Replicas",
        "ReplicaNodeLabel", "ServiceType", "Strategy", "SyncReplication", "User"))
    bucket = _str("BackrestS3Bucket")
    endpoint = _str("BackrestS3Endpoint")
    region = _str("BackrestS3Region")
    uri_style = _str("BackrestS3URIStyle", "host", check=_one_of(URI_STYLES))
    verify_tls = fields.Boolean(data_key="BackrestS3VerifyTLS", load_default=True,
                                error_messages={"invalid": "must be true or false"})
    storage_type = _str("BackrestStorageType", "local", check=_storage_type)


class _VolumeSchema(_Section):
    IGNORED = frozenset(("StorageType", "SupplementalGroups", "MatchLabels", "Fsgroup"))  # PGO v4, not used
    access_mode = _str("AccessMode", "ReadWriteOnce", check=_one_of(ACCESS_MODES))
    size = _str("Size", None, check=_quantity)
    storage_class = _str("StorageClass")


_IMAGE = validate.Regexp(r"\S+\Z", error="must be an image name without spaces")
_CRUNCHY = "registry.developers.crunchydata.com/crunchydata/"


class _ImagesSchema(_Section):
    postgresql = _str("PostgreSQL", _CRUNCHY + "crunchy-postgres:ubi8-15.4-0", check=_IMAGE)
    pgbackrest = _str("PgBackRest", _CRUNCHY + "crunchy-pgbackrest:ubi8-2.47-0", check=_IMAGE)
    job_runner = _str("JobRunner", "backrest-queue:0.1.0", check=_IMAGE)


class _PodsSchema(_Section):
    postgres_uid = _int("PostgresUID", 26, 1)
    postgres_gid = _int("PostgresGID", 26, 1)


class _RedisSchema(_Section):
    url = _str("URL", "redis://localhost:6379/0", check=_redis_url)


class _KubernetesSchema(_Section):
    namespaces = fields.List(
        fields.String(validate=validate.Regexp(_DNS_LABEL, error="must be a DNS label (a-z, 0-9, '-'; at most 63)"),
                      error_messages={"invalid": "must be a string"}),
        data_key="Namespaces", required=True, validate=validate.Length(min=1, error="must name at least one namespace"),
        error_messages={"required": "is required", "invalid": "must be a list"})


class _TasksSchema(_Section):
    record_ttl_seconds = _int("RecordTTLSeconds", 7 * 24 * 3600, 60)


class _JobsSchema(_Section):
    backoff_limit = _int("BackoffLimit", 0, 0)
    active_deadline_seconds = _int("ActiveDeadlineSeconds", 6 * 3600, 1)


class _ApiSchema(_Section):
    tokens_file = _str("TokensFile", "tokens.yaml", check=validate.Length(min=1, error="must be a path"))


class _PgoSchema(_Section):
    IGNORED = frozenset((  # PGO v4 top-level keys for features this service does not have
        "BasicAuth", "BackupStorage", "ContainerResources", "DefaultBackupResources", "DefaultContainerResources",
        "DefaultLoadResources", "DefaultLspvcResources", "DefaultPgbouncerResources", "DefaultPgpoolResources",
        "DefaultRmdataResources", "OpenShift", "PGAdminStorage", "Pgo", "ReplicaStorage", "WALStorage", "XlogStorage"))
    SECTIONS = ("Cluster", "Images", "Pods", "Redis", "Kubernetes", "Tasks", "Jobs", "API")
    primary_storage = _str("PrimaryStorage")
    backrest_storage = _str("BackrestStorage")
    storage = fields.Dict(keys=fields.String(), values=fields.Nested(_VolumeSchema), data_key="Storage",
                          load_default=dict, error_messages={"invalid": "must be a mapping"})
    cluster = fields.Nested(_ClusterSchema, data_key="Cluster")
    images = fields.Nested(_ImagesSchema, data_key="Images")
    pods = fields.Nested(_PodsSchema, data_key="Pods")
    redis = fields.Nested(_RedisSchema, data_key="Redis")
    kubernetes = fields.Nested(_KubernetesSchema, data_key="Kubernetes")
    tasks = fields.Nested(_TasksSchema, data_key="Tasks")
    jobs = fields.Nested(_JobsSchema, data_key="Jobs")
    api = fields.Nested(_ApiSchema, data_key="API")


class _CredentialsSchema(_Section):
    key = _str("aws-s3-key")
    key_secret = _str("aws-s3-key-secret")


# --- environment ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnvVar:
    """One environment variable and the key it overrides."""

    name: str
    file: str
    key: tuple[str, ...]
    doc: str


ENVIRONMENT = (
    EnvVar("BRQ_S3_BUCKET", PGO_FILE, ("Cluster", "BackrestS3Bucket"), "S3 bucket; empty disables S3"),
    EnvVar("BRQ_S3_ENDPOINT", PGO_FILE, ("Cluster", "BackrestS3Endpoint"), "S3 endpoint, host or host:port"),
    EnvVar("BRQ_S3_REGION", PGO_FILE, ("Cluster", "BackrestS3Region"), "S3 region"),
    EnvVar("BRQ_S3_URI_STYLE", PGO_FILE, ("Cluster", "BackrestS3URIStyle"), "host or path"),
    EnvVar("BRQ_S3_VERIFY_TLS", PGO_FILE, ("Cluster", "BackrestS3VerifyTLS"), "true or false"),
    EnvVar("BRQ_STORAGE_TYPE", PGO_FILE, ("Cluster", "BackrestStorageType"), "default storage type of new clusters"),
    EnvVar("BRQ_S3_KEY", CREDENTIALS_FILE, ("aws-s3-key",), "S3 access key"),
    EnvVar("BRQ_S3_KEY_SECRET", CREDENTIALS_FILE, ("aws-s3-key-secret",), "S3 secret key"),
    EnvVar("BRQ_S3_CA_FILE", CA_FILE, (), "path of the CA bundle for the S3 endpoint, instead of conf/aws-s3-ca.crt"),
    EnvVar("BRQ_IMAGE_POSTGRESQL", PGO_FILE, ("Images", "PostgreSQL"), "PostgreSQL image"),
    EnvVar("BRQ_IMAGE_PGBACKREST", PGO_FILE, ("Images", "PgBackRest"), "pgBackRest image"),
    EnvVar("BRQ_IMAGE_JOB_RUNNER", PGO_FILE, ("Images", "JobRunner"), "this package's image (job-runner)"),
    EnvVar("BRQ_PG_UID", PGO_FILE, ("Pods", "PostgresUID"), "uid of PostgreSQL and pgBackRest in pods"),
    EnvVar("BRQ_PG_GID", PGO_FILE, ("Pods", "PostgresGID"), "their gid and the pods' fsGroup"),
    EnvVar("BRQ_REDIS_URL", PGO_FILE, ("Redis", "URL"), "Redis URL (broker, results, records, locks)"),
    EnvVar("BRQ_NAMESPACES", PGO_FILE, ("Kubernetes", "Namespaces"), "managed namespaces, comma-separated"),
    EnvVar("BRQ_TASK_TTL_SECONDS", PGO_FILE, ("Tasks", "RecordTTLSeconds"), "how long task records are kept"),
    EnvVar("BRQ_JOB_BACKOFF_LIMIT", PGO_FILE, ("Jobs", "BackoffLimit"), "Job backoffLimit"),
    EnvVar("BRQ_JOB_DEADLINE_SECONDS", PGO_FILE, ("Jobs", "ActiveDeadlineSeconds"), "Job activeDeadlineSeconds"),
    EnvVar("BRQ_TOKENS_FILE", PGO_FILE, ("API", "TokensFile"), "API tokens file (YAML or JSON; relative to cwd)"),
)
"""Every variable `load_settings` reads; `BRQ_CONF_DIR` (the conf directory) is read by `conf_dir_from`."""


def conf_dir_from(environ: Mapping[str, str]) -> str:
    """`BRQ_CONF_DIR`, else the `conf/` directory next to this package."""
    return environ.get("BRQ_CONF_DIR") or DEFAULT_CONF_DIR


def load_settings_from_environ(environ: Mapping[str, str]) -> Settings:
    """`load_settings(conf_dir_from(environ), environ)`: what the entry points call with `os.environ`."""
    return load_settings(conf_dir_from(environ), environ)


# --- loading ----------------------------------------------------------------------------------------


def load_settings(conf_dir: str, environ: Mapping[str, str]) -> Settings:
    """Read and validate the conf files and `ENVIRONMENT` overrides; SettingsError listing every fault."""
    paths = {PGO_FILE: os.path.join(conf_dir, PGO_FILE), CREDENTIALS_FILE: os.path.join(conf_dir, CREDENTIALS_FILE)}
    raw = {PGO_FILE: read_config_file(paths[PGO_FILE]),
           CREDENTIALS_FILE: read_config_file(paths[CREDENTIALS_FILE], missing_ok=True)}
    overridden = {(var.file, var.key): var.name for var in ENVIRONMENT
                  if var.name in environ and var.key and _set_key(raw[var.file], var, environ[var.name])}

    def where(file: str, *key) -> str:
        for length in range(len(key), 0, -1):  # an error inside an overridden value (a list item) names the variable
            if (file, key[:length]) in overridden:
                return f"environment: {overridden[(file, key[:length])]}"
        return f"{paths[file]}: {_dotted(key)}" if key else paths[file]

    problems, loaded = [], {}
    for file, schema in ((PGO_FILE, _PgoSchema), (CREDENTIALS_FILE, _CredentialsSchema)):
        try:
            loaded[file] = schema().load(raw[file])
        except ValidationError as error:
            problems += [f"{where(file, *key)}: {reason}" for key, reason in _flatten(error.messages)]
    if problems:
        raise SettingsError(problems)

    pgo, creds = loaded[PGO_FILE], loaded[CREDENTIALS_FILE]
    cluster = pgo["cluster"]
    problems += _check_s3(cluster, creds, where)
    ca_file, ca_pem = environ.get("BRQ_S3_CA_FILE") or os.path.join(conf_dir, CA_FILE), ""
    if cluster["bucket"] and (cluster["verify_tls"] or os.path.exists(ca_file)):
        try:
            ca_pem = read_ca_bundle(ca_file)
        except ValueError as error:
            via = " (BRQ_S3_CA_FILE)" if environ.get("BRQ_S3_CA_FILE") else ""
            problems.append(f"{ca_file}{via}: {error}")
    volumes = {role: _volume(pgo, key, role, where, problems)
               for role, key in (("primary", "PrimaryStorage"), ("repo", "BackrestStorage"))}
    if problems:
        raise SettingsError(problems)

    host, _, port = cluster["endpoint"].partition(":")
    tokens_file = pgo["api"]["tokens_file"]
    if (PGO_FILE, ("API", "TokensFile")) not in overridden:  # a path from the file is relative to the conf dir
        tokens_file = os.path.join(conf_dir, tokens_file)
    redis_url = pgo["redis"]["url"]
    return Settings(
        conf_dir=conf_dir,
        s3=S3Settings(bucket=cluster["bucket"], endpoint=host, port=int(port or 443), region=cluster["region"],
                      uri_style=cluster["uri_style"], verify_tls=cluster["verify_tls"], ca_file=ca_file,
                      ca_pem=ca_pem, key=Secret(creds["key"]), key_secret=Secret(creds["key_secret"])),
        storage=StorageSettings(default_type=parse_storage_type(cluster["storage_type"]), **volumes),
        images=ImageSettings(**pgo["images"]),
        pods=PodSettings(**pgo["pods"]),
        redis=RedisSettings(url=Secret(redis_url), url_redacted=_redact_url(redis_url)),
        kubernetes=KubernetesSettings(namespaces=tuple(sorted(set(pgo["kubernetes"]["namespaces"])))),
        tasks=TaskSettings(**pgo["tasks"]),
        jobs=JobSettings(**pgo["jobs"]),
        api=ApiSettings(tokens_file=tokens_file),
    )


def _check_s3(cluster: dict, creds: dict, where) -> list[str]:
    """Rules across keys: s3 in the default type needs a bucket; a bucket needs endpoint, region and keys."""
    problems = []
    if "s3" in cluster["storage_type"] and not cluster["bucket"]:
        problems.append(f"{where(PGO_FILE, 'Cluster', 'BackrestS3Bucket')}: is required when "
                        f"Cluster.BackrestStorageType includes s3")
    if not cluster["bucket"]:
        return problems
    for key, name in (("endpoint", "BackrestS3Endpoint"), ("region", "BackrestS3Region")):
        if not cluster[key]:
            problems.append(f"{where(PGO_FILE, 'Cluster', name)}: is required when Cluster.BackrestS3Bucket is set")
    for key, name in (("key", "aws-s3-key"), ("key_secret", "aws-s3-key-secret")):
        if not creds[key]:
            problems.append(f"{where(CREDENTIALS_FILE, name)}: is required when Cluster.BackrestS3Bucket is set")
    endpoint, label = cluster["endpoint"], where(PGO_FILE, "Cluster", "BackrestS3Endpoint")
    match = _ENDPOINT.fullmatch(endpoint)
    if endpoint and (not match or not 0 < int(match["port"] or 443) < 65536):
        problems.append(f"{label}: must be a host name, optionally with :port, without a scheme or path")
    elif endpoint and cluster["verify_tls"] and _is_ip(match["host"]):
        problems.append(f"{label}: must be a DNS name that the certificate names when Cluster.BackrestS3VerifyTLS "
                        f"is true (pgBackRest does not verify IP addresses)")
    return problems


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _volume(pgo: dict, key: str, role: str, where, problems: list[str]) -> VolumeSettings | None:
    """The `Storage` entry that `PrimaryStorage`/`BackrestStorage` names; 1Gi/2Gi ReadWriteOnce when unset."""
    name = pgo["primary_storage" if key == "PrimaryStorage" else "backrest_storage"]
    if not name:
        return VolumeSettings(size="1Gi" if role == "primary" else "2Gi", access_mode="ReadWriteOnce", storage_class="")
    if name not in pgo["storage"]:
        known = ", ".join(sorted(pgo["storage"])) or "none"
        problems.append(f"{where(PGO_FILE, key)}: names no Storage entry: {name!r} (entries: {known})")
        return None
    return VolumeSettings(**pgo["storage"][name])


def read_config_file(path: str, missing_ok: bool = False) -> Any:
    """A YAML (or JSON) file's content; `{}` for an empty or (with `missing_ok`) absent file."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        if missing_ok:
            return {}
        raise SettingsError([f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError([f"{path}: cannot be read: {error}"]) from None
    try:
        data = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except json.JSONDecodeError as error:
        raise SettingsError([f"{path}: not valid JSON: {error}"]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise SettingsError([f"{path}: not valid YAML: {getattr(error, 'problem', None) or error}{at}"]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError([f"{path}: must be a mapping of keys"])
    return data


def read_ca_bundle(path: str) -> str:
    """The PEM certificates in `path`, joined; '' when it holds only comments. ValueError if unusable."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ValueError("file not found (needed when Cluster.BackrestS3VerifyTLS is true)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot be read: {error}") from None
    blocks = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text, re.DOTALL)
    if not blocks:
        rest = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        if rest:
            raise ValueError("holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        return ""
    for number, block in enumerate(blocks, 1):
        try:
            x509.load_pem_x509_certificate(block.encode())
        except ValueError:
            raise ValueError(f"certificate {number} is not a valid PEM certificate") from None
    return "\n".join(blocks) + "\n"


def _set_key(data: dict, var: EnvVar, value: str) -> bool:
    """Put an environment value at `var.key` in a file's raw data; False when the file's shape forbids it."""
    if var.key == ("Kubernetes", "Namespaces"):
        value = [part.strip() for part in value.split(",") if part.strip()]
    node = data
    for part in var.key[:-1]:
        if node.get(part) is None:
            node[part] = {}
        node = node[part]
        if not isinstance(node, dict):
            return False
    node[var.key[-1]] = value
    return True


def _dotted(key: tuple) -> str:
    text = ""
    for part in key:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _flatten(messages: Any, key: tuple = ()) -> list[tuple[tuple, str]]:
    """marshmallow's nested error dict as (key path, reason) pairs, sorted; Dict's `value` level dropped."""
    if isinstance(messages, dict):
        out = []
        for part, sub in messages.items():
            out += _flatten(sub, key if part in ("_schema", "value") else key + (part,))
        return sorted(out, key=lambda item: (_dotted(item[0]), item[1]))
    reasons = messages if isinstance(messages, list) else [messages]
    return [(key, "; ".join(_reason(reason) for reason in reasons))]


def _reason(text: str) -> str:
    """marshmallow's own messages ("Not a valid string.") in our style ("not a valid string")."""
    text = str(text).rstrip(".")
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def validation_problems(source: str, error: ValidationError) -> list[str]:
    """`source: key: reason` lines for a marshmallow ValidationError (used by the other conf loaders)."""
    return [f"{source}: {_dotted(key)}: {reason}" if key else f"{source}: {reason}"
            for key, reason in _flatten(error.messages)]
