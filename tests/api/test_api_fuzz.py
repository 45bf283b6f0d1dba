"""Fuzz every operation of the OpenAPI document with schemathesis, in process (WSGI) on a real Redis.

Every generated request — valid ones and schema-violating ones (schemathesis' positive and negative modes, its
coverage cases, unsupported methods, a missing token) — must get:

- no 5xx;
- an answer the document promises: a status code listed for the operation, a body that matches that
  response's schema (every error is `{"error": {"code", "reason", "message", "field"?, "fields"?,
  "details"?}}`), the documented content type; and a request that breaks the schema is refused (4xx);
- nothing created by a refused request: for a 4xx the Redis keyspace (every key, and a digest of its value)
  is the same after it as before, idempotency records (`brq:idem:*`, kept for refused requests too) aside.

Each case starts from the same seeded Redis (emptied, then restored): namespace `demo` with ready clusters
`c1` (local) and `both` (local,s3), `busy` (a running backup holds its lock) and `young` (still being
created), the schedule `nightly` of c1, a restore of `both` left paused at its target (so `resume` answers
202), a running backup in namespace `other` (so `DELETE /tasks/{id}` does).  Path parameters and body
fields are often swapped for those names and for valid crons, time zones, options and targets, so requests
reach the views' own checks rather than stopping at a 404.  No worker runs: Celery messages stay in Redis,
and a view's wait for a worker (`wait=`) is cut to nothing.

`test_fuzz_admin` sends everything with the admin token (every role, every namespace);
`test_fuzz_probe` with the probe token (no role, no namespace): only refusals, none of them a 5xx, none
changing anything.

The CI run (`make test`) is bounded: BRQ_FUZZ_EXAMPLES generated cases per operation and per token (default
50), on top of schemathesis' fixed examples and coverage cases: about 3,200 requests in all, about a minute,
the same cases every run (Hypothesis derandomized, so a failure in CI fails the same way locally).  A long
run, with fresh cases each time (2000: about 70,000 requests, half an hour):

    BRQ_FUZZ_EXAMPLES=2000 BRQ_FUZZ_SEED=$RANDOM .venv/bin/python -m pytest -q -p no:cacheprovider \\
        tests/api/test_api_fuzz.py

A failure prints the request as a curl command (and BRQ_FUZZ_SEED=N replays a seeded run).
"""
from __future__ import annotations

import copy
import hashlib
import os
import random

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (allow_header_conformance, content_type_conformance,
                                               missing_required_header, negative_data_rejection,
                                               response_headers_conformance, response_schema_conformance,
                                               status_code_conformance, unsupported_method)

from app import create_app, openapi_document
from app import restores as restores_view
from tasks.schedules.store import Schedule, ScheduleStore
from tasks.state.clusters import CREATING, READY, ClusterRecord
from tasks.state.records import RUNNING, SUCCESS, TaskRecord, TaskStore

EXAMPLES = int(os.environ.get("BRQ_FUZZ_EXAMPLES", "50"))
SEED = os.environ.get("BRQ_FUZZ_SEED")

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection, missing_required_header, unsupported_method,
          allow_header_conformance]
# Not run: positive_data_acceptance.  A request the schema allows may still be refused for what a schema
# cannot say (an option outside pgBackRest's allowlist, a storage type the cluster lacks, a busy cluster, a
# cron that does not parse); those refusals are what this test wants answered with a documented 4xx.

BOOKKEEPING = (b"brq:idem:",)

PAUSED_RESTORE = "t-restore-paused"
RUNNING_BACKUP = "t-backup-running"
BUSY_BACKUP = "t-backup-busy"

