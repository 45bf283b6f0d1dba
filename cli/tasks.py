"""`brq show task`, `brq show tasks` and `brq cancel`: `/api/v1/tasks/{id}` and `/api/v1/namespaces/{ns}/tasks`."""
from __future__ import annotations

import click

from .follow import exit_for, stderr_display, wait_task
from .render import task_block, tasks_table
from .session import Session, accepted, emit, namespace_option, output_option, pass_session

STATES = ("PENDING", "RUNNING", "SUCCESS", "FAILURE", "REVOKED")
KINDS = ("create-cluster", "backup", "info", "restore", "restore-preview", "resume")


@click.command("task")
@click.argument("task_id", metavar="ID")
@click.option("--wait", is_flag=True,
              help="Show its progress on stderr until it ends; exit 0 on SUCCESS, 1 on FAILURE or REVOKED.")
@click.option("--max-wait", type=click.FloatRange(min=0), default=None, help="Give up waiting after SECONDS.")
@output_option()
@pass_session
@click.pass_context
def show_task(ctx: click.Context, session: Session, task_id: str, wait: bool, max_wait: float | None,
              output: str) -> None:
    """Show task ID: state, phase, progress, times, params, result or error, its Jobs."""
    client = session.client()
    if wait:
        task = wait_task(client, task_id, display=stderr_display(quiet=output != "text"), max_wait=max_wait)
    else:
        task = client.get_task(task_id=task_id).body
    emit(task, output, task_block)
    if wait:
        ctx.exit(exit_for(task))


@click.command("tasks")
@click.option("--cluster", default=None, help="Only this cluster's tasks.")
@click.option("--state", type=click.Choice(STATES, case_sensitive=False), default=None, help="Only tasks in STATE.")
@click.option("--kind", type=click.Choice(KINDS), default=None, help="Only tasks of KIND.")
@output_option()
@namespace_option
@pass_session
def show_tasks(session: Session, cluster: str | None, state: str | None, kind: str | None, output: str,
               namespace: str | None) -> None:
    """List the namespace's tasks, newest first."""
    body = session.client().list_tasks(namespace=session.ns(namespace), cluster=cluster,
                                       state=state.upper() if state else None, kind=kind).body
    emit(body, output, lambda b: tasks_table(b["items"]))


@click.command("cancel")
@click.argument("task_id", metavar="ID")
@output_option()
@pass_session
def cancel(session: Session, task_id: str, output: str) -> None:
    """Cancel task ID: its Jobs are deleted and it ends REVOKED (a finished task cannot be cancelled)."""
    body = session.client().cancel_task(task_id=task_id).body
    task = body.get("task") or {}
    what = f"cancel requested for task {task_id} ({task.get('kind', '?')} of {task.get('namespace', '?')}/" \
           f"{task.get('cluster') or '-'})"
    emit(body, output, lambda b: accepted(b, what))
