"""pgBackRest's exit codes as named errors that say what to do.

pgBackRest exits with the code of the error that stopped it and prints it on stderr as
`ERROR: [050]: unable to acquire lock on file …`, continuation lines (`HINT: …`) indented
below.  `CODES` is pgBackRest's own table (`src/build/error/error.yaml` in pgbackrest/pgbackrest;
every name checked against the 2.45 binary), with what each means here and what to do.

One tree: `PgBackRestError` and three subclasses, one per thing the service does about it:
- `RetryLater` — transient (a lock held, a host or the database not reachable yet, a timeout);
- `FixRequest` — the request was wrong (an option, a set, a target); 422-like, never retried;
- `CallHuman` — the cluster or repository needs someone (TLS, corruption, a stanza missing…).
Codes not in the table are `CallHuman`.
"""
from __future__ import annotations

import re
from typing import NamedTuple

RETRY, FIX, HUMAN = "retry", "fix-request", "call-human"

# code: (name, what it means, what to do, class)
CODES: dict[int, tuple[str, str, str, str]] = {
    25: ("AssertError", "pgBackRest hit an internal assertion (a bug)", "report it with the log", HUMAN),
    26: ("ChecksumError", "a file's checksum does not match", "check the repository's integrity", HUMAN),
    27: ("ConfigError", "pgbackrest.conf is invalid", "fix the generated configuration", HUMAN),
    28: ("FileInvalidError", "a file is not what pgBackRest expected", "check the repository and PGDATA", HUMAN),
    29: ("FormatError", "a value has the wrong format (a target time or LSN, a file)", "fix the request", FIX),
    30: ("CommandRequiredError", "no command was given", "report it: the service built a bad command", HUMAN),
    31: ("OptionInvalidError", "an option is not valid here", "fix the request's options", FIX),
    32: ("OptionInvalidValueError", "an option's value is not valid", "fix the request's options", FIX),
    37: ("OptionRequiredError", "a required option is missing", "fix the request's options", FIX),
    38: ("PgRunningError", "PostgreSQL is running where it must not be (restore)", "stop it, then retry", HUMAN),
    39: ("ProtocolError", "the connection to a remote pgBackRest broke", "retry; check the remote's log", RETRY),
    40: ("PathNotEmptyError", "the restore target directory is not empty", "restore into an empty volume", HUMAN),
    41: ("FileOpenError", "a file could not be opened (often permissions)", "check ownership and modes", HUMAN),
    42: ("FileReadError", "a file could not be read", "check the volume", HUMAN),
    43: ("ParamRequiredError", "a command parameter is missing", "report it: the service built a bad command", HUMAN),
    44: ("ArchiveMismatchError", "the archive belongs to another database system", "check the stanza", HUMAN),
    45: ("ArchiveDuplicateError", "a WAL segment was already archived with other contents", "check the stanza", HUMAN),
    46: ("VersionNotSupportedError", "the PostgreSQL version is not supported", "use a supported version", HUMAN),
    47: ("PathCreateError", "a directory could not be created", "check the volume and permissions", HUMAN),
    48: ("CommandInvalidError", "the command is not valid", "report it: the service built a bad command", HUMAN),
    49: ("HostConnectError", "a pgBackRest server could not be reached", "retry when the pod is ready", RETRY),
    50: ("LockAcquireError", "another pgBackRest command holds the stanza's lock", "retry when it ends", RETRY),
    51: ("BackupMismatchError", "the backup does not match the database", "check the stanza", HUMAN),
    52: ("FileSyncError", "a file could not be synced", "check the volume", HUMAN),
    53: ("PathOpenError", "a directory could not be opened", "check the volume and permissions", HUMAN),
    54: ("PathSyncError", "a directory could not be synced", "check the volume", HUMAN),
    55: ("FileMissingError", "a file is missing (a WAL segment, an info file)", "check the repository", HUMAN),
    56: ("DbConnectError", "PostgreSQL could not be reached", "retry when the database is ready", RETRY),
    57: ("DbQueryError", "a query to PostgreSQL failed", "check the database's log", HUMAN),
    58: ("DbMismatchError", "the database does not match the stanza", "check the stanza", HUMAN),
    60: ("FileRemoveError", "a file could not be removed", "check the volume and permissions", HUMAN),
    61: ("PathRemoveError", "a directory could not be removed", "check the volume and permissions", HUMAN),
    62: ("StopError", "pgBackRest is stopped for this stanza", "run `pgbackrest start` when intended", HUMAN),
    63: ("TermError", "pgBackRest was terminated by a signal", "retry", RETRY),
    64: ("FileWriteError", "a file could not be written (a full volume?)", "check the volume's space", HUMAN),
    67: ("FeatureNotSupportedError", "the feature is not supported here", "change the request", FIX),
    68: ("ArchiveCommandInvalidError", "archive_command does not call pgBackRest", "fix the primary's settings", HUMAN),
    69: ("LinkExpectedError", "a symlink was expected", "check PGDATA", HUMAN),
    70: ("LinkDestinationError", "a symlink points to a bad place", "check PGDATA", HUMAN),
    72: ("HostInvalidError", "the command must run on another host", "report it: wrong pod for the command", HUMAN),
    73: ("PathMissingError", "a directory is missing", "check the volume", HUMAN),
    74: ("FileMoveError", "a file could not be moved", "check the volume", HUMAN),
    75: ("BackupSetInvalidError", "the backup set does not exist or cannot be used", "choose a listed set", FIX),
    76: ("TablespaceMapError", "a tablespace mapping is invalid", "fix the request", FIX),
    78: ("LinkMapError", "a link mapping is invalid", "fix the request", FIX),
    79: ("FileCloseError", "a file could not be closed", "check the volume", HUMAN),
    80: ("DbMissingError", "a database named for restore is not in the backup", "fix --db-include/--db-exclude", FIX),
    81: ("DbInvalidError", "a database cannot be used this way", "fix the request", FIX),
    82: ("ArchiveTimeoutError", "WAL did not reach the repository in time", "retry; check archive-push", RETRY),
    83: ("FileModeError", "a file has the wrong mode (a key readable by others?)", "fix the Secret's mode", HUMAN),
    87: ("ArchiveDisabledError", "archive_mode is off on the primary", "turn archiving on", HUMAN),
    88: ("FileOwnerError", "a file has the wrong owner", "run pgBackRest as the PostgreSQL user", HUMAN),
    89: ("UserMissingError", "the OS user does not exist", "add the user to the pod", HUMAN),
    93: ("FileExistsError", "a file exists that must not", "check the volume", HUMAN),
    94: ("MemoryError", "out of memory", "give the pod more memory", HUMAN),
    95: ("CryptoError", "TLS or encryption failed (e.g. unable to verify certificate)", "check the CA and certs",
         HUMAN),
    96: ("ParamInvalidError", "a command parameter is invalid", "report it: the service built a bad command", HUMAN),
    97: ("PathCloseError", "a directory could not be closed", "check the volume", HUMAN),
    98: ("FileInfoError", "a file's information could not be read", "check the volume", HUMAN),
    99: ("JsonFormatError", "invalid JSON", "report it with the output", HUMAN),
    100: ("KernelError", "the kernel refused an operation", "check the node", HUMAN),
    101: ("ServiceError", "a remote service (e.g. S3) answered with an error", "retry; check the service", RETRY),
    102: ("ExecuteError", "a program could not be run", "check the image", HUMAN),
    103: ("RepoInvalidError", "no valid repository: the stanza is missing or unreadable", "run stanza-create", HUMAN),
    104: ("CommandError", "the command met one or more errors", "read the messages above it", HUMAN),
    105: ("AccessError", "access denied (e.g. S3 credentials)", "check the keys and bucket policy", HUMAN),
    106: ("ClockError", "unexpected clock skew or time zone change", "check the nodes' clocks", HUMAN),
    122: ("RuntimeError", "an error from the C runtime", "report it with the log", HUMAN),
    124: ("UnhandledError", "an error pgBackRest did not handle (a bug)", "report it with the log", HUMAN),
    125: ("UnknownError", "an error without a code, e.g. from a program it ran", "read the message", HUMAN),
}

