"""Records as the API shows them: times in ISO 8601 UTC, nothing secret, JSON-safe."""
from __future__ import annotations

from datetime import datetime, timezone

from tasks.state.clusters import ClusterRecord
from tasks.state.records import TaskRecord


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def task(rec: TaskRecord) -> dict:
    out = rec.as_dict()
    for key in ("created", "started", "finished", "updated"):
        out[key] = iso(out[key])
    out["steps"] = [dict(step) for step in rec.steps]  # copies: the times below are rewritten
    for step in out["steps"]:
        for key in ("started", "finished"):
            if key in step:
                step[key] = iso(step[key])
    return out


def cluster(rec: ClusterRecord) -> dict:
    last = {repo: {**info, "finished": iso(info.get("finished"))} for repo, info in rec.last_backup.items()}
    return {"name": rec.name, "namespace": rec.namespace, "storage_type": rec.storage_type, "status": rec.status,
            "message": rec.message, "created": iso(rec.created), "task_id": rec.task_id, "last_backup": last,
            "retention": {repo: rec.retention.get(repo, {}) for repo in rec.storage_types},
            "retention_task": rec.retention_task}


def location(task_id: str) -> str:
    return f"/api/v1/tasks/{task_id}"
