"""`brq` through click's CliRunner against the real API served over HTTP (werkzeug, a thread) on a real Redis.

No worker runs: tasks stay PENDING unless a test moves them through `TaskStore`, as a worker would.
`Served.seen` lists the paths the API has finished answering, so a test can act between two polls.
"""
from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.request
from dataclasses import dataclass, field

import pytest
from click.testing import CliRunner, Result
from werkzeug.serving import WSGIRequestHandler, make_server

from app import create_app
from cli.main import brq as brq_group
from tasks.runtime import Runtime
from tasks.state.clusters import READY, ClusterRecord
from tests.support.conf import environ, make_conf, settings_for
from tests.support.s3 import make_ca_and_cert


class QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args) -> None:  # noqa: A002 - werkzeug's signature
        pass


@dataclass
class Served:
    """The API at `url`, its runtime `rt`, the tokens by name, and the paths answered so far."""

    url: str
    rt: Runtime
    tokens: dict[str, str]
    seen: list[str] = field(default_factory=list)
    ca_file: str | None = None

    def get(self, path: str, token: str = "admin") -> dict:
        """GET a path directly (not through brq), as JSON."""
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {self.tokens[token]}"})
        context = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return json.loads(response.read())

    def wait_seen(self, path: str, times: int = 1, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.seen.count(path) < times:
            assert time.monotonic() < deadline, f"{path} was not requested {times} times: {self.seen}"
            time.sleep(0.01)


@pytest.fixture
def tokens(tmp_path):
    return make_conf(str(tmp_path / "conf"))


@pytest.fixture
def rt(tmp_path, tokens, redis_client, redis_server):
    settings = settings_for(str(tmp_path / "conf"), environ(redis_server.url, extra={
        "BRQ_S3_BUCKET": "b-test", "BRQ_S3_ENDPOINT": "localhost:9443", "BRQ_STORAGE_TYPE": "local"}))
    runtime = Runtime.from_settings(settings)
    yield runtime
    runtime.redis.close()


def _serve(rt: Runtime, tokens: dict[str, str], ssl_context=None, ca_file: str | None = None):
    app = create_app(runtime=rt)
    served = Served(url="", rt=rt, tokens=tokens, ca_file=ca_file)
    inner = app.wsgi_app

    def recording(environ, start_response):
        body = inner(environ, start_response)
        served.seen.append(environ["PATH_INFO"])
        return body
    app.wsgi_app = recording
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler, ssl_context=ssl_context)
    served.url = f"{'https' if ssl_context else 'http'}://{'localhost' if ssl_context else '127.0.0.1'}:{server.port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return served, server, thread


@pytest.fixture
def api(rt, tokens):
    served, server, thread = _serve(rt, tokens)
    yield served
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def tls_api(rt, tokens, tmp_path):
    ca, cert, key = make_ca_and_cert(str(tmp_path / "tls"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    served, server, thread = _serve(rt, tokens, ssl_context=context, ca_file=ca)
    yield served
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def clusters(rt):
    """Ready clusters in demo: c1 (local) and both (local,s3)."""
    rt.clusters.create(ClusterRecord(name="c1", namespace="demo", storage_types=["local"], status=READY))
    rt.clusters.create(ClusterRecord(name="both", namespace="demo", storage_types=["local", "s3"], status=READY))


@pytest.fixture
def brq(api):
    """brq("backup", "c1") runs the CLI as the operator token, BRQ_URL pointing at the served API (`input`: stdin)."""
    def run(*args: str, token: str | None = "operator", url: str | None = None, env: dict | None = None,
            input: str | None = None) -> Result:  # noqa: A002 - CliRunner's name
        base = {"BRQ_URL": url or api.url, "BRQ_TOKEN": api.tokens[token] if token else None,
                "BRQ_NAMESPACE": None, "BRQ_CA_FILE": None, "BRQ_TIMEOUT": None}
        return CliRunner(env={**base, **(env or {})}).invoke(brq_group, list(args), input=input,
                                                             catch_exceptions=False)
    return run
