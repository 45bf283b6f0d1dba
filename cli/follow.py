"""Following a task until it ends: polling `GET /api/v1/tasks/{id}` and showing its progress on stderr.

On a terminal, one line redrawn in place (a bar from `progress.percent`, the state and phase); otherwise a
plain line each time the state, phase or whole percent changes, so logs and pipes read well.  stdout
is left for the task itself, which the verbs print once it ended.
"""
from __future__ import annotations

import sys
import time
from typing import Callable

import click

from .client import Client
from .errors import BrqError
from .render import progress_bar, progress_line, task_block
from .session import emit

POLL_SECONDS = 0.5
TERMINAL = ("SUCCESS", "FAILURE", "REVOKED")


def is_terminal(task: dict) -> bool:
    return task.get("state") in TERMINAL


class ProgressDisplay:
    """Shows each polled task on stderr: a redrawn bar when `tty`, else a line per change."""

    def __init__(self, *, tty: bool):
        self.tty = tty
        self._last: str | None = None
        self._width = 0

    def show(self, task: dict) -> None:
        if self.tty:
            bar = progress_bar(task)
            click.echo("\r" + bar.ljust(self._width), err=True, nl=False)  # blanks wipe a longer line
            self._width = max(self._width, len(bar))
            return
        line = progress_line(task)
        if line != self._last:
            click.echo(line, err=True)
            self._last = line

    def close(self) -> None:
        if self.tty:
            click.echo("", err=True)


def stderr_display(quiet: bool = False) -> ProgressDisplay | None:
    if quiet:
        return None
    return ProgressDisplay(tty=sys.stderr.isatty())


def wait_task(client: Client, task_id: str, *, display: ProgressDisplay | None, max_wait: float | None = None,
              poll: float = POLL_SECONDS, sleep: Callable[[float], None] = time.sleep) -> dict:
    """Poll until the task ends (BrqError after `max_wait` seconds, if given); return its last state."""
    deadline = None if max_wait is None else time.monotonic() + max_wait
    try:
        while True:
            task = client.get_task(task_id=task_id).body
            if display:
                display.show(task)
            if is_terminal(task):
                return task
            if deadline is not None and time.monotonic() >= deadline:
                raise BrqError(f"task {task_id} is still {task['state']} ({task.get('phase')}) after "
                               f"{max_wait:g} s\nfollow it with: brq show task {task_id} --wait")
            sleep(poll)
    finally:
        if display:
            display.close()


def exit_for(task: dict) -> int:
    """0 for SUCCESS, 1 for FAILURE or REVOKED."""
    return 0 if task["state"] == "SUCCESS" else 1


def follow_and_exit(ctx: click.Context, client: Client, accepted_body: dict, output: str, what: str,
                    text: Callable[[dict], str] = task_block) -> None:
    """For a verb's `--wait`: say what started (stderr), follow its task, print it (`text`), exit by its state."""
    task_id = accepted_body["task_id"]
    if output == "text":
        click.echo(f"{what}\ntask: {task_id}", err=True)
    task = wait_task(client, task_id, display=stderr_display(quiet=output != "text"))
    emit(task, output, text)
    ctx.exit(exit_for(task))
