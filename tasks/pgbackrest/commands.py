"""pgBackRest command lines as argv lists (never shell strings), and the storage-type → repo mapping.

Every command line starts the same way: `pgbackrest --config=<file> --stanza=db`, then the
options the service sets (`--repo=N`, `--pg1-path`, `--output`), then the request's options as
`options.normalize` returns them, sorted, then the command.  The config file is always named:
pods see the host's `/etc` and Debian's legacy `/etc/pgbackrest.conf` would otherwise be read
too (FACTS.md).  The stanza is always `db`, one per cluster, as in PGO.

Repositories (DESIGN.md): storage type `local` is repo1 (posix, on the repo host's volume),
`s3` is repo2; `local,s3` names both, one after the other — pgBackRest takes one backup per
stanza at a time, across repos too.  A restore reads exactly one repo.
"""
from __future__ import annotations

import shlex
from typing import Sequence

from .options import normalize, without
from .targets import RestoreTarget, effective_backup_type, restore_options

PGBACKREST = "pgbackrest"
STANZA = "db"
CONFIG_PATH = "/etc/pgbackrest/pgbackrest.conf"
STORAGE_REPOS = {"local": 1, "s3": 2}
STORAGE_TYPES = ("local", "s3", "local,s3")
OUTPUTS = ("json", "text")


def storage_types(value: str) -> tuple[str, ...]:
    """`local` → ("local",), `s3` → ("s3",), `local,s3` or `s3,local` → ("local", "s3"); ValueError otherwise."""
    parts = value.split(",") if isinstance(value, str) else []
    if not parts or len(set(parts)) != len(parts) or not set(parts) <= set(STORAGE_REPOS):
        raise ValueError(f"storage type {value!r} is not one of {', '.join(STORAGE_TYPES)}")
    return tuple(sorted(parts))


def repos_for(storage_type: str) -> tuple[int, ...]:
    """The repo numbers a storage type names: `local` → (1,), `s3` → (2,), `local,s3` → (1, 2)."""
    return tuple(STORAGE_REPOS[part] for part in storage_types(storage_type))


def repo_for(storage_type: str) -> int:
    """The one repo of a single storage type (a restore reads one repo); ValueError for `local,s3`."""
    repos = repos_for(storage_type)
    if len(repos) != 1:
        raise ValueError(f"storage type {storage_type!r} names {len(repos)} repositories; "
                         "a restore reads one: local or s3")
    return repos[0]


def storage_type_of(repo: int) -> str:
    """The storage type of a repo number: 1 → `local`, 2 → `s3`; ValueError for others."""
    for name, number in STORAGE_REPOS.items():
        if number == repo:
            return name
    raise ValueError(f"repo {repo!r} is not one of {', '.join(map(str, STORAGE_REPOS.values()))}")


def _repo(repo: int | None) -> list[str]:
    if repo is None:
        return []
    storage_type_of(repo)
    return [f"--repo={repo}"]


def _argv(command: str, service: list[str], user: Sequence[str], config: str, *params: str) -> list[str]:
    return [PGBACKREST, f"--config={config}", f"--stanza={STANZA}", *service, *user, command, *params]


def stanza_create(*, config: str = CONFIG_PATH) -> list[str]:
    """`stanza-create` for every repo in the config (2.45 refuses `--repo` for this command)."""
    return _argv("stanza-create", [], (), config)


def check(*, repo: int | None = None, config: str = CONFIG_PATH) -> list[str]:
    """`check`: the configuration, the database and a WAL segment reaching the repo(s)."""
    return _argv("check", _repo(repo), (), config)


def backup(repo: int, type: str | None = None, options: Sequence[str] | None = (), *,
           config: str = CONFIG_PATH, compress_type: str = "zst") -> list[str]:
    """`backup` to one repo; the type from `type` and/or `--type` in options (OptionError if they differ)."""
    kind = effective_backup_type(options, type)
    user = without(normalize("backup", options, compress_type=compress_type), "type")
    return _argv("backup", _repo(repo), sorted([*user, f"--type={kind}"]), config)


def info(repo: int | None = None, output: str = "json", options: Sequence[str] | None = (), *,
         config: str = CONFIG_PATH) -> list[str]:
    """`info` of one repo, or of all when `repo` is None, as `json` (parsed by info.py) or pgBackRest's `text`."""
    if output not in OUTPUTS:
        raise ValueError(f"output {output!r} is not one of {', '.join(OUTPUTS)}")
    return _argv("info", [*_repo(repo), f"--output={output}"], normalize("info", options), config)


def restore(repo: int, target: RestoreTarget | None = None, set: str | None = None,
            target_action: str | None = None, options: Sequence[str] | None = (), pg_path: str | None = None, *,
            config: str = CONFIG_PATH) -> list[str]:
    """`restore` from one repo into `pg_path` (else the config's `pg1-path`).

    `target` (latest when None), `set` and `target_action` may also come through options; see targets.py.
    """
    user = restore_options(options, target, set, target_action)
    service = _repo(repo) + ([f"--pg1-path={pg_path}"] if pg_path else [])
    return _argv("restore", service, user, config)


def expire(repo: int, options: Sequence[str] | None = (), *, config: str = CONFIG_PATH) -> list[str]:
    """`expire` in one repo, by the retention in the config or `--set`; `--dry-run` to see what would go."""
    return _argv("expire", _repo(repo), normalize("expire", options), config)


def archive_push(*, config: str = CONFIG_PATH) -> list[str]:
    """`archive-push %p`: PostgreSQL's archive_command as argv (PostgreSQL fills in `%p`)."""
    return _argv("archive-push", [], (), config, "%p")


def archive_get(*, config: str = CONFIG_PATH) -> list[str]:
    """`archive-get %f "%p"`: a restore_command as argv."""
    return _argv("archive-get", [], (), config, "%f", "%p")


def archive_command(*, config: str = CONFIG_PATH) -> str:
    """`archive_command` for postgresql.conf: PostgreSQL runs it through `sh -c`, so it is quoted here."""
    return shlex.join(archive_push(config=config))


def server(*, config: str = CONFIG_PATH) -> list[str]:
    """`pgbackrest server`: the TLS server in the primary and repo-host pods (address from the environment)."""
    return [PGBACKREST, f"--config={config}", "server"]
