"""tasks/logs.py: JSON and text lines, and the bound task id/cluster on every line logged inside `bound`."""
from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

from tasks import logs


@pytest.fixture
def capture(monkeypatch):
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)

    def configure(fmt: str) -> io.StringIO:
        monkeypatch.setenv("BRQ_LOG_FORMAT", fmt)
        stream = io.StringIO()
        logs.configure("worker", level="INFO", stream=stream)
        return stream
    yield configure
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in saved[0]:
        root.addHandler(h)
    root.setLevel(saved[1])


def test_json_lines_carry_the_bound_fields_even_from_asyncio_tasks_started_inside(capture):
    stream = capture("json")
    log = logging.getLogger("brq.test")

    async def deep():
        log.info("inside %s", "a task")

    with logs.bound(task_id="t-1", cluster="c1", namespace="demo", unused=None):
        asyncio.run(deep())
        with logs.bound(cluster="c2"):
            log.warning("nested")
    log.info("outside")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["message"] == "inside a task" and (lines[0]["task_id"], lines[0]["cluster"]) == ("t-1", "c1")
    assert lines[0]["process"] == "worker" and lines[0]["level"] == "INFO" and lines[0]["time"].endswith("Z")
    assert (lines[1]["task_id"], lines[1]["cluster"], lines[1]["level"]) == ("t-1", "c2", "WARNING")
    assert "task_id" not in lines[2] and "unused" not in lines[0]


def test_extra_fields_and_exceptions_become_keys(capture):
    stream = capture("json")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("brq.audit").exception("audit", extra={"fields": {"who": "admin", "message": "not mine"}})
    line = json.loads(stream.getvalue())
    assert line["who"] == "admin" and line["message"] == "audit" and "ValueError: boom" in line["exception"]


def test_text_lines_end_with_the_task_and_cluster(capture):
    stream = capture("text")
    with logs.bound(task_id="t-2", cluster="c9"):
        logging.getLogger("brq.test").info("hello")
    assert stream.getvalue().rstrip().endswith("brq.test: hello [task_id=t-2 cluster=c9]")


def test_an_unknown_format_is_refused(monkeypatch):
    monkeypatch.setenv("BRQ_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="BRQ_LOG_FORMAT: 'xml' is not text or json"):
        logs.configure("api")
