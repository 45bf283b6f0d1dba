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
