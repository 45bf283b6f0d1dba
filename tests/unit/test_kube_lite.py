"""tasks/kube/lite.py, the job-runner's client: kubeconfig and in-cluster configuration, the exec status frame,
the exec channels and the REST calls against a local aiohttp server, and the import cost it exists for."""
from __future__ import annotations

import asyncio
import base64
import datetime
import glob
import json
import os
import ssl
import subprocess
import sys
import tempfile
from urllib.parse import parse_qsl

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tasks.kube import errors, lite

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def self_signed(name: str = "test-ca") -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) of a self-signed CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


@pytest.fixture(scope="module")
def ca() -> tuple[bytes, bytes]:
    return self_signed()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def kubeconfig(cluster: dict, user: dict | None = None, *, current: str = "main", extra_contexts=()) -> dict:
    return {"apiVersion": "v1", "kind": "Config", "current-context": current,
            "clusters": [{"name": "c", "cluster": cluster}],
            "users": [{"name": "u", "user": user or {}}],
            "contexts": [{"name": "main", "context": {"cluster": "c", "user": "u", "namespace": "ns"}},
                         *extra_contexts]}


def ca_subjects(ctx: ssl.SSLContext) -> list[str]:
    return [dict(x[0] for x in c["subject"])["commonName"] for c in ctx.get_ca_certs()]


# -- kubeconfig -----------------------------------------------------------------------------------------------

def test_the_current_contexts_server_ca_data_and_token_are_read(ca):
    cfg = lite.parse_kubeconfig(kubeconfig({"server": "https://127.0.0.1:6443/",
                                            "certificate-authority-data": b64(ca[0])}, {"token": "s3cret"}))
    assert (cfg.server, cfg.token, cfg.token_file, cfg.bearer()) == ("https://127.0.0.1:6443", "s3cret", None,
                                                                     "s3cret")
    assert ca_subjects(cfg.ssl_context) == ["test-ca"]
    assert cfg.ssl_context.verify_mode == ssl.CERT_REQUIRED and cfg.ssl_context.check_hostname


def test_relative_paths_are_read_from_the_kubeconfigs_directory_and_the_token_file_wins(tmp_path, ca):
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.crt").write_bytes(ca[0])
    (tmp_path / "token").write_text("from-file\n")
    doc = kubeconfig({"server": "https://[::1]:6443", "certificate-authority": "pki/ca.crt",
                      "tls-server-name": "kubernetes.default"}, {"token": "inline", "tokenFile": "token"})
    import yaml
    (tmp_path / "config").write_text(yaml.safe_dump(doc))
    cfg = lite.load_kubeconfig(str(tmp_path / "config"))
    assert ca_subjects(cfg.ssl_context) == ["test-ca"]
    assert cfg.token_file == str(tmp_path / "token")
    assert cfg.bearer() == "from-file"
    (tmp_path / "token").write_text("rotated")
    assert cfg.bearer() == "rotated"          # read again before each request
    assert cfg.tls_server_name == "kubernetes.default"
    assert lite.load(str(tmp_path / "config")).server == "https://[::1]:6443"


def test_kubeconfig_from_the_first_file_of_the_environment_list(tmp_path, ca, monkeypatch):
    import yaml
    (tmp_path / "a").write_text(yaml.safe_dump(kubeconfig({"server": "https://a:1"}, {"token": "t"})))
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'missing'}")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")   # an explicit kubeconfig wins over in-cluster
    assert lite.load().server == "https://a:1"


def test_client_certificates_from_data_and_a_named_context(ca):
    cert, key = self_signed("client")
    other = {"name": "other", "context": {"cluster": "c", "user": "cert"}}
    doc = kubeconfig({"server": "https://h:1", "certificate-authority-data": b64(ca[0])}, current="missing",
                     extra_contexts=[other])
    doc["users"].append({"name": "cert", "user": {"client-certificate-data": b64(cert), "client-key-data": b64(key)}})
    before = set(glob.glob(os.path.join(tempfile.gettempdir(), "brq-kube-*")))
    cfg = lite.parse_kubeconfig(doc, context="other")
    assert cfg.token is None and cfg.bearer() is None
    assert ca_subjects(cfg.ssl_context) == ["test-ca"]
    # the chain was loaded (a wrong key raises: below) from files that are gone again
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "brq-kube-*"))) == before


