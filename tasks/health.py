"""Readiness of each process kind: can it reach what it needs to do its work?

    python -m tasks.health worker      # exit 0: Redis (the broker and the records) and the Kubernetes API answer
    python -m tasks.health watcher     # the same; prints whether this process's watcher holds the lease
    python -m tasks.health beat        # Redis answers (beat never calls Kubernetes)
    python -m tasks.health api [--url http://127.0.0.1:8080]   # GET /readyz with $BRQ_PROBE_TOKEN

The API answers the same question at `/readyz` (app/system.py), with these checks.  `/readyz` needs a token
(every route but `/healthz` does), and a Kubernetes httpGet probe cannot take one from a Secret: the `api`
kind is the exec probe that sends it (`BRQ_PROBE_TOKEN`, a token with no roles: it can read `/readyz` and
nothing of any namespace).  Each probe is one short
request with a timeout: a probe never hangs longer than `timeout` seconds per dependency.  The Kubernetes check is
`GET /version` with the process's own credentials (kubeconfig or service account, tasks/kube/lite.py), which any
authenticated client may read — it proves the API server is reachable and the TLS trust is right, not RBAC.
"""
from __future__ import annotations

import argparse
import http.client
import os
import sys
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit



@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def to_json(self) -> dict:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


def redis_check(client) -> Check:
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return Check("redis", False, f"Redis is unreachable: {type(exc).__name__}: {str(exc)[:200]}")
    return Check("redis", True, "answers PING")


def kube_check(kubeconfig: str | None, timeout: float = 2.0) -> Check:
    from .kube import lite

    try:
        config = lite.load(kubeconfig)
    except lite.ConfigError as exc:
        return Check("kubernetes", False, str(exc))
    parts = urlsplit(config.server)
    conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=timeout,
                                       context=config.ssl_context)
    headers = {"Accept": "application/json"}
    token = config.bearer()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request("GET", "/version", headers=headers)
        resp = conn.getresponse()
        resp.read()
    except (OSError, http.client.HTTPException) as exc:
        return Check("kubernetes", False, f"{config.server} is unreachable: {type(exc).__name__}: {str(exc)[:200]}")
    finally:
        conn.close()
    if resp.status != 200:
        return Check("kubernetes", False, f"{config.server}/version answered {resp.status}")
    return Check("kubernetes", True, f"{config.server} answers")


class CachedCheck:
    """A check run at most once per `ttl` seconds (readiness probes of every API replica call it often)."""

    def __init__(self, fn, ttl: float = 5.0):
        self.fn, self.ttl = fn, ttl
        self._lock = threading.Lock()
        self._last: tuple[float, Check] | None = None

    def __call__(self) -> Check:
        with self._lock:
            now = time.monotonic()
            if self._last is None or now - self._last[0] >= self.ttl:
                self._last = (now, self.fn())
            return self._last[1]


def api_probe(url: str, token: str, timeout: float) -> int:
    """GET {url}/readyz with the probe token: 0 when it answers 200."""
    import urllib.error
    import urllib.request

    if not token:
        print("not ready: BRQ_PROBE_TOKEN is not set (a token with no roles; see conf/README.md)", file=sys.stderr)
        return 1
    req = urllib.request.Request(url.rstrip("/") + "/readyz", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - our own URL
            print(resp.read().decode("utf-8", "replace")[:500])
            return 0
    except urllib.error.HTTPError as exc:
        print(f"not ready: {exc.code}: {exc.read().decode('utf-8', 'replace')[:500]}", file=sys.stderr)
    except (OSError, ValueError) as exc:
        print(f"not ready: {url} is unreachable: {exc}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tasks.health", description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=("api", "worker", "watcher", "beat"))
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the API (kind api)")
    args = parser.parse_args(argv)
    if args.kind == "api":
        return api_probe(args.url, os.environ.get("BRQ_PROBE_TOKEN", ""), args.timeout)
    import redis

    from .settings import SettingsError, load_settings_from_environ

    try:
        settings = load_settings_from_environ(os.environ)
    except SettingsError as exc:
        print(f"not ready: settings: {exc}", file=sys.stderr)
        return 1
    client = redis.Redis.from_url(settings.redis.url.reveal(), socket_timeout=args.timeout,
                                  socket_connect_timeout=args.timeout)
    checks = [redis_check(client)]
    if args.kind != "beat":
        checks.append(kube_check(os.environ.get("KUBECONFIG"), args.timeout))
    if args.kind == "watcher" and checks[0].ok:
        from .state import keys
        holder = client.get(keys.watcher_lock())
        checks.append(Check("lease", True, f"held by {holder.decode() if holder else 'nobody'}"))
    for c in checks:
        print(f"{c.name}: {'ok' if c.ok else 'FAIL'}: {c.detail}", file=sys.stdout if c.ok else sys.stderr)
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
