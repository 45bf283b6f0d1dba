"""`brq`: the command group, its global options, and `main` (the `brq` console script).

    brq create cluster NAME [--pgbackrest-storage-type=local|s3|local,s3] [-n NS] [--wait]
    brq backup NAME [--backup-type=pgbackrest] [--pgbackrest-storage-type=…] [--backup-opts="…"] [-n NS] [--wait]
    brq show backup NAME [--pgbackrest-storage-type=…] [-o text|json|yaml|pgbackrest] [-n NS]
    brq restore NAME [--pgbackrest-storage-type=local|s3] [--pitr-target=…] [--backup-opts="--type=time …"]
                [--node-label=k=v] [--backup-after] [--no-prompt] [--dry-run] [-n NS] [--wait]
    brq resume NAME TASK_ID [-n NS] [--wait]
    brq show cluster [NAME] [-n NS]
    brq show task ID [--wait]
    brq show tasks [-n NS] [--cluster=…] [--state=…] [--kind=…]
    brq cancel ID
    brq create schedule CLUSTER --schedule="0 1 * * *" --pgbackrest-backup-type=full [--cluster=C] [-n NS]
    brq show schedule [NAME] [--selector=name=CLUSTER];  brq delete|pause|resume schedule NAME

Global options come before the verb: --url (BRQ_URL), --token (BRQ_TOKEN), -n/--namespace
(BRQ_NAMESPACE, default demo), --ca-file (BRQ_CA_FILE) and --timeout (BRQ_TIMEOUT).
"""
from __future__ import annotations

import click

from . import backups, clusters, restores, schedules, tasks
from .session import Session

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


@click.group(context_settings=CONTEXT)
@click.option("--url", envvar="BRQ_URL", metavar="URL", help="The API, e.g. https://brq.example:8443 [env BRQ_URL].")
@click.option("--token", envvar="BRQ_TOKEN", metavar="TOKEN", help="Bearer token [env BRQ_TOKEN]; never printed.")
@click.option("-n", "--namespace", envvar="BRQ_NAMESPACE", default="demo", show_default=True, metavar="NS",
              help="Namespace of the verbs that take one [env BRQ_NAMESPACE]; a verb's own -n wins.")
@click.option("--ca-file", envvar="BRQ_CA_FILE", metavar="PEM",
              help="CA certificates to trust for an https:// API [env BRQ_CA_FILE].")
@click.option("--timeout", envvar="BRQ_TIMEOUT", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds to wait for each HTTP answer [env BRQ_TIMEOUT].")
@click.pass_context
def brq(ctx: click.Context, url: str | None, token: str | None, namespace: str, ca_file: str | None,
        timeout: float) -> None:
    """backrest-queue's client: pgBackRest backups and restores of PostgreSQL clusters, with PGO v4's verbs and flags.

    Verbs that start work answer with a task; follow it with `brq show task ID --wait`.
    Exit codes: 0 done, 1 refused by the API or the task failed, 2 the API could not be asked.
    """
    ctx.obj = Session(url=url, token=token, namespace=namespace, ca_file=ca_file, timeout=timeout)


@brq.group(context_settings=CONTEXT)
def create() -> None:
    """Create a resource (cluster, schedule)."""


@brq.group(context_settings=CONTEXT)
def show() -> None:
    """Show resources: backup, cluster, schedule, task, tasks."""


create.add_command(clusters.create_cluster)
create.add_command(schedules.create_schedule)
show.add_command(schedules.show_schedule)
schedules.delete.add_command(clusters.delete_cluster)
brq.add_command(schedules.delete)
brq.add_command(schedules.pause)
show.add_command(backups.show_backup)
show.add_command(clusters.show_cluster)
show.add_command(tasks.show_task)
show.add_command(tasks.show_tasks)
brq.add_command(backups.backup)
brq.add_command(restores.restore)
brq.add_command(schedules.resume_group(restores.resume))  # resume NAME TASK_ID, and resume schedule NAME
brq.add_command(tasks.cancel)


def main(argv: list[str] | None = None) -> None:
    """The `brq` console script (and `python -m cli`)."""
    brq.main(args=argv, prog_name="brq")
