"""`brq restore` and `brq resume`: PGO v4's `pgo restore` flags over `…/clusters/{name}/restores`.

PGO v4 said everything about a restore in `--backup-opts` (pgBackRest's restore options) and
`--pitr-target`; the API has a field for each part.  So the CLI maps them:

- `--type=time|name|xid|lsn` in `--backup-opts` is `target.type`, with `--pitr-target` (or a
  `--target=` among the options) as `target.value`; `--type=immediate` takes no value;
  `--type=default` (pgBackRest's name for replaying all WAL) and no `--type` at all are `latest`;
- `--set=LABEL` is `set`, `--target-action=pause|promote` is `target_action`;
- every other option (`--delta`, `--db-include=…`) goes to `options` unchanged: the API checks them.

What can be told without the API is refused before any request (a usage error, exit 2): a target
type that needs a value and has none, a value without a type that takes one, two values for one of them.

A restore deletes the primary, so unless `--no-prompt` the CLI first asks the API's preview (the same
checks, nothing done: the backup set, the recovery window, why not) and shows it on stderr, then asks
for `yes`.  A preview that refuses is shown and the CLI exits 1 without asking.  `--dry-run` prints
the preview and stops (exit 1 when the restore could not run).
"""
from __future__ import annotations

from typing import Any

import click

from .backups import server_wait, split_backup_opts
from .client import Client
from .errors import BrqError
from .follow import follow_and_exit, wait_task
from .render import preview_text, restore_text, target_text
from .session import Session, accepted, emit, namespace_option, output_option, pass_session

TARGET_TYPES = {"time": "time", "name": "name", "xid": "xid", "lsn": "lsn", "immediate": "immediate",
                "default": "latest"}
VALUED = {"time": "a time with its zone, e.g. --pitr-target='2026-11-26 10:00:00+00'",
          "name": "the name of a restore point (pg_create_restore_point), e.g. --pitr-target=before-upgrade",
          "xid": "a transaction id, e.g. --pitr-target=1234",
          "lsn": "an LSN, e.g. --pitr-target=0/3000028"}
MAPPED = ("--type", "--target", "--set", "--target-action")
PREFLIGHT_WAIT = 10.0  # seconds the API may hold a restore (or its preview) for the preflight (its default; at most 60)
PREVIEW_MAX_WAIT = 300.0
PROMPT = ("WARNING: restoring cluster {name} deletes its primary and replaces its data (the old volume is kept). "
          "Proceed? (yes/no)")


def _one(options: list[str], name: str) -> str | None:
    """The value of `--name=VALUE` among the options; a usage error when they give two different ones."""
    values = list(dict.fromkeys(o.split("=", 1)[1] for o in options if o.startswith(f"{name}=")))
    if len(values) > 1:
        raise click.BadParameter(f"{name} has {len(values)} different values ({', '.join(values)}); give one",
                                 param_hint="'--backup-opts'")
    return values[0] if values else None


def restore_request(options: list[str], *, storage_type: str | None = None, pitr_target: str | None = None,
                    node_label: str | None = None, backup_after: bool = False) -> dict[str, Any]:
    """The body of `POST …/restores` from PGO v4's flags (see the module docstring); usage errors before any request."""
    for option in options:
        if option in MAPPED:
            raise click.BadParameter(f"write {option}=VALUE, in one word", param_hint="'--backup-opts'")
    given_type = _one(options, "--type")
    if given_type is not None and given_type not in TARGET_TYPES:
        raise click.BadParameter(f"--type={given_type} is not a restore target type here: give one of "
                                 f"{', '.join(TARGET_TYPES)} (a restore always makes a new primary)",
                                 param_hint="'--backup-opts'")
    kind = TARGET_TYPES.get(given_type or "default")
    in_opts = _one(options, "--target")
    if pitr_target is not None and in_opts is not None and pitr_target != in_opts:
        raise click.UsageError(f"--pitr-target={pitr_target!r} and --target={in_opts!r} in --backup-opts differ: "
                               "give the target once")
    value = pitr_target if pitr_target is not None else in_opts
    if kind in VALUED and not value:
        raise click.UsageError(f"--type={kind} in --backup-opts needs --pitr-target: {VALUED[kind]}")
    if kind not in VALUED and value is not None:
        if given_type is None:
            raise click.UsageError("--pitr-target needs a target type: add --type=time (or name, xid, lsn) to "
                                   "--backup-opts, as in PGO v4")
        raise click.UsageError(f"--type={given_type} takes no --pitr-target: it stops at "
                               f"{'the end of the backup set' if kind == 'immediate' else 'the end of the WAL'}")
    body: dict[str, Any] = {"target": {"type": kind, **({"value": value} if kind in VALUED else {})}}
    if storage_type:
        body["storage_type"] = storage_type
    label = _one(options, "--set")
    if label is not None:
        body["set"] = label
    action = _one(options, "--target-action")
    if action is not None:
        body["target_action"] = action
    if node_label:
        body["node_label"] = node_label
    body["options"] = [o for o in options if o.split("=", 1)[0] not in MAPPED]
    body["backup_after"] = backup_after
    return body


