"""Whether a restore request can run, decided before anything is touched, and what it would use.

`check()` takes the cluster's parsed `info` (`Catalogue`), the repo the request reads (1 local,
2 s3), the request's target / set / target_action / options, and the time of the newest archived
WAL segment when known, and returns a `Preview`: `ok`, the backup set pgBackRest would restore, the
recovery window, the `reasons` it cannot run (each a machine `code`, the API `field` it is about
and a `message` saying what is wrong and what to do) and `warnings` (what could not be checked).
The REST preview answers with it as is; the restore's first step refuses on any reason.

The backup set, exactly as pgBackRest 2.45's restore picks it (its `restoreBackupSet`, checked by
running `restore` against real repos: tests/unit/pgbackrest/fixtures/preflight_restores.json):
- `--set` given: that set, whatever the target (a set missing from the repo: [075] "backup set … is
  not valid");
- `--type=time` without a set: the newest backup, in backup.info's (label) order, whose stop time in
  epoch seconds is *strictly less* than the target's, fractions of a second dropped — a backup that
  stopped at 10:00:05 serves a target from 10:00:06.000000, not 10:00:05.900000; none: [075] "unable to
  find backup set with stop time less than …" (2.45 does not fall back to the latest backup);
- `--type=lsn` without a set: the newest backup whose stop LSN is ≤ the target; none: [075];
- otherwise (latest, immediate, name, xid): the newest backup.
pgBackRest picks among all backups, those info flags `error` (page checksum errors) included.

The recovery window of a repo: `earliest` is the stop time of its oldest usable backup (`error`
false) — a time target must lie in a later second (see above); `latest` is the time the newest WAL
segment was archived, when known.  Info gives WAL only as segment names, so that time comes from
`pgbackrest repo-ls --output=json --recurse archive/db` (`repo_ls_argv`, `newest_wal_time`): the
modification time of the newest segment file of the current database's archive id.  It is an upper
bound: every record of that segment was written before it was archived, so a target after it (in a
later second: the listing's times are whole seconds) is never reached — PostgreSQL then stops with
"FATAL: recovery ended before configured recovery target was reached", after the old primary is gone.
A target *before* a backup's consistency point fails the same way, which is why a time target must be
after the chosen set's stop and an LSN target not before its stop LSN.  Restore point names and xids
carry no time: they are warned about, not checked.

Pure: no I/O; `now` comes from the caller and is used only to refuse targets in the future when the
newest WAL's time is not known.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, Sequence

from .commands import CONFIG_PATH, PGBACKREST, STANZA, storage_type_of
from .info import Backup, Catalogue, RepoCatalogue
from .options import OptionError, normalize, value_of
from .targets import RestoreTarget, check_label, format_target_time, restore_options, restore_target

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_SECOND = timedelta(seconds=1)
_SEGMENT_RE = re.compile(r"(?P<archive_id>[^/]+)/[0-9A-F]{16}/(?P<segment>[0-9A-F]{24})-[0-9a-f]{40}(\.[a-z0-9]+)?")
_FIELDS = ("target.type", "target.value", "set", "target_action", "options")
_FIELD_OF_OPTION = {"--type": "target.type", "--target": "target.value", "--set": "set",
                    "--target-action": "target_action"}
_SETS_SHOWN = 10


def _seconds(moment: datetime) -> int:
    """Whole epoch seconds, fractions dropped (as pgBackRest reads a target time and stores a stop time)."""
    return (moment - _EPOCH) // _SECOND


def _show(moment: datetime) -> str:
    """A time as the API takes it: `2026-11-26 10:00:05+00` (microseconds only when there are some)."""
    text = format_target_time(moment)
    return text.replace(".000000+00", "+00")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _lsn(value: str) -> int:
    high, low = value.split("/")
    return int(high, 16) << 32 | int(low, 16)


# -- repo-ls: the time of the newest archived WAL --------------------------------------------------------------------

def repo_ls_argv(repo: int, *, config: str = CONFIG_PATH) -> list[str]:
    """`repo-ls` of the stanza's WAL archive in one repo, as JSON, recursively (read-only).

    `--stanza` is valid for repo-ls (2.45 lists it among its options; it selects the stanza's
    section of the config, where repo options may live); the path is relative to the repo's path.
    """
    storage_type_of(repo)
    return [PGBACKREST, f"--config={config}", f"--stanza={STANZA}", f"--repo={repo}", "--output=json", "--recurse",
            "repo-ls", f"archive/{STANZA}"]


@dataclass(frozen=True)
class ArchivedWal:
    """One WAL segment file in a repo's archive, as repo-ls lists it."""

    archive_id: str
    segment: str
    """The 24-hex-digit segment name (timeline, log, segment)."""
    path: str
    """As listed, relative to `archive/<stanza>`: `15-1/0000000100000000/<segment>-<sha1>.zst`."""
    size: int
    time: datetime
    """When it was archived: the file's mtime (posix) or the object's Last-Modified (S3), whole seconds."""

    def to_json(self) -> dict:
        return {"archive_id": self.archive_id, "segment": self.segment, "path": self.path, "size": self.size,
                "time": _iso(self.time)}