# path parameter → values the seeded state knows (repeats weigh the draw); the generated value stays a choice
PATH_KNOWN = {
    "ns": ["demo", "demo", "demo", "other"],
    "cluster": ["c1", "both", "both", "busy", "young", "gone"],
    "schedule": ["nightly", "nightly", "gone"],
    "task_id": [PAUSED_RESTORE, PAUSED_RESTORE, RUNNING_BACKUP, BUSY_BACKUP],
}
# body field → values that pass the views' own checks (or fail them in an interesting way)
BODY_KNOWN = {
    "cluster": ["c1", "both", "busy", "gone"],
    "name/clusters": ["new-1", "c1"],
    "name/schedules": ["n-1", "nightly"],
    "schedule": ["0 1 * * *", "*/15 * * * *", "30 0 1 * * *", "61 * * * *"],
    "timezone": ["UTC", "Europe/Paris", "Mars/Olympus"],
    "storage_type": ["local", "s3", "local,s3"],
    "pgbackrest_storage_type": ["local", "local,s3"],
    "options": [[], ["--start-fast"], ["--annotation=reason=fuzz"], ["--repo1-path=/x"]],
    "target": [{"type": "latest"}, {"type": "time", "value": "2026-01-01 00:00:00+00"},
               {"type": "name", "value": "before-upgrade"}, {"type": "xid", "value": "1234"}],
    "set": ["20260101-000000F"],
    "node_label": ["kubernetes.io/hostname=node-1"],
    "retention": [{"local": {"full": 2}}, {"local": {"full": 7, "full_type": "time", "archive": 2,
                                                     "archive_type": "full"}}, {"s3": {"full": 3}},
                  {"local": None}, {"local": {"full": 0}}],
}

DOC = openapi_document()


def seed_state(rt) -> None:
    rt.redis.flushdb()
    rt.clusters.create(ClusterRecord(name="c1", namespace="demo", storage_types=["local"], status=READY))
    rt.clusters.create(ClusterRecord(name="both", namespace="demo", storage_types=["local", "s3"], status=READY))
    rt.clusters.create(ClusterRecord(name="busy", namespace="demo", storage_types=["local"], status=READY))
    rt.clusters.create(ClusterRecord(name="young", namespace="demo", storage_types=["local"], status=CREATING))
    rt.clusters.create(ClusterRecord(name="x", namespace="other", storage_types=["local"], status=READY))
    ScheduleStore(rt.redis).create(Schedule(name="nightly", namespace="demo", cluster="c1", cron="0 1 * * *"))
    rt.tasks.create(TaskRecord(id=PAUSED_RESTORE, kind="restore", namespace="demo", cluster="both", state=SUCCESS,
                               phase="done", result={"paused": True}), lock=False)
    rt.tasks.create(TaskRecord(id=RUNNING_BACKUP, kind="backup", namespace="other", cluster="x", state=RUNNING,
                               phase="backup"))
    rt.tasks.create(TaskRecord(id=BUSY_BACKUP, kind="backup", namespace="demo", cluster="busy", state=RUNNING,
                               phase="backup"))  # holds busy's lock


class Seeded:
    """The seeded keyspace, dumped once per test; `restore()` puts it back before each case in one round trip."""

    def __init__(self, r):
        self.r = r
        names = sorted(r.scan_iter(count=1000))
        with r.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.pttl(name)
                pipe.dump(name)
            got = pipe.execute()
        self.keys = [(name, max(ttl, 0), dump) for name, ttl, dump in zip(names, got[::2], got[1::2])]
        self.digests = keyspace(r)

    def restore(self) -> None:
        with self.r.pipeline(transaction=True) as pipe:
            pipe.flushdb()
            for name, ttl, dump in self.keys:
                pipe.restore(name, ttl, dump)
            pipe.execute()


READ = {b"string": lambda p, k: p.get(k), b"hash": lambda p, k: p.hgetall(k), b"set": lambda p, k: p.smembers(k),
        b"zset": lambda p, k: p.zrange(k, 0, -1, withscores=True), b"list": lambda p, k: p.lrange(k, 0, -1)}


def keyspace(r) -> dict[bytes, str]:
    """Every key but bookkeeping ones → a digest of its type and content (hashes and sets in sorted order: DUMP
    would give other bytes for the same hash after a RESTORE)."""
    names = sorted(k for k in r.scan_iter(count=1000) if not k.startswith(BOOKKEEPING))
    with r.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.type(name)
        types = pipe.execute()
        for name, type_ in zip(names, types):
            READ.get(type_, lambda p, k: p.dump(k))(pipe, name)
        values = pipe.execute()
    out = {}
    for name, type_, value in zip(names, types, values):
        if isinstance(value, (dict, set)):
            value = sorted(value.items() if isinstance(value, dict) else value)
        out[name] = hashlib.sha256(repr((type_, value)).encode()).hexdigest()
    return out