def test_a_client_certificate_with_the_wrong_key_is_refused(ca):
    cert, _ = self_signed("client")
    _, other_key = self_signed("other")
    doc = kubeconfig({"server": "https://h:1"},
                     {"client-certificate-data": b64(cert), "client-key-data": b64(other_key)})
    with pytest.raises(lite.ConfigError, match="unusable TLS material"):
        lite.parse_kubeconfig(doc)


def test_insecure_skip_tls_verify_turns_verification_off():
    cfg = lite.parse_kubeconfig(kubeconfig({"server": "https://h:1", "insecure-skip-tls-verify": True}, {}))
    assert cfg.ssl_context.verify_mode == ssl.CERT_NONE and not cfg.ssl_context.check_hostname


@pytest.mark.parametrize("doc, message", [
    (kubeconfig({"server": "https://h:1"}, current=""), "no current-context"),
    (kubeconfig({"server": "https://h:1"}, current="nope"), "no context named 'nope'"),
    ({**kubeconfig({"server": "https://h:1"}), "clusters": []}, "no cluster named 'c'"),
    (kubeconfig({"server": "h:1"}), "has no https:// server"),
    (kubeconfig({"server": "https://h:1", "proxy-url": "http://proxy:3128"}), "proxy-url is not supported"),
    (kubeconfig({"server": "https://h:1"}, {"exec": {"command": "aws"}}), "uses exec"),
    (kubeconfig({"server": "https://h:1"}, {"auth-provider": {"name": "oidc"}}), "uses auth-provider"),
    (kubeconfig({"server": "https://h:1"}, {"username": "a", "password": "b"}), "uses username, password"),
    (kubeconfig({"server": "https://h:1"}, {"client-certificate-data": "QQ=="}), "needs both"),
    (kubeconfig({"server": "https://h:1", "certificate-authority-data": "not base64!"}), "not valid base64"),
    (kubeconfig({"server": "https://h:1", "certificate-authority-data": "QUJD"}), "unusable TLS material"),
    (kubeconfig({"server": "https://h:1", "certificate-authority": "/nonexistent/ca.crt"}), "No such file"),
    ([], "not a mapping"),
])
def test_what_the_minimal_reader_cannot_use_is_refused_with_a_reason(doc, message):
    with pytest.raises(lite.ConfigError, match=message):
        lite.parse_kubeconfig(doc)


def test_a_missing_or_unparsable_kubeconfig_file_is_a_config_error(tmp_path):
    with pytest.raises(lite.ConfigError, match="cannot read the kubeconfig"):
        lite.load_kubeconfig(str(tmp_path / "nope"))
    (tmp_path / "bad").write_text("a: [")
    with pytest.raises(lite.ConfigError, match="is not YAML"):
        lite.load_kubeconfig(str(tmp_path / "bad"))
    assert issubclass(lite.ConfigError, errors.KubeError)


# -- in-cluster -----------------------------------------------------------------------------------------------

@pytest.fixture
def sa_dir(tmp_path, ca):
    (tmp_path / "token").write_text("sa-token")
    (tmp_path / "ca.crt").write_bytes(ca[0])
    return str(tmp_path)


@pytest.mark.parametrize("host, server", [("10.96.0.1", "https://10.96.0.1:443"),
                                          ("fd00:10:96::1", "https://[fd00:10:96::1]:443"),
                                          ("[fd00::1]", "https://[fd00::1]:443")])
def test_in_cluster_server_token_and_ca(sa_dir, host, server):
    cfg = lite.incluster({"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": "443"}, sa_dir)
    assert (cfg.server, cfg.bearer()) == (server, "sa-token")
    assert ca_subjects(cfg.ssl_context) == ["test-ca"]


