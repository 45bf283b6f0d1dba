"""What every verb shares: the global options (`Session`), the per-verb `-n` and `-o`, and printing.

PGO v4 took `-n NAMESPACE` after the verb (`pgo backup mycluster -n pgouser1`); `brq` takes it there
and before the verb, the verb's winning.  The client is built on first use, so `--help` needs no token.
"""
from __future__ import annotations

import json
import os
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable

import click
import yaml

from .client import Client
from .errors import NotConfigured

OUTPUTS = ("text", "json", "yaml")


@dataclass
class Session:
    """The global options, as given by flags or `BRQ_*` environment variables."""

    url: str | None
    token: str | None
    namespace: str
    ca_file: str | None
    timeout: float
    _client: Client | None = field(default=None, repr=False)

    def client(self) -> Client:
        """The API client, once the URL and token are known good (NotConfigured otherwise)."""
        if self._client is None:
            if not self.url:
                raise NotConfigured("no API URL: pass --url or set BRQ_URL (`make up` writes it to .local/env)")
            parts = urllib.parse.urlsplit(self.url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise NotConfigured(f"--url must be an http:// or https:// URL, not {self.url!r}")
            if not self.token:
                raise NotConfigured("no API token: pass --token or set BRQ_TOKEN (`make up` writes it to .local/env)")
            if self.ca_file and not os.path.isfile(self.ca_file):
                raise NotConfigured(f"--ca-file {self.ca_file}: no such file")
            self._client = Client(url=self.url, token=self.token, ca_file=self.ca_file, timeout=self.timeout)
        return self._client

    def ns(self, given: str | None) -> str:
        """The verb's `-n` if given, else the global one."""
        return given or self.namespace


pass_session = click.make_pass_decorator(Session)


def namespace_option(fn: Callable) -> Callable:
    return click.option("-n", "--namespace", "namespace", default=None, metavar="NS",
                        help="Namespace (default: the global -n, BRQ_NAMESPACE, or demo).")(fn)


def output_option(*extra: str, default: str = "text") -> Callable[[Callable], Callable]:
    return click.option("-o", "--output", type=click.Choice([*OUTPUTS, *extra]), default=default, show_default=True,
                        help="text for people; json or yaml: the API's answer as it came.")


def emit(data: Any, output: str, text: Callable[[Any], str]) -> None:
    """Print `data` as `output`: json and yaml as the API answered, text through `text`."""
    if output == "json":
        click.echo(json.dumps(data, indent=2))
    elif output == "yaml":
        click.echo(yaml.safe_dump(data, sort_keys=False, default_flow_style=False).rstrip("\n"))
    else:
        click.echo(text(data))


def accepted(answer_body: dict, what: str) -> str:
    """The lines that acknowledge a 202: what was started, the task, how to follow it."""
    task_id = answer_body["task_id"]
    return f"{what}\ntask: {task_id}\nfollow it with: brq show task {task_id} --wait"