def steer(case) -> None:
    """Swap some path parameters and body fields for names and values the seeded state knows, so requests reach
    the views' own checks instead of stopping at a 404.  The choice is a function of the generated case (the
    same case is steered the same way every run); schemathesis revalidates a changed case, so one that became
    valid is no longer held to be refused."""
    rng = random.Random(hashlib.sha256(repr((case.method, case.operation.path, case.path_parameters, case.query,
                                             case.body)).encode()).digest())
    path = case.operation.path
    if case.path_parameters:
        params = dict(case.path_parameters)
        for key in params:
            known = PATH_KNOWN.get(("schedule" if "/schedules/" in path else "cluster") if key == "name" else key)
            if known and rng.random() < 0.8:
                params[key] = rng.choice(known)
        case.path_parameters = params
    if isinstance(case.body, dict):
        resource = path.rsplit("/", 1)[-1]
        body = dict(case.body)
        for key in body:
            known = BODY_KNOWN.get(f"{key}/{resource}", BODY_KNOWN.get(key))
            if known and rng.random() < 0.8:
                body[key] = copy.deepcopy(rng.choice(known))
        case.body = body


schema = schemathesis.openapi.from_dict(DOC)


def fuzz_settings(test):
    test = settings(max_examples=EXAMPLES, deadline=None, derandomize=SEED is None, database=None,
                    suppress_health_check=list(HealthCheck),
                    phases=[Phase.explicit, Phase.generate, Phase.shrink])(test)
    return hypothesis.seed(int(SEED))(test) if SEED is not None else test


@pytest.fixture
def fuzz_app(rt, monkeypatch):
    # no worker runs: waiting for one would only make each case that asks for it `wait` seconds long
    wait_finished = TaskStore.wait_finished
    monkeypatch.setattr(TaskStore, "wait_finished", lambda self, task_id, timeout: wait_finished(self, task_id, 0))
    past_preflight = restores_view._wait_past_preflight
    monkeypatch.setattr(restores_view, "_wait_past_preflight", lambda task_id, seconds: past_preflight(task_id, 0))
    app = create_app(runtime=rt)
    app.testing = True
    return app


@pytest.fixture
def seeded(rt):
    seed_state(rt)
    return Seeded(rt.redis)


class Bearer:
    """schemathesis auth provider: a token on every case but those that test a missing or broken `Authorization`
    (schemathesis leaves those alone).  Cases are built at collection too, before a test's conf (and its
    tokens) exists: the header names the token, `_call` puts the token in."""
    name = ""

    def get(self, case, context):
        return f"<{self.name}>"

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


class AdminBearer(Bearer):
    name = "admin"


class ProbeBearer(Bearer):
    name = "probe"


def _call(case, app, rt, tokens, seeded):
    steer(case)
    for name in (AdminBearer.name, ProbeBearer.name):
        if case.headers and case.headers.get("Authorization") == f"Bearer <{name}>":
            case.headers["Authorization"] = f"Bearer {tokens[name]}"
    seeded.restore()
    response = case.call(app=app)
    after, before = keyspace(rt.redis), seeded.digests
    case.validate_response(response, checks=CHECKS)
    changed = sorted(key for key in set(before) | set(after) if before.get(key) != after.get(key))
    return response, changed


@schema.auth.apply(AdminBearer, refresh_interval=None)
@schema.parametrize()
@fuzz_settings
def test_fuzz_admin(case, fuzz_app, rt, tokens, seeded):
    response, changed = _call(case, fuzz_app, rt, tokens, seeded)
    if 400 <= response.status_code < 500:
        assert not changed, f"{case.method} {case.formatted_path} answered {response.status_code} and changed {changed}"


@schema.auth.apply(ProbeBearer, refresh_interval=None)
@schema.parametrize()
@fuzz_settings
def test_fuzz_probe(case, fuzz_app, rt, tokens, seeded):
    response, changed = _call(case, fuzz_app, rt, tokens, seeded)
    if case.method != "OPTIONS":  # Flask's automatic answer: the allowed methods, nothing else
        assert 400 <= response.status_code < 500, (case.method, case.formatted_path, response.status_code)
    assert not changed, f"{case.method} {case.formatted_path} answered {response.status_code} and changed {changed}"
