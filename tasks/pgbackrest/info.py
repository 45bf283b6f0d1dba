"""`pgbackrest info --output=json`, parsed into a typed catalogue per repo.

pgBackRest 2.45's JSON (FACTS.md, and the fixtures beside the tests): a list of stanzas; each
has `backup[]` for all repos in one list, told apart by `database.repo-key`; `archive[]` (WAL
min/max) and `db[]` per repo and database id; `repo[]` with each repo's status; `status.lock.backup.held`.
Times are epoch seconds (here: aware UTC datetimes).  `db[].system-id` exceeds 2^53: the stdlib
JSON parser keeps it an exact int, nothing here goes through float, and `to_json()` writes it as a
string so JavaScript clients cannot round it.

Backup progress: 2.45's JSON says only whether the backup lock is `held`; its text output says
`(backup/expire running - 81.58% complete)` (`parse_text_progress`) and the lock file holds
`pctCplt` in hundredths of a percent (`parse_lock_file`).  Newer pgBackRest adds `size` and
`size-cplt` to the JSON; they are read when present.

Recovery window, as far as info alone can tell (`RecoveryWindow`): the earliest restorable time
is the oldest backup's stop time (a backup is consistent only from its end); the newest backup's
stop time is the latest time info *proves* restorable.  WAL is archived beyond it up to `wal_max`,
but info gives no time for that segment, so a later target needs another source for the upper
bound (the caller's clock while archiving is healthy, or the segment's time in the repository).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .commands import STANZA, STORAGE_REPOS
from .errors import PgBackRestError, error_named


def _time(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(int(seconds), timezone.utc)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@dataclass(frozen=True)
class Backup:
    """One backup set in one repo."""

    label: str
    type: str
    repo: int
    prior: str | None
    reference: tuple[str, ...]
    start: datetime
    stop: datetime
    database_size: int
    """Size of the database when backed up."""
    database_delta: int
    """Of which this backup copied (all for a full)."""
    repo_size: int
    """Size of the backup set in the repo, compressed, with what it references."""
    repo_delta: int
    """What this backup added to the repo."""
    wal_start: str | None
    wal_stop: str | None
    lsn_start: str | None
    lsn_stop: str | None
    db_id: int
    annotations: dict[str, str] = field(default_factory=dict, hash=False)
    error: bool = False
    """True when pgBackRest found page checksum errors while copying."""

    def to_json(self) -> dict:
        return {"label": self.label, "type": self.type, "repo": self.repo, "prior": self.prior,
                "reference": list(self.reference), "start": _iso(self.start), "stop": _iso(self.stop),
                "database_size": self.database_size, "database_delta": self.database_delta,
                "repo_size": self.repo_size, "repo_delta": self.repo_delta,
                "wal_start": self.wal_start, "wal_stop": self.wal_stop,
                "lsn_start": self.lsn_start, "lsn_stop": self.lsn_stop, "db_id": self.db_id,
                "annotations": dict(sorted(self.annotations.items())), "error": self.error}


@dataclass(frozen=True)
class WalArchive:
    """The archived WAL of one database id in one repo (`min`/`max` are None while there is none)."""

    archive_id: str
    db_id: int
    min: str | None
    max: str | None

    def to_json(self) -> dict:
        return {"archive_id": self.archive_id, "db_id": self.db_id, "min": self.min, "max": self.max}


@dataclass(frozen=True)
class Database:
    """A database system a repo has held (a new id after `stanza-upgrade`)."""

    db_id: int
    system_id: int
    version: str

    def to_json(self) -> dict:
        return {"db_id": self.db_id, "system_id": str(self.system_id), "version": self.version}


@dataclass(frozen=True)
class RecoveryWindow:
    """Times a restore from one repo can reach, as info tells them (see the module docstring)."""

    earliest: datetime | None
    latest_backup: datetime | None
    wal_min: str | None
    wal_max: str | None

    def why_not(self, moment: datetime, *, latest: datetime | None = None) -> str | None:
        """Why a target time is outside the window, or None.  `latest`: an upper bound from elsewhere."""
        if self.earliest is None:
            return "the repository has no backup"
        if moment < self.earliest:
            return f"before the end of the oldest backup ({_iso(self.earliest)})"
        bound = max(latest, self.latest_backup) if latest and self.latest_backup else latest or self.latest_backup
        if bound is not None and moment > bound:
            return f"after the newest restorable time known ({_iso(bound)})"
        return None

    def to_json(self) -> dict:
        return {"earliest": _iso(self.earliest), "latest_backup": _iso(self.latest_backup),
                "wal_min": self.wal_min, "wal_max": self.wal_max}


@dataclass(frozen=True)
class RepoCatalogue:
    """Everything info says about one repo of the stanza."""

    repo: int
    storage_type: str | None
    status_code: int
    status_message: str
    backups: tuple[Backup, ...]
    archives: tuple[WalArchive, ...]
    databases: tuple[Database, ...]

    @property
    def window(self) -> RecoveryWindow:
        current = max((a for a in self.archives), key=lambda a: a.db_id, default=None)
        return RecoveryWindow(earliest=min((b.stop for b in self.backups), default=None),
                              latest_backup=max((b.stop for b in self.backups), default=None),
                              wal_min=current.min if current else None, wal_max=current.max if current else None)

    @property
    def error(self) -> PgBackRestError | None:
        """The repo's failure when info could not read it (status 99, `[CryptoError] unable to verify …`)."""
        match = re.fullmatch(r"\[(\w+)\] (.*)", self.status_message, re.S) if self.status_code == 99 else None
        return error_named(match.group(1), match.group(2)) if match else None

    def backup(self, label: str) -> Backup | None:
        return next((b for b in self.backups if b.label == label), None)

    def to_json(self) -> dict:
        error = self.error
        return {"repo": self.repo, "storage_type": self.storage_type,
                "status": {"code": self.status_code, "message": self.status_message,
                           "error": error.to_json() if error else None},
                "backups": [b.to_json() for b in self.backups], "archives": [a.to_json() for a in self.archives],
                "databases": [d.to_json() for d in self.databases], "recovery_window": self.window.to_json()}


