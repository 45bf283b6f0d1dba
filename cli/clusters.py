"""`brq create cluster` and `brq show cluster`: PGO v4's verbs over `/api/v1/namespaces/{ns}/clusters`."""
from __future__ import annotations

import click

from .follow import follow_and_exit
from .render import cluster_block, clusters_table
from .session import Session, accepted, emit, namespace_option, output_option, pass_session


@click.command("cluster")
@click.argument("name")
@click.option("--pgbackrest-storage-type", "storage_type", metavar="local|s3|local,s3",
              help="Where pgBackRest keeps WAL and backups, fixed for the cluster's life "
                   "(default: the service's, Cluster.BackrestStorageType).")
@click.option("--wait", is_flag=True, help="Follow the task until the cluster is ready or failed.")
@output_option()
@namespace_option
@pass_session
@click.pass_context
def create_cluster(ctx: click.Context, session: Session, name: str, storage_type: str | None, wait: bool,
                   output: str, namespace: str | None) -> None:
    """Create cluster NAME: its PostgreSQL primary, pgBackRest repo host and stanza (a task)."""
    ns = session.ns(namespace)
    client = session.client()
    body = client.create_cluster(namespace=ns, name=name, storage_type=storage_type).body
    storage = (body.get("task") or {}).get("params", {}).get("storage_type", storage_type or "?")
    what = f"creating cluster {name} in namespace {ns} (storage type {storage})"
    if wait:
        follow_and_exit(ctx, client, body, output, what)
    emit(body, output, lambda b: accepted(b, what))


@click.command("cluster")
@click.argument("name", required=False)
@output_option()
@namespace_option
@pass_session
def show_cluster(session: Session, name: str | None, output: str, namespace: str | None) -> None:
    """Show cluster NAME (storage type, status, last backup per repo), or every cluster of the namespace."""
    ns = session.ns(namespace)
    client = session.client()
    if name:
        emit(client.get_cluster(namespace=ns, name=name).body, output, cluster_block)
    else:
        emit(client.list_clusters(namespace=ns).body, output, lambda b: clusters_table(b["items"]))


@click.command("cluster")
@click.argument("name")
@click.option("--keep-data", is_flag=True, help="Keep the PGDATA volumes (the current one and those restores kept).")
@click.option("--keep-backups/--delete-backups", default=True, show_default=True,
              help="Keep the local repository volume (S3 backups are never deleted).")
@click.option("--no-prompt", is_flag=True, help="Do not ask before deleting.")
@click.option("--wait", is_flag=True, help="Follow the task until the cluster is gone.")
@output_option()
@namespace_option
@pass_session
@click.pass_context
def delete_cluster(ctx: click.Context, session: Session, name: str, keep_data: bool, keep_backups: bool,
                   no_prompt: bool, wait: bool, output: str, namespace: str | None) -> None:
    """Delete cluster NAME (PGO v4's `pgo delete cluster`): its schedules, pods, services and volumes.

    The local repository is kept unless --delete-backups; PGDATA is deleted unless --keep-data."""
    ns = session.ns(namespace)
    if not no_prompt:
        question = (f"WARNING: cluster {name} in namespace {ns} will be deleted"
                    f"{'' if keep_data else ', with its data'}{'' if keep_backups else ' and its local backups'}."
                    " Proceed? (yes/no)")
        try:
            answer = click.prompt(question, default="", show_default=False, err=True, prompt_suffix=": ")
        except click.Abort:
            click.echo("", err=True)
            raise click.ClickException("not deleted (no answer; --no-prompt deletes without asking)") from None
        if answer.strip().lower() not in ("yes", "y"):
            raise click.ClickException("not deleted")
    client = session.client()
    body = client.call("DELETE", f"/api/v1/namespaces/{ns}/clusters/{name}",
                       query={"keep_data": str(keep_data).lower(), "keep_backups": str(keep_backups).lower()}).body
    what = f"deleting cluster {name} in namespace {ns}"
    if wait:
        follow_and_exit(ctx, client, body, output, what)
    emit(body, output, lambda b: accepted(b, what))
