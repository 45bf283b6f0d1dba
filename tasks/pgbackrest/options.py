"""User-supplied pgBackRest options, checked against an allowlist per command.

A request's `options` (`["--type=full", "--start-fast", "--annotation=source=api"]`) reach
pgBackRest only through `normalize`, which returns argv items (never a shell string):

- every item is `--name` or `--name=value`; booleans come out as `--name` / `--no-name`
  (`--name=y` and `--name=n` are read too), values are checked by type (enum, integer range,
  size, key=value, strict character sets) and rewritten in one canonical spelling;
- options the service owns (`--stanza`, `--repo…`, `--pg…`, `--config…`, `--lock-path`,
  `--log-…`, `--tls-…`, `--spool-path`, `--cmd…`, info's `--output`) are refused: they are set
  by `pgbackrest.conf` and `commands.py`.  Log levels are owned because the service reads
  pgBackRest's stdout (`info` JSON) and stderr (errors); file logging is off in our pods;
- known options that would let a request reach outside its backup are refused with the reason
  (`--recovery-option` could set `restore_command`, which PostgreSQL runs in a shell);
- anything else is an unknown option for that command.

The result is de-duplicated and sorted, so equal requests give equal argv, and
`normalize(c, normalize(c, x)) == normalize(c, x)`.  Every refusal is an `OptionError`
naming the option and the reason.  How `--type`, `--target` and `--set` combine with a
request's own fields is in `targets.py`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, Iterable, Sequence


class OptionError(ValueError):
    """One refused option: `.option` is the item as the caller gave it (or its name), `.reason` says why."""

    def __init__(self, option: str, reason: str) -> None:
        super().__init__(f"{option}: {reason}")
        self.option = option
        self.reason = reason


COMMANDS = ("backup", "restore", "info", "expire")
BACKUP_TYPES = ("full", "diff", "incr")
RESTORE_TYPES = ("default", "immediate", "name", "time", "xid", "lsn", "preserve", "standby")
COMPRESS_TYPES = ("none", "bz2", "gz", "lz4", "zst")
# Levels each compress-type accepts (1 and up everywhere; zst stops before its memory-hungry --ultra levels).
COMPRESS_LEVELS = {"bz2": (1, 9), "gz": (1, 9), "lz4": (1, 12), "zst": (1, 19)}
BUFFER_SIZES = tuple(16 * 1024 << n for n in range(11))  # 16KiB … 16MiB, the values pgBackRest 2.45 allows
LABEL_RE = re.compile(r"\d{8}-\d{6}F(_\d{8}-\d{6}[DI])?")

_NAME_RE = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
_OWNED_RE = re.compile(r"(stanza|config(-.*)?|lock-path|log-.*|spool-path|tls-.*|cmd(-ssh)?|exec-id"
                       r"|repo\d*(-.*)?|pg\d*(-.*)?|archive-async|archive-(push|get)-queue-max)")
_REFUSED = {
    "recovery-option": "could set restore_command, which PostgreSQL runs through a shell",
    "link-map": "paths in the restored pod are the service's",
    "link-all": "paths in the restored pod are the service's",
    "tablespace-map": "paths in the restored pod are the service's",
    "tablespace-map-all": "paths in the restored pod are the service's",
    "exclude": "a backup leaving out files is not restorable as a whole",
    "force": "the service decides when to force",
    "online": "offline backups need PostgreSQL stopped, which the service does not do",
    "expire-auto": "retention belongs to the cluster's configuration",
}
_SHOWN = 60  # characters of a refused value quoted back


def _shown(value: str) -> str:
    return repr(value if len(value) <= _SHOWN else value[:_SHOWN] + "…")


def _enum(*allowed: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}")
        return value
    return check


def _int_range(low: int, high: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not re.fullmatch(r"-?\d{1,7}", value) or not low <= int(value) <= high:
            raise ValueError(f"expected an integer from {low} to {high}")
        return str(int(value))
    return check


def _seconds(low: str, high: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        number = Decimal(value) if re.fullmatch(r"\d{1,6}(\.\d{1,3})?", value) else None
        if number is None or not Decimal(low) <= number <= Decimal(high):
            raise ValueError(f"expected seconds from {low} to {high}")
        return format(number.normalize(), "f")
    return check


_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
          "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30}


def size_bytes(value: str) -> int:
    """`16KiB`, `1mb`, `1048576` → bytes (pgBackRest's units are binary); ValueError otherwise."""
    match = re.fullmatch(r"(\d{1,10})([a-zA-Z]{0,3})", value)
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError("expected a size such as 1MiB")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def size_text(size: int) -> str:
    """Bytes → the largest exact binary unit: 1048576 → `1MiB`, 1000 → `1000`."""
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def _buffer_size(value: str) -> str:
    if size_bytes(value) not in BUFFER_SIZES:
        raise ValueError(f"expected one of {', '.join(size_text(s) for s in BUFFER_SIZES)}")
    return size_text(size_bytes(value))


def _pattern(regex: str, what: str) -> Callable[[str], str]:
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"expected {what}")
        return value
    return check


