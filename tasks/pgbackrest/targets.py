"""Backup types and restore targets: a request's own fields combined with its `options`.

The REST API names the backup type in `type` and the restore target in `target`
(`{"type": "latest"|"immediate"|"time"|"name"|"xid"|"lsn", "value": …}`), the backup set in `set`
and the action in `target_action`.  PGO v4's CLI says the same through options
(`--backup-opts="--type=time" --pitr-target=…`), so both ways are accepted:

- a field and its option (`type` / `--type`, `target.value` / `--target`, `set` / `--set`,
  `target_action` / `--target-action`) may both be given only when they agree, after
  normalizing; otherwise `OptionError` names the option and the conflict;
- the API's `latest` is pgBackRest's restore type `default` (replay all archived WAL);
- `--type=preserve` and `--type=standby` are refused: a restore here always makes a new primary;
- a target's value is checked for its type and rewritten canonically — a time must carry its
  zone and becomes one argv item `YYYY-MM-DD HH:MM:SS.ffffff+00` in UTC (FACTS.md), an LSN is
  upper-cased;
- pgBackRest 2.45's dependencies are checked here, before any Job runs: `--target` only with
  time|name|xid|lsn (and required by them), `--target-action` not with latest, `--target-exclusive`
  only with time|xid|lsn, `--target-timeline` not with immediate.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence

from .options import BACKUP_TYPES, LABEL_RE, OptionError, normalize, value_of, without

TARGET_TYPES = ("latest", "immediate", "time", "name", "xid", "lsn")
TARGET_ACTIONS = ("pause", "promote", "shutdown")
_VALUED = ("time", "name", "xid", "lsn")
_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}(:?\d{2})?)")


def effective_backup_type(options: Sequence[str] | None, requested: str | None = None, *,
                          default: str = "incr") -> str:
    """The backup type from the request's `type` and/or `--type` in options; `default` when neither names one."""
    if requested is not None and requested not in BACKUP_TYPES:
        raise OptionError("type", f"invalid value {requested!r}: expected one of {', '.join(BACKUP_TYPES)}")
    given = value_of(normalize("backup", options), "type")
    if requested is not None and given is not None and given != requested:
        raise OptionError("--type", f"--type={given} conflicts with the request's type {requested!r}")
    return requested or given or default


def parse_target_time(value: str) -> datetime:
    """`2026-11-26 10:00:00+00`, `2026-11-26T10:00:00.5Z`, `…+05:30` → an aware UTC datetime.

    A time without a zone is refused: the database's zone is not the caller's.
    """
    if not isinstance(value, str) or not _TIME_RE.fullmatch(value):
        raise ValueError("expected a time such as '2026-11-26 10:00:00+00' (with its zone)")
    try:
        return datetime.fromisoformat(value).astimezone(timezone.utc)
    except ValueError:
        raise ValueError(f"{value!r} is not a valid time") from None


def format_target_time(moment: datetime) -> str:
    """An aware datetime → pgBackRest's and PostgreSQL's `YYYY-MM-DD HH:MM:SS.ffffff+00`."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f+00")


def _target_value(kind: str, value: str) -> str:
    if kind == "time":
        return format_target_time(parse_target_time(value))
    if kind == "name" and re.fullmatch(r"[A-Za-z0-9_.:-]{1,63}", value):
        return value
    if kind == "xid" and re.fullmatch(r"\d{1,20}", value) and 0 < int(value) < 2**64:
        return str(int(value))
    if kind == "lsn" and re.fullmatch(r"[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}", value):
        return value.upper()
    expected = {"name": "a restore point name (letters, digits, '_.:-', up to 63)",
                "xid": "a transaction id (a positive integer)", "lsn": "an LSN such as 0/3000028"}
    raise ValueError(f"expected {expected[kind]}")


@dataclass(frozen=True)
class RestoreTarget:
    """Where recovery stops: `latest` (end of archived WAL), `immediate` (end of the backup), or a value."""

    type: str = "latest"
    value: str | None = None

    def __post_init__(self) -> None:
        if self.type not in TARGET_TYPES:
            raise OptionError("target.type", f"invalid value {self.type!r}: expected one of {', '.join(TARGET_TYPES)}")
        if self.type in _VALUED and not self.value:
            raise OptionError("target.value", f"required for target type {self.type}")
        if self.type not in _VALUED and self.value:
            raise OptionError("target.value", f"not allowed for target type {self.type}")
        if self.value:
            try:
                object.__setattr__(self, "value", _target_value(self.type, self.value))
            except ValueError as exc:
                raise OptionError("target.value", f"invalid value {self.value!r}: {exc}") from None

    @property
    def pgbackrest_type(self) -> str:
        """pgBackRest's `--type` for this target (`latest` is `default`)."""
        return "default" if self.type == "latest" else self.type

    @property
    def time(self) -> datetime | None:
        """The target time (UTC) of a `time` target, else None."""
        return parse_target_time(self.value) if self.type == "time" and self.value else None

    def argv(self) -> list[str]:
        """`--type=…` and, for targets with a value, `--target=…`, as argv items."""
        return [f"--target={self.value}", f"--type={self.pgbackrest_type}"] if self.value \
            else [f"--type={self.pgbackrest_type}"]


