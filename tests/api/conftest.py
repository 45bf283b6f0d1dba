"""The API through Flask's test client, on a real Redis; Celery messages land in Redis, no worker runs."""
from __future__ import annotations

import pytest

from app import create_app
from tasks.runtime import Runtime
from tests.support.conf import environ, make_conf, settings_for


@pytest.fixture
def tokens(tmp_path):
    return make_conf(str(tmp_path / "conf"))


@pytest.fixture
def settings(tmp_path, tokens, redis_server):
    return settings_for(str(tmp_path / "conf"), environ(redis_server.url, extra={"BRQ_S3_BUCKET": "b-test",
                        "BRQ_S3_ENDPOINT": "localhost:9443", "BRQ_STORAGE_TYPE": "local"}))


@pytest.fixture
def rt(settings, redis_client):
    runtime = Runtime.from_settings(settings)
    yield runtime
    runtime.redis.close()


@pytest.fixture
def client(rt):
    app = create_app(runtime=rt)
    app.testing = True
    with app.test_client() as c:
        yield c


@pytest.fixture
def as_(client, tokens):
    """as_("operator").post(...): requests with that token."""
    class Caller:
        def __init__(self, token: str):
            self.headers = {"Authorization": f"Bearer {token}"}

        def __getattr__(self, method):
            def call(path, **kw):
                headers = {**self.headers, **kw.pop("headers", {})}
                return getattr(client, method)(path, headers=headers, **kw)
            return call
    return lambda name: Caller(tokens[name])