def _annotation(value: str) -> str:
    key, sep, text = value.partition("=")
    if not sep or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", key) \
            or not re.fullmatch(r"[ -~]{0,256}", text):
        raise ValueError("expected key=value (key: letters, digits, '_', '.', '-'; value: up to 256 printable "
                         "ASCII characters)")
    return value


def _timeline(value: str) -> str:
    if value in ("current", "latest"):
        return value
    return _int_range(1, 2**32 - 1)(value)


@dataclass(frozen=True)
class Spec:
    """How one option is read: a boolean (no check), or a value and its check; repeatable ones may recur."""

    check: Callable[[str], str] | None = None  # None: boolean
    repeatable: bool = False


BOOL = Spec()
_LABEL = Spec(_pattern(LABEL_RE.pattern, "a backup label YYYYMMDD-HHMMSSF[_YYYYMMDD-HHMMSS{D|I}]"))
_DB_NAME = Spec(_pattern(r"[A-Za-z_][A-Za-z0-9_$-]{0,62}|[1-9]\d{0,9}", "a database name or OID"), repeatable=True)
_PROCESS_MAX = Spec(_int_range(1, 999))
_BUFFER = Spec(_buffer_size)
_IO_TIMEOUT = Spec(_seconds("0.1", "3600"))  # how long pgBackRest retries a storage/network error (default 60 s)

ALLOWED: dict[str, dict[str, Spec]] = {
    "backup": {
        "annotation": Spec(_annotation, repeatable=True), "archive-check": BOOL, "archive-copy": BOOL,
        "archive-timeout": Spec(_seconds("0.1", "86400")), "backup-standby": BOOL, "buffer-size": _BUFFER,
        "checksum-page": BOOL, "compress-level": Spec(_int_range(-5, 22)),
        "compress-type": Spec(_enum(*COMPRESS_TYPES)),
        "delta": BOOL, "io-timeout": _IO_TIMEOUT, "process-max": _PROCESS_MAX, "resume": BOOL, "start-fast": BOOL,
        "type": Spec(_enum(*BACKUP_TYPES)),
    },
    "restore": {
        "archive-mode": Spec(_enum("preserve", "off")), "buffer-size": _BUFFER, "db-exclude": _DB_NAME,
        "db-include": _DB_NAME, "delta": BOOL, "io-timeout": _IO_TIMEOUT, "process-max": _PROCESS_MAX, "set": _LABEL,
        "target": Spec(_pattern(r"[A-Za-z0-9 _.:/+-]{1,64}", "a recovery target (letters, digits, ' _.:/+-')")),
        "target-action": Spec(_enum("pause", "promote", "shutdown")), "target-exclusive": BOOL,
        "target-timeline": Spec(_timeline), "type": Spec(_enum(*RESTORE_TYPES)),
    },
    "info": {"set": _LABEL, "type": Spec(_enum(*BACKUP_TYPES))},
    "expire": {"dry-run": BOOL, "set": _LABEL},
}