@dataclass(frozen=True)
class Progress:
    """The stanza's backup lock: held while a backup (or expire) runs; sizes when pgBackRest gives them."""

    held: bool
    size: int | None = None
    size_complete: int | None = None

    @property
    def percent(self) -> float | None:
        if not self.held or not self.size or self.size_complete is None:
            return None
        return round(100 * self.size_complete / self.size, 2)

    def to_json(self) -> dict:
        return {"held": self.held, "size": self.size, "size_complete": self.size_complete, "percent": self.percent}


@dataclass(frozen=True)
class Catalogue:
    """One stanza's info: overall status, the backup lock, and a `RepoCatalogue` per repo."""

    stanza: str
    status_code: int
    status_message: str
    lock: Progress
    repos: tuple[RepoCatalogue, ...]

    def repo(self, number: int) -> RepoCatalogue | None:
        return next((r for r in self.repos if r.repo == number), None)

    def to_json(self) -> dict:
        return {"stanza": self.stanza, "status": {"code": self.status_code, "message": self.status_message},
                "backup_lock": self.lock.to_json(), "repos": [r.to_json() for r in self.repos]}


def _backup(raw: dict[str, Any]) -> Backup:
    info, archive, lsn = raw["info"], raw.get("archive") or {}, raw.get("lsn") or {}
    return Backup(
        label=raw["label"], type=raw["type"], repo=int(raw["database"]["repo-key"]), prior=raw.get("prior"),
        reference=tuple(raw.get("reference") or ()), start=_time(raw["timestamp"]["start"]),
        stop=_time(raw["timestamp"]["stop"]), database_size=int(info["size"]), database_delta=int(info["delta"]),
        repo_size=int(info["repository"]["size"]), repo_delta=int(info["repository"]["delta"]),
        wal_start=archive.get("start"), wal_stop=archive.get("stop"), lsn_start=lsn.get("start"),
        lsn_stop=lsn.get("stop"), db_id=int(raw["database"]["id"]),
        annotations={str(k): str(v) for k, v in (raw.get("annotation") or {}).items()}, error=bool(raw.get("error")))


def parse_info(output: str | list, stanza: str = STANZA) -> Catalogue:
    """Parse `info --output=json` (text or already-loaded list) for `stanza`; ValueError if malformed or absent."""
    try:
        data = json.loads(output) if isinstance(output, str) else output
        raw = next((s for s in data if s.get("name") == stanza), None)
        if raw is None:
            raise ValueError(f"stanza {stanza!r} is not in the info output")
        return _catalogue(raw)
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not pgBackRest info JSON: {type(exc).__name__}: {exc}") from None


def _catalogue(raw: dict[str, Any]) -> Catalogue:
    backups = [_backup(b) for b in raw.get("backup") or ()]
    statuses = {int(r["key"]): r.get("status") or {} for r in raw.get("repo") or ()}
    numbers = sorted(set(statuses) | {b.repo for b in backups}
                     | {int(a["database"]["repo-key"]) for a in raw.get("archive") or ()})
    names = {number: name for name, number in STORAGE_REPOS.items()}
    repos = []
    for number in numbers:
        status = statuses.get(number, {})
        archives = [WalArchive(a["id"], int(a["database"]["id"]), a.get("min"), a.get("max"))
                    for a in raw.get("archive") or () if int(a["database"]["repo-key"]) == number]
        databases = [Database(int(d["id"]), int(d["system-id"]), str(d["version"]))
                     for d in raw.get("db") or () if int(d.get("repo-key", number)) == number]
        repos.append(RepoCatalogue(
            repo=number, storage_type=names.get(number), status_code=int(status.get("code", 0)),
            status_message=str(status.get("message", "")),
            backups=tuple(sorted((b for b in backups if b.repo == number), key=lambda b: (b.start, b.label))),
            archives=tuple(sorted(archives, key=lambda a: a.db_id)),
            databases=tuple(sorted(databases, key=lambda d: d.db_id))))
    status = raw.get("status") or {}
    lock = ((status.get("lock") or {}).get("backup")) or {}
    return Catalogue(stanza=raw["name"], status_code=int(status.get("code", 0)),
                     status_message=str(status.get("message", "")),
                     lock=Progress(bool(lock.get("held")), lock.get("size"), lock.get("size-cplt")),
                     repos=tuple(repos))


BACKUP_LABEL = re.compile(r"new backup label = (\S+)")  # `backup`'s line naming the backup it made
_TEXT_PROGRESS = re.compile(r"^\s*status: .*\(backup/expire running - (\d{1,3}\.\d{2})% complete\)\s*$", re.M)


def parse_text_progress(text: str) -> float | None:
    """The percentage in 2.45's text info `status: ok (backup/expire running - 81.58% complete)`, else None."""
    match = _TEXT_PROGRESS.search(text)
    return float(match.group(1)) if match else None


def parse_lock_file(text: str) -> float | None:
    """The percentage in a backup lock file (`{"execId":…,"pctCplt":8158,"pid":…}` → 81.58), else None."""
    try:
        value = json.loads(text).get("pctCplt")
    except (ValueError, AttributeError):
        return None
    return value / 100 if isinstance(value, int) and not isinstance(value, bool) else None
