"""API bearer tokens: stored hashed with their roles and namespaces, checked in constant time.

The tokens file (`API.TokensFile`, `conf/tokens.yaml`; `.json` files are read as JSON, the form a
Kubernetes Secret mounted as a file carries):

    tokens:
      - name: ci                    # who: audit logs and answers show this, never the token
        hash: sha256:<64 hex>       # sha256 (or sha512) of the token; the token itself is never stored
        roles: [CreateBackup, ShowBackup, ShowTask]   # PGO v4 permission names, or ["*"] for all
        namespaces: [demo]          # or ["*"] for every namespace the service manages

Add a token (printed once, on stdout; the file gets its hash):
    python -m tasks.auth_tokens add --name ci --roles CreateBackup,ShowTask --namespaces demo [--file PATH]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import secrets
import sys
import tempfile
from dataclasses import dataclass, field
from hmac import compare_digest
from typing import Iterable, Literal, Mapping, Sequence

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from tasks.settings import Secret, SettingsError, load_settings_from_environ, read_config_file, validation_problems

ROLES = ("CreateCluster", "DeleteCluster", "CreateBackup", "ShowBackup", "Restore", "CreateSchedule",
         "ShowSchedule", "DeleteSchedule", "ShowTask", "CancelTask")
"""PGO v4's permission names; `*` in a file grants all of them."""
ALL = "*"
HASH_ALGORITHMS = ("sha256", "sha512")
TOKEN_PREFIX = "brq_"  # makes leaked tokens easy to find (secret scanners, the secret-leak tests)

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,62}\Z")  # \Z: Regexp validators match()
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_HASH = re.compile(r"(?P<algorithm>sha256|sha512):(?P<hex>[0-9a-f]+)")


@dataclass(frozen=True)
class Principal:
    """Who a token belongs to and what it may do. Holds no token."""

    name: str
    """The token's name (audit logs, answers)."""
    roles: frozenset[str]
    """PGO v4 permission names this token has (`*` in the file is expanded to all of `ROLES`)."""
    namespaces: frozenset[str] | Literal["*"]
    """Namespaces it may act in, or `*` for every namespace the service manages."""

    def can(self, role: str, namespace: str) -> bool:
        """True if the token has `role` in `namespace`; ValueError for a role that is not in `ROLES`."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        return role in self.roles and (self.namespaces == ALL or namespace in self.namespaces)

    def __repr__(self) -> str:
        namespaces = "'*'" if self.namespaces == ALL else sorted(self.namespaces)
        return f"Principal(name={self.name!r}, roles={sorted(self.roles)}, namespaces={namespaces})"


@dataclass(frozen=True)
class TokenEntry:
    """One stored token: its principal and the digest of the token."""

    principal: Principal
    algorithm: str
    """`sha256` or `sha512`."""
    digest: bytes = field(repr=False)
    """The hash of the token (the token itself is never stored)."""


class TokenStore:
    """The tokens of one file; `authenticate` finds a token's principal comparing every digest."""

    def __init__(self, entries: Sequence[TokenEntry], source: str):
        self.entries = tuple(entries)
        self.source = source
        self._algorithms = frozenset(entry.algorithm for entry in self.entries)

    def authenticate(self, token: str | Secret | None) -> Principal | None:
        """The principal whose token this is, or None. Compares against every entry in constant time:
        no early exit, neither at the first differing byte nor at the first matching entry."""
        value = token.reveal() if isinstance(token, Secret) else token
        if not value or not isinstance(value, str):
            return None
        presented = {algorithm: hashlib.new(algorithm, value.encode()).digest() for algorithm in self._algorithms}
        found = None
        for entry in self.entries:
            if compare_digest(entry.digest, presented[entry.algorithm]) and found is None:
                found = entry.principal
        return found

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        return f"TokenStore({self.source!r}, names={[entry.principal.name for entry in self.entries]})"


def hash_token(token: str, algorithm: str = "sha256") -> str:
    """The stored form of a token: `sha256:<hex>`."""
    return f"{algorithm}:{hashlib.new(algorithm, token.encode()).hexdigest()}"


def new_token() -> Secret:
    """A fresh random token (256 bits), `brq_` + URL-safe base64."""
    return Secret(TOKEN_PREFIX + secrets.token_urlsafe(32))


# --- the file ---------------------------------------------------------------------------------------


def _names_list(allowed: Iterable[str] | None, item: re.Pattern, what: str):
    def check(values: list[str]) -> None:
        if ALL in values and len(values) > 1:
            raise ValidationError("'*' must be the only entry")
        bad = [value for value in values if value != ALL and not (
            value in allowed if allowed is not None else item.fullmatch(value))]
        if bad:
            raise ValidationError(f"unknown {what} {bad[0]!r}; must be one of: {', '.join(allowed)}, *"
                                  if allowed is not None else f"not a namespace name: {bad[0]!r}")
    return check