def _read(command: str, item: object) -> tuple[str, str]:
    """One item → (name, normalized value; `y`/`n` for booleans); OptionError if refused."""
    if not isinstance(item, str):
        raise OptionError(repr(item), "options are strings such as --type=full")
    if not item.startswith("--"):
        raise OptionError(item, "not an option: give each as --name or --name=value")
    name, sep, value = item[2:].partition("=")
    if not _NAME_RE.fullmatch(name):
        raise OptionError(item, "not an option name: lowercase letters, digits and '-'")
    prefix = next((p for p in ("no-", "reset-") if name.startswith(p) and len(name) > len(p)), "")
    base, shown = name[len(prefix):], "--" + name
    if _OWNED_RE.fullmatch(base) or (command == "info" and base == "output"):
        raise OptionError(shown, "owned by the service")
    if base in _REFUSED:
        raise OptionError(shown, f"not accepted: {_REFUSED[base]}")
    spec = ALLOWED[command].get(base)
    if spec is None:
        elsewhere = [c for c in COMMANDS if base in ALLOWED[c]]
        if elsewhere:
            raise OptionError(shown, f"not accepted for {command} (only for {', '.join(elsewhere)})")
        raise OptionError(shown, f"unknown option for {command}")
    if prefix == "reset-":
        raise OptionError(shown, "--reset- forms are not accepted")
    if spec.check is None:
        if prefix and sep:
            raise OptionError(shown, "takes no value")
        if sep and value not in ("y", "n"):
            raise OptionError(shown, f"invalid value {_shown(value)}: expected y or n (or --no-{base})")
        return base, "n" if prefix or value == "n" else "y"
    if prefix:
        raise OptionError(shown, f"--{base} is not a boolean")
    if not sep:
        raise OptionError(shown, f"--{base} needs a value: --{base}=…")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise OptionError(shown, "invalid value: control characters")
    try:
        return base, spec.check(value)
    except ValueError as exc:
        raise OptionError(shown, f"invalid value {_shown(value)}: {exc}") from None


def normalize(command: str, options: Sequence[str] | None, *, compress_type: str = "zst") -> list[str]:
    """Check `options` for `command` and return them as sorted, de-duplicated `--name[=value]` argv items.

    `compress_type` is the type in effect when the options name none (the cluster's configured
    default); `--compress-level` is checked against the range of the type in effect.
    """
    if command not in ALLOWED:
        raise ValueError(f"options are checked for {', '.join(COMMANDS)}, not {command!r}")
    if options is None:
        return []
    if not isinstance(options, (list, tuple)):
        raise OptionError("options", "must be a list of strings such as [\"--type=full\"]")
    seen: dict[str, set[str]] = {}
    for item in options:
        name, value = _read(command, item)
        values = seen.setdefault(name, set())
        values.add(value)
        if len(values) > 1 and ALLOWED[command][name].check is None:
            raise OptionError(f"--{name}", f"both --{name} and --no-{name} given")
        if len(values) > 1 and not ALLOWED[command][name].repeatable:
            raise OptionError(f"--{name}", "given twice with different values")
    _check_annotation_keys(seen.get("annotation", ()))
    _check_compress_level(seen, compress_type)
    argv = []
    for name, values in seen.items():
        boolean = ALLOWED[command][name].check is None
        argv += [(f"--{name}" if v == "y" else f"--no-{name}") if boolean else f"--{name}={v}" for v in values]
    return sorted(argv)


def _check_annotation_keys(values: Iterable[str]) -> None:
    keys = [value.partition("=")[0] for value in values]
    for key in sorted({k for k in keys if keys.count(k) > 1}):
        raise OptionError("--annotation", f"key {key!r} given twice with different values")


def _check_compress_level(seen: dict[str, set[str]], default_type: str) -> None:
    if "compress-level" not in seen:
        return
    kind = next(iter(seen.get("compress-type", {default_type})))
    if kind == "none":
        raise OptionError("--compress-level", "has no effect with compress-type none")
    low, high = COMPRESS_LEVELS[kind]
    level = int(next(iter(seen["compress-level"])))
    if not low <= level <= high:
        raise OptionError("--compress-level", f"invalid value {level}: compress-type {kind} takes {low} to {high}")


def value_of(argv: Sequence[str], name: str) -> str | None:
    """The value of `--name=value` in normalized argv (booleans: `y`/`n`), None when absent."""
    for item in argv:
        if item == f"--{name}":
            return "y"
        if item == f"--no-{name}":
            return "n"
        if item.startswith(f"--{name}="):
            return item.partition("=")[2]
    return None


def without(argv: Sequence[str], *names: str) -> list[str]:
    """Normalized argv less the named options (in any form)."""
    drop = {f"--{n}" for n in names} | {f"--no-{n}" for n in names}
    return [item for item in argv if item.partition("=")[0] not in drop]