def read_preview(client: Client, *, namespace: str, cluster: str, request: dict[str, Any],
                 max_wait: float = PREVIEW_MAX_WAIT) -> dict[str, Any]:
    """The preview of `request`; when the API answers 202 (not decided yet), its task is followed to the end."""
    target = request.get("target") or {}
    answer = client.preview_restore(namespace=namespace, cluster=cluster, storage_type=request.get("storage_type"),
                                    target_type=target.get("type"), target=target.get("value"),
                                    set=request.get("set"), target_action=request.get("target_action"),
                                    wait=server_wait(client.timeout, PREFLIGHT_WAIT))
    if answer.status != 202:
        return answer.body
    task = wait_task(client, answer.body["task_id"], display=None, max_wait=max_wait)
    if task["state"] != "SUCCESS":
        why = (task.get("error") or {}).get("message") or f"the task ended {task['state']}"
        raise BrqError(f"the preview failed: {why}\nsee the task with: brq show task {task['id']}")
    return {"cluster": cluster, "namespace": namespace, "task_id": task["id"], **(task.get("result") or {})}


def confirm(name: str) -> None:
    """PGO v4's question: only `yes` or `y` goes on; anything else, end of input or ^C cancels (exit 1)."""
    try:
        answer = click.prompt(PROMPT.format(name=name), default="", show_default=False, err=True,
                              prompt_suffix=": ")
    except click.Abort:  # end of input (no terminal?) or ^C
        click.echo("", err=True)
        raise BrqError("restore cancelled (no answer; --no-prompt restores without asking)") from None
    if answer.strip().lower() not in ("yes", "y"):
        raise BrqError("restore cancelled")


@click.command("restore")
@click.argument("name")
@click.option("--pgbackrest-storage-type", "storage_type", metavar="local|s3",
              help="The repo to restore from: one of the cluster's (default: local, as in PGO v4).")
@click.option("--pitr-target", metavar="VALUE",
              help="Where recovery stops, for the --type in --backup-opts: a time with its zone "
                   "('2026-11-26 10:00:00+00'), a restore point name, an xid or an LSN.")
@click.option("--backup-opts", "options", callback=split_backup_opts, metavar="'OPTIONS'",
              help="pgBackRest restore options in one string: --type=time|name|xid|lsn|immediate|default, "
                   "--set=LABEL, --target-action=pause|promote, and others (--delta, --db-include=…) as they are.")
@click.option("--node-label", metavar="KEY=VALUE",
              help="Run the restore Job and the new primary on nodes with this label (default: the old primary's).")
@click.option("--backup-after", is_flag=True, help="Enqueue a full backup once the restored primary is ready.")
@click.option("--no-prompt", is_flag=True, help="Neither show the preview nor ask before restoring.")
@click.option("--dry-run", is_flag=True,
              help="Only show the preview (backup set, recovery window, why not); start nothing. "
                   "Exit 1 when the restore could not run.")
@click.option("--wait", is_flag=True,
              help="Follow the restore step by step until it ends; exit 1 unless it succeeded.")
@output_option()
@namespace_option
@pass_session
@click.pass_context
def restore(ctx: click.Context, session: Session, name: str, storage_type: str | None, pitr_target: str | None,
            options: list[str], node_label: str | None, backup_after: bool, no_prompt: bool, dry_run: bool,
            wait: bool, output: str, namespace: str | None) -> None:
    """Restore cluster NAME from pgBackRest, to the end of the WAL or to a target (PITR).

    Destructive: the primary is deleted and a new one made on a new volume holding the restored data;
    the old volume is kept.  Unless --no-prompt, the API's preview is shown and `yes` asked for first.
    """
    ns = session.ns(namespace)
    request = restore_request(options, storage_type=storage_type, pitr_target=pitr_target, node_label=node_label,
                              backup_after=backup_after)
    client = session.client()
    if dry_run:
        preview = read_preview(client, namespace=ns, cluster=name, request=request)
        emit(preview, output, lambda b: preview_text(b, request))
        ctx.exit(0 if preview.get("ok") else 1)
    if not no_prompt:
        preview = read_preview(client, namespace=ns, cluster=name, request=request)
        click.echo(preview_text(preview, request), err=True)
        if not preview.get("ok"):
            raise BrqError(f"cluster {name} cannot be restored as asked, for the reasons above: nothing was started")
        confirm(name)
    body = client.create_restore(namespace=ns, cluster=name,
                                 body={**request, "wait": server_wait(client.timeout, PREFLIGHT_WAIT)}).body
    params = (body.get("task") or {}).get("params", {})
    what = (f"restore of cluster {name} in namespace {ns} started: storage type {params.get('storage_type', '?')}, "
            f"target {target_text(params.get('target'), params.get('target_action'))}")
    if wait:
        follow_and_exit(ctx, client, body, output, what, restore_text)
    emit(body, output, lambda b: accepted(b, what))


@click.command("resume")
@click.argument("name")
@click.argument("task_id", metavar="TASK_ID")
@click.option("--wait", is_flag=True, help="Follow the resume until it ends; exit 1 unless it succeeded.")
@output_option()
@namespace_option
@pass_session
@click.pass_context
def resume(ctx: click.Context, session: Session, name: str, task_id: str, wait: bool, output: str,
           namespace: str | None) -> None:
    """Resume WAL replay on cluster NAME, which restore TASK_ID left paused at its target (--target-action=pause).

    The primary then replays the rest of the WAL and is promoted (`pg_wal_replay_resume()`).
    """
    ns = session.ns(namespace)
    client = session.client()
    body = client.resume_restore(namespace=ns, cluster=name, task_id=task_id).body
    what = f"resume of WAL replay requested for cluster {name} in namespace {ns} (restore {task_id})"
    if wait:
        follow_and_exit(ctx, client, body, output, what)
    emit(body, output, lambda b: accepted(b, what))
