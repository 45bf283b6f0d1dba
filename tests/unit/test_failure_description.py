"""The error a failed Job's task gets (tasks/runtime.py `describe_failure`)."""
from __future__ import annotations

from tasks.runtime import Runtime

POD = "pod restore-x-abcde Failed: container restore terminated (Error, exit code 1)"


def test_a_pod_that_failed_without_output_is_named_not_taken_for_a_pgbackrest_error():
    err = Runtime.describe_failure(1, "", reason="BackoffLimitExceeded",
                                   message="Job has reached the specified backoff limit", pod=POD)
    assert (err["name"], err["code"]) == ("PodFailed", 1)
    assert err["message"] == f"{POD} without any output; the Job: BackoffLimitExceeded: Job has reached the " \
                             "specified backoff limit"
    assert "events" in err["action"]


def test_pgbackrests_own_error_and_the_deadline_keep_their_descriptions():
    err = Runtime.describe_failure(80, "ERROR: [080]: database to include 'nosuchdb' does not exist", pod=POD)
    assert err["code"] == 80 and "nosuchdb" in err["message"]
    late = Runtime.describe_failure(None, "", reason="DeadlineExceeded",
                                    message="Job was active longer than specified deadline", pod=POD)
    assert late["name"] == "DeadlineExceeded" and late["message"] == "Job was active longer than specified deadline"