def archived_wal(listing: str | Mapping[str, Any], archive_id: str | None = None) -> tuple[ArchivedWal, ...]:
    """The WAL segment files of `repo-ls --output=json --recurse archive/<stanza>` (of one archive id if given).

    Only whole segments count: `.backup` and `.history` files, `.partial` segments (never fetched by
    recovery) and `archive.info` are left out.  Sorted by segment name.  ValueError if not repo-ls JSON.
    """
    try:
        data = json.loads(listing) if isinstance(listing, (str, bytes)) else listing
        found = []
        for path, entry in data.items():
            match = _SEGMENT_RE.fullmatch(path)
            if not match or entry.get("type") != "file" or archive_id not in (None, match.group("archive_id")):
                continue
            found.append(ArchivedWal(match.group("archive_id"), match.group("segment"), path, int(entry["size"]),
                                     datetime.fromtimestamp(int(entry["time"]), timezone.utc)))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not pgBackRest repo-ls JSON: {type(exc).__name__}: {exc}") from None
    return tuple(sorted(found, key=lambda w: (w.archive_id, w.segment)))


def current_archive_id(catalogue: Catalogue, repo: int) -> str | None:
    """The archive id (`15-1`) of the repo's current database (the highest db id info lists), else None."""
    found = catalogue.repo(repo)
    current = max(found.archives, key=lambda a: a.db_id, default=None) if found else None
    return current.archive_id if current else None


def newest_wal(listing: str | Mapping[str, Any], catalogue: Catalogue, repo: int) -> ArchivedWal | None:
    """The most recently archived segment (latest mtime; ties: the higher name) of the current database."""
    archive_id = current_archive_id(catalogue, repo)
    if archive_id is None:
        return None
    return max(archived_wal(listing, archive_id), key=lambda w: (w.time, w.segment), default=None)


def newest_wal_time(listing: str | Mapping[str, Any], catalogue: Catalogue, repo: int) -> datetime | None:
    """When the newest WAL segment of the repo's current database was archived (None: none archived)."""
    wal = newest_wal(listing, catalogue, repo)
    return wal.time if wal else None


# -- the choice of backup set -----------------------------------------------------------------------------------------

def backup_set_for(backups: Sequence[Backup], target: RestoreTarget, set: str | None = None) -> Backup | None:
    """The backup pgBackRest 2.45 restores for `target` (and `set`) from these backups of one repo, else None.

    See the module docstring; None is pgBackRest's [075] BackupSetInvalidError.
    """
    ordered = sorted(backups, key=lambda b: b.label)  # backup.info's order
    if set is not None:
        return next((b for b in ordered if b.label == set), None)
    if target.type == "time":
        wanted = _seconds(target.time)
        return next((b for b in reversed(ordered) if _seconds(b.stop) < wanted), None)
    if target.type == "lsn":
        wanted = _lsn(target.value)
        # a backup without a stop LSN (made by a pgBackRest before 2.x) ends pgBackRest's search
        for backup in reversed(ordered):
            if backup.lsn_stop is None:
                return None
            if _lsn(backup.lsn_stop) <= wanted:
                return backup
        return None
    return ordered[-1] if ordered else None


