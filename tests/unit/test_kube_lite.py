"""tasks/kube/lite.py, the job-runner's client: kubeconfig and in-cluster configuration, the exec status frame,
the exec channels and the REST calls against a local aiohttp server, and its own HTTP/1.1 and websocket transport
against scripted servers on asyncio streams (framing, fragments, pings, refusals, keep-alive, TLS, proxies).
What it exists for, its import cost, is checked by tests/unit/test_jobrunner_imports.py."""
from __future__ import annotations

import asyncio
import base64
import datetime
import glob
import hashlib
import json
import os
import ssl
import tempfile
from urllib.parse import parse_qsl

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tasks import retries
from tasks.kube import errors, lite


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
        with pytest.raises(errors.Unavailable, match="unreachable: ConnectionRefusedError"):
            await kube.exec_(namespace="ns", pod="p", container="c", command=["true"])


# -- the transport, against scripted servers on asyncio streams -----------------------------------------------

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
NORMAL = (1000).to_bytes(2, "big")


@pytest.fixture(autouse=True)
def no_proxy_in_the_environment(monkeypatch):
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)


@pytest.fixture
def no_backoff(monkeypatch):
    monkeypatch.setattr("tasks.retries.backoff", lambda attempt, **kw: 0)


class Scripted:
    """A server that runs `handler(reader, writer)` on each connection it accepts (numbered from 1)."""

    def __init__(self, handler):
        self.handler = handler
        self.connections = 0
        self.tasks: set[asyncio.Task] = set()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.tasks.add(asyncio.current_task())
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def scripted():
    servers = []

    async def start(handler, *, tls: ssl.SSLContext | None = None) -> Scripted:
        srv = Scripted(handler)
        srv.server = await asyncio.start_server(srv.serve, "127.0.0.1", 0, ssl=tls)
        srv.port = srv.server.sockets[0].getsockname()[1]
        srv.config = lite.Config(server=f"http://127.0.0.1:{srv.port}", ssl_context=ssl.create_default_context(),
                                 token="tok")
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.server.close()
        for task in srv.tasks:
            task.cancel()
        await asyncio.gather(*srv.tasks, return_exceptions=True)
        await srv.server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes] | None:
    """(request line, headers with lower-cased names, body) of the next request; None at the connection's end."""
    line = await reader.readline()
    if not line:
        return None
    headers = {}
    while (header := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = header.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", 0)))
    return line.decode("latin-1").rstrip("\r\n"), headers, body


def response(status: int, body: bytes = b"", *headers: str, version: str = "HTTP/1.1") -> bytes:
    head = [f"{version} {status} Reason {status}", *headers]
    framed = any(h.lower().startswith(("content-length", "transfer-encoding")) for h in headers)
    if not framed and version != "HTTP/1.0":
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def chunked(body: bytes, size: int) -> bytes:
    pieces = [body[i:i + size] for i in range(0, len(body), size)]
    return (b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\nX-Trailer: t\r\n\r\n")


def frame(opcode: int, payload: bytes = b"", *, fin: bool = True, rsv: int = 0) -> bytes:
    """A server's frame (unmasked)."""
    n = len(payload)
    length = bytes([n]) if n < 126 else bytes([126]) + n.to_bytes(2, "big") if n < 65536 else \
        bytes([127]) + n.to_bytes(8, "big")
    return bytes([(0x80 if fin else 0) | rsv | opcode]) + length + payload


async def read_client_frame(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """(opcode, masked, payload unmasked) of the client's next frame."""
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7F
    if n >= 126:
        n = int.from_bytes(await reader.readexactly(2 if n == 126 else 8), "big")
    key = await reader.readexactly(4) if b1 & 0x80 else b"\0\0\0\0"
    payload = await reader.readexactly(n)
    return b0 & 0x0F, bool(b1 & 0x80), bytes(b ^ key[i % 4] for i, b in enumerate(payload))


async def upgrade(reader, writer, *, accept: str | None = None, protocol: str | None = "v4.channel.k8s.io"):
    """Answer the websocket handshake (with `accept` instead of the right Sec-WebSocket-Accept); the request."""
    line, headers, _ = await read_request(reader)
    right = base64.b64encode(hashlib.sha1((headers["sec-websocket-key"] + GUID).encode()).digest()).decode()
    writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Accept: {accept or right}\r\n"
                  + (f"Sec-WebSocket-Protocol: {protocol}\r\n" if protocol else "") + "\r\n").encode())
    return line, headers


def test_the_accept_key_is_rfc_6455s():
    assert lite._accept("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="   # RFC 6455 §1.3


async def test_the_websocket_joins_fragments_answers_pings_and_reads_every_length(scripted):
    big_out, big_err = b"o" * 300, b"e" * 70000          # a 16-bit and a 64-bit length
    client_frames = []
    finished = asyncio.Event()

    async def handler(reader, writer):
        line, headers = await upgrade(reader, writer)
        client_frames.append((line, headers))
        writer.write(frame(BINARY, b"\x01") + frame(BINARY, b"\x02") + frame(BINARY, b"\x03")
                     + frame(BINARY, b"\x01ab", fin=False) + frame(PING, b"hi") + frame(CONT, b"cd", fin=False)
                     + frame(CONT, b"ef") + frame(BINARY, b"\x01" + big_out) + frame(BINARY, b"\x02" + big_err)
                     + frame(TEXT, b"1text frames are not the channel protocol") + frame(BINARY, b"\xff\x00")
                     + frame(BINARY, b"\x03" + failure("2"), fin=False) + frame(CONT, b"")
                     + frame(BINARY, b"\x03") + frame(CLOSE, NORMAL))
        await writer.drain()
        while True:
            opcode, masked, payload = await read_client_frame(reader)
            client_frames.append((opcode, masked, payload))
            if opcode == CLOSE:
                break
        finished.set()

    srv = await scripted(handler)
    seen = []
    async with lite.Client(srv.config) as kube:
        res = await kube.exec_(namespace="ns", pod="p", container="c", command=["x"],
                               on_output=lambda channel, data: seen.append((channel, len(data))))
    await asyncio.wait_for(finished.wait(), 5)
    assert res == lite.ExecResult(2, b"abcdef" + big_out, big_err)
    assert seen == [(1, 6), (1, 300), (2, 70000)]
    line, headers = client_frames[0]
    assert line == "GET /api/v1/namespaces/ns/pods/p/exec?command=x&container=c&stdout=true&stderr=true HTTP/1.1"
    assert (headers["upgrade"].lower(), headers["connection"].lower(), headers["sec-websocket-version"],
            headers["sec-websocket-protocol"], headers["authorization"]) == (
        "websocket", "upgrade", "13", "v4.channel.k8s.io", "Bearer tok")
    assert len(base64.b64decode(headers["sec-websocket-key"])) == 16
    assert "sec-websocket-extensions" not in headers
    assert client_frames[1:] == [(PONG, True, b"hi"), (CLOSE, True, NORMAL)]     # masked, as a client must


def test_client_frames_are_masked_with_every_length_encoding():
    for n in (0, 125, 126, 65535, 65536):
        data = lite._frame(BINARY, bytes(range(256)) * (n // 256) + bytes(n % 256))
        b0, b1 = data[0], data[1]
        assert (b0, b1 & 0x80) == (0x80 | BINARY, 0x80)
        size, offset = b1 & 0x7F, 2
        if size == 126:
            size, offset = int.from_bytes(data[2:4], "big"), 4
        elif size == 127:
            size, offset = int.from_bytes(data[2:10], "big"), 10
        key, payload = data[offset:offset + 4], data[offset + 4:]
        assert size == n == len(payload)
        assert bytes(b ^ key[i % 4] for i, b in enumerate(payload)) == bytes(range(256)) * (n // 256) + bytes(n % 256)


@pytest.mark.parametrize("frames, outcome", [
    # a status frame, then the connection's end without a close frame: the status stands
    ([frame(BINARY, b"\x01out"), frame(BINARY, b'\x03{"status": "Success"}')], 0),
    ([frame(BINARY, b"\x01out"), frame(BINARY, b"\x01cut sh")[:5]], "closed without a status frame$"),
    ([frame(BINARY, b"\x01out", rsv=0x40)], r"without a status frame \(a frame with reserved bits set"),
    ([frame(CONT, b"\x01out")], r"\(a continuation frame outside a message\)"),
    ([frame(BINARY, b"\x01a", fin=False), frame(BINARY, b"\x01b")], r"\(a new message inside a fragmented one\)"),
    ([frame(PING, b"x", fin=False)], r"\(a fragmented or oversized control frame\)"),
    ([frame(0x3, b"\x01x")], r"\(an unknown opcode 0x3\)"),
])
async def test_how_an_exec_stream_ends(scripted, frames, outcome):
    async def handler(reader, writer):
        await upgrade(reader, writer)
        writer.write(b"".join(frames))
        await writer.drain()

    srv = await scripted(handler)
    async with lite.Client(srv.config) as kube:
        if isinstance(outcome, int):
            res = await kube.exec_(namespace="ns", pod="p", container="c", command=["x"])
            assert (res.exit_code, res.stdout) == (outcome, b"out")
        else:
            with pytest.raises(errors.ExecFailed, match=outcome):
                await kube.exec_(namespace="ns", pod="p", container="c", command=["x"])


@pytest.mark.parametrize("answer, error, message", [
    (response(403, chunked(b'{"kind": "Status", "reason": "Forbidden", "message": "pods \\"p\\" is forbidden: '
                           b'exec"}', 7), "Content-Type: application/json", "Transfer-Encoding: chunked"),
     errors.Forbidden, r'Kubernetes API 403 Forbidden: pods "p" is forbidden: exec'),
    (response(500, b"oops"), errors.Unavailable, "500 : Reason 500"),
    (response(200, b"{}"), errors.Unavailable, "200"),
    ("accept", errors.Unavailable, "a wrong Sec-WebSocket-Accept"),
    ("protocol", errors.Unavailable, "the server chose the subprotocol 'base64.channel.k8s.io'"),
    (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", errors.Unavailable, "not a websocket upgrade"),
    (b"SSH-2.0-OpenSSH\r\n", errors.Unavailable, "not an HTTP/1.1 status line"),
])
async def test_a_refused_or_wrong_handshake_is_an_api_error(scripted, no_backoff, answer, error, message):
    async def handler(reader, writer):
        if answer == "accept":
            await upgrade(reader, writer, accept="d3Jvbmc=")
        elif answer == "protocol":
            await upgrade(reader, writer, protocol="base64.channel.k8s.io")
        else:
            await read_request(reader)
            writer.write(answer)
        writer.write(frame(BINARY, b'\x03{"status": "Success"}'))
        await writer.drain()

    srv = await scripted(handler)
    async with lite.Client(srv.config) as kube:
        with pytest.raises(error, match=message):
            await kube.exec_(namespace="ns", pod="p", container="c", command=["x"])
    # an exec is retried only when its upgrade was refused with a 5xx/429 (nothing ran); never otherwise
    assert srv.connections == (6 if answer[:12] == b"HTTP/1.1 500" else 1)


async def test_an_exec_refused_with_a_5xx_is_tried_again_and_runs_once(scripted, no_backoff):
    from tasks.retries import RETRIES
    before = RETRIES["kubernetes exec"]

    async def handler(reader, writer):
        if srv.connections == 1:
            await read_request(reader)
            writer.write(response(503, b'{"kind": "Status", "message": "kubesim fault injected"}'))
        else:
            await upgrade(reader, writer)
            writer.write(frame(BINARY, b"\x01ran") + frame(BINARY, b'\x03{"status": "Success"}'))
        await writer.drain()

    srv = await scripted(handler)
    async with lite.Client(srv.config) as kube:
        result = await kube.exec_(namespace="ns", pod="p", container="c", command=["x"])
    assert (result.exit_code, result.stdout, srv.connections) == (0, b"ran", 2)
    assert RETRIES["kubernetes exec"] == before + 1


async def test_rest_answers_by_length_in_chunks_or_to_the_end_on_kept_alive_connections(scripted):
    answers = [
        response(200, b'{"items": [1]}', "Content-Type: application/json"),
        response(200, chunked(b'{"items": [2], "pad": "' + b"x" * 5000 + b'"}', 1000), "Transfer-Encoding: chunked"),
        b"HTTP/1.1 100 Continue\r\n\r\n" + response(200, b'{"items": [3]}', "Connection: close"),
        response(200, b'{"items": [4]}', version="HTTP/1.0"),                  # no length: up to the end
        response(200, b"", "Content-Length: 0"),
    ]
    served = []

    async def handler(reader, writer):
        conn = srv.connections
        while (request := await read_request(reader)) is not None:
            served.append(conn)
            answer = answers.pop(0)
            writer.write(answer)
            await writer.drain()
            if b"Connection: close" in answer or answer.startswith(b"HTTP/1.0"):
                return

    srv = await scripted(handler)
    async with lite.Client(srv.config) as kube:
        got = [(await kube.list_pods("ns"))["items"] for _ in range(4)]
        assert await kube.list_pods("ns") == {}
    assert got == [[1], [2], [3], [4]]
    assert served == [1, 1, 1, 2, 3]


async def test_a_kept_alive_connection_the_server_dropped_is_replaced_at_once(scripted):
    before = retries.RETRIES["kubernetes list"]

    async def handler(reader, writer):
        first = srv.connections == 1
        await read_request(reader)
        writer.write(response(200, b'{"items": ["a"]}'))
        await writer.drain()
        if first:
            await read_request(reader)      # the second request, on the kept connection: dropped unanswered
            writer.transport.abort()
        else:
            await read_request(reader)

    srv = await scripted(handler)
    async with lite.Client(srv.config) as kube:
        assert await kube.list_pods("ns") == {"items": ["a"]}
        assert await kube.list_pods("ns") == {"items": ["a"]}
    assert srv.connections == 2
    assert retries.RETRIES["kubernetes list"] == before     # no back-off: a stale connection is not an outage


async def test_requests_carry_host_agent_token_and_body_under_the_servers_path(scripted, tmp_path):
    seen = []

    async def handler(reader, writer):
        while (request := await read_request(reader)) is not None:
            seen.append(request)
            writer.write(response(200, b'{"kind": "Job"}'))

    srv = await scripted(handler)
    (tmp_path / "token").write_text("first\n")
    cfg = lite.Config(server=f"http://127.0.0.1:{srv.port}/k8s/clusters/c-1/", ssl_context=ssl.create_default_context(),
                      token_file=str(tmp_path / "token"))
    async with lite.Client(cfg) as kube:
        await kube.list_pods("n s", "a=b")
        (tmp_path / "token").write_text("rotated")
        await kube.patch_job_annotations("ns", "j", {"k": "é"})
    (line1, h1, body1), (line2, h2, body2) = seen
    assert line1 == "GET /k8s/clusters/c-1/api/v1/namespaces/n%20s/pods?labelSelector=a%3Db HTTP/1.1"
    assert (h1["host"], h1["user-agent"], h1["authorization"], h1["accept"]) == (
        f"127.0.0.1:{srv.port}", lite.USER_AGENT, "Bearer first", "application/json")
    assert "content-length" not in h1 and body1 == b""
    assert line2 == "PATCH /k8s/clusters/c-1/apis/batch/v1/namespaces/ns/jobs/j HTTP/1.1"
    assert (h2["authorization"], h2["content-type"], int(h2["content-length"])) == (
        "Bearer rotated", "application/merge-patch+json", len(body2))
    assert json.loads(body2) == {"metadata": {"annotations": {"k": "é"}}}


async def test_an_unanswered_request_times_out_and_is_retried(scripted, no_backoff, monkeypatch):
    monkeypatch.setattr(lite, "REQUEST_TIMEOUT", 0.05)

    async def handler(reader, writer):
        while await read_request(reader) is not None:
            pass

    srv = await scripted(handler)
    async with lite.Client(srv.config) as kube:
        with pytest.raises(errors.Unavailable, match="unreachable: TimeoutError"):
            await kube.list_pods("ns")
    assert srv.connections == 6


@pytest.mark.parametrize("answer, error", [
    (response(200, b"not json"), errors.Unavailable),
    (response(200, b'{"a": 1}', "Content-Length: 99"), errors.Unavailable),    # cut short
    (response(200, b"zz\r\n", "Transfer-Encoding: chunked"), errors.Unavailable),
    (response(200, b"{}", "Content-Length: 2, 3"), errors.Unavailable),
    (response(301, b"", "Location: /elsewhere"), errors.Unavailable),
    (response(409, b'{"reason": "AlreadyExists", "message": "taken"}'), errors.AlreadyExists),
    (response(422, b'{"reason": "Invalid"}'), errors.Invalid),
])
async def test_malformed_answers_and_refusals_map_into_the_error_tree(scripted, no_backoff, answer, error):
    async def handler(reader, writer):
        await read_request(reader)
        writer.write(answer)
        await writer.drain()

    srv = await scripted(handler)
    async with lite.Client(srv.config) as kube:
        with pytest.raises(error):
            await kube.list_pods("ns")
    assert srv.connections == (6 if error is errors.Unavailable else 1)


async def test_a_bad_server_url_is_a_config_error_not_retried():
    cfg = lite.Config(server="https://h:notaport", ssl_context=ssl.create_default_context())
    async with lite.Client(cfg) as kube:
        with pytest.raises(lite.ConfigError, match="unusable server URL"):
            await kube.list_pods("ns")


# -- TLS and proxies ------------------------------------------------------------------------------------------

def issue(ca: tuple[bytes, bytes], name: str) -> ssl.SSLContext:
    """A server's TLS context with a certificate for `name`, signed by `ca`."""
    ca_cert = x509.load_pem_x509_certificate(ca[0])
    ca_key = serialization.load_pem_private_key(ca[1], None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "c.pem"), "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(os.path.join(tmp, "c.pem"))
    return ctx


async def kube_api(reader, writer):
    """A small API server: every REST request answers a pod list, an upgrade runs `true`."""
    while True:
        peeked = await read_request(reader)
        if peeked is None:
            return
        line, headers, _ = peeked
        if headers.get("upgrade") == "websocket":
            key = headers["sec-websocket-key"]
            accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
            writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode())
            writer.write(frame(BINARY, b"\x01hello") + frame(BINARY, b'\x03{"status": "Success"}')
                         + frame(CLOSE, NORMAL))
            await writer.drain()
            return
        writer.write(response(200, json.dumps({"items": [{"line": line}]}).encode()))


@pytest.fixture
async def tls_api(scripted, ca):
    srv = await scripted(kube_api, tls=issue(ca, "kube.test"))
    srv.ssl_context = lite._ssl_context(cadata=ca[0].decode())
    return srv


async def test_tls_checks_the_certificate_against_tls_server_name(tls_api, no_backoff):
    cfg = lite.Config(server=f"https://127.0.0.1:{tls_api.port}", ssl_context=tls_api.ssl_context, token="t",
                      tls_server_name="kube.test")
    async with lite.Client(cfg) as kube:
        assert (await kube.list_pods("ns"))["items"][0]["line"].startswith("GET /api/v1/namespaces/ns/pods ")
        res = await kube.exec_(namespace="ns", pod="p", container="c", command=["true"])
        assert (res.exit_code, res.stdout) == (0, b"hello")
    cfg = lite.Config(server=f"https://127.0.0.1:{tls_api.port}", ssl_context=tls_api.ssl_context, token="t")
    async with lite.Client(cfg) as kube:
        with pytest.raises(errors.Unavailable, match="CERTIFICATE_VERIFY_FAILED"):
            await kube.list_pods("ns")


async def test_an_https_server_is_reached_through_the_environments_proxy_by_connect(scripted, tls_api, monkeypatch):
    tunnels = []

    async def proxy(reader, writer):
        line, headers, _ = await read_request(reader)
        tunnels.append((line, headers))
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", tls_api.port)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

        async def pipe(src, dst):
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except ConnectionError:
                pass
            finally:
                dst.close()
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    srv = await scripted(proxy)
    monkeypatch.setenv("HTTPS_PROXY", f"http://u%40x:p%3Aw@127.0.0.1:{srv.port}")
    monkeypatch.setenv("NO_PROXY", "elsewhere.test")
    cfg = lite.Config(server="https://kube.test:6443", ssl_context=tls_api.ssl_context, token="t")
    async with lite.Client(cfg) as kube:
        assert (await kube.list_pods("ns"))["items"][0]["line"].startswith("GET /api/v1/namespaces/ns/pods ")
        res = await kube.exec_(namespace="ns", pod="p", container="c", command=["true"])
    assert (res.exit_code, res.stdout) == (0, b"hello")
    assert [line for line, _ in tunnels] == ["CONNECT kube.test:6443 HTTP/1.1"] * 2
    assert tunnels[0][1]["host"] == "kube.test:6443"
    assert tunnels[0][1]["proxy-authorization"] == "Basic " + b64(b"u@x:p:w")


async def test_an_http_server_through_a_proxy_no_proxy_and_https_proxy_urls(scripted, monkeypatch, no_backoff):
    async def proxy(reader, writer):
        while (request := await read_request(reader)) is not None:
            writer.write(response(200, json.dumps({"line": request[0], "host": request[1]["host"]}).encode()))

    srv = await scripted(proxy)
    monkeypatch.setenv("http_proxy", f"127.0.0.1:{srv.port}")           # no scheme: http://
    cfg = lite.Config(server="http://kube.test:8080", ssl_context=ssl.create_default_context())
    async with lite.Client(cfg) as kube:
        assert await kube.list_pods("ns") == {"line": "GET http://kube.test:8080/api/v1/namespaces/ns/pods HTTP/1.1",
                                              "host": "kube.test:8080"}
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:1")
    monkeypatch.setenv("no_proxy", "localhost,127.0.0.1")
    async with lite.Client(srv.config) as kube:                         # bypassed: straight to the server
        assert (await kube.list_pods("ns"))["line"] == "GET /api/v1/namespaces/ns/pods HTTP/1.1"
    monkeypatch.delenv("no_proxy")
    monkeypatch.setenv("http_proxy", "https://127.0.0.1:1")             # ignored, as aiohttp does
    async with lite.Client(srv.config) as kube:
        assert (await kube.list_pods("ns"))["line"] == "GET /api/v1/namespaces/ns/pods HTTP/1.1"


async def test_a_proxy_refusing_the_tunnel_is_an_api_error(scripted, monkeypatch, no_backoff):
    async def proxy(reader, writer):
        await read_request(reader)
        writer.write(response(403, b"no"))
        await writer.drain()

    srv = await scripted(proxy)
    monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{srv.port}")
    cfg = lite.Config(server="https://kube.test:6443", ssl_context=ssl.create_default_context())
    async with lite.Client(cfg) as kube:
        with pytest.raises(errors.Forbidden, match="the proxy refused CONNECT"):
            await kube.list_pods("ns")


def test_a_client_outside_async_with_says_how_to_use_it():
    kube = lite.Client(lite.Config(server="http://127.0.0.1:1", ssl_context=ssl.create_default_context()))
    with pytest.raises(RuntimeError, match="async with"):
        asyncio.run(kube.list_pods("ns"))
    with pytest.raises(RuntimeError, match="async with"):
        asyncio.run(kube.exec_(namespace="ns", pod="p", container="c", command=["true"]))


# -- errors ---------------------------------------------------------------------------------------------------

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