class _EntrySchema(Schema):
    error_messages = {"unknown": "unknown key", "type": "must be a mapping"}
    _errors = {"required": "is required", "invalid": "must be a string", "null": "is required"}
    name = fields.String(required=True, error_messages=_errors, validate=validate.Regexp(
        _NAME, error="must be 1-63 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"))
    hash = fields.String(required=True, error_messages=_errors)
    roles = fields.List(fields.String(error_messages=_errors), required=True,
                        error_messages={**_errors, "invalid": "must be a list"},
                        validate=_names_list(ROLES, _NAME, "role"))
    namespaces = fields.List(fields.String(error_messages=_errors), required=True,
                             error_messages={**_errors, "invalid": "must be a list"},
                             validate=_names_list(None, _NAMESPACE, "namespace"))

    @validates_schema
    def _both_or_neither(self, data, **kwargs):
        """Roles in namespaces; or neither: a probe token, good for `/readyz` and nothing of any namespace."""
        roles, namespaces = data.get("roles"), data.get("namespaces")
        if roles is None or namespaces is None:
            return
        if roles and not namespaces:
            raise ValidationError("must name at least one namespace (or give no roles: a probe token)", "namespaces")
        if namespaces and not roles:
            raise ValidationError("must name at least one role (or no namespaces: a probe token)", "roles")

    @validates_schema
    def _hash_format(self, data, **kwargs):
        match = _HASH.fullmatch(data.get("hash", ""))
        size = hashlib.new(match["algorithm"]).digest_size * 2 if match else 0
        if not match or len(match["hex"]) != size:
            raise ValidationError("must be sha256:<64 hex digits> or sha512:<128 hex digits>", "hash")


class _FileSchema(Schema):
    error_messages = {"unknown": "unknown key", "type": "must be a mapping"}
    tokens = fields.List(fields.Nested(_EntrySchema), required=True, error_messages={
        "required": "is required", "invalid": "must be a list", "null": "must be a list"})


def parse_tokens(data: Mapping, source: str) -> TokenStore:
    """A TokenStore from a tokens document already parsed (YAML or JSON); SettingsError naming the fault."""
    try:
        loaded = _FileSchema().load(data)
    except ValidationError as error:
        raise SettingsError(validation_problems(source, error)) from None
    entries, problems, seen_names, seen_hashes = [], [], {}, {}
    for index, item in enumerate(loaded["tokens"]):
        if item["name"] in seen_names:
            first = seen_names[item["name"]]
            problems.append(f"{source}: tokens[{index}].name: {item['name']!r} is already tokens[{first}]")
        if item["hash"] in seen_hashes:
            problems.append(f"{source}: tokens[{index}].hash: same token as tokens[{seen_hashes[item['hash']]}]")
        seen_names.setdefault(item["name"], index)
        seen_hashes.setdefault(item["hash"], index)
        algorithm, _, hexdigest = item["hash"].partition(":")
        namespaces = ALL if item["namespaces"] == [ALL] else frozenset(item["namespaces"])
        roles = frozenset(ROLES) if item["roles"] == [ALL] else frozenset(item["roles"])
        entries.append(TokenEntry(Principal(item["name"], roles, namespaces), algorithm, bytes.fromhex(hexdigest)))
    if problems:
        raise SettingsError(problems)
    return TokenStore(entries, source)


def load_tokens(path: str) -> TokenStore:
    """The tokens file at `path` (`.json`: JSON, else YAML); SettingsError naming the file, key and reason."""
    return parse_tokens(read_config_file(path), path)


def render_tokens_file(entries: Sequence[Mapping], header: str = "", json_form: bool = False) -> str:
    """The text of a tokens file (deterministic: one entry per block, keys in a fixed order)."""
    ordered = [{key: entry[key] for key in ("name", "hash", "roles", "namespaces")} for entry in entries]
    if json_form:
        return json.dumps({"tokens": ordered}, indent=2) + "\n"
    lines = ["tokens:" if ordered else "tokens: []"]
    for entry in ordered:
        lines.append(f"  - name: {json.dumps(entry['name'])}")
        lines += [f"    {key}: {json.dumps(entry[key])}" for key in ("hash", "roles", "namespaces")]
    return header + "\n".join(lines) + "\n"


def add_token(path: str, name: str, roles: Sequence[str], namespaces: Sequence[str]) -> Secret:
    """Add a new random token to the file at `path` (created if absent) and return it: the only time it is seen.
    The file keeps its leading comment lines and other entries; it is replaced atomically, mode 0600 when new."""
    header, existing = "", []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        for line in text.splitlines(keepends=True):
            if line.strip() and not line.lstrip().startswith("#"):
                break
            header += line
        load_tokens(path)  # refuse to rewrite a file that is not valid
        existing = list(read_config_file(path).get("tokens") or [])
    token = new_token()
    entry = {"name": name, "hash": hash_token(token.reveal()), "roles": list(roles), "namespaces": list(namespaces)}
    try:
        _EntrySchema().load(entry)
    except ValidationError as error:
        raise SettingsError(validation_problems("new token", error)) from None
    parse_tokens({"tokens": existing + [entry]}, path)  # its name must be new
    text = render_tokens_file(existing + [entry], header, json_form=path.endswith(".json"))
    mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o600
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".tokens-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return token


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    """`python -m tasks.auth_tokens add …`: prints the new token on stdout, everything else on stderr."""
    parser = argparse.ArgumentParser(prog="python -m tasks.auth_tokens", description="Manage API bearer tokens.")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add a token; prints it once")
    add.add_argument("--name", required=True, help="who the token is for (shown in audit logs)")
    add.add_argument("--roles", required=True, help=f"comma-separated: {', '.join(ROLES)}, or *")
    add.add_argument("--namespaces", required=True, help="comma-separated namespaces, or *")
    add.add_argument("--file", help="tokens file (default: API.TokensFile of the settings, BRQ_TOKENS_FILE)")
    args = parser.parse_args(argv)
    try:
        path = args.file or load_settings_from_environ(environ).api.tokens_file
        split = lambda text: [part.strip() for part in text.split(",") if part.strip()]  # noqa: E731
        token = add_token(path, args.name, split(args.roles), split(args.namespaces))
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"added token {args.name!r} to {path}; it is shown only this once:", file=sys.stderr)
    print(token.reveal())
    return 0


if __name__ == "__main__":
    sys.exit(main())