# -- the preview ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reason:
    """Why a restore cannot run (or, among warnings, what could not be checked)."""

    code: str
    """`repo-error`, `no-backup`, `backup-running`, `bad-option`, `bad-target`, `set-not-found`,
    `target-before-window`, `target-before-set`, `target-after-window`, `backup-has-errors`; warnings:
    `target-not-checkable`, `wal-time-unknown`, `set-has-errors`."""
    field: str | None
    """The request's field it is about: `storage_type`, `target.value`, `set`, `target_action`, `options[i]`…"""
    message: str

    def to_json(self) -> dict:
        return {"code": self.code, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class Window:
    """What a restore from one repo can reach: from the end of its oldest usable backup to its newest WAL."""

    earliest: datetime | None
    """Stop time of the oldest backup without errors; a time target must be in a later second."""
    latest: datetime | None
    """When the newest WAL segment was archived (None: not known); a target must not be in a later second."""
    latest_backup: datetime | None
    """Stop time of the newest backup without errors: what info alone proves restorable."""
    wal_min: str | None
    wal_max: str | None

    def to_json(self) -> dict:
        return {"earliest": _iso(self.earliest), "latest": _iso(self.latest),
                "latest_backup": _iso(self.latest_backup), "wal_min": self.wal_min, "wal_max": self.wal_max}


@dataclass(frozen=True)
class Preview:
    """The decision on one restore request: `ok` when `reasons` is empty."""

    ok: bool
    repo: int
    storage_type: str
    target: RestoreTarget | None
    """The request's target, normalized (None when it is invalid)."""
    backup_set: str | None
    """The set pgBackRest would restore (None when there is none to use)."""
    backup: Backup | None
    window: Window
    reasons: tuple[Reason, ...]
    warnings: tuple[Reason, ...]
    argv_options: tuple[str, ...] | None
    """`targets.restore_options` of the request, for `commands.restore` (None unless ok)."""

    def to_json(self) -> dict:
        return {"ok": self.ok, "repo": self.repo, "storage_type": self.storage_type,
                "target": {"type": self.target.type, "value": self.target.value} if self.target else None,
                "backup_set": self.backup_set, "backup": self.backup.to_json() if self.backup else None,
                "window": self.window.to_json(), "reasons": [r.to_json() for r in self.reasons],
                "warnings": [w.to_json() for w in self.warnings],
                "argv_options": list(self.argv_options) if self.argv_options is not None else None}


def _window(found: RepoCatalogue | None, wal_time: datetime | None) -> Window:
    usable = [b for b in found.backups if not b.error] if found else []
    current = max(found.archives, key=lambda a: a.db_id, default=None) if found else None
    return Window(earliest=min((b.stop for b in usable), default=None), latest=wal_time,
                  latest_backup=max((b.stop for b in usable), default=None),
                  wal_min=current.min if current else None, wal_max=current.max if current else None)


def _option_field(option: str, options: object) -> str:
    """The API field an OptionError is about: a request field, or `options[i]` for the item it names."""
    if option in _FIELDS:
        return option
    items = list(options) if isinstance(options, (list, tuple)) else []
    name = option.split("=", 1)[0]
    for index in reversed(range(len(items))):  # the last one: of two that conflict, the later is refused
        item = items[index]
        if option in (item, repr(item)) or isinstance(item, str) and name in _names(item):
            return f"options[{index}]"
    return _FIELD_OF_OPTION.get(name, "options")


def _names(item: str) -> tuple[str, str]:
    """`--no-delta=x` → ("--no-delta", "--delta"): the item's name as given and without its no-/reset- prefix."""
    given = item.split("=", 1)[0]
    for prefix in ("--no-", "--reset-"):
        if given.startswith(prefix):
            return given, "--" + given[len(prefix):]
    return given, given


def _labels(backups: Sequence[Backup]) -> str:
    labels = [b.label for b in sorted(backups, key=lambda b: b.label, reverse=True)]
    shown = ", ".join(labels[:_SETS_SHOWN]) + (f" and {len(labels) - _SETS_SHOWN} older" if len(labels) > _SETS_SHOWN
                                               else "")
    return shown or "none"


class _Collector:
    def __init__(self, options: object) -> None:
        self.options = options
        self.reasons: list[Reason] = []
        self.warnings: list[Reason] = []

    def refuse(self, code: str, field: str | None, message: str) -> None:
        reason = Reason(code, field, message)
        if reason not in self.reasons:
            self.reasons.append(reason)

    def warn(self, code: str, field: str | None, message: str) -> None:
        self.warnings.append(Reason(code, field, message))

    def option_error(self, exc: OptionError) -> None:
        field = _option_field(exc.option, self.options)
        targeted = field in ("target.type", "target.value") or exc.option in ("--type", "--target")
        message = exc.reason if field == exc.option else str(exc)
        self.refuse("bad-target" if targeted else "bad-option", field, message)


def check(catalogue: Catalogue, repo: int, target: RestoreTarget | None = None, *, target_type: str | None = None,
          target_value: str | None = None, set: str | None = None, target_action: str | None = None,
          options: Sequence[str] | None = (), wal_max_time: datetime | None = None,
          now: datetime | None = None) -> Preview:
    """Decide whether a restore from `repo` can run; see the module docstring.

    The target is `target`, or the request's raw `target_type` (latest|time|name|xid|lsn|immediate,
    default latest) and `target_value`; `--type`/`--target`/`--set`/`--target-action` in `options`
    count too (targets.py).  `wal_max_time` (aware): `newest_wal_time()` of the repo, None when unknown.
    `now` (aware): only to refuse targets in the future when `wal_max_time` is None.
    Every reason found is reported, repository first, then the request, then the set and the window.
    ValueError only for a repo number other than 1 or 2 (the caller's mapping of storage types).
    """
    storage = storage_type_of(repo)
    where = f"repo{repo} ({storage})"
    out = _Collector(options)
    found = catalogue.repo(repo)
    window = _window(found, wal_max_time)

    # the repository
    usable: list[Backup] = []
    if found is None:
        out.refuse("repo-error", "storage_type", f"pgBackRest's info does not list {where}: "
                                                 f"is {storage} one of the cluster's storage types?")
    elif found.status_code not in (0, 2):
        error = found.error
        text = (f"[{error.name}] {error.message} ({error.todo})" if error else
                f"status {found.status_code}: {found.status_message}")
        out.refuse("repo-error", "storage_type", f"pgBackRest cannot read {where}: {text}")
    else:
        usable = [b for b in found.backups if not b.error]
        if not found.backups:
            out.refuse("no-backup", "storage_type", f"{where} has no backup to restore from: take a backup to "
                                                    f"{storage} first")
        elif not usable:
            out.refuse("no-backup", "storage_type",
                       f"{where} has no usable backup: every backup in it ({_labels(found.backups)}) found page "
                       "checksum errors; take a new full backup")
    if catalogue.lock.held:
        out.refuse("backup-running", None, "a backup or expire of this cluster is running (pgBackRest holds the "
                                           "stanza's backup lock): restore when it has ended")

    # the request
    argv: list[str] | None = None
    try:
        argv = normalize("restore", options)
    except OptionError as exc:
        out.option_error(exc)
    chosen_target: RestoreTarget | None = None
    try:
        kind, value = (target.type, target.value) if target is not None else (target_type, target_value)
        chosen_target = restore_target(argv or [], kind, value)
    except OptionError as exc:
        out.option_error(exc)
    label: str | None = None
    label_ok = True
    if set is not None:
        try:
            label = check_label(set)
        except OptionError as exc:
            out.option_error(exc)
            label_ok = False
    elif argv:
        label = value_of(argv, "set")
    argv_options: tuple[str, ...] | None = None
    if argv is not None and chosen_target is not None and label_ok:
        try:
            argv_options = tuple(restore_options(argv, chosen_target, set, target_action))
        except OptionError as exc:
            out.option_error(exc)
    target_field = "target.value"
    if target is None and target_value is None and argv and value_of(argv, "target") is not None:
        target_field = _option_field("--target", options)
    set_field = "set" if set is not None else _option_field("--set", options)

    # the set and the window
    backup: Backup | None = None
    if found is not None and found.backups and chosen_target is not None and label_ok:
        backup = backup_set_for(found.backups, chosen_target, label)
        if label is not None and backup is None:
            elsewhere = [r for r in catalogue.repos if r.repo != repo and r.backup(label)]
            hint = (f"; it is in repo{elsewhere[0].repo} ({elsewhere[0].storage_type}): restore from there"
                    if elsewhere else "")
            out.refuse("set-not-found", set_field,
                       f"backup set {label} is not in {where}{hint}; its sets: {_labels(found.backups)}")
        elif chosen_target.type == "time":
            _check_time(out, chosen_target, backup, label, found, window, where, target_field, now)
        elif chosen_target.type == "lsn":
            _check_lsn(out, chosen_target, backup, label, found, window, where, target_field)
        elif chosen_target.type in ("name", "xid"):
            what = (f"restore point {chosen_target.value!r} was created" if chosen_target.type == "name"
                    else f"transaction {chosen_target.value} committed")
            out.warn("target-not-checkable", target_field,
                     f"a {chosen_target.type} target cannot be checked before the restore: unless the {what} after "
                     f"the end of backup set {backup.label} ({_show(backup.stop)}) and its WAL is archived, "
                     "recovery ends without reaching it and the restored PostgreSQL does not start")
        if backup is not None and backup.error and usable:
            if label is None:
                clean = [b for b in found.backups if not b.error and b.stop <= backup.stop]
                hint = f": give set {clean[-1].label} (the newest clean one before it)" if clean else ""
                out.refuse("backup-has-errors", set_field,
                           f"backup set {backup.label}, which pgBackRest would restore for this target, found page "
                           f"checksum errors when it was taken{hint}")
            else:
                out.warn("set-has-errors", set_field,
                         f"backup set {backup.label} found page checksum errors when it was taken: the restored "
                         "database has the same damaged pages")

    reasons = tuple(out.reasons)
    return Preview(ok=not reasons, repo=repo, storage_type=storage, target=chosen_target,
                   backup_set=backup.label if backup else None, backup=backup, window=window, reasons=reasons,
                   warnings=tuple(out.warnings), argv_options=argv_options if not reasons else None)


def _check_time(out: _Collector, target: RestoreTarget, backup: Backup | None, label: str | None,
                found: RepoCatalogue, window: Window, where: str, field: str, now: datetime | None) -> None:
    moment = target.time
    shown = _show(moment)
    if backup is None:  # no set given, and no backup stopped in an earlier second
        oldest = min(found.backups, key=lambda b: b.label)
        out.refuse("target-before-window", field,
                   f"target time {shown} is before the recovery window of {where}, which starts after "
                   f"{_show(oldest.stop)}, the end of its oldest backup ({oldest.label}): pgBackRest restores a time "
                   f"from a backup that ended in an earlier second, so the earliest target is "
                   f"{_show(oldest.stop + _SECOND)}")
    elif label is not None and _seconds(backup.stop) >= _seconds(moment):
        earlier = [b for b in found.backups if _seconds(b.stop) < _seconds(moment) and not b.error]
        hint = (f", or restore set {max(earlier, key=lambda b: b.label).label} (or no set: pgBackRest then picks it)"
                if earlier else "")
        out.refuse("target-before-set", field,
                   f"target time {shown} is not after the end of backup set {label} ({_show(backup.stop)}): "
                   f"recovery cannot stop before that backup is consistent; choose a target from "
                   f"{_show(backup.stop + _SECOND)}{hint}")
    if window.latest is not None:
        if _seconds(moment) > _seconds(window.latest):
            out.refuse("target-after-window", field,
                       f"target time {shown} is after the recovery window of {where}, which ends at "
                       f"{_show(window.latest)}, when its newest WAL segment ({window.wal_max}) was archived: "
                       "recovery would end before reaching the target and the restored PostgreSQL would not start; "
                       "choose an earlier time, or target latest, or wait until the WAL past the target is archived")
    elif now is not None and moment > now:
        out.refuse("target-after-window", field, f"target time {shown} is in the future (now: {_show(now)})")
    else:
        out.warn("wal-time-unknown", field,
                 f"the time of the newest archived WAL in {where} is not known, so target time {shown} is not "
                 "checked against the end of the recovery window: if no WAL past it is archived (newest segment: "
                 f"{window.wal_max}), recovery ends before reaching it and the restored PostgreSQL does not start")


def _check_lsn(out: _Collector, target: RestoreTarget, backup: Backup | None, label: str | None,
               found: RepoCatalogue, window: Window, where: str, field: str) -> None:
    wanted = _lsn(target.value)
    if backup is None:
        oldest = min(found.backups, key=lambda b: b.label)
        out.refuse("target-before-window", field,
                   f"target LSN {target.value} is before the recovery window of {where}: no backup in it ended at "
                   f"or before that LSN (the oldest, {oldest.label}, ended at {oldest.lsn_stop})")
        return
    if label is not None and backup.lsn_stop is not None and wanted < _lsn(backup.lsn_stop):
        earlier = [b for b in found.backups if b.lsn_stop is not None and _lsn(b.lsn_stop) <= wanted and not b.error]
        hint = (f", or restore set {max(earlier, key=lambda b: b.label).label} (or no set: pgBackRest then picks it)"
                if earlier else "")
        out.refuse("target-before-set", field,
                   f"target LSN {target.value} is before the end of backup set {label} (LSN {backup.lsn_stop}): "
                   f"recovery cannot stop before that backup is consistent; choose an LSN from {backup.lsn_stop}"
                   f"{hint}")
        return
    out.warn("target-not-checkable", field,
             f"target LSN {target.value} is checked against the start of the recovery window only: unless WAL up "
             f"to it is archived (newest segment: {window.wal_max}), recovery ends before reaching it and the "
             "restored PostgreSQL does not start")