def test_in_cluster_without_the_environment_or_the_mount_is_a_config_error(sa_dir, tmp_path):
    with pytest.raises(lite.ConfigError, match="not in a cluster"):
        lite.incluster({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, sa_dir)
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    with pytest.raises(lite.ConfigError, match="no service account mounted"):
        lite.incluster(env, str(tmp_path / "elsewhere"))
    open(os.path.join(sa_dir, "token"), "w").close()
    with pytest.raises(lite.ConfigError, match="is empty"):
        lite.incluster(env, sa_dir)


def test_in_cluster_is_the_default_without_a_kubeconfig(sa_dir, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "6443")
    monkeypatch.setattr(lite, "SA_DIR", sa_dir)
    assert lite.load().server == "https://10.0.0.1:6443"


# -- the status frame -----------------------------------------------------------------------------------------

def failure(code: str | None, message: str = "command terminated with non-zero exit code") -> bytes:
    status = {"metadata": {}, "status": "Failure", "message": message, "reason": "NonZeroExitCode"}
    if code is not None:
        status["details"] = {"causes": [{"reason": "ExitCode", "message": code}]}
    return json.dumps(status).encode()


def test_the_status_frame_gives_the_exit_code():
    assert lite.exit_code_of(b'{"metadata": {}, "status": "Success"}') == 0
    assert lite.exit_code_of(failure("3")) == 3
    assert lite.exit_code_of(failure("137")) == 137


@pytest.mark.parametrize("frame, message", [
    (failure(None, 'exec: "pgbackrest": executable file not found in $PATH'), "executable file not found"),
    (failure("three"), "command terminated"),
    (b"{not json", "not JSON"),
    (b"[1]", "not a Status"),
])
def test_a_status_without_an_exit_code_is_an_exec_failure(frame, message):
    with pytest.raises(errors.ExecFailed, match=message):
        lite.exit_code_of(frame)


# -- the calls, against a local server ------------------------------------------------------------------------

class FakeApi:
    """A plain-HTTP stand-in for the API server: records requests, answers what a test sets."""

    def __init__(self):
        self.requests: list[tuple[str, str, dict, bytes]] = []
        self.frames: list[bytes] = []
        self.answers: list[tuple[int, dict]] = []

    async def record(self, request: web.Request) -> None:
        self.requests.append((request.method, request.raw_path, dict(request.headers), await request.read()))

    async def rest(self, request: web.Request) -> web.Response:
        await self.record(request)
        status, body = self.answers.pop(0) if self.answers else (200, {"items": []})
        return web.json_response(body, status=status)

    async def exec(self, request: web.Request) -> web.StreamResponse:
        await self.record(request)
        if request.match_info["pod"] == "missing":
            return web.json_response({"kind": "Status", "reason": "NotFound", "message": "pods missing"}, status=404)
        ws = web.WebSocketResponse(protocols=("v4.channel.k8s.io",))
        await ws.prepare(request)
        for frame in self.frames:
            await ws.send_bytes(frame)
        await ws.close()
        return ws


@pytest.fixture
async def fake():
    api = FakeApi()
    app = web.Application()
    app.router.add_route("*", "/api/v1/namespaces/{ns}/pods", api.rest)
    app.router.add_get("/api/v1/namespaces/{ns}/pods/{pod}/exec", api.exec)
    app.router.add_route("PATCH", "/apis/batch/v1/namespaces/{ns}/jobs/{name}", api.rest)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    api.config = lite.Config(server=f"http://127.0.0.1:{port}", ssl_context=ssl.create_default_context(),
                             token="tok")
    yield api
    await runner.cleanup()


async def test_exec_streams_the_channels_and_reads_the_last_status_frame(fake):
    fake.frames = [b"\x01", b"\x02", b"\x03", b"\x01out ", b"\x02err", b"\x01more", b"\x03" + failure("3")]
    seen = []
    async with lite.Client(fake.config) as kube:
        res = await kube.exec_(namespace="ns", pod="p", container="pgbackrest",
                               command=["sh", "-c", "echo 'a+b c&d;e=f' >&2; exit 3"],
                               on_output=lambda channel, data: seen.append((channel, data)))
    assert (res.exit_code, res.stdout, res.stderr, res.text) == (3, b"out more", b"err", "out more")
    assert seen == [(1, b"out "), (2, b"err"), (1, b"more")]
    method, path, headers, _ = fake.requests[0]
    assert headers["Authorization"] == "Bearer tok"
    assert headers["Sec-WebSocket-Protocol"] == "v4.channel.k8s.io"
    assert path.startswith("/api/v1/namespaces/ns/pods/p/exec?")
    assert parse_qsl(path.split("?", 1)[1]) == [
        ("command", "sh"), ("command", "-c"), ("command", "echo 'a+b c&d;e=f' >&2; exit 3"),
        ("container", "pgbackrest"), ("stdout", "true"), ("stderr", "true")]


async def test_an_exec_stream_without_a_status_frame_is_an_exec_failure(fake):
    fake.frames = [b"\x01partial", b"\x03"]
    async with lite.Client(fake.config) as kube:
        with pytest.raises(errors.ExecFailed, match="closed without a status frame"):
            await kube.exec_(namespace="ns", pod="p", container="c", command=["true"])


async def test_an_exec_past_its_timeout_is_an_exec_failure_and_a_refused_handshake_an_api_error(fake):
    async def slow(channel, data):
        await asyncio.sleep(5)
    fake.frames = [b"\x01x", b'\x03{"status": "Success"}']
    async with lite.Client(fake.config) as kube:
        with pytest.raises(errors.ExecFailed, match="did not finish within 0.2s"):
            await kube.exec_(namespace="ns", pod="p", container="c", command=["true"], timeout=0.2, on_output=slow)
        with pytest.raises(errors.NotFound, match="404"):
            await kube.exec_(namespace="ns", pod="missing", container="c", command=["true"])


async def test_list_pods_sends_the_selector_and_retries_while_the_api_is_unavailable(fake):
    fake.answers = [(503, {"message": "busy"}), (200, {"items": [{"metadata": {"name": "a"}}]})]
    async with lite.Client(fake.config) as kube:
        pods = await kube.list_pods("ns", "brq.io/cluster=c1,brq.io/role=repo-host")
    assert pods == {"items": [{"metadata": {"name": "a"}}]}
    assert len(fake.requests) == 2
    method, path, headers, _ = fake.requests[1]
    assert method == "GET" and headers["Authorization"] == "Bearer tok"
    assert path == "/api/v1/namespaces/ns/pods?labelSelector=brq.io%2Fcluster%3Dc1%2Cbrq.io%2Frole%3Drepo-host"


async def test_patch_is_a_merge_patch_of_the_annotations_and_refusals_map_into_the_error_tree(fake):
    fake.answers = [(200, {"kind": "Job"}), (403, {"reason": "Forbidden", "message": "jobs is forbidden"}),
                    (404, {"reason": "NotFound", "message": 'jobs.batch "j" not found'})]
    async with lite.Client(fake.config) as kube:
        assert await kube.patch_job_annotations("ns", "j", {"brq.io/progress": '{"percent": 5.0}'}) == {"kind": "Job"}
        with pytest.raises(errors.Forbidden, match="jobs is forbidden"):
            await kube.patch_job_annotations("ns", "j", {"a": "b"})
        with pytest.raises(errors.NotFound) as err:
            await kube.patch_job_annotations("ns", "j", {"a": "b"})
    assert (err.value.status, err.value.reason) == (404, "NotFound")
    method, path, headers, body = fake.requests[0]
    assert (method, path, headers["Content-Type"]) == ("PATCH", "/apis/batch/v1/namespaces/ns/jobs/j",
                                                       "application/merge-patch+json")
    assert json.loads(body) == {"metadata": {"annotations": {"brq.io/progress": '{"percent": 5.0}'}}}


async def test_an_unreachable_api_is_unavailable_after_the_retries(monkeypatch):
    monkeypatch.setattr("tasks.retries.backoff", lambda attempt, **kw: 0)
    cfg = lite.Config(server="http://127.0.0.1:1", ssl_context=ssl.create_default_context())
    async with lite.Client(cfg) as kube:
        with pytest.raises(errors.Unavailable, match="unreachable"):
            await kube.list_pods("ns")


# -- what it is for -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("module", ["tasks.jobrunner", "tasks.kube.lite", "tasks.pgbackrest.info"])
def test_the_job_runner_never_imports_kubernetes_asyncio(module):
    code = (f"import sys, {module}; "
            "print([m for m in sys.modules if m.split('.')[0] in ('kubernetes_asyncio', 'kubernetes')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_errors_map_statuses_without_kubernetes_asyncio():
    taken = errors.from_status(409, body=b'{"reason": "AlreadyExists", "message": "taken"}')
    assert (type(taken), str(taken), taken.status) == (errors.AlreadyExists,
                                                       "Kubernetes API 409 AlreadyExists: taken", 409)
    assert type(errors.from_status(409, body=b'{"reason": "Conflict"}')) is errors.Conflict
    assert type(errors.from_status(422)) is errors.Invalid
    assert type(errors.from_status(429)) is errors.Unavailable
    long = errors.from_status(500, body=json.dumps({"message": "x" * 1000}))
    assert str(long) == "Kubernetes API 500 : " + "x" * errors.MAX_MESSAGE + "…"
    assert type(errors.wrap(ValueError("boom"))) is errors.Unavailable
