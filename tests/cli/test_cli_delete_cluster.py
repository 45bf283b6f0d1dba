"""`brq delete cluster NAME` against the real API: it asks first, sends PGO v4's keep flags, and says what started."""
from __future__ import annotations


def test_it_asks_and_does_nothing_without_a_yes(brq, clusters, rt):
    result = brq("delete", "cluster", "c1", token="admin", input="no\n")
    assert result.exit_code == 1 and "not deleted" in result.stderr
    assert "will be deleted, with its data. Proceed? (yes/no)" in result.stderr
    assert rt.clusters.get("demo", "c1").status == "ready" and rt.tasks.lock_holder("demo", "c1") is None


def test_yes_or_no_prompt_starts_the_task_with_the_keep_flags(brq, clusters, rt):
    result = brq("delete", "cluster", "c1", "--keep-data", "--delete-backups", token="admin", input="yes\n")
    assert result.exit_code == 0, result.stderr
    assert "deleting cluster c1 in namespace demo" in result.stdout
    task = rt.tasks.get(rt.tasks.lock_holder("demo", "c1"))
    assert (task.kind, task.params) == ("delete-cluster", {"keep_data": True, "keep_backups": False})
    other = brq("delete", "cluster", "both", "--no-prompt", token="admin")
    assert other.exit_code == 0 and rt.clusters.get("demo", "both").status == "deleting"


def test_a_token_without_the_role_is_refused(brq, clusters, rt):
    result = brq("delete", "cluster", "c1", "--no-prompt")  # the operator token has no DeleteCluster
    assert result.exit_code != 0 and "lacks the DeleteCluster role" in result.stderr
    assert rt.clusters.get("demo", "c1").status == "ready"
