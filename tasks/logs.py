"""Logging for every process kind: one line per record, text for people or JSON for collectors, and the task id,
cluster and namespace of the work in hand on every line.

    BRQ_LOG_FORMAT=json|text   (default text; k8s/ and docker-compose.yml set json)
    BRQ_LOG_LEVEL=INFO

`bound(task_id=…, cluster=…, namespace=…)` puts those fields in a context variable for the code inside it
(asyncio tasks started inside inherit it); a filter on the handler copies them onto every record, so a line
logged deep in the Kubernetes adapter still names its task.  A JSON line:

    {"time": "2026-11-26T10:00:00.123Z", "level": "INFO", "logger": "brq.watcher", "process": "watcher",
     "message": "…", "task_id": "…", "cluster": "c1", "namespace": "demo"}

Records logged with `extra={"fields": {...}}` (the API's audit lines) have those fields merged in as well.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from contextvars import ContextVar
from typing import Iterator

CONTEXT_FIELDS = ("task_id", "cluster", "namespace", "kind", "schedule")
_context: ContextVar[dict] = ContextVar("brq_log_context", default={})
_process = "brq"


@contextlib.contextmanager
def bound(**fields) -> Iterator[None]:
    """Log lines inside name these fields (None values are left out)."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def current() -> dict:
    return dict(_context.get())


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
               "level": record.levelname, "logger": record.name, "process": _process, "message": record.getMessage()}
        for key in CONTEXT_FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                out[key] = value
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            out.update({k: v for k, v in extra.items() if k not in out})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        tags = [f"{k}={getattr(record, k)}" for k in ("task_id", "cluster") if getattr(record, k, None) is not None]
        return f"{line} [{' '.join(tags)}]" if tags else line


def configure(process: str, *, level: str | int | None = None, stream=None) -> None:
    """Replace the root logger's handlers with ours (call once, at process start)."""
    global _process
    _process = process
    fmt = os.environ.get("BRQ_LOG_FORMAT", "text").lower()
    if fmt not in ("text", "json"):
        raise ValueError(f"BRQ_LOG_FORMAT: {fmt!r} is not text or json")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level or os.environ.get("BRQ_LOG_LEVEL", "INFO"))


def configured() -> bool:
    return any(any(isinstance(f, ContextFilter) for f in h.filters) for h in logging.getLogger().handlers)
