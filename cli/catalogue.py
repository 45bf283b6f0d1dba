"""`brq show backup` as text: PGO v4's `pgo show backup` layout, rendered from the API's JSON catalogue.

PGO v4 printed, per storage type, `cluster:` and `storage type:` then pgBackRest's info layout built
from `info --output=json` (sizes in KiB/MiB, `backup reference list`).  We keep that, per repo the
API answers, and add what the API knows beyond it: the WAL range of each database id (PGO printed the
id only), the recovery window (from the end of the oldest backup to the newest archived WAL),
annotations, a running backup (pgBackRest's own words), and a repo's error with what to do.
`-o pgbackrest` prints pgBackRest's own text instead (the API's `format=text`).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def size(n: int | None) -> str:
    """Bytes as PGO v4 wrote them: divided by 1024 while above 1000, one decimal (`22.1MiB`)."""
    if n is None:
        return "-"
    value, unit = float(n), 0
    while value > 1000 and unit < len(UNITS) - 1:
        value /= 1024
        unit += 1
    return f"{value:.1f}{UNITS[unit]}"


def moment(iso: str | None) -> str:
    """`2026-11-26T16:32:12+00:00` → `2026-11-26 16:32:12+00:00`."""
    if not iso:
        return "-"
    try:
        return datetime.fromisoformat(iso).isoformat(sep=" ")
    except ValueError:
        return iso


def _backup_lines(b: dict[str, Any]) -> list[str]:
    lines = [f"        {b['type']} backup: {b['label']}",
             f"            timestamp start/stop: {moment(b.get('start'))} / {moment(b.get('stop'))}",
             f"            wal start/stop: {b.get('wal_start') or '-'} / {b.get('wal_stop') or '-'}",
             f"            database size: {size(b.get('database_size'))}, backup size: {size(b.get('database_delta'))}",
             f"            repository size: {size(b.get('repo_size'))}, "
             f"repository backup size: {size(b.get('repo_delta'))}",
             f"            backup reference list: {', '.join(b.get('reference') or [])}".rstrip()]
    if b.get("annotations"):
        lines.append("            annotations: " + ", ".join(f"{k}={v}" for k, v in b["annotations"].items()))
    if b.get("error"):
        lines.append("            error: page checksum errors were found while copying")
    return lines


def _window(w: dict[str, Any] | None) -> str | None:
    if not w or not w.get("earliest"):
        return None
    end = f"WAL {w['wal_max']}" if w.get("wal_max") else f"{moment(w.get('latest_backup'))} (end of the newest backup)"
    return f"    recovery window: {moment(w['earliest'])} (end of the oldest backup) to {end}"


def repo_text(cluster: str, storage_type: str, stanza: str, repo: dict[str, Any] | None,
              lock: dict[str, Any] | None = None) -> str:
    """One repo's block, from `cluster:` to its last backup."""
    lines = ["", f"cluster: {cluster}", f"storage type: {storage_type}", "", f"stanza: {stanza}"]
    if repo is None:
        lines.append("    status: no information (pgBackRest said nothing about this repository)")
        return "\n".join(lines)
    status = repo.get("status") or {}
    error = status.get("error")
    running = ""
    if lock and lock.get("held"):
        pct = lock.get("percent")
        running = " (backup/expire running" + (f" - {pct:.2f}% complete)" if isinstance(pct, (int, float)) else ")")
    lines.append(f"    status: {'error' if error else status.get('message') or 'ok'}{running}")
    if error:
        lines.append(f"    error: {error.get('name')}: {error.get('message')}")
        if error.get("todo"):
            lines.append(f"    what to do: {error['todo']}")
    window = _window(repo.get("recovery_window"))
    if window:
        lines.append(window)
    archives = {a["db_id"]: a for a in repo.get("archives") or []}
    backups = repo.get("backups") or []
    db_ids = sorted(set(archives) | {b.get("db_id") for b in backups if b.get("db_id") is not None})
    for db_id in db_ids:
        lines += ["", f"    db ({'current' if db_id == db_ids[-1] else 'prior'})"]
        archive = archives.get(db_id)
        if archive:
            span = f"{archive.get('min')}/{archive.get('max')}" if archive.get("min") else "none yet"
            lines.append(f"        wal archive min/max ({archive['archive_id']}): {span}")
        for b in (b for b in backups if b.get("db_id") == db_id):
            lines += [""] + _backup_lines(b)
    return "\n".join(lines)


def catalogue_text(body: dict[str, Any]) -> str:
    """Every repo of a catalogue answer (`GET …/backups`, format json), in the API's order."""
    repos = body.get("repos") or {}
    if not repos:
        return f"cluster {body.get('cluster')}: no repositories in the answer"
    stanza = body.get("stanza") or "db"
    blocks = [repo_text(body.get("cluster", "?"), storage_type, stanza, repo, body.get("backup_lock"))
              for storage_type, repo in repos.items()]
    return "\n".join(blocks).lstrip("\n")
