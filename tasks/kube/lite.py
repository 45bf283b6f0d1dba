"""The job-runner's Kubernetes client: the three calls `tasks/jobrunner.py` makes, over plain aiohttp.

Only the job-runner uses this module; the rest of the service talks to the API through
`kubernetes_asyncio` (objects.py, execing.py, watching.py).  The job-runner starts once per backup
Job, and importing `kubernetes_asyncio` (its package loads every generated model) costs ~0.7 s of
each backup's start; aiohttp alone, already a dependency, costs ~0.3 s.  So this module must never
import `kubernetes_asyncio`, nor anything that does (tests/unit/test_kube_lite.py checks it).

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
`exec_` never is (running a command twice is the caller's decision).

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
  with a `ConfigError` rather than ignored.  HTTP(S)_PROXY from the environment is honoured, as
  kubernetes_asyncio does.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
import ssl
import tempfile
from dataclasses import dataclass
from typing import Any, Awaitable, Callable
from urllib.parse import quote, urlencode

import aiohttp
from yarl import URL

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


# -- the client -------------------------------------------------------------------------------------------------

def _path(*parts: str) -> str:
    return "/".join(quote(p, safe="") for p in parts)


class Client:
    """`async with Client(config) as kube:` one aiohttp session for the job-runner's calls."""

    def __init__(self, config: Config):
        self.config = config
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "Client":
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self.config.ssl_context),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT),
            headers={"User-Agent": USER_AGENT}, trust_env=True)
        return self

    async def __aexit__(self, *exc_info) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("use the client as `async with Client(config) as kube:`")
        return self._session

    def _url(self, path: str, query: list[tuple[str, str]] | None = None) -> URL:
        # encoded by hand (every reserved character percent-quoted), so a command's `+`, `&` or `;` arrive intact
        text = self.config.server + path + ("?" + urlencode(query, quote_via=quote, safe="") if query else "")
        return URL(text, encoded=True)

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        token = self.config.bearer()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    async def _request(self, method: str, path: str, *, query: list[tuple[str, str]] | None = None,
                       body: Obj | None = None, content_type: str | None = None, what: str) -> Obj:
        url = self._url(path, query)
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json", **({"Content-Type": content_type} if content_type else {})}

        async def once() -> Obj:
            try:
                async with self.session.request(
                        method, url, data=data, headers=self._headers(headers),
                        server_hostname=self.config.tls_server_name,
                        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as resp:
                    text = await resp.read()
                    if resp.status >= 400:
                        raise errors.from_status(resp.status, body=text, reason=resp.reason or "")
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

    async def exec_(self, *, namespace: str, pod: str, container: str, command: list[str], timeout: float = 300.0,
                    on_output: OnOutput | None = None) -> ExecResult:
        """Run `command` in the container and wait for it (at most `timeout` seconds).

        `on_output(channel, data)` sees stdout (1) and stderr (2) as they arrive.
        """
        query = [("command", c) for c in command] + [("container", container), ("stdout", "true"),
                                                     ("stderr", "true")]
        url = self._url("/api/v1/namespaces/" + _path(namespace, "pods", pod, "exec"), query)
        out = {STDOUT: bytearray(), STDERR: bytearray()}
        status: bytes | None = None
        deadline = asyncio.timeout(timeout)
        try:
            async with deadline:
                async with self.session.ws_connect(url, protocols=(EXEC_PROTOCOL,), headers=self._headers(),
                                                   server_hostname=self.config.tls_server_name,
                                                   max_msg_size=0) as ws:
                    async for msg in ws:
                        if msg.type != aiohttp.WSMsgType.BINARY or len(msg.data) < 2:
                            continue    # the empty frame per channel that opens the stream, pings, closes
                        channel, data = msg.data[0], msg.data[1:]
                        if channel == STATUS:
                            status = bytes(data)
                        elif channel in out:
                            out[channel] += data
                            if on_output is not None:
                                result = on_output(channel, bytes(data))
                                if asyncio.iscoroutine(result):
                                    await result
        except TimeoutError as exc:
            if deadline.expired():
                raise errors.ExecFailed(f"exec in {namespace}/{pod} did not finish within {timeout:g}s") from None
            raise errors.wrap(exc) from exc
        except errors.KubeError:
            raise
        except Exception as exc:  # noqa: BLE001 - handshake refusals (4xx/5xx), resets, TLS errors
            raise errors.wrap(exc) from exc
        if status is None:
            raise errors.ExecFailed(f"exec stream in {namespace}/{pod} closed without a status frame")
        return ExecResult(exit_code_of(status), bytes(out[STDOUT]), bytes(out[STDERR]))
