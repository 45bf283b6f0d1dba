"""marshmallow schemas: they validate requests and, through flask-smorest, are the OpenAPI document."""
from __future__ import annotations

import re

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, pre_load, validate, validates

from tasks.pgbackrest.commands import STORAGE_TYPES
from tasks.state.records import KINDS, STATES

DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?\Z")
MAX_CLUSTER_NAME = 42  # `<name>-backrest-shared-repo` must stay a 63-character DNS label
MAX_OPTIONS = 32


def _storage_type(value: str) -> None:
    parts = value.split(",") if isinstance(value, str) else []
    if sorted(set(parts)) != sorted(parts) or not parts or not set(parts) <= {"local", "s3"}:
        raise ValidationError(f"must be one of: {', '.join(STORAGE_TYPES)}")


class Strict(Schema):
    class Meta:
        unknown = RAISE


class Query(Strict):
    """A query string's parameters: an unknown one is a 422 naming it (`@blp.arguments(S(), **QUERY)`: webargs
    drops unknown query parameters unless `unknown` is left to the schema), and so is one given twice (webargs
    would take the first and drop the rest)."""

    @pre_load
    def _each_once(self, data, **_):
        multi = getattr(data, "data", None)  # webargs' MultiDictProxy over request.args
        if hasattr(multi, "getlist"):
            repeated = {key: ["given more than once"] for key in multi
                        if key in self.fields and len(multi.getlist(key)) > 1}
            if repeated:
                raise ValidationError(repeated)
        return data


QUERY = {"location": "query", "unknown": None}


class JsonBoolean(fields.Boolean):
    """A JSON body's boolean: true or false, not 0, 1, "yes" or "on" (marshmallow's Boolean takes those)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class JsonNumber(fields.Float):
    """A JSON body's number: not a string holding one (marshmallow's Float takes "5"), nor a boolean."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid", input=value)
        return super()._deserialize(value, attr, data, **kwargs)


class ClusterCreate(Strict):
    name = fields.String(required=True, metadata={"description": "DNS label, at most 42 characters"})
    pgbackrest_storage_type = fields.String(
        load_default=None, validate=_storage_type,
        metadata={"description": "local (repo1, a PVC), s3 (repo2) or local,s3; fixed for the cluster's life. "
                                 "Default: Cluster.BackrestStorageType of pgo.yaml"})

    @validates("name")
    def _name(self, value: str, **_) -> None:
        if len(value) > MAX_CLUSTER_NAME:
            raise ValidationError(f"must be at most {MAX_CLUSTER_NAME} characters")
        if not DNS_LABEL.match(value):
            raise ValidationError("must be a DNS label: lower-case letters, digits and '-', starting with a letter")


class Cluster(Schema):
    name = fields.String()
    namespace = fields.String()
    storage_type = fields.String()
    status = fields.String(metadata={"description": "creating, ready or failed"})
    message = fields.String(allow_none=True)
    created = fields.String()
    task_id = fields.String(allow_none=True)
    last_backup = fields.Dict(metadata={"description": "per repo (local, s3): label, type, finished, task"})
    retention = fields.Dict(metadata={"description": "per repo: pgBackRest repo-retention-* set ({}: keep all)"})
    retention_task = fields.String(allow_none=True, metadata={"description": "the task that last applied it"})


class BackupCreate(Strict):
    type = fields.String(load_default=None, validate=validate.OneOf(["full", "diff", "incr"]),
                         metadata={"description": "default: `--type` in options, else incr (pgBackRest's default)"})
    storage_type = fields.String(load_default="local", validate=_storage_type)
    options = fields.List(fields.String(validate=validate.Length(max=256)), load_default=list,
                          validate=validate.Length(max=MAX_OPTIONS),
                          metadata={"description": "pgBackRest backup options from the allowlist, e.g. "
                                                   "[\"--start-fast\", \"--annotation=reason=upgrade\"]"})


class BackupQuery(Query):
    storage_type = fields.String(load_default=None, validate=_storage_type)
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "text"]))
    wait = fields.Float(load_default=5.0, validate=validate.Range(min=0, max=30),
                        metadata={"description": "seconds to wait for the catalogue before answering 202"})


class TaskQuery(Query):
    cluster = fields.String(load_default=None)
    state = fields.String(load_default=None, validate=validate.OneOf(STATES))
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class Task(Schema):
    id = fields.String()
    kind = fields.String()
    namespace = fields.String()
    cluster = fields.String(allow_none=True)
    state = fields.String(metadata={"description": "PENDING, RUNNING, SUCCESS, FAILURE or REVOKED"})
    phase = fields.String()
    progress = fields.Dict(allow_none=True)
    created = fields.String()
    started = fields.String(allow_none=True)
    finished = fields.String(allow_none=True)
    updated = fields.String(allow_none=True, metadata={"description": "the record's last change"})
    params = fields.Dict()
    result = fields.Dict(allow_none=True)
    error = fields.Dict(allow_none=True, metadata={"description": "code, name, message and what to do"})
    jobs = fields.List(fields.String())
    steps = fields.List(fields.Dict())
    origin = fields.String()
    cancel_requested = fields.Boolean()


class TaskRef(Schema):
    task_id = fields.String()
    task = fields.Nested(Task)


class TaskList(Schema):
    items = fields.List(fields.Nested(Task))


class ClusterList(Schema):
    items = fields.List(fields.Nested(Cluster))


class Catalogue(Schema):
    class Meta:
        unknown = EXCLUDE

    cluster = fields.String()
    namespace = fields.String()
    task_id = fields.String()
    format = fields.String()
    stanza = fields.String()
    status = fields.Dict()
    backup_lock = fields.Dict()
    repos = fields.Dict(metadata={"description": "per storage type: backups, WAL archive range, recovery window"})
    text = fields.String()


class ProblemDetail(Schema):
    """What went wrong (app/errors.py builds it): the status again, its name, a message, the field it is about."""
    code = fields.Integer(required=True, metadata={"description": "the HTTP status"})
    reason = fields.String(required=True, metadata={"description": "e.g. Invalid, NotFound, Conflict, AlreadyExists"})
    message = fields.String(required=True)
    field = fields.String(metadata={"description": "the field, query parameter or header it is about, e.g. "
                                                  "`options[0]`, `retention.local.full`, `Idempotency-Key`"})
    problems = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), data_key="fields",
                           metadata={"description": "every field that failed its schema, with the reasons"})
    details = fields.Dict(metadata={"description": "e.g. the task holding the cluster, a preflight's reasons"})


class Problem(Schema):
    error = fields.Nested(ProblemDetail, required=True)
