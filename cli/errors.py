"""The CLI's error tree: every failure the user must read, printed as `brq: …` lines on stderr.

Exit codes: 1 when the API refused the request or a task failed, 2 when the CLI could not ask
(no URL or token, the API unreachable; click's usage errors, such as `--backup-type=pgdump`, are 2 too).
Messages never carry the token or request headers.
"""
from __future__ import annotations

from typing import Any

import click


class BrqError(click.ClickException):
    """Base of the CLI's errors: `message` (may span lines) and `exit_code`."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        for line in self.format_message().splitlines() or [""]:
            click.echo(f"brq: {line}", err=True)


class NotConfigured(BrqError):
    """The CLI lacks what it needs to ask (URL, token, a CA file that exists)."""

    exit_code = 2


class Unreachable(BrqError):
    """No HTTP answer: connection refused, DNS, TLS, or no answer within the timeout."""

    exit_code = 2

    def __init__(self, url: str, reason: str):
        super().__init__(f"cannot reach the API at {url}: {reason}")
        self.url = url
        self.reason = reason


class ApiRefused(BrqError):
    """The API answered an error: `status` and its `{"error": {...}}` body (code, reason, message, field…)."""

    exit_code = 1

    def __init__(self, status: int, error: dict[str, Any]):
        self.status = status
        self.error = error
        super().__init__(describe(status, error))

    @property
    def task_id(self) -> str | None:
        return (self.error.get("details") or {}).get("task_id")


def describe(status: int, error: dict[str, Any]) -> str:
    """`error 422 (options[0]): --repo1-path: owned by the service`, other invalid fields (or a refused restore's
    other reasons) and a hint after it: the task to follow (409 busy) or to see (the task that refused)."""
    field = error.get("field")
    message = str(error.get("message") or error.get("reason") or "")
    if field and message.startswith(f"{field}: "):
        message = message[len(field) + 2:]  # schema errors name their field in the message too
    lines = [f"error {status}{f' ({field})' if field else ''}: {message}"]
    for name, messages in sorted((error.get("fields") or {}).items()):
        if name != field:
            lines.append(f"  {name}: {'; '.join(str(m) for m in messages)}")
    details = error.get("details") or {}
    reasons = [r for r in details.get("reasons") or [] if isinstance(r, dict)]
    for reason in reasons:  # a refused restore's preflight: every reason, the first one being the message
        if (reason.get("field"), reason.get("message")) != (error.get("field"), error.get("message")):
            lines.append(f"  {reason.get('field') or '-'}: {reason.get('message') or reason.get('code')}")
    task_id = details.get("task_id")
    if task_id and status == 409 and not reasons:
        lines.append(f"follow it with: brq show task {task_id} --wait")
    elif task_id:
        lines.append(f"see the task with: brq show task {task_id}")
    return "\n".join(lines)
