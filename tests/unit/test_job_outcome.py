"""The job-runner's `brq.io/outcome` annotation: the label read from a stream of output chunks, and the watcher's
reading of the annotation (anything it cannot trust sends it to the pod's log instead)."""
from __future__ import annotations

import json

import pytest

from tasks.jobrunner import LabelScanner
from tasks.runtime import Runtime
from tasks.watcher import annotated_outcome

LINE = b"2026-11-27 01:02:03.456 P00   INFO: new backup label = 20261127-010203F_20261127-020304I\n"


@pytest.mark.parametrize("cut", [0, 10, 40, 60, len(LINE) - 2, len(LINE)])
def test_the_label_is_found_wherever_the_stream_splits_its_line(cut):
    scanner = LabelScanner()
    for chunk in (b"P00 INFO: backup command begin\n", LINE[:cut], LINE[cut:], b"P00 INFO: expire command end\n"):
        scanner.feed(chunk)
    assert scanner.label == "20261127-010203F_20261127-020304I"


def test_the_last_label_wins_and_none_without_one():
    scanner = LabelScanner()
    scanner.feed(b"nothing here\n")
    assert scanner.label is None
    scanner.feed(LINE.replace(b"020304I", b"000000I") + b"x" * 5000 + LINE)
    assert scanner.label == "20261127-010203F_20261127-020304I"


def test_the_scanner_and_the_log_reader_agree_on_the_label():
    text = (b"P00 INFO: start\n" + LINE).decode()
    scanner = LabelScanner()
    scanner.feed(text.encode())
    assert Runtime.step_details(text) == {"label": scanner.label}


def job(annotation: str | None) -> dict:
    return {"metadata": {"name": "backup-x-local", "annotations": {"brq.io/outcome": annotation} if annotation else {}}}


def test_the_watcher_takes_the_label_and_retries_from_the_annotation():
    noted = annotated_outcome(job(json.dumps({"exit_code": 0, "label": "L1", "retries": {"kubernetes exec": 2}})))
    assert noted == {"details": {"label": "L1"}, "retries": {"kubernetes exec": 2}}
    assert annotated_outcome(job(json.dumps({"exit_code": 0, "label": None, "retries": {}}))) == {
        "details": {}, "retries": {}}


@pytest.mark.parametrize("annotation", [None, "", "{not json", "[]", json.dumps({"exit_code": 3, "label": "L"}),
                                        json.dumps({"label": "L"})])
def test_a_missing_failed_or_garbled_outcome_sends_the_watcher_to_the_log(annotation):
    assert annotated_outcome(job(annotation)) is None