_LINE = re.compile(r"^(?:\S+ \S+ P\d+\s+)?(?:ERROR|ASSERT): \[(\d{3})\]: (.*)$")
_MESSAGE_MAX = 4000


class ParsedError(NamedTuple):
    code: int
    name: str
    message: str


class PgBackRestError(Exception):
    """A pgBackRest command failed: `.code` (its exit code), `.name`, `.message`, and `.meaning`/`.todo`.

    Subclasses say what the service does about it; `.action` is their one-word form.
    """

    action = HUMAN

    def __init__(self, code: int, message: str = "") -> None:
        name, meaning, todo, _ = CODES.get(code, (f"Error{code}", "an error pgBackRest 2.45 does not define",
                                                  "read the message", HUMAN))
        super().__init__(f"[{code:03d}] {name}: {message}" if message else f"[{code:03d}] {name}")
        self.code, self.name, self.message, self.meaning, self.todo = code, name, message, meaning, todo

    def to_json(self) -> dict:
        """The task record's `error`: code, name, message, meaning, what to do, and the action class."""
        return {"code": self.code, "name": self.name, "message": self.message, "meaning": self.meaning,
                "todo": self.todo, "action": self.action}


class RetryLater(PgBackRestError):
    """Transient: the same command may succeed later (lock held, pod or database not ready, timeout)."""

    action = RETRY


class FixRequest(PgBackRestError):
    """The request was wrong (option, value, backup set, target); retrying the same request fails again."""

    action = FIX


class CallHuman(PgBackRestError):
    """The cluster, its configuration or its repository needs someone: TLS, permissions, corruption, bugs."""

    action = HUMAN


_CLASSES = {RETRY: RetryLater, FIX: FixRequest, HUMAN: CallHuman}


def parse_error(output: str) -> ParsedError | None:
    """The first `ERROR: [NNN]: …` of pgBackRest's stderr or log (with its indented HINT lines), else None."""
    lines = output.splitlines()
    for index, line in enumerate(lines):
        match = _LINE.match(line)
        if not match:
            continue
        parts = [match.group(2).strip()]
        for more in lines[index + 1:]:
            if not more[:1].isspace() or not more.strip():
                break
            parts.append(more.strip())
        code = int(match.group(1))
        name = CODES[code][0] if code in CODES else f"Error{code}"
        return ParsedError(code, name, "\n".join(parts)[:_MESSAGE_MAX])
    return None


def error_named(name: str, message: str = "") -> PgBackRestError:
    """The error for a pgBackRest error name (`CryptoError`), as info prints a repo's failure; unknown: 125."""
    code = next((c for c, row in CODES.items() if row[0] == name), 125)
    return _CLASSES[CODES[code][3]](code, message)


def error_for(exit_code: int, output: str = "") -> PgBackRestError | None:
    """The error a finished command stands for: None for exit 0, else the right subclass.

    The code comes from the first ERROR line when there is one (it is also the exit code),
    else from the exit code itself (a killed process, a shell's 127…).
    """
    if exit_code == 0:
        return None
    parsed = parse_error(output)
    code = parsed.code if parsed else exit_code
    cls = _CLASSES[CODES[code][3]] if code in CODES else CallHuman
    return cls(code, parsed.message if parsed else output.strip()[-_MESSAGE_MAX:])