def restore_target(options: Sequence[str] | None, type: str | None = None, value: str | None = None) -> RestoreTarget:
    """The target from the request's `target.type`/`target.value` and/or `--type`/`--target` in options."""
    argv = normalize("restore", options)
    given_type, given_value = value_of(argv, "type"), value_of(argv, "target")
    if given_type in ("preserve", "standby"):
        raise OptionError("--type", f"--type={given_type} is not supported: a restore here makes a new primary")
    if given_type is not None:
        given_type = "latest" if given_type == "default" else given_type
        if type is not None and type != given_type:
            raise OptionError("--type", f"--type={given_type} conflicts with the request's target type {type!r}")
    kind = type or given_type or "latest"
    if given_value is not None and value is not None:
        if RestoreTarget(kind, given_value) != RestoreTarget(kind, value):
            raise OptionError("--target", f"--target={given_value} conflicts with the request's target {value!r}")
    if given_value is not None and kind not in _VALUED:
        raise OptionError("--target", f"not valid with target type {kind} (a value needs type time, name, xid or lsn)")
    try:
        return RestoreTarget(kind, value if value is not None else given_value)
    except OptionError as exc:
        if exc.option == "target.value" and value is None:  # the value was (or should have been) --target
            raise OptionError("--target", exc.reason) from None
        raise


def check_label(label: str) -> str:
    """A backup set label `YYYYMMDD-HHMMSSF[_YYYYMMDD-HHMMSS{D|I}]`, else OptionError naming `set`."""
    if not isinstance(label, str) or not LABEL_RE.fullmatch(label):
        raise OptionError("set", f"invalid value {label!r}: expected a backup label "
                                 "YYYYMMDD-HHMMSSF[_YYYYMMDD-HHMMSS{D|I}]")
    return label


def _merge(argv: list[str], name: str, field: str, value: str | None) -> str | None:
    given = value_of(argv, name)
    if value is not None and given is not None and given != value:
        raise OptionError(f"--{name}", f"--{name}={given} conflicts with the request's {field} {value!r}")
    return value if value is not None else given


def restore_options(options: Sequence[str] | None, target: RestoreTarget | None = None, set: str | None = None,
                    target_action: str | None = None) -> list[str]:
    """All of a restore's user-level argv (type, target, set, action, other options), checked together."""
    argv = normalize("restore", options)
    target = restore_target(argv, target.type, target.value) if target else restore_target(argv)
    label = _merge(argv, "set", "set", check_label(set) if set is not None else None)
    if target_action is not None and target_action not in TARGET_ACTIONS:
        raise OptionError("target_action", f"invalid value {target_action!r}: expected one of "
                                           f"{', '.join(TARGET_ACTIONS)}")
    action = _merge(argv, "target-action", "target_action", target_action)
    if action is not None and target.type == "latest":
        raise OptionError("--target-action", "needs a target: with latest, recovery ends at the end of the WAL")
    if value_of(argv, "target-exclusive") == "y" and target.type not in ("time", "xid", "lsn"):
        raise OptionError("--target-exclusive", f"only with target type time, xid or lsn, not {target.type}")
    if value_of(argv, "target-timeline") is not None and target.type == "immediate":
        raise OptionError("--target-timeline", "not valid with target type immediate")
    rest = without(argv, "type", "target", "set", "target-action")
    extra = ([f"--set={label}"] if label else []) + ([f"--target-action={action}"] if action else [])
    return sorted(rest + target.argv() + extra)
