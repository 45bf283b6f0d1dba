"""The job-runner's Kubernetes client: the three calls `tasks/jobrunner.py` makes, on the standard library alone.

Only the job-runner uses this module; the rest of the service talks to the API through
`kubernetes_asyncio` (objects.py, execing.py, watching.py).  The job-runner starts once per backup
Job, so its start-up is on every backup's critical path: importing `kubernetes_asyncio` (its package
loads every generated model) costs ~0.7 s, aiohttp ~0.3 s (its connector builds SSL contexts at
import), yarl and multidict their share.  So this module speaks HTTP/1.1 and the exec websocket
itself, on `asyncio` streams, and must never import any of those, nor anything that does
(tests/unit/test_jobrunner_imports.py checks it in a fresh interpreter).

The calls (`Client`):

* `list_pods(namespace, selector)`: GET /api/v1/namespaces/{ns}/pods?labelSelector=…, the list object;
* `exec_(…)`: GET …/pods/{pod}/exec?command=…&container=…&stdout=true&stderr=true upgraded to a
  websocket (`v4.channel.k8s.io`): binary frames whose first byte is the channel — 1 stdout,
  2 stderr, 3 status; the last non-empty channel-3 frame is a `Status` JSON (`exit_code_of`).
  A stream that ends without it raises `errors.ExecFailed`: the command's outcome is unknown;
* `patch_job_annotations(namespace, name, annotations)`: a JSON merge patch
  (`application/merge-patch+json`) of the Job's `metadata.annotations`.

Failures map into tasks/kube/errors.py's tree (`errors.from_status`, `errors.wrap`); `list_pods` and
`patch_job_annotations` are retried while transient (`errors.Unavailable`), as objects.py does;
`exec_` only when its upgrade was refused with a 5xx/429 answer (`refused_transiently`: nothing ran), never
once the command may have started (running a command twice is the caller's decision).

The transport, what it speaks and no more:

* HTTP/1.1: Host, User-Agent, `Authorization: Bearer` (`Config.bearer()`, before each request),
  Content-Length request bodies; responses framed by Content-Length, `Transfer-Encoding: chunked` or the
  connection's end; no compression is asked for, no redirect followed.  REST calls reuse keep-alive
  connections (an idle one the server closed meanwhile is replaced at once, once); each exec opens its
  own.  A REST call has `REQUEST_TIMEOUT` in all (connect: `CONNECT_TIMEOUT`).
* The websocket (RFC 6455, client side): the upgrade with its Sec-WebSocket-Key/Accept check and the
  `v4.channel.k8s.io` subprotocol; masked client frames; 16- and 64-bit lengths; fragmented messages
  joined; pings answered; a close frame answered and the end of the stream.  No extension
  (permessage-deflate) is offered; text frames and channels other than 1-3 (v5's close channel) are
  ignored; nothing is sent on stdin.  A handshake the server refuses (a 4xx/5xx instead of 101) maps
  through `errors.from_status`, its Status body included.

Configuration (`load`), in the order tasks/kube/config.py follows: an explicit kubeconfig file or
$KUBECONFIG, else the in-cluster service account when $KUBERNETES_SERVICE_HOST is set, else
~/.kube/config.

* In-cluster: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT (an IPv6 host in brackets),
  the CA and the token of /var/run/secrets/kubernetes.io/serviceaccount/.  The token file is read
  again before each request (kubelets rotate projected tokens).
* A kubeconfig file (`parse_kubeconfig`), a deliberately minimal reader: the current context (or the
  one named); its cluster's `server`, `certificate-authority` or `certificate-authority-data`
  (neither: the system's CAs), `insecure-skip-tls-verify`, `tls-server-name`; its user's `token`,
  `tokenFile` (preferred over `token`, as client-go does), `client-certificate(-data)` with
  `client-key(-data)`.  Relative paths are relative to the kubeconfig's directory.
  Limits: only the first file of a $KUBECONFIG list is read (no merging); `exec` and
  `auth-provider` credential plugins, basic auth, impersonation (`as…`) and `proxy-url` are refused
  with a `ConfigError` rather than ignored.  HTTP(S)_PROXY (and NO_PROXY) from the environment are
  honoured, as kubernetes_asyncio (aiohttp's `trust_env`) does: a plain-HTTP proxy, CONNECT for an
  https:// server, basic auth from the proxy URL (not from ~/.netrc).
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import os
import ssl
from dataclasses import dataclass
from typing import Any, Awaitable, Callable
from urllib.parse import quote, unquote, urlencode, urlsplit

from ..retries import retry_async
from . import errors

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
EXEC_PROTOCOL = "v4.channel.k8s.io"
STDOUT, STDERR, STATUS = 1, 2, 3
REQUEST_TIMEOUT = 60.0      # one REST call (a list, a patch); a timeout counts as transient and is retried
CONNECT_TIMEOUT = 30.0
USER_AGENT = "backrest-queue-job-runner"

Obj = dict[str, Any]
OnOutput = Callable[[int, bytes], "Awaitable[None] | None"]


class ConfigError(errors.KubeError):
    """No usable configuration: a kubeconfig this client cannot read, or no service account mounted."""


# -- configuration ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Config:
    server: str                          # "https://host:port", no trailing slash
    ssl_context: ssl.SSLContext
    token: str | None = None
    token_file: str | None = None        # read again before each request; preferred over `token`
    tls_server_name: str | None = None   # the name the server's certificate is checked against

    def bearer(self) -> str | None:
        if self.token_file:
            try:
                with open(self.token_file, encoding="utf-8") as f:
                    token = f.read().strip()
            except OSError as exc:
                raise ConfigError(f"cannot read the token file {self.token_file}: {exc.strerror}") from None
            if token:
                return token
        return self.token


def server_url(host: str, port: str | int) -> str:
    """https://host:port, an IPv6 host in brackets."""
    host = host.strip()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"https://{host}:{port}"


