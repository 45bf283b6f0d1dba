"""The `pgbackrest.conf` of each pod kind, as text: primary, repo host, restore pod.

Deterministic INI: `[global]` first, then `[global:<command>]` sections by command name, then
`[db]` (the stanza); keys sorted within a section (a repeated key, `tls-server-auth`, by value).
Values are checked for line breaks, so nothing can add a line to the file.

What is not in the text, on purpose:
- S3 keys: the repo host gets `PGBACKREST_REPO2_S3_KEY` / `PGBACKREST_REPO2_S3_KEY_SECRET` from a
  Secret (FACTS.md: they cannot go on the command line, and a ConfigMap is no place for them);
- `tls-server-address`: each pod must listen on its own IP (FACTS.md, KUBESIM.md), which is known
  only when the pod runs, so it comes from `PGBACKREST_TLS_SERVER_ADDRESS`, set from the downward
  API (`status.podIP`).  pgBackRest reads any option from `PGBACKREST_<OPTION>`, so one ConfigMap
  serves every pod of a kind.

A TLS server runs each client's request in a remote started with the config file the *client*
names (`repoN-host-config`, `pg1-host-config`; pgBackRest's default is /etc/pgbackrest/pgbackrest.conf,
and without that file it falls back to Debian's legacy /etc/pgbackrest.conf — tried here), so the
texts name it: every pod mounts its own text at `config_path`.

Logs: `log-level-file=off` — console and stderr reach the pod's log and the task record, while
file logs under `/tmp` would grow in pod memory; `log-path` is still a directory that exists and
is writable in every pod (`/tmp`; `/var/log` is read-only in kubesim pods), so an operator's
`--log-level-file=detail` works.  `log-level-console=info` only in `[global:<command>]` sections of
commands whose output is a Job's log: `info`'s stdout must stay pure JSON.

TLS: one CA per cluster; the primary's certificate (CN = the cluster's Service) and the repo
host's (CN = its Service) each serve both ways.  Hosts are dialled by Service DNS name
`<service>.<namespace>.svc`, which the certificates name (an IP is not in them).  A restore pod
holds the primary's certificate: it becomes the primary's data, and the repo host already trusts
that CN.  Every pod mounts its own certificate at the same paths (`server.crt`, `server.key`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .commands import CONFIG_PATH, STANZA, STORAGE_REPOS, repos_for

TLS_SERVER_ADDRESS_ENV = "PGBACKREST_TLS_SERVER_ADDRESS"
S3_KEY_ENV = "PGBACKREST_REPO2_S3_KEY"
S3_KEY_SECRET_ENV = "PGBACKREST_REPO2_S3_KEY_SECRET"
RETAIN_ALL = 9999999  # pgBackRest's maximum repo-retention-full: keep every backup, without its warning
RETENTION_MAX = 9999999  # pgBackRest's range for repo-retention-full/-diff/-archive is 1..9999999
_DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")

Section = list[tuple[str, str]]


@dataclass(frozen=True)
class S3Repo:
    """repo2: the S3 bucket shared by every cluster (PGO v4's `Cluster.BackrestS3*`); keys come from env."""

    bucket: str
    endpoint: str
    """A host name (no scheme, no port); with TLS verified, one the endpoint's certificate names."""
    region: str
    port: int = 443
    uri_style: str = "host"
    """`host` (bucket in the host name) or `path` (needed for endpoints such as `localhost`)."""
    verify_tls: bool = True
    ca_file: str | None = None
    """Path, inside the repo-host pod, of the CA bundle trusted for the endpoint; None: the system's."""

    def __post_init__(self) -> None:
        if self.uri_style not in ("host", "path"):
            raise ValueError(f"uri_style {self.uri_style!r} is not one of host, path")
        if not re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?", self.endpoint):
            raise ValueError(f"endpoint {self.endpoint!r} is not a host name (give the port apart)")
        if not 0 < self.port < 65536:
            raise ValueError(f"port {self.port!r} is not from 1 to 65535")


@dataclass(frozen=True)
class Tuning:
    """Our performance defaults, chosen from FACTS.md's measurements (1 GB pgbench, 2 cores), not pgBackRest's.

    - `compress_type=zst`: fastest and smallest of gz/lz4/zst — full backup to posix 3.8 s (gz 14.7 s),
      restore 2.6 s (5.2 s), repo 49 MiB (gz 59, lz4 119); zst's default level 3 (`compress_level=None`).
    - `process_max=2`: one process per core on these 2-core machines; more would take CPU from PostgreSQL.
      zst + 2 processes is ~3.9× faster than pgBackRest's defaults (gz, 1) on posix.
    - `s3_bundle=True` (`repo2-bundle=y`): to S3 a 1 GB backup takes 4.5 s bundled vs 11.6 s not (restore
      3.1 vs 8.7 s), an empty cluster 3.0 s vs 9.6 s (restore 0.6 vs 6.1 s); against pgBackRest's S3 defaults
      (gz, 1, no bundle: 29.9 s / 17.3 s) that is 6.6× / 5.6×.  Not set for posix: not measured there.
    - `start_fast=True`: without it every backup waits for the next checkpoint (small database: 8.5 s vs 4.0 s).
    - archive-async: left off — not measured, and its spool would need a volume of its own.
    """

    compress_type: str = "zst"
    compress_level: int | None = None
    process_max: int = 2
    s3_bundle: bool = True
    start_fast: bool = True


class RetentionError(ValueError):
    """A retention setting pgBackRest would refuse, or that would keep WAL forever; `key` names it."""

    def __init__(self, key: str, message: str):
        super().__init__(f"repo-retention-{key.replace('_', '-')}: {message}")
        self.key = key


@dataclass(frozen=True)
class Retention:
    """One repo's `repoN-retention-*` settings (None: pgBackRest's default; `full` None keeps every backup).

    - `full`: full backups kept (`full_type=count`, the default) or days they are kept (`full_type=time`);
    - `diff`: differential backups kept;
    - `archive` / `archive_type` (`full`, `diff`, `incr`): backups' worth of continuous WAL kept.

    Refused, as pgBackRest would (exit 32) or would only warn about while keeping WAL forever: a number
    outside 1..9999999, an unknown type, `full_type` without `full`, `archive_type=incr` without
    `archive`, `archive_type=diff` without `archive` or `diff`.
    """

    full: int | None = None
    full_type: str | None = None
    diff: int | None = None
    archive: int | None = None
    archive_type: str | None = None

    def __post_init__(self) -> None:
        for key in ("full", "diff", "archive"):
            value = getattr(self, key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or not 1 <= value <= RETENTION_MAX):
                raise RetentionError(key, f"{value!r} is not a whole number from 1 to {RETENTION_MAX}")
        if self.full_type not in (None, "count", "time"):
            raise RetentionError("full_type", f"{self.full_type!r} is not one of count, time")
        if self.archive_type not in (None, "full", "diff", "incr"):
            raise RetentionError("archive_type", f"{self.archive_type!r} is not one of full, diff, incr")
        if self.full_type is not None and self.full is None:
            raise RetentionError("full_type", "needs repo-retention-full (how many backups, or days, to keep)")
        if self.archive_type == "incr" and self.archive is None:
            raise RetentionError("archive", "is required with repo-retention-archive-type=incr (else WAL is "
                                            "never expired)")
        if self.archive_type == "diff" and self.archive is None and self.diff is None:
            raise RetentionError("archive", "or repo-retention-diff is required with repo-retention-archive-type="
                                            "diff (else WAL is never expired)")

    def to_json(self) -> dict[str, int | str]:
        """The settings given (None left out), as the API shows them."""
        return {k: v for k, v in (("full", self.full), ("full_type", self.full_type), ("diff", self.diff),
                                  ("archive", self.archive), ("archive_type", self.archive_type)) if v is not None}

    @classmethod
    def from_json(cls, data: dict) -> "Retention":
        unknown = sorted(set(data) - {"full", "full_type", "diff", "archive", "archive_type"})
        if unknown:
            raise RetentionError(unknown[0], "is not a retention setting (full, full_type, diff, archive, "
                                             "archive_type)")
        return cls(**data)

    def pairs(self, repo: int, default_full: int) -> list[tuple[str, str]]:
        out = [(f"repo{repo}-retention-full", str(self.full if self.full is not None else default_full))]
        for key in ("full_type", "diff", "archive", "archive_type"):
            value = getattr(self, key)
            if value is not None:
                out.append((f"repo{repo}-retention-{key.replace('_', '-')}", str(value)))
        return out


def retention_by_repo(by_storage_type: dict[str, dict] | None) -> tuple[tuple[int, Retention], ...]:
    """`{"local": {...}, "s3": {...}}` (the API's and the cluster record's shape) → ((repo number, Retention), …)."""
    out = []
    for storage_type, data in sorted((by_storage_type or {}).items()):
        if storage_type not in STORAGE_REPOS:
            raise ValueError(f"{storage_type!r} is not a storage type (local, s3)")
        if data:
            out.append((STORAGE_REPOS[storage_type], Retention.from_json(data)))
    return tuple(out)


@dataclass(frozen=True)
class ClusterConfig:
    """What the config texts of one cluster depend on.  Paths are as the pods see them."""

    name: str
    namespace: str
    storage_type: str
    """`local`, `s3` or `local,s3` (DESIGN.md): local = repo1 (posix), s3 = repo2."""
    s3: S3Repo | None = None
    pg_path: str = ""
    """PGDATA; default `/pgdata/<name>`.  A restore gives the new volume's path."""
    pg_port: int = 5432
    pg_socket_path: str = "/pgsock"
    repo1_path: str = "/pgbackrest/repo1"
    repo2_path: str = ""
    """Path in the bucket; default `/backrestrepo/<name>`, as PGO v4."""
    tls_dir: str = "/pgbackrest/certs"
    """Holds `ca.crt`, and the pod's own `server.crt` and `server.key` (mode 0600)."""
    tls_port: int = 8432
    log_path: str = "/tmp"
    """Exists and is writable in every pod (`/var/log` is read-only in kubesim pods)."""
    config_path: str = CONFIG_PATH
    """Where every pod finds its pgbackrest.conf: the other side's TLS server starts its remote with it."""
    retention_full: int = RETAIN_ALL
    """`repoN-retention-full` of the repos `retention` does not set it for."""
    retention: tuple[tuple[int, Retention], ...] = ()
    """Per repo number, its retention settings (`retention_by_repo` builds it from the API's shape)."""
    tuning: Tuning = field(default_factory=Tuning)

    def __post_init__(self) -> None:
        if not _DNS_LABEL.fullmatch(self.name) or len(self.name) > 42:
            raise ValueError(f"cluster name {self.name!r} must be a DNS label of at most 42 characters "
                             "(its repo host's Service name adds 21)")
        if not _DNS_LABEL.fullmatch(self.namespace) or len(self.namespace) > 63:
            raise ValueError(f"namespace {self.namespace!r} is not a DNS label")
        if 2 in self.repos and self.s3 is None:
            raise ValueError(f"storage type {self.storage_type!r} needs S3 settings")
        for repo, _ in self.retention:
            if repo not in self.repos:
                raise ValueError(f"retention for repo{repo}, which storage type {self.storage_type!r} does not have")
        object.__setattr__(self, "pg_path", self.pg_path or f"/pgdata/{self.name}")
        object.__setattr__(self, "repo2_path", self.repo2_path or f"/backrestrepo/{self.name}")

    @property
    def repos(self) -> tuple[int, ...]:
        return repos_for(self.storage_type)

    @property
    def primary_service(self) -> str:
        return self.name

    @property
    def repo_host_service(self) -> str:
        return f"{self.name}-backrest-shared-repo"

    def host(self, service: str) -> str:
        """The DNS name a client dials (and the certificate names): `<service>.<namespace>.svc`."""
        return f"{service}.{self.namespace}.svc"

    def tls_file(self, name: str) -> str:
        return f"{self.tls_dir}/{name}"


def _client(cfg: ClusterConfig, prefix: str, service: str) -> Section:
    """Settings for dialling a pgBackRest TLS server: `repoN-host…` or `pg1-host…`."""
    return [(f"{prefix}-host", cfg.host(service)), (f"{prefix}-host-ca-file", cfg.tls_file("ca.crt")),
            (f"{prefix}-host-cert-file", cfg.tls_file("server.crt")), (f"{prefix}-host-config", cfg.config_path),
            (f"{prefix}-host-key-file", cfg.tls_file("server.key")),
            (f"{prefix}-host-port", str(cfg.tls_port)), (f"{prefix}-host-type", "tls")]


def _server(cfg: ClusterConfig, client_cn: str) -> Section:
    """Settings for this pod's `pgbackrest server`, allowing `client_cn` to the stanza."""
    return [("tls-server-auth", f"{client_cn}={STANZA}"), ("tls-server-ca-file", cfg.tls_file("ca.crt")),
            ("tls-server-cert-file", cfg.tls_file("server.crt")),
            ("tls-server-key-file", cfg.tls_file("server.key")), ("tls-server-port", str(cfg.tls_port))]


def _common(cfg: ClusterConfig) -> Section:
    tuning = cfg.tuning
    common = [("compress-type", tuning.compress_type), ("log-level-file", "off"), ("log-path", cfg.log_path),
              ("process-max", str(tuning.process_max))]
    if tuning.compress_level is not None:
        common.append(("compress-level", str(tuning.compress_level)))
    return common


def _console(*commands: str) -> dict[str, Section]:
    """INFO to stdout for the commands whose output a Job log shows (never for `info`: its stdout is JSON)."""
    return {command: [("log-level-console", "info")] for command in commands}


def _pg(cfg: ClusterConfig, pg_path: str) -> Section:
    return [("pg1-path", pg_path), ("pg1-port", str(cfg.pg_port)), ("pg1-socket-path", cfg.pg_socket_path)]


def render(global_: Section, commands: dict[str, Section], stanza: Section) -> str:
    """INI text: [global], [global:<command>]… by name, [db]; keys sorted; empty sections left out."""
    sections = [("global", global_)] + [(f"global:{c}", commands[c]) for c in sorted(commands)] + [(STANZA, stanza)]
    blocks = []
    for title, pairs in sections:
        for key, value in pairs:
            if not re.fullmatch(r"[a-z0-9-]+", key) or not value or any(c in value for c in "\r\n\0"):
                raise ValueError(f"cannot write {key}={value!r} into pgbackrest.conf")
        if pairs:
            blocks.append(f"[{title}]\n" + "".join(f"{k}={v}\n" for k, v in sorted(pairs)))
    return "\n".join(blocks)


def primary_conf(cfg: ClusterConfig) -> str:
    """The primary pod: archive-push (and archive-get) through the repo host; a TLS server for the repo host."""
    global_ = _common(cfg) + _server(cfg, cfg.repo_host_service)
    for repo in cfg.repos:
        global_ += _client(cfg, f"repo{repo}", cfg.repo_host_service)
    return render(global_, {}, _pg(cfg, cfg.pg_path))


def _repositories(cfg: ClusterConfig) -> Section:
    pairs: Section = []
    retention = dict(cfg.retention)
    for repo in cfg.repos:
        pairs += retention.get(repo, Retention()).pairs(repo, cfg.retention_full)
    if 1 in cfg.repos:
        pairs += [("repo1-path", cfg.repo1_path), ("repo1-type", "posix")]
    if 2 in cfg.repos:
        s3 = cfg.s3
        assert s3 is not None  # checked in ClusterConfig
        pairs += [("repo2-path", cfg.repo2_path), ("repo2-s3-bucket", s3.bucket), ("repo2-s3-endpoint", s3.endpoint),
                  ("repo2-s3-region", s3.region), ("repo2-s3-uri-style", s3.uri_style),
                  ("repo2-storage-port", str(s3.port)), ("repo2-storage-verify-tls", "y" if s3.verify_tls else "n"),
                  ("repo2-type", "s3")]
        if s3.ca_file:
            pairs.append(("repo2-storage-ca-file", s3.ca_file))
        if cfg.tuning.s3_bundle:
            pairs.append(("repo2-bundle", "y"))
    return pairs


def repo_host_conf(cfg: ClusterConfig) -> str:
    """The repo host: the repositories, a TLS server for the primary's archive-push, pg1 over TLS for backups.

    After a restore, give `dataclasses.replace(cfg, pg_path=<new data path>)`.
    """
    global_ = _common(cfg) + _repositories(cfg) + _server(cfg, cfg.primary_service)
    commands = _console("backup", "check", "expire", "stanza-create")
    if cfg.tuning.start_fast:
        commands["backup"].append(("start-fast", "y"))
    return render(global_, commands, _client(cfg, "pg1", cfg.primary_service) + _pg(cfg, cfg.pg_path))


def restore_conf(cfg: ClusterConfig, repo: int, pg_path: str | None = None) -> str:
    """A restore pod: reads `repo` through the repo host, writes `pg_path` (default: the cluster's PGDATA).

    pgBackRest writes `restore_command = 'pgbackrest --config=<config_path> --repo=N --stanza=db archive-get
    %f "%p"'` into the restored `postgresql.auto.conf` (seen here): the new primary runs it with its own
    text at the same path, which reaches the same repo through the repo host.
    """
    if repo not in cfg.repos:
        raise ValueError(f"repo {repo} is not one of cluster {cfg.name!r}'s ({cfg.storage_type})")
    global_ = _common(cfg) + _client(cfg, f"repo{repo}", cfg.repo_host_service)
    return render(global_, _console("restore"), [("pg1-path", pg_path or cfg.pg_path)])
