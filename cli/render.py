"""Text for people: tables, a task, a cluster, a progress line.  Pure functions of the API's JSON."""
from __future__ import annotations

import json
from typing import Any, Sequence

from .catalogue import moment

LONG_VALUE = 160  # characters of a JSON value shown inline before it is cut ("-o json" has it all)
BAR_WIDTH = 30


def table(headings: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns as wide as their widest cell, headings underlined with dashes, no trailing blanks."""
    cells = [[str(c) for c in headings]] + [["-" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headings))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def value(v: Any) -> str:
    """A scalar as it reads, a list of scalars comma-joined, anything else compact JSON (cut when long)."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (str, int, float)):
        return str(v)
    if isinstance(v, list) and all(isinstance(x, (str, int, float)) for x in v):
        return ", ".join(str(x) for x in v) if v else "-"
    text = json.dumps(v, separators=(",", ":"), sort_keys=True)
    return text if len(text) <= LONG_VALUE else text[:LONG_VALUE] + "… (-o json shows it all)"


def percent(progress: dict | None) -> float | None:
    p = (progress or {}).get("percent")
    return float(p) if isinstance(p, (int, float)) and not isinstance(p, bool) else None


def progress_line(task: dict) -> str:
    """`RUNNING backup to local 42%`: the state, the phase, the percent while it runs, when known."""
    p = percent(task.get("progress")) if task["state"] in ("PENDING", "RUNNING") else None
    return f"{task['state']} {task.get('phase') or ''}".rstrip() + (f" {p:.0f}%" if p is not None else "")


def progress_bar(task: dict, width: int = BAR_WIDTH) -> str:
    """`[#########---------------------]  30% RUNNING backup to local` (no percent yet: an empty bar; done: full)."""
    p = 100.0 if task["state"] == "SUCCESS" else percent(task.get("progress"))
    filled = round(width * min(max(p or 0.0, 0.0), 100.0) / 100)
    shown = f"{p:3.0f}%" if p is not None else "  -%"
    return f"[{'#' * filled}{'-' * (width - filled)}] {shown} {task['state']} {task.get('phase') or ''}".rstrip()


def _error_lines(error: dict) -> list[str]:
    code = error.get("code")
    head = (error.get("name") or "error") + (f" (exit code {code})" if code is not None else "")
    lines = [f"error: {head}: {error.get('message') or ''}".rstrip()]
    names = {"todo": "what to do"}
    for key in sorted(k for k in error if k not in ("code", "name", "message")):
        if key == "reasons" and isinstance(error[key], list) and all(isinstance(r, dict) for r in error[key]):
            lines += ["    reasons:"] + [f"        {_reason(r)}" for r in error[key]]
        elif error[key] not in (None, "", [], {}):
            lines.append(f"    {names.get(key, key)}: {value(error[key])}")
    return lines


def _reason(reason: dict) -> str:
    """A preflight reason (or warning): `target.value: target time … is before the recovery window …`."""
    return f"{reason.get('field') or '-'}: {reason.get('message') or reason.get('code')}"


STEP_TIMES = ("step", "state", "started", "finished")


def _step(step: dict) -> str:
    if "step" in step:  # a restore's step: its name, state and the scalars it recorded (-o json has the rest)
        details = ", ".join(f"{k} {value(v)}" for k, v in step.items()
                            if k not in STEP_TIMES and isinstance(v, (str, int, float, bool)))
        return f"{step['step']}: {step.get('state', '-')}" + (f" ({details})" if details else "")
    if "repo" not in step:
        return value(step)
    extra = " ".join(str(step[k]) for k in ("label",) if step.get(k))
    job = f" (job {step['job']})" if step.get("job") else ""
    return f"{step['repo']}: {step.get('state', '-')}{' ' + extra if extra else ''}{job}"


def _result_lines(task: dict) -> list[str]:
    result = task.get("result")
    if not result:
        return []
    lines = ["result:"]
    for key, v in result.items():
        if key == "repos" and task.get("kind") == "backup" and isinstance(v, dict):
            for repo, sub in v.items():
                sub = sub or {}
                label = f" {sub['label']}" if sub.get("label") else ""
                code = f" (exit code {sub['exit_code']})" if sub.get("exit_code") not in (None, 0) else ""
                lines.append(f"    {repo}: {sub.get('state', '-')}{label}{code}")
        else:
            lines.append(f"    {key}: {value(v)}")
    return lines


def task_block(task: dict) -> str:
    """A task as `brq show task` prints it: one `key: value` a line, params/result/steps indented."""
    lines = [f"task: {task['id']}", f"kind: {task['kind']}", f"namespace: {task['namespace']}",
             f"cluster: {value(task.get('cluster'))}", f"state: {task['state']}", f"phase: {task.get('phase') or '-'}"]
    p = percent(task.get("progress"))
    if p is not None:
        lines.append(f"progress: {p:.0f}%")
    lines += [f"{key}: {value(task.get(key))}" for key in ("created", "started", "finished")]
    if task.get("origin") not in (None, "api"):
        lines.append(f"origin: {task['origin']}")
    if task.get("cancel_requested"):
        lines.append("cancel requested: yes")
    if task.get("params"):
        lines += ["params:"] + [f"    {k}: {value(v)}" for k, v in task["params"].items()]
    if task.get("jobs"):
        lines.append(f"jobs: {value(task['jobs'])}")
    if task.get("steps"):
        lines += ["steps:"] + [f"    {_step(s)}" for s in task["steps"]]
    lines += _result_lines(task)
    if task.get("error"):
        lines += _error_lines(task["error"])
    return "\n".join(lines)


def tasks_table(items: list[dict]) -> str:
    if not items:
        return "no tasks"
    rows = [(t["id"], t["kind"], t.get("cluster"), t["state"], t.get("phase"),
             f"{percent(t.get('progress')):.0f}%" if percent(t.get("progress")) is not None else None, t["created"])
            for t in items]
    return table(("TASK", "KIND", "CLUSTER", "STATE", "PHASE", "PROGRESS", "CREATED"), rows)


def _last_backup(cluster: dict) -> str:
    last = cluster.get("last_backup") or {}
    parts = [f"{repo}: {info.get('label') or '?'} ({info.get('type') or '?'})" for repo, info in sorted(last.items())]
    return "; ".join(parts) or "-"


def clusters_table(items: list[dict]) -> str:
    if not items:
        return "no clusters"
    rows = [(c["name"], c["storage_type"], c["status"], _last_backup(c), c.get("created")) for c in items]
    return table(("CLUSTER", "STORAGE TYPE", "STATUS", "LAST BACKUP", "CREATED"), rows)


def cluster_block(cluster: dict) -> str:
    """One cluster: storage type, status (and why), its creating task, the last backup per repo."""
    lines = [f"cluster: {cluster['name']}", f"namespace: {cluster['namespace']}",
             f"storage type: {cluster['storage_type']}", f"status: {cluster['status']}"]
    if cluster.get("message"):
        lines.append(f"message: {cluster['message']}")
    lines += [f"created: {value(cluster.get('created'))}", f"task: {value(cluster.get('task_id'))}"]
    last = cluster.get("last_backup") or {}
    for repo in cluster["storage_type"].split(","):
        info = last.get(repo)
        lines.append(f"last backup ({repo}): " + (
            f"{info.get('label')} ({info.get('type')}), finished {value(info.get('finished'))}, task {info.get('task')}"
            if info else "none"))
    return "\n".join(lines)


# -- restores ---------------------------------------------------------------------------------------------------------

def target_text(target: dict | None, action: str | None = None) -> str:
    """`time 2026-11-26 10:00:00.000000+00, then pause`; `latest (the end of the archived WAL)`."""
    if not target:
        return "-"
    kind = target.get("type") or "latest"
    if kind == "latest":
        return "latest (the end of the archived WAL)"
    text = "immediate (the end of the backup set)" if kind == "immediate" else f"{kind} {target.get('value')}"
    return f"{text}, then {action or 'promote'}"


def window_text(window: dict | None) -> str:
    """A repo's recovery window: from after the end of its oldest usable backup to its newest archived WAL."""
    if not window or not window.get("earliest"):
        return "none (no usable backup)"
    start = f"after {moment(window['earliest'])} (end of the oldest backup)"
    if window.get("latest"):
        end = f"{moment(window['latest'])} (newest WAL {window.get('wal_max') or '?'} archived)"
    elif window.get("wal_max"):
        end = f"WAL {window['wal_max']} (archived at a time not known)"
    else:
        end = f"{moment(window.get('latest_backup'))} (end of the newest backup)"
    return f"{start} to {end}"


def preview_text(body: dict, request: dict | None = None) -> str:
    """The restore preview (`GET …/restores/preview`): what a restore would use, and why it could not run.

    `request`: the restore the CLI would send, for what the preview does not echo (the target action) or
    does not check (options, node label: the API checks those when the restore is sent).
    """
    request = request or {}
    backup = body.get("backup") or {}
    used = body.get("backup_set") or "none"
    if body.get("backup_set") and backup:
        used += f" ({backup.get('type') or '?'}, ended {moment(backup.get('stop'))})"
    repo = f" (repo{body['repo']})" if body.get("repo") else ""
    lines = [f"cluster: {body.get('cluster', '-')}", f"namespace: {body.get('namespace', '-')}",
             f"storage type: {body.get('storage_type') or '-'}{repo}",
             f"target: {target_text(body.get('target') or request.get('target'), request.get('target_action'))}",
             f"backup set: {used}", f"recovery window: {window_text(body.get('window'))}"]
    unchecked = [f"options {' '.join(request['options'])}"] if request.get("options") else []
    unchecked += [f"node label {request['node_label']}"] if request.get("node_label") else []
    if unchecked:
        lines.append(f"checked when the restore is sent: {'; '.join(unchecked)}")
    lines.append(f"restorable: {'yes' if body.get('ok') else 'no'}")
    if body.get("reasons"):
        lines += ["reasons:"] + [f"    {_reason(r)}" for r in body["reasons"]]
    if body.get("warnings"):
        lines += ["warnings:"] + [f"    {_reason(w)}" for w in body["warnings"]]
    return "\n".join(lines)


def restore_text(task: dict) -> str:
    """A finished restore: on SUCCESS what it did (volumes, set, WAL replay, the backup after); else the task."""
    if task.get("state") != "SUCCESS" or task.get("kind") != "restore":
        return task_block(task)
    result = task.get("result") or {}
    name, ns = task.get("cluster"), task.get("namespace")
    if result.get("paused"):
        replay = (f"paused at the target: check the data, then resume it with: "
                  f"brq resume {name} {task['id']} -n {ns}")
    else:
        replay = "finished, the primary promoted"
    follower = result.get("backup_task")
    after = (f"task {follower} (follow it with: brq show task {follower} --wait)" if follower else
             f"none (pgBackRest advises one: brq backup {name} -n {ns} --backup-opts=--type=full)")
    return "\n".join([
        f"restore of cluster {name} in namespace {ns}: {task['state']}", f"task: {task['id']}",
        f"storage type: {value(result.get('storage_type'))}", f"backup set: {value(result.get('backup_set'))}",
        f"target: {target_text(result.get('target'), result.get('target_action'))}",
        f"new PVC: {value(result.get('new_pvc'))}",
        f"old PVC: {value(result.get('old_pvc'))} (kept: delete it once it is no longer needed)",
        f"WAL replay: {replay}", f"backup after: {after}"])
