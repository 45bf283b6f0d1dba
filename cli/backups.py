"""`brq backup` and `brq show backup`: PGO v4's flags over `…/clusters/{name}/backups`.

`--backup-opts` is one string of pgBackRest options, as in PGO v4.  It is split like a POSIX shell
would split it (`shlex`, never a shell) and sent as the request's `options`, unchanged; the API checks
them against its allowlist.  A `--type=full|diff|incr` among them is also sent as the request's
`type`: the API defaults `type` to incr and refuses a `--type` option that differs from it.
"""
from __future__ import annotations

import shlex
from typing import Any

import click

from .catalogue import catalogue_text
from .client import Client
from .errors import BrqError
from .follow import follow_and_exit, wait_task
from .session import Session, accepted, emit, namespace_option, output_option, pass_session

BACKUP_TYPES = ("full", "diff", "incr")
SERVER_WAIT = 5.0  # seconds the API may hold `GET …/backups` for the catalogue (its default; at most 30)
CATALOGUE_MAX_WAIT = 300.0


def split_backup_opts(ctx: click.Context | None, param: click.Parameter | None, value: str | None) -> list[str]:
    """`"--type=full --annotation='why=before upgrade'"` → `["--type=full", "--annotation=why=before upgrade"]`."""
    try:
        return shlex.split(value or "", comments=False, posix=True)
    except ValueError as exc:
        raise click.BadParameter(f"{exc} in {value!r}") from None


def check_backup_type(ctx: click.Context | None, param: click.Parameter | None, value: str | None) -> str | None:
    """PGO v4 also took `pgdump`; backrest-queue makes pgBackRest backups only."""
    if value in (None, "pgbackrest"):
        return value
    if value == "pgdump":
        raise click.BadParameter("pgdump is not supported: backrest-queue makes pgBackRest backups only "
                                 "(PGO v4's pg_dump backups are not part of it); use pgbackrest or leave it out")
    raise click.BadParameter(f"{value!r}: the only backup type is pgbackrest")


def backup_request(options: list[str], storage_type: str | None) -> dict[str, Any]:
    """The body of `POST …/backups`: the options as given, the `--type` among them as `type`."""
    types = list(dict.fromkeys(o.split("=", 1)[1] for o in options if o.startswith("--type=")))
    if len(types) > 1:
        raise click.BadParameter(f"--type has {len(types)} different values ({', '.join(types)}); give one",
                                 param_hint="'--backup-opts'")
    body: dict[str, Any] = {"options": options}
    if types and types[0] in BACKUP_TYPES:
        body["type"] = types[0]
    if storage_type:
        body["storage_type"] = storage_type
    return body


def server_wait(timeout: float, most: float = SERVER_WAIT) -> float:
    """How long the API may hold a request for a task (`most`: its default), less than our own HTTP timeout."""
    return round(max(0.0, min(most, timeout - 1.0)), 1)


def backup_type_option(fn):
    return click.option("--backup-type", default=None, callback=check_backup_type, metavar="pgbackrest",
                        help="PGO v4's backup kind; only pgbackrest.")(fn)


@click.command("backup")
@click.argument("name")
@backup_type_option
@click.option("--pgbackrest-storage-type", "storage_type", metavar="local|s3|local,s3",
              help="The repo(s) to back up to; local,s3 makes one backup in each (default: local).")
@click.option("--backup-opts", "options", callback=split_backup_opts, metavar="'OPTIONS'",
              help='pgBackRest backup options in one string, e.g. "--type=full --start-fast".')
@click.option("--wait", is_flag=True, help="Follow the backup until it ends; exit 1 unless it succeeded.")
@output_option()
@namespace_option
@pass_session
@click.pass_context
def backup(ctx: click.Context, session: Session, name: str, backup_type: str | None, storage_type: str | None,
           options: list[str], wait: bool, output: str, namespace: str | None) -> None:
    """Back up cluster NAME with pgBackRest (a task; one backup of the cluster at a time)."""
    ns = session.ns(namespace)
    client = session.client()
    body = client.create_backup(namespace=ns, cluster=name, body=backup_request(options, storage_type)).body
    params = (body.get("task") or {}).get("params", {})
    what = (f"backup of cluster {name} in namespace {ns} submitted: type {params.get('type', '?')}, "
            f"storage type {','.join(params.get('repos') or []) or '?'}")
    if wait:
        follow_and_exit(ctx, client, body, output, what)
    emit(body, output, lambda b: accepted(b, what))


def read_catalogue(client: Client, *, namespace: str, cluster: str, storage_type: str | None, fmt: str,
                   max_wait: float) -> dict[str, Any]:
    """The catalogue answer; when the API answers 202 (not ready), its info task is followed to the end."""
    answer = client.get_catalogue(namespace=namespace, cluster=cluster, storage_type=storage_type, fmt=fmt,
                                  wait=server_wait(client.timeout))
    if answer.status != 202:
        return answer.body
    task = wait_task(client, answer.body["task_id"], display=None, max_wait=max_wait)
    if task["state"] != "SUCCESS":
        why = (task.get("error") or {}).get("message") or f"the task ended {task['state']}"
        raise BrqError(f"pgbackrest info failed: {why}\nsee the task with: brq show task {task['id']}")
    return {"cluster": cluster, "namespace": namespace, "task_id": task["id"], **(task.get("result") or {})}


@click.command("backup")
@click.argument("name")
@backup_type_option
@click.option("--pgbackrest-storage-type", "storage_type", metavar="local|s3|local,s3",
              help="The repo(s) to show (default: all of the cluster's).")
@output_option("pgbackrest")
@click.option("--max-wait", type=click.FloatRange(min=0), default=CATALOGUE_MAX_WAIT, show_default=True,
              help="Seconds to wait for the catalogue when pgBackRest is slow to answer.")
@namespace_option
@pass_session
def show_backup(session: Session, name: str, backup_type: str | None, storage_type: str | None, output: str,
                max_wait: float, namespace: str | None) -> None:
    """Show the backup catalogue of cluster NAME (`pgbackrest info`), per repo.

    text: PGO v4's layout; pgbackrest: pgBackRest's own text; json and yaml: the API's answer.
    """
    ns = session.ns(namespace)
    fmt = "text" if output == "pgbackrest" else "json"
    body = read_catalogue(session.client(), namespace=ns, cluster=name, storage_type=storage_type, fmt=fmt,
                          max_wait=max_wait)
    if output == "pgbackrest":
        click.echo((body.get("text") or "").rstrip("\n"))
    else:
        emit(body, output, catalogue_text)
