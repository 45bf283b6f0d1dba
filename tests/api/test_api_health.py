"""`/healthz` and `/readyz`: alive needs nothing; ready needs Redis and the Kubernetes API to answer."""
from __future__ import annotations

import yaml

from tests.support.servers import free_port


def _unreachable_kubeconfig(tmp_path) -> str:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "k", "cluster": {"server": f"https://127.0.0.1:{free_port()}",
                                                "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}]}))
    return str(path)


def test_healthz_needs_no_token_and_readyz_names_what_is_unreachable(client, as_, rt, tmp_path, monkeypatch):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").status_code == 401  # every route but /healthz needs a token
    rt.kubeconfig = _unreachable_kubeconfig(tmp_path)
    monkeypatch.delenv("BRQ_READYZ_KUBERNETES", raising=False)
    resp = as_("probe").get("/readyz")
    assert resp.status_code == 503
    body = resp.json["error"]
    assert "is unreachable" in body["message"] and "127.0.0.1" in body["message"]
    checks = {c["name"]: c["ok"] for c in body["details"]["checks"]}
    assert checks == {"redis": True, "kubernetes": False}


def test_readyz_without_the_kubernetes_check_needs_redis_only(as_, rt, tmp_path, monkeypatch, redis_server):
    rt.kubeconfig = _unreachable_kubeconfig(tmp_path)
    monkeypatch.setenv("BRQ_READYZ_KUBERNETES", "false")
    resp = as_("probe").get("/readyz")
    assert resp.status_code == 200 and resp.json["checks"] == [{"name": "redis", "ok": True, "detail": "answers PING"}]
    redis_server.stop()
    try:
        resp = as_("probe").get("/readyz")
        assert resp.status_code == 503 and "Redis is unreachable" in resp.json["error"]["message"]
    finally:
        redis_server.start()