def incluster(environ: dict[str, str] | None = None, sa_dir: str | None = None) -> Config:
    """The pod's service account: $KUBERNETES_SERVICE_HOST/PORT, its token and CA (in `sa_dir`, default SA_DIR)."""
    env = os.environ if environ is None else environ
    sa_dir = sa_dir or SA_DIR
    host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        raise ConfigError("not in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set")
    token_file, ca_file = os.path.join(sa_dir, "token"), os.path.join(sa_dir, "ca.crt")
    for path in (token_file, ca_file):
        if not os.path.isfile(path):
            raise ConfigError(f"no service account mounted: {path} is missing")
    config = Config(server=server_url(host, port), ssl_context=_ssl_context(cafile=ca_file), token_file=token_file)
    if not config.bearer():
        raise ConfigError(f"the service account token {token_file} is empty")
    return config


def _named(entries: Any, name: str, what: str) -> dict:
    for entry in entries or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry.get(what) or {}
    raise ConfigError(f"kubeconfig: no {what} named {name!r}")


def _b64(value: str, field: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise ConfigError(f"kubeconfig: {field} is not valid base64") from None


def _ssl_context(*, cafile: str | None = None, cadata: str | None = None, insecure: bool = False,
                 cert: tuple[bytes, bytes] | None = None) -> ssl.SSLContext:
    try:
        ctx = ssl.create_default_context(cafile=cafile, cadata=cadata)
        if insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if cert is not None:
            import tempfile     # only here: its import (shutil, bz2, lzma) is a cost the in-cluster path skips

            # the ssl module loads a certificate chain from files only: a private directory, removed at once
            with tempfile.TemporaryDirectory(prefix="brq-kube-") as tmp:
                paths = []
                for name, data in zip(("client.crt", "client.key"), cert):
                    path = os.path.join(tmp, name)
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(fd, "wb") as f:
                        f.write(data)
                    paths.append(path)
                ctx.load_cert_chain(paths[0], paths[1])
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise ConfigError(f"kubeconfig: unusable TLS material: {exc}") from None
    return ctx


def _material(section: dict, key: str, base_dir: str, what: str) -> bytes | None:
    """`key-data` (base64) or `key` (a path, relative to the kubeconfig's directory), as bytes."""
    if section.get(f"{key}-data"):
        return _b64(section[f"{key}-data"], f"{what}.{key}-data")
    if section.get(key):
        path = os.path.join(base_dir, os.path.expanduser(str(section[key])))
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError as exc:
            raise ConfigError(f"kubeconfig: {what}.{key} {path}: {exc.strerror}") from None
    return None


UNSUPPORTED_USER = ("exec", "auth-provider", "username", "password", "as", "as-uid", "as-groups", "as-user-extra")


def parse_kubeconfig(data: Any, *, base_dir: str = ".", context: str | None = None) -> Config:
    """A `Config` from a parsed kubeconfig (see the module's docstring for what is read and what is refused)."""
    if not isinstance(data, dict):
        raise ConfigError("kubeconfig: not a mapping")
    name = context or data.get("current-context")
    if not name:
        raise ConfigError("kubeconfig: no current-context")
    ctx = _named(data.get("contexts"), name, "context")
    cluster = _named(data.get("clusters"), ctx.get("cluster") or "", "cluster")
    user = _named(data.get("users"), ctx["user"], "user") if ctx.get("user") else {}

    server = str(cluster.get("server") or "").rstrip("/")
    if not server.startswith(("https://", "http://")):
        raise ConfigError(f"kubeconfig: cluster {ctx.get('cluster')!r} has no https:// server")
    if cluster.get("proxy-url"):
        raise ConfigError("kubeconfig: proxy-url is not supported by the job-runner's client")
    refused = [key for key in UNSUPPORTED_USER if user.get(key)]
    if refused:
        raise ConfigError(f"kubeconfig: user {ctx.get('user')!r} uses {', '.join(refused)}, which the "
                          "job-runner's client does not support (use a token or a client certificate)")

    ca = _material(cluster, "certificate-authority", base_dir, "cluster")
    cert = _material(user, "client-certificate", base_dir, "user")
    key = _material(user, "client-key", base_dir, "user")
    if (cert is None) != (key is None):
        raise ConfigError("kubeconfig: a client certificate needs both client-certificate and client-key")
    ssl_context = _ssl_context(cadata=ca.decode("ascii", "replace") if ca is not None else None,
                               insecure=bool(cluster.get("insecure-skip-tls-verify")),
                               cert=(cert, key) if cert is not None and key is not None else None)
    token_file = user.get("tokenFile")
    if token_file:
        token_file = os.path.join(base_dir, os.path.expanduser(str(token_file)))
    return Config(server=server, ssl_context=ssl_context, token=user.get("token") or None, token_file=token_file,
                  tls_server_name=cluster.get("tls-server-name") or None)


def load_kubeconfig(path: str, context: str | None = None) -> Config:
    import yaml  # only here: the in-cluster path never needs it

    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as exc:
        raise ConfigError(f"cannot read the kubeconfig {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"kubeconfig {path} is not YAML: {str(exc)[:200]}") from None
    return parse_kubeconfig(data, base_dir=os.path.dirname(os.path.abspath(path)), context=context)


def load(kubeconfig: str | None = None) -> Config:
    """`kubeconfig` if given (or the first file of $KUBECONFIG), else in-cluster, else ~/.kube/config."""
    path = kubeconfig or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    if path:
        return load_kubeconfig(path)
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return incluster()
    return load_kubeconfig(os.path.expanduser("~/.kube/config"))


# -- exec -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: bytes
    stderr: bytes

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace")


def exit_code_of(status: bytes) -> int:
    """The exit code a channel-3 Status frame reports: 0 for Success, else the ExitCode cause.

    A Failure without one (the command could not be started, …) raises `errors.ExecFailed`.
    """
    try:
        data = json.loads(status)
    except ValueError:
        raise errors.ExecFailed(f"exec status frame is not JSON: {status[:100]!r}") from None
    if not isinstance(data, dict):
        raise errors.ExecFailed(f"exec status frame is not a Status: {status[:100]!r}")
    if data.get("status") == "Success":
        return 0
    details = data.get("details") if isinstance(data.get("details"), dict) else {}
    for cause in details.get("causes") or []:
        if isinstance(cause, dict) and cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message"))
            except (TypeError, ValueError):
                break
    message = str(data.get("message") or "no exit code in the status")
    raise errors.ExecFailed(f"exec failed: {message[:errors.MAX_MESSAGE]}")


# -- HTTP/1.1 on asyncio streams ----------------------------------------------------------------------------------

class _ProtocolError(Exception):
    """The server (or a proxy) answered something that is not HTTP/1.1 or RFC 6455 as this client speaks it."""


class _Disconnected(ConnectionError):
    """The connection ended before the server's answer began (on a reused connection: it had gone stale)."""


class _Endpoint:
    # plain classes, not dataclasses, here: each @dataclass costs ~1 ms of the job-runner's start
    __slots__ = ("tls", "host", "port", "netloc", "base")

    def __init__(self, *, tls: bool, host: str, port: int, netloc: str, base: str):
        self.tls = tls
        self.host = host        # no brackets: what a socket connects to
        self.port = port
        self.netloc = netloc    # host[:port] as the Host header carries it (an IPv6 host in brackets)
        self.base = base        # the server URL's path prefix, "" or "/prefix"

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"


def _endpoint(server: str) -> _Endpoint:
    parts = urlsplit(server)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("https", "http") or not parts.hostname or port == -1:
        raise ConfigError(f"unusable server URL {server!r}")
    tls = parts.scheme == "https"
    return _Endpoint(tls=tls, host=parts.hostname, port=port or (443 if tls else 80),
                     netloc=parts.netloc.rpartition("@")[2], base=parts.path.rstrip("/"))


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _Proxy:
    __slots__ = ("host", "port", "authorization")

    def __init__(self, host: str, port: int, authorization: str | None):
        self.host, self.port = host, port
        self.authorization = authorization  # the Proxy-Authorization value (basic auth from the URL's user info)


def _proxy_for(endpoint: _Endpoint) -> _Proxy | None:
    """The HTTP proxy $https_proxy/$http_proxy (and $no_proxy) choose for the server, as aiohttp's `trust_env`.

    urllib.request (a costly import) is loaded only when some *_proxy variable is set.  As aiohttp, an
    https:// proxy URL is ignored (only plain HTTP proxies are spoken to: CONNECT for an https:// server).
    """
    if not any(name.lower().endswith("_proxy") for name in os.environ):
        return None
    import urllib.request

    proxies = urllib.request.getproxies_environment()
    url = proxies.get(endpoint.scheme)
    if not url or urllib.request.proxy_bypass_environment(endpoint.host, proxies):
        return None
    parts = urlsplit(url if "://" in url else "http://" + url)
    if parts.scheme != "http" or not parts.hostname:
        return None
    authorization = None
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode("latin-1", "replace")
        authorization = "Basic " + base64.b64encode(credentials).decode("ascii")
    return _Proxy(parts.hostname, parts.port or 80, authorization)


def _request_head(method: str, target: str, host: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    for name, value in headers.items():
        if "\r" in value or "\n" in value:
            raise ValueError(f"the {name} header would carry a line break")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class _Head:
    __slots__ = ("status", "reason", "version", "headers")

    def __init__(self, status: int, reason: str, version: str, headers: dict[str, str]):
        self.status, self.reason, self.version = status, reason, version
        self.headers = headers      # names lower-cased; repeated headers joined with ", "

    def tokens(self, name: str) -> list[str]:
        return [t.strip().lower() for t in self.headers.get(name, "").split(",") if t.strip()]


MAX_HEADERS = 200


async def _read_line(reader: asyncio.StreamReader) -> bytes:
    line = await reader.readline()
    if not line.endswith(b"\n"):
        raise asyncio.IncompleteReadError(line, None)
    return line


async def _read_head(reader: asyncio.StreamReader) -> _Head:
    """The status line and headers of a response (informational 1xx answers but 101 skipped)."""
    while True:
        line = await reader.readline()
        if not line:
            raise _Disconnected("the server closed the connection without answering")
        if not line.endswith(b"\n"):
            raise asyncio.IncompleteReadError(line, None)
        version, _, rest = line.decode("latin-1").rstrip("\r\n").partition(" ")
        code, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise _ProtocolError(f"not an HTTP/1.1 status line: {line[:80]!r}")
        headers: dict[str, str] = {}
        name = None
        for _ in range(MAX_HEADERS + 1):
            line = await _read_line(reader)
            if line in (b"\r\n", b"\n"):
                break
            text = line.decode("latin-1").rstrip("\r\n")
            if text[:1] in (" ", "\t") and name is not None:      # an obsolete folded continuation line
                headers[name] += " " + text.strip()
                continue
            name, sep, value = text.partition(":")
            name = name.strip().lower()
            if not sep or not name:
                raise _ProtocolError(f"not an HTTP header line: {line[:80]!r}")
            value = value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        else:
            raise _ProtocolError(f"more than {MAX_HEADERS} header lines")
        status = int(code)
        if 100 <= status < 200 and status != 101:
            continue
        return _Head(status, reason.strip(), version, headers)


async def _read_body(reader: asyncio.StreamReader, method: str, head: _Head) -> tuple[bytes, bool]:
    """The response's body (Content-Length, chunked, or up to the connection's end) and whether the
    connection can carry another request."""
    keep_alive = head.version == "HTTP/1.1" and "close" not in head.tokens("connection")
    if method == "HEAD" or 100 <= head.status < 200 or head.status in (204, 304):
        return b"", keep_alive
    encodings = head.tokens("transfer-encoding")
    if encodings:
        if encodings[-1] != "chunked":
            return await reader.read(), False
        parts = []
        while True:
            size = (await _read_line(reader)).split(b";", 1)[0].strip()
            if not size or size.strip(b"0123456789abcdefABCDEF"):
                raise _ProtocolError(f"not a chunk size: {size[:40]!r}")
            n = int(size, 16)
            if n == 0:
                break
            parts.append(await reader.readexactly(n))
            if (await _read_line(reader)).strip():
                raise _ProtocolError("a chunk longer than its size")
        while (await _read_line(reader)) not in (b"\r\n", b"\n"):
            pass                                                # trailers
        return b"".join(parts), keep_alive
    if "content-length" in head.headers:
        lengths = {v.strip() for v in head.headers["content-length"].split(",")}
        if len(lengths) != 1 or not next(iter(lengths)).isdigit():
            raise _ProtocolError(f"a bad Content-Length: {head.headers['content-length'][:40]!r}")
        n = int(lengths.pop())
        return (await reader.readexactly(n) if n else b""), keep_alive
    return await reader.read(), False


# -- the exec websocket (RFC 6455, client side) ---------------------------------------------------------------------

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
MAX_FRAME = 1 << 31


def _accept(key: str) -> str:
    """The Sec-WebSocket-Accept a server must answer to `key`."""
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode("ascii")).digest()).decode("ascii")


def _mask(data: bytes, key: bytes) -> bytes:
    """`data` XOR the 4-byte `key` repeated (masking and unmasking are the same)."""
    n = len(data)
    if not n:
        return b""
    return (int.from_bytes(data, "big") ^ int.from_bytes((key * (n // 4 + 1))[:n], "big")).to_bytes(n, "big")


def _frame(opcode: int, payload: bytes = b"") -> bytes:
    """One final, masked client frame."""
    n = len(payload)
    if n < 126:
        length = bytes([0x80 | n])
    elif n < 1 << 16:
        length = bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        length = bytes([0x80 | 127]) + n.to_bytes(8, "big")
    key = os.urandom(4)
    return bytes([0x80 | opcode]) + length + key + _mask(payload, key)


class _WebSocket:
    """The client end of an upgraded connection: `receive()` the next data message."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.closed = False         # a close frame came (the stream is over)
        self.close_sent = False

    def send(self, opcode: int, payload: bytes = b"") -> None:
        if not self.writer.is_closing():
            self.writer.write(_frame(opcode, payload))

    async def _read_frame(self) -> tuple[bool, int, bytes]:
        b0, b1 = await self.reader.readexactly(2)
        if b0 & 0x70:
            raise _ProtocolError("a frame with reserved bits set (no extension was negotiated)")
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(await self.reader.readexactly(2), "big")
        elif n == 127:
            n = int.from_bytes(await self.reader.readexactly(8), "big")
        if n > MAX_FRAME:
            raise _ProtocolError(f"a frame of {n} bytes")
        key = await self.reader.readexactly(4) if b1 & 0x80 else None     # servers do not mask; tolerated
        payload = await self.reader.readexactly(n) if n else b""
        return bool(b0 & 0x80), b0 & 0x0F, _mask(payload, key) if key else payload

    async def receive(self) -> tuple[int, bytes] | None:
        """The next text or binary message (opcode, payload), fragments joined; None after a close frame.

        Pings are answered; the end of the connection raises (EOFError, OSError), as does a protocol error.
        """
        opcode, parts = None, []
        while not self.closed:
            fin, op, payload = await self._read_frame()
            if op & 0x8:
                if not fin or len(payload) > 125:
                    raise _ProtocolError("a fragmented or oversized control frame")
                if op == PING:
                    self.send(PONG, payload)
                    await self.writer.drain()
                elif op == CLOSE:
                    self.closed = True
                    if not self.close_sent:       # answer with the status code it sent
                        self.close_sent = True
                        self.send(CLOSE, payload[:2] if len(payload) >= 2 else b"")
                elif op != PONG:
                    raise _ProtocolError(f"an unknown control opcode {op:#x}")
                continue
            if op == CONT:
                if opcode is None:
                    raise _ProtocolError("a continuation frame outside a message")
            elif op in (TEXT, BINARY):
                if opcode is not None:
                    raise _ProtocolError("a new message inside a fragmented one")
                opcode = op
            else:
                raise _ProtocolError(f"an unknown opcode {op:#x}")
            parts.append(payload)
            if fin:
                return opcode, parts[0] if len(parts) == 1 else b"".join(parts)
        return None

    def close(self) -> None:
        """Say goodbye (status 1000) unless a close frame was exchanged already, and close the connection."""
        if not self.close_sent:
            self.close_sent = True
            try:
                self.send(CLOSE, (1000).to_bytes(2, "big"))
            except Exception:  # noqa: BLE001 - the connection may be gone already
                pass
        self.writer.close()


# -- the client -------------------------------------------------------------------------------------------------

def _path(*parts: str) -> str:
    return "/".join(quote(p, safe="") for p in parts)


Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter, str]    # reader, writer, request-target prefix
MAX_IDLE = 4                 # idle keep-alive connections kept for the next REST call
STREAM_LIMIT = 1 << 20       # the stream reader's buffer (and longest header line)
CLOSE_WAIT = 0.25            # how long leaving the client waits for its connections to finish closing


class Client:
    """`async with Client(config) as kube:` the job-runner's calls, over HTTP/1.1 on asyncio streams.

    REST calls reuse keep-alive connections (a stale one is replaced once, at once); each exec has its own.
    """

    def __init__(self, config: Config):
        self.config = config
        self._entered = False
        self._endpoint_: _Endpoint | None = None
        self._idle: list[Conn] = []
        self._open: set[asyncio.StreamWriter] = set()
        self._closing: set[asyncio.Task] = set()

    async def __aenter__(self) -> "Client":
        self._entered = True
        return self

    async def __aexit__(self, *exc_info) -> None:
        self._entered = False
        self._idle.clear()
        for writer in list(self._open):
            self._release(writer)
        if self._closing:
            _, pending = await asyncio.wait(set(self._closing), timeout=CLOSE_WAIT)
            for task in pending:
                task.cancel()

    def _check(self) -> None:
        if not self._entered:
            raise RuntimeError("use the client as `async with Client(config) as kube:`")

    @property
    def _endpoint(self) -> _Endpoint:
        if self._endpoint_ is None:
            self._endpoint_ = _endpoint(self.config.server)
        return self._endpoint_

    # connections

    async def _connect(self) -> Conn:
        """A new connection to the server (through the environment's proxy, if one applies)."""
        ep = self._endpoint
        ctx = self.config.ssl_context if ep.tls else None
        sni = (self.config.tls_server_name or ep.host) if ep.tls else None
        proxy = _proxy_for(ep)
        async with asyncio.timeout(CONNECT_TIMEOUT):
            if proxy is None:
                reader, writer = await asyncio.open_connection(ep.host, ep.port, ssl=ctx, server_hostname=sni,
                                                               limit=STREAM_LIMIT)
                self._open.add(writer)
                return reader, writer, ""
            reader, writer = await asyncio.open_connection(proxy.host, proxy.port, limit=STREAM_LIMIT)
            self._open.add(writer)
            auth = {"Proxy-Authorization": proxy.authorization} if proxy.authorization else {}
            if not ep.tls:          # a plain-HTTP server: absolute-form request targets, to the proxy
                return reader, writer, f"http://{ep.netloc}"
            try:
                authority = _authority(ep.host, ep.port)
                writer.write(_request_head("CONNECT", authority, authority, {"User-Agent": USER_AGENT, **auth}))
                await writer.drain()
                head = await _read_head(reader)
                if head.status != 200:
                    raise errors.from_status(head.status, reason=f"the proxy refused CONNECT: {head.reason}")
                await writer.start_tls(ctx, server_hostname=sni)
            except BaseException:
                self._release(writer)
                raise
            return reader, writer, ""

    def _release(self, writer: asyncio.StreamWriter) -> None:
        """Close a connection; __aexit__ waits (briefly) for the close to complete."""
        writer.close()
        if writer in self._open:
            self._open.discard(writer)
            task = asyncio.ensure_future(_wait_closed(writer))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def _exchange(self, method: str, target: str, headers: dict[str, str],
                        body: bytes | None) -> tuple[_Head, bytes]:
        """One request and its response, on an idle keep-alive connection or a new one."""
        self._check()
        if body is not None:
            headers = {**headers, "Content-Length": str(len(body))}
        while True:
            reused = False
            while self._idle:
                conn = self._idle.pop()
                if conn[0].at_eof() or conn[1].is_closing():
                    self._release(conn[1])
                    continue
                reused = True
                break
            else:
                conn = await self._connect()
            reader, writer, prefix = conn
            kept = False
            try:
                try:
                    writer.write(_request_head(method, prefix + target, self._endpoint.netloc, headers) + (body or b""))
                    await writer.drain()
                    head = await _read_head(reader)
                except (OSError, EOFError):
                    if reused:
                        continue        # the server had closed it while it was idle: once more, on a new one
                    raise
                data, keep_alive = await _read_body(reader, method, head)
                if keep_alive and len(self._idle) < MAX_IDLE:
                    self._idle.append(conn)
                    kept = True
                return head, data
            finally:
                if not kept:
                    self._release(writer)

    def _target(self, path: str, query: list[tuple[str, str]] | None = None) -> str:
        # encoded by hand (every reserved character percent-quoted), so a command's `+`, `&` or `;` arrive intact
        return self._endpoint.base + path + ("?" + urlencode(query, quote_via=quote, safe="") if query else "")

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, **(extra or {})}
        token = self.config.bearer()
        if token:
            if "\r" in token or "\n" in token:
                raise ConfigError("the bearer token contains a line break")
            headers["Authorization"] = f"Bearer {token}"
        return headers

    # the calls

    async def _request(self, method: str, path: str, *, query: list[tuple[str, str]] | None = None,
                       body: Obj | None = None, content_type: str | None = None, what: str) -> Obj:
        self._check()
        data = json.dumps(body).encode() if body is not None else None
        extra = {"Accept": "application/json", **({"Content-Type": content_type} if content_type else {})}

        async def once() -> Obj:
            try:
                target = self._target(path, query)
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    head, text = await self._exchange(method, target, self._headers(extra), data)
                if not 200 <= head.status < 300:
                    raise errors.from_status(head.status, body=text, reason=head.reason)
                return json.loads(text) if text else {}
            except errors.KubeError:
                raise
            except Exception as exc:  # noqa: BLE001 - connection errors, timeouts, a body that is not JSON
                raise errors.wrap(exc) from exc

        return await retry_async(once, retryable=lambda exc: isinstance(exc, errors.Unavailable),
                                 reason=f"kubernetes {what}")

    async def list_pods(self, namespace: str, selector: str | None = None) -> Obj:
        """The PodList (items + metadata) of `namespace`, `selector` a label selector string."""
        return await self._request("GET", "/api/v1/namespaces/" + _path(namespace, "pods"),
                                   query=[("labelSelector", selector)] if selector else None, what="list")

    async def patch_job_annotations(self, namespace: str, name: str, annotations: dict[str, str | None]) -> Obj:
        """Merge `annotations` into the Job's (a None value removes one); the Job as it now is."""
        return await self._request("PATCH", "/apis/batch/v1/namespaces/" + _path(namespace, "jobs", name),
                                   body={"metadata": {"annotations": annotations}},
                                   content_type="application/merge-patch+json", what="patch")

    async def _ws_connect(self, target: str) -> _WebSocket:
        """The exec request, upgraded: a refusal raises its error of errors.py's tree (`from_status`)."""
        self._check()
        key = base64.b64encode(os.urandom(16)).decode("ascii")
        headers = self._headers({"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": key,
                                 "Sec-WebSocket-Version": "13", "Sec-WebSocket-Protocol": EXEC_PROTOCOL})
        reader, writer, prefix = await self._connect()
        try:
            writer.write(_request_head("GET", prefix + target, self._endpoint.netloc, headers))
            await writer.drain()
            head = await _read_head(reader)
            if head.status != 101:
                body = b""
                try:
                    async with asyncio.timeout(5):
                        body, _ = await _read_body(reader, "GET", head)
                except (TimeoutError, OSError, EOFError, _ProtocolError):
                    pass        # the status alone says enough
                raise errors.from_status(head.status, body=body, reason=head.reason)
            if head.headers.get("upgrade", "").lower() != "websocket" or "upgrade" not in head.tokens("connection"):
                raise _ProtocolError("a 101 answer that is not a websocket upgrade")
            if head.headers.get("sec-websocket-accept") != _accept(key):
                raise _ProtocolError("a wrong Sec-WebSocket-Accept")
            protocol = head.headers.get("sec-websocket-protocol")
            if protocol is not None and protocol != EXEC_PROTOCOL:
                raise _ProtocolError(f"the server chose the subprotocol {protocol!r}, not offered")
            return _WebSocket(reader, writer)
        except BaseException:
            self._release(writer)
            raise

    async def exec_(self, *, namespace: str, pod: str, container: str, command: list[str], timeout: float = 300.0,
                    on_output: OnOutput | None = None) -> ExecResult:
        """Run `command` in the container and wait for it (at most `timeout` seconds).

        `on_output(channel, data)` sees stdout (1) and stderr (2) as they arrive.
        """
        self._check()
        query = [("command", c) for c in command] + [("container", container), ("stdout", "true"),
                                                     ("stderr", "true")]
        out = {STDOUT: bytearray(), STDERR: bytearray()}
        status: bytes | None = None
        broken: _ProtocolError | None = None
        deadline = asyncio.timeout(timeout)
        try:
            async with deadline:
                target = self._target("/api/v1/namespaces/" + _path(namespace, "pods", pod, "exec"), query)

                async def connect() -> _WebSocket:
                    async with asyncio.timeout(REQUEST_TIMEOUT):
                        return await self._ws_connect(target)
                # a handshake the server refused (5xx, 429) ran nothing: trying again cannot run the command twice
                ws = await retry_async(connect, retryable=refused_transiently, reason="kubernetes exec")
                try:
                    while True:
                        try:
                            msg = await ws.receive()
                        except (OSError, EOFError):
                            break       # the connection ended or was reset: no more frames
                        except _ProtocolError as exc:
                            broken = exc
                            break
                        if msg is None:
                            break
                        opcode, data = msg
                        if opcode != BINARY or len(data) < 2:
                            continue    # the empty frame per channel that opens the stream, text frames
                        channel, data = data[0], data[1:]
                        if channel == STATUS:
                            status = data
                        elif channel in out:
                            out[channel] += data
                            if on_output is not None:
                                result = on_output(channel, data)
                                if asyncio.iscoroutine(result):
                                    await result
                finally:
                    ws.close()
                    self._release(ws.writer)
        except TimeoutError as exc:
            if deadline.expired():
                raise errors.ExecFailed(f"exec in {namespace}/{pod} did not finish within {timeout:g}s") from None
            raise errors.wrap(exc) from exc
        except errors.KubeError:
            raise
        except Exception as exc:  # noqa: BLE001 - resets and TLS errors before the upgrade, protocol errors
            raise errors.wrap(exc) from exc
        if status is None:
            why = f" ({broken})" if broken is not None else ""
            raise errors.ExecFailed(f"exec stream in {namespace}/{pod} closed without a status frame{why}")
        return ExecResult(exit_code_of(status), bytes(out[STDOUT]), bytes(out[STDERR]))


def refused_transiently(exc: BaseException) -> bool:
    """An exec's upgrade answered with a transient HTTP error (5xx, 429): the command was not started.  (A reset or
    a timeout while waiting for the answer is not: the server may have started it.)"""
    return isinstance(exc, errors.Unavailable) and (exc.status >= 500 or exc.status == 429)


async def _wait_closed(writer: asyncio.StreamWriter) -> None:
    try:
        await writer.wait_closed()
    except Exception:  # noqa: BLE001 - a reset while closing changes nothing
        pass
